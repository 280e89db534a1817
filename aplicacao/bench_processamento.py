"""``detector-pix bench processamento``: vazão e latência medidas, lado a lado com uma linha de base.

Três medições, na mesma execução:
1. **Motor de features** sozinho, com 1 milhão de pagadores distintos no estado: linhas/s e bytes por conta.
2. **Mesmo arnês Spark, dois desenhos**: a mesma fonte Delta em streaming, calculando features (a) com estado
   Python por conta (``applyInPandasWithState``, uma chamada por chave: a linha de base) e (b) com o motor
   vetorizado no ``foreachBatch`` (o desenho do projeto).
3. **Pipeline de ponta a ponta** num broker Kafka local: vazão por etapa com backlog e, com tráfego ao vivo a
   uma taxa fixa, a latência do timestamp do Kafka até a linha confirmada na gold (p50, p99).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from aplicacao.benchmarks import agora, carga, gravar_secao, maquina, numero, tabela_markdown, trafego_ao_vivo
from processamento.features import MotorDeFeatures

INICIO = pd.Timestamp("2026-11-02T12:00:00Z")


def transacoes_sinteticas(
    n: int, pagadores: np.ndarray, recebedores: int, inicio_s: float, semente: int
) -> pd.DataFrame:
    """Transações com as colunas do motor; pagadores dados (quase sempre distintos), recebedores sorteados."""
    rng = np.random.default_rng(semente)
    return pd.DataFrame(
        {
            "end_to_end_id": [f"E{semente:08d}{i:023d}" for i in range(n)],
            "data_hora": (INICIO + pd.to_timedelta(inicio_s + np.sort(rng.uniform(0, 60, n)), unit="s")).floor("ms"),
            "valor": np.round(rng.lognormal(4.0, 1.2, n), 2),
            "pagador_id_conta": pagadores.astype(str),
            "recebedor_id_conta": ("r" + pd.Series(rng.integers(0, recebedores, n)).astype(str)).to_numpy(),
            "pagador_tipo_pessoa": rng.choice(["PF", "PJ"], n, p=[0.9, 0.1]),
            "recebedor_tipo_pessoa": rng.choice(["PF", "PJ"], n, p=[0.6, 0.4]),
            "chave_hash": ("k" + pd.Series(rng.integers(0, recebedores, n)).astype(str)).to_numpy(),
            "dispositivo_cadastrado": rng.random(n) < 0.95,
            "forma_iniciacao": rng.choice(["DICT", "MANU", "QRDN", "QRES"], n, p=[0.7, 0.1, 0.1, 0.1]),
        }
    )


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def medir_motor(contas: int, lotes: int, tamanho_lote: int) -> dict[str, float]:
    """Carrega ``contas`` pagadores distintos no estado e mede lotes seguintes, de pagadores já conhecidos."""
    rng = np.random.default_rng(1)
    motor = MotorDeFeatures()
    rss_antes = _rss_bytes()
    for i, inicio in enumerate(range(0, contas, 200_000)):
        ids = np.arange(inicio, min(inicio + 200_000, contas))
        motor.processar(transacoes_sinteticas(len(ids), ids, contas // 5, i * 60.0, semente=100 + i))
    rss_carregado = _rss_bytes() - rss_antes
    tempos = []
    for i in range(lotes):
        lote = transacoes_sinteticas(
            tamanho_lote, rng.integers(0, contas, tamanho_lote), contas // 5, 3_600 + i * 60, i
        )
        inicio = time.perf_counter()
        motor.processar(lote)
        tempos.append(time.perf_counter() - inicio)
    return {
        "contas": motor.contas_no_estado,
        "linhas_por_s": tamanho_lote * lotes / sum(tempos),
        "lote_p50_s": statistics.median(tempos),
        "lote_max_s": max(tempos),
        "bytes_arrays": motor.bytes_por_conta(),
        "bytes_rss": rss_carregado / max(motor.contas_no_estado, 1),
    }


# Linha de base: estado por conta no Spark ------------------------------------------------------------
def _estado_por_chave(chave: tuple, lotes: Iterator[pd.DataFrame], estado) -> Iterator[pd.DataFrame]:
    """Velocidade do pagador (10 min, 1 h, 24 h) guardando os instantes recentes no GroupState."""
    # Estado como texto: o esquema de estado com array esbarra num bug de serialização do PySpark 4.2.
    tempos = [int(t) for t in estado.get[0].split(",") if t] if estado.exists else []
    saidas = []
    for lote in lotes:
        for instante, end_to_end_id in zip(
            lote["data_hora"].astype("int64") // 10**9, lote["end_to_end_id"], strict=True
        ):
            janelas = [sum(1 for t in tempos if instante - t < w) for w in (600, 3_600, 86_400)]
            saidas.append((end_to_end_id, *janelas))
            tempos = [*[t for t in tempos if instante - t < 86400][-15:], int(instante)]
    estado.update((",".join(map(str, tempos)),))
    yield pd.DataFrame(saidas, columns=["end_to_end_id", "q10", "q1h", "q24h"])


def medir_desenhos_no_spark(spark, pasta: Path, n_por_chave: int, n_vetorizado: int) -> dict[str, float]:
    """Mesma fonte Delta em streaming, contas quase todas distintas; só o desenho do estado muda.

    A linha de base recebe menos linhas porque é lenta demais para o mesmo volume: comparamos linhas/s.
    """
    from pyspark.sql.streaming.state import GroupStateTimeout

    fontes = {}
    for nome, n in (("por_chave", n_por_chave), ("vetorizado", n_vetorizado)):
        fontes[nome] = str(pasta / f"fonte-{nome}")
        dados = transacoes_sinteticas(n, np.arange(n), max(n // 5, 1), 0.0, semente=7)
        spark.createDataFrame(dados).repartition(2).write.format("delta").mode("overwrite").save(fontes[nome])
    resultados = {}

    inicio = time.perf_counter()
    (
        spark.readStream.format("delta")
        .load(fontes["por_chave"])
        .groupBy("pagador_id_conta")
        .applyInPandasWithState(
            _estado_por_chave,
            "end_to_end_id string, q10 long, q1h long, q24h long",
            "tempos string",
            "append",
            GroupStateTimeout.NoTimeout,
        )
        .writeStream.format("noop")
        .option("checkpointLocation", str(pasta / "ck-por-chave"))
        .trigger(availableNow=True)
        .start()
        .awaitTermination()
    )
    resultados["por_chave"] = n_por_chave / (time.perf_counter() - inicio)

    motor = MotorDeFeatures()

    def vetorizado(lote, _id: int) -> None:
        motor.processar(lote.toPandas())

    inicio = time.perf_counter()
    (
        spark.readStream.format("delta")
        .load(fontes["vetorizado"])
        .writeStream.foreachBatch(vetorizado)
        .option("checkpointLocation", str(pasta / "ck-vetorizado"))
        .trigger(availableNow=True)
        .start()
        .awaitTermination()
    )
    resultados["vetorizado"] = n_vetorizado / (time.perf_counter() - inicio)
    return resultados


# Pipeline de ponta a ponta ------------------------------------------------------------------------------
def _percentil(valores: list[float], p: float) -> float:
    return float(np.percentile(valores, p)) if valores else float("nan")


def medir_pipeline(spark, cfg, backlog: int, tps: float, duracao_s: float) -> dict[str, float]:
    from ingestao.bronze import iniciar_ingestao
    from plataforma.tabelas import tabela
    from processamento.pipeline import iniciar_processamento
    from simulador import Parametros, produzir_kafka

    chave = b"chave-do-benchmark-com-32-caracteres"
    resultado: dict[str, float] = {}
    # (a) Backlog: o que cada etapa processa por segundo quando há fila.
    clientes = max(backlog // 8, 1_000)
    produzir_kafka(Parametros(semente=11, clientes=clientes, dias=5.0), cfg.kafka_bootstrap,
                   cfg.topico_transacoes, cfg.topico_med)  # fmt: skip
    inicio = time.perf_counter()
    for topico, nome in ((cfg.topico_transacoes, "bronze_transacoes"), (cfg.topico_med, "bronze_med")):
        iniciar_ingestao(spark, cfg, topico, tabela(cfg, nome), disponivel=True).awaitTermination()
    bronze = tabela(cfg, "bronze_transacoes").ler(spark).count()
    resultado["backlog_mensagens"] = bronze
    resultado["ingestao_por_s"] = bronze / (time.perf_counter() - inicio)
    inicio = time.perf_counter()
    _, med, processador = iniciar_processamento(spark, cfg, chave, disponivel=True)
    med.awaitTermination()
    resultado["processamento_por_s"] = bronze / (time.perf_counter() - inicio)
    resultado["processamento_lotes"] = len(processador.resumos)

    # (b) Ao vivo: taxa fixa, consultas contínuas, latência Kafka -> gold confirmada.
    ao_vivo = cfg.com(intervalo_trigger="1 seconds")
    ingestao = iniciar_ingestao(spark, ao_vivo, ao_vivo.topico_transacoes, tabela(ao_vivo, "bronze_transacoes"))
    transacoes, med, processador = iniciar_processamento(spark, ao_vivo, chave)
    marco = time.time()
    trafego_ao_vivo(ao_vivo, tps, duracao_s)
    time.sleep(15)  # deixa os últimos lotes chegarem à gold
    for consulta in (ingestao, transacoes, med):
        consulta.stop()
    confirmacao = {r.lote: r.gold_confirmado_em for r in processador.resumos}
    gold = (
        tabela(ao_vivo, "gold_features")
        .ler(spark)
        .where(f"timestamp_kafka >= timestamp_seconds({int(marco) + 5})")  # fora os primeiros segundos (aquecimento)
        .select("lote", "timestamp_kafka")
        .toPandas()
    )
    gold["kafka"] = pd.to_datetime(gold["timestamp_kafka"]).astype("int64") / 1e9
    latencias = (gold["lote"].map(confirmacao) - gold["kafka"]).dropna().tolist()
    resultado |= {
        "ao_vivo_linhas": len(latencias),
        "latencia_p50_s": _percentil(latencias, 50),
        "latencia_p99_s": _percentil(latencias, 99),
    }
    for nome, consulta in (("ingestao", ingestao), ("processamento", transacoes)):
        progresso = [p for p in consulta.recentProgress if p["numInputRows"] > 0]
        duracoes = [p["durationMs"]["triggerExecution"] / 1000 for p in progresso]
        resultado[f"{nome}_entrada_por_s"] = statistics.mean([p["inputRowsPerSecond"] for p in progresso] or [0])
        resultado[f"{nome}_processado_por_s"] = statistics.mean([p["processedRowsPerSecond"] for p in progresso] or [0])
        resultado[f"{nome}_lote_p50_s"] = _percentil(duracoes, 50)
        resultado[f"{nome}_lote_p99_s"] = _percentil(duracoes, 99)
    return resultado


def executar_benchmark(args: argparse.Namespace) -> int:
    from plataforma.config import Configuracao
    from plataforma.kafka_local import BrokerKafkaLocal, portas_livres_para_broker
    from plataforma.spark import obter_spark

    print(f"[1/3] motor de features com {numero(args.contas)} pagadores distintos...", flush=True)
    motor = medir_motor(args.contas, lotes=10, tamanho_lote=50_000)
    with tempfile.TemporaryDirectory(prefix="detector-pix-bench-") as pasta_temp:
        pasta = Path(pasta_temp)
        cfg = Configuracao().com(
            dados_dir=str(pasta / "dados"), kafka_bootstrap=f"127.0.0.1:{portas_livres_para_broker()}"
        )
        spark = obter_spark(cfg, nome_app="detector-pix-bench")
        print("[2/3] estado por conta x motor vetorizado no mesmo arnês Spark...", flush=True)
        desenhos = medir_desenhos_no_spark(spark, pasta, args.linhas_por_chave, args.linhas_vetorizado)
        print(
            f"[3/3] pipeline Kafka -> gold (backlog ~{numero(args.backlog)}; ao vivo {numero(args.tps)}/s)...",
            flush=True,
        )
        broker = BrokerKafkaLocal(cfg)
        broker.iniciar()
        try:
            pipeline = medir_pipeline(spark, cfg, args.backlog, args.tps, args.duracao)
        finally:
            broker.parar()
    if not args.sem_docs:
        escrever_em_docs(args, motor, desenhos, pipeline)
    print(
        f"motor: {numero(motor['linhas_por_s'])} linhas/s; por chave: {numero(desenhos['por_chave'])}/s; "
        f"vetorizado: {numero(desenhos['vetorizado'])}/s; latência p99 {numero(pipeline['latencia_p99_s'], 2)} s"
    )
    return 0


def escrever_em_docs(args: argparse.Namespace, motor: dict, desenhos: dict, pipeline: dict) -> None:
    n = numero
    comando = (
        f"detector-pix bench processamento --contas {args.contas} --linhas-por-chave {args.linhas_por_chave} "
        f"--linhas-vetorizado {args.linhas_vetorizado} "
        f"--backlog {args.backlog} --tps {args.tps:g} --duracao {args.duracao:g}"
    )
    tabela_motor = tabela_markdown(
        ["medição", "valor", "meta"],
        [
            ["contas no estado", n(motor["contas"]), "1.000.000 pagadores distintos"],
            ["linhas/s (lotes de 50.000, pagadores já no estado)", n(motor["linhas_por_s"]), ">= 100.000"],
            ["tempo por lote p50 / máx (s)", f"{n(motor['lote_p50_s'], 2)} / {n(motor['lote_max_s'], 2)}", "-"],
            ["bytes por conta nos arrays do estado", n(motor["bytes_arrays"]), "limitado"],
            ["bytes por conta medidos no processo (RSS, com o índice)", n(motor["bytes_rss"]), "-"],
        ],
    )
    tabela_desenhos = tabela_markdown(
        ["desenho", "linhas/s", "relação"],
        [
            ["estado por conta (`applyInPandasWithState`, linha de base)", n(desenhos["por_chave"]), "1,0x"],
            [
                "motor vetorizado no `foreachBatch` (o do projeto)",
                n(desenhos["vetorizado"]),
                f"{n(desenhos['vetorizado'] / desenhos['por_chave'], 1)}x",
            ],
        ],
    )
    p = pipeline
    tabela_pipeline = tabela_markdown(
        ["etapa", "entrada/s", "processado/s", "lote p50 (s)", "lote p99 (s)"],
        [
            [
                "ingestão (Kafka -> bronze)",
                n(p["ingestao_entrada_por_s"]),
                n(p["ingestao_processado_por_s"]),
                n(p["ingestao_lote_p50_s"], 2),
                n(p["ingestao_lote_p99_s"], 2),
            ],
            [
                "processamento (bronze -> silver, quarentena, gold)",
                n(p["processamento_entrada_por_s"]),
                n(p["processamento_processado_por_s"]),
                n(p["processamento_lote_p50_s"], 2),
                n(p["processamento_lote_p99_s"], 2),
            ],
        ],
    )
    corpo = f"""Comando: `{comando}`.
Data: {agora()}. Máquina: {maquina()}. Carga média ao terminar (1/5/15 min): {carga()}.

### Motor de features, 1 milhão de pagadores no estado

{tabela_motor}

### Mesmo arnês Spark, dois desenhos de estado

Fonte Delta em streaming com transações de pagadores distintos ({n(args.linhas_por_chave)} para a linha de base,
{n(args.linhas_vetorizado)} para o motor vetorizado), `availableNow`, sink `noop`; o tempo inclui o planejamento e o
início das consultas.

{tabela_desenhos}

### Pipeline de ponta a ponta (broker Kafka local, Spark `local[2]`, tudo na mesma máquina)

Backlog: {n(p["backlog_mensagens"])} mensagens já no Kafka. Ingestão: {n(p["ingestao_por_s"])} mensagens/s;
processamento: {n(p["processamento_por_s"])} mensagens/s em {n(p["processamento_lotes"])} lote(s).

Ao vivo: {n(args.tps)} Pix/s por {n(args.duracao)} s, gatilho de 1 s nas duas etapas. Latência do timestamp do Kafka
até a linha confirmada na gold ({n(p["ao_vivo_linhas"])} linhas): **p50 {n(p["latencia_p50_s"], 2)} s, p99
{n(p["latencia_p99_s"], 2)} s**.

{tabela_pipeline}

Leitura: o motor de features não é o gargalo (passa de 100 mil linhas/s com 1 milhão de contas); o que
domina o lote do processamento é custo fixo por micro-batch (a validação em Python dentro do Spark, três
commits Delta e o planejamento das consultas), dividindo 2 núcleos com a ingestão, a consulta de MED e o
broker. Por isso a latência de ponta a ponta encadeando Kafka -> bronze -> gold fica em segundos, não em
milissegundos: a decisão em tempo real (p99 <= 1 s) precisa de um caminho próprio, direto do Kafka, que a
etapa de machine learning constrói (docs/arquitetura.md).
"""
    gravar_secao("Processamento", corpo)


def adicionar_subcomando(alvos: argparse._SubParsersAction) -> None:
    """``detector-pix bench processamento``."""
    alvo = alvos.add_parser(
        "processamento", help="motor de features, estado por conta x vetorizado, pipeline Kafka -> gold"
    )
    alvo.add_argument("--contas", type=int, default=1_000_000, help="pagadores distintos no estado do motor")
    alvo.add_argument("--linhas-por-chave", type=int, default=5_000, help="linhas da linha de base (estado por conta)")
    alvo.add_argument("--linhas-vetorizado", type=int, default=200_000, help="linhas do desenho vetorizado")
    alvo.add_argument("--backlog", type=int, default=200_000, help="mensagens aproximadas do backlog no Kafka")
    alvo.add_argument("--tps", type=float, default=1_000.0, help="Pix por segundo na medição ao vivo")
    alvo.add_argument("--duracao", type=float, default=60.0, help="segundos de tráfego ao vivo")
    alvo.add_argument("--sem-docs", action="store_true", help="não grava em docs/benchmarks.md")
    alvo.set_defaults(func=executar_benchmark)
