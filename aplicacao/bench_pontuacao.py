"""``detector-pix bench pontuacao``: latência do Pix no Kafka até a decisão em ``pix.decisoes``, medida.

Três desenhos na mesma execução, com o mesmo champion, o mesmo tráfego ao vivo (mesma semente e ritmo) e a mesma
duração, a cada taxa:

- **piso**: consumidor -> produtor em transação Kafka, sem trabalho nenhum (o custo do Kafka e do Python);
- **micro-batch**: o desenho anterior, o ``foreachBatch`` do Spark alimentando o núcleo (linha de base);
- **tempo real**: o caminho quente do projeto (``tempo_real.py``). A ``gold_decisoes`` é gravada pela ingestão,
  noutro job, e não roda durante a medição; o micro-batch grava a dele em segundo plano no mesmo processo, como
  sempre fez.

A latência usa só timestamps do Kafka: o do Pix (hora do produtor) e o da decisão (hora do broker,
``LogAppendTime``), só de transações confirmadas (``read_committed``). Os primeiros segundos ficam de fora. A
carga da máquina (núcleos ocupados, pelo ``/proc/stat``) é medida durante cada execução, e as razões (tempo real
/ piso, tempo real / micro-batch) são o que se compara entre máquinas.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from aplicacao.benchmarks import agora, carga, gravar_secao, maquina, numero, tabela_markdown, trafego_ao_vivo

CHAVE = b"chave-do-benchmark-com-32-caracteres"
AQUECIMENTO_S = 5
DESENHOS = {"piso": "piso (Kafka -> Kafka, sem trabalho)", "microlote": "micro-batch do Spark (linha de base)",
            "tempo_real": "tempo real (o projeto)"}  # fmt: skip
IMAGEM = Path("docs/img/latencia_decisao.png")
# Os campos que um processo da decisão em etapas recebe do benchmark (o resto é o padrão).
_CAMPOS_ETAPAS = ("dados_dir", "kafka_bootstrap", "topico_transacoes", "topico_med", "topico_decisoes",
                  "topico_lotes_decisao", "topico_features_recebedor", "mlflow_tracking_uri", "mlflow_registry_uri",
                  "processos_decisao")  # fmt: skip


class CpuOcupada:
    """Fração dos núcleos ocupada entre ``iniciar`` e ``parar`` (``/proc/stat``): a carga durante a medição."""

    @staticmethod
    def _ler() -> tuple[int, int]:
        campos = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        ociosa = campos[3] + campos[4]
        return sum(campos) - ociosa, sum(campos)

    def __enter__(self) -> CpuOcupada:
        self._inicio = self._ler()
        return self

    def __exit__(self, *_: object) -> None:
        ocupada, total = (b - a for a, b in zip(self._inicio, self._ler(), strict=True))
        self.fracao = ocupada / total if total else float("nan")


def _treinar_champion(cfg) -> str:
    from machine_learning.dados_simulados import simular
    from machine_learning.treino import treinar
    from simulador import Parametros

    dados = simular(Parametros(semente=7, clientes=2_000, dias=10, taxa_fraude=0.02, atraso_med_mediana_horas=12))
    resultado = treinar(
        dados.transacoes, cfg=cfg, med=dados.med, gabarito=dados.gabarito, candidatos=("gbm",),
        dias_aquecimento=1.0, dias_atraso=1.0, dias_teste=3.0, importancia_max_linhas=2_000,
    )  # fmt: skip
    return resultado.versao


def _guardando_erro(funcao, erros: list[BaseException], pronto: threading.Event | None = None):
    """Roda ``funcao`` numa linha guardando a exceção: a medição falha dizendo o quê, não com "nenhuma decisão"."""

    def alvo(*args, **kwargs) -> None:
        try:
            funcao(*args, **kwargs)
        except BaseException as erro:
            erros.append(erro)
            if pronto is not None:
                pronto.set()

    return alvo


def _laco_do_piso(cfg, parar: threading.Event, pronto: threading.Event, contagem: list[int] | None = None) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    from plataforma.kafka_cliente import particoes_do_topico
    from plataforma.kafka_opcoes import opcoes_cliente_kafka

    base = opcoes_cliente_kafka(cfg)
    produtor = Producer({**base, "transactional.id": f"piso:{cfg.topico_decisoes}", "linger.ms": "0"})
    produtor.init_transactions(120)
    consumidor = Consumer(
        {**base, "group.id": f"piso:{cfg.topico_decisoes}", "enable.auto.commit": "false",
         "isolation.level": "read_committed", "auto.offset.reset": "earliest"}
    )  # fmt: skip
    topico = cfg.topico_transacoes
    particoes = particoes_do_topico(consumidor, topico, cfg.kafka_bootstrap)
    # Do começo, sem pedir o offset confirmado ao coordenador do grupo: o tópico é novo, e num broker recém-criado
    # essa consulta pode ficar esperando o coordenador enquanto o tráfego passa.
    consumidor.assign([TopicPartition(topico, p, OFFSET_BEGINNING) for p in particoes])
    pronto.set()
    while not parar.is_set():
        primeira = consumidor.poll(0.1)
        if primeira is None:
            continue
        mensagens = [m for m in [primeira, *consumidor.consume(cfg.max_mensagens_lote_decisao - 1, 0)] if not m.error()]
        if not mensagens:
            continue
        produtor.begin_transaction()
        fins: dict[int, int] = {}
        for m in mensagens:
            instante = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(m.timestamp()[1] / 1000))
            valor = {"timestamp_kafka": f"{instante}.{m.timestamp()[1] % 1000:03d}Z"}
            produtor.produce(cfg.topico_decisoes, json.dumps(valor).encode(), m.key() or b"-")
            fins[m.partition()] = m.offset() + 1
        posicoes = [TopicPartition(topico, p, o) for p, o in fins.items()]
        produtor.send_offsets_to_transaction(posicoes, consumidor.consumer_group_metadata(), 30)
        produtor.commit_transaction(30)
        if contagem is not None:
            contagem[0] += len(mensagens)
    consumidor.close()


def _aquecer_coordenador_de_transacoes(cfg) -> None:
    """Num broker novo, os coordenadores de transações e de grupos levam segundos para carregar: fora da medição."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

    from plataforma.kafka_opcoes import opcoes_cliente_kafka

    Producer({**opcoes_cliente_kafka(cfg), "transactional.id": "bench:aquecimento"}).init_transactions(180)
    consumidor = Consumer({**opcoes_cliente_kafka(cfg), "group.id": "bench:aquecimento"})
    limite = time.monotonic() + 180
    try:
        while True:  # cria __consumer_offsets; enquanto ele carrega, o broker responde "não sou o coordenador"
            try:
                consumidor.committed([TopicPartition("bench.aquecimento", 0)], timeout=60)
                return
            except KafkaException as erro:
                recarregando = erro.args[0].code() in (
                    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                    KafkaError.COORDINATOR_NOT_AVAILABLE,
                )  # fmt: skip
                if not (recarregando or erro.args[0].retriable()) or time.monotonic() > limite:
                    raise
                time.sleep(1)
    finally:
        consumidor.close()


def _fins_do_topico(cfg) -> str:
    """Quantas mensagens cada partição do tópico de transações tem: diz se o gerador produziu."""
    from confluent_kafka import Consumer, TopicPartition

    from plataforma.kafka_cliente import particoes_do_topico
    from plataforma.kafka_opcoes import opcoes_cliente_kafka

    leitor = Consumer({**opcoes_cliente_kafka(cfg), "group.id": "bench:diagnostico"})
    try:
        topico = cfg.topico_transacoes
        fins = {
            p: leitor.get_watermark_offsets(TopicPartition(topico, p), timeout=10)[1]
            for p in particoes_do_topico(leitor, topico, cfg.kafka_bootstrap)
        }
    finally:
        leitor.close()
    return f"fim de cada partição de {topico}: {fins}."


def medir(spark, cfg, desenho: str, tps: float, duracao_s: float) -> dict[str, float]:
    """Um desenho a uma taxa: liga, produz o tráfego ao vivo noutro processo, espera drenar, lê as decisões."""
    from machine_learning.nucleo import ler_decisoes_kafka

    parar, pronto, erros, contagem = threading.Event(), threading.Event(), [], [0]
    if desenho == "piso":
        alvo = _guardando_erro(_laco_do_piso, erros, pronto)
        linha = threading.Thread(target=alvo, args=(cfg, parar, pronto, contagem), daemon=True)
        linha.start()
        if not pronto.wait(180) or erros:
            causa = erros[0] if erros else None
            raise RuntimeError(f"o laço do piso não partiu em 180 s: {causa!r}") from causa
    elif desenho == "tempo_real":
        from machine_learning.tempo_real import DecisorEmTempoReal

        decisor = DecisorEmTempoReal(cfg, CHAVE, spark)
        decisor.iniciar()
        alvo = _guardando_erro(decisor.executar, erros)
        linha = threading.Thread(target=alvo, kwargs={"parar": parar}, daemon=True)
        linha.start()
    elif desenho == "etapas":
        linha = None
        processos = _iniciar_etapas(cfg)
    else:
        from machine_learning.pontuacao import iniciar_pontuacao

        linha = None
        consulta, pontuador = iniciar_pontuacao(spark, cfg, CHAVE)
    time.sleep(3)  # o consumidor sobe antes do tráfego
    inicio_ms = time.time() * 1000
    with CpuOcupada() as cpu:
        trafego_ao_vivo(cfg, tps, duracao_s)
        time.sleep(3)  # o fim do tráfego drena
    if desenho == "microlote":
        consulta.stop()
        pontuador.encerrar()
    elif desenho == "etapas":
        _parar_etapas(processos)
    else:
        parar.set()
        linha.join(60)
        if desenho == "tempo_real":
            decisor.encerrar()
    if erros:
        raise RuntimeError(f"{desenho} a {tps:g} Pix/s: o laço parou com erro: {erros[0]!r}") from erros[0]
    if linha is not None and linha.is_alive():
        raise RuntimeError(f"{desenho} a {tps:g} Pix/s: o laço não terminou 60 s depois do pedido de parada.")
    decisoes = ler_decisoes_kafka(cfg)
    if decisoes.empty:
        lidas = f" (o piso leu e confirmou {contagem[0]} mensagens)" if desenho == "piso" else ""
        raise RuntimeError(
            f"{desenho} a {tps:g} Pix/s: nenhuma decisão em {cfg.topico_decisoes}, sem erro no laço{lidas}; "
            f"{_fins_do_topico(cfg)} Veja o log acima."
        )
    kafka_ms = decisoes["timestamp_decisao_ms"] - decisoes["latencia_s"] * 1000
    medidas = decisoes[kafka_ms >= inicio_ms + AQUECIMENTO_S * 1000]["latencia_s"].to_numpy()
    p = np.percentile(medidas, [50, 95, 99]) if len(medidas) else [np.nan] * 3
    return {
        "decisoes": len(decisoes), "medidas": len(medidas), "por_s": len(decisoes) / duracao_s,
        "p50_s": float(p[0]), "p95_s": float(p[1]), "p99_s": float(p[2]),
        "max_s": float(medidas.max()) if len(medidas) else np.nan, "cpu": cpu.fracao,
    }  # fmt: skip


def _iniciar_etapas(cfg) -> list[tuple[subprocess.Popen, Path]]:
    """Os N processos da decisão em etapas, como N jobs (``executar modelo --modo pontuar``); espera todos partirem."""
    processos = []
    for i in range(cfg.processos_decisao):
        saida = Path(cfg.dados_dir) / f"etapas-{i}.log"
        saida.parent.mkdir(parents=True, exist_ok=True)
        comando = [
            sys.executable, "-m", "aplicacao.cli",
            *(f"-D{campo}={getattr(cfg, campo)}" for campo in _CAMPOS_ETAPAS),
            f"-Dprocesso_decisao={i}", "-Destado_inicial_decisao=vazio", "-Dpushgateway_url=",
            "executar", "modelo", "--modo", "pontuar",
        ]  # fmt: skip
        ambiente = {**os.environ, "DETECTOR_PIX_CHAVE_PSEUDONIMIZACAO": CHAVE.decode(),
                    "DETECTOR_PIX_SPARK_MEMORIA": "1g"}  # fmt: skip
        with saida.open("ab") as log:
            processos.append((subprocess.Popen(comando, env=ambiente, stdout=log, stderr=subprocess.STDOUT), saida))
    limite = time.monotonic() + 240
    for processo, saida in processos:
        while "Decisão em etapas: processo" not in saida.read_text(errors="replace"):
            if processo.poll() is not None or time.monotonic() > limite:
                _parar_etapas(processos)
                raise RuntimeError(f"a decisão em etapas não partiu: {saida.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
    return processos


def _parar_etapas(processos: list[tuple[subprocess.Popen, Path]]) -> None:
    for processo, _ in processos:
        if processo.poll() is None:
            processo.send_signal(signal.SIGINT)
    for processo, _ in processos:
        try:
            processo.wait(60)
        except subprocess.TimeoutExpired:
            processo.kill()
            processo.wait(10)


def executar_benchmark(args: argparse.Namespace) -> int:
    from plataforma.config import Configuracao
    from plataforma.kafka_local import BrokerKafkaLocal, portas_livres_para_broker
    from plataforma.spark import obter_spark

    taxas = [float(t) for t in args.taxas.split(",")]
    resultados: dict[tuple[str, float], dict[str, float]] = {}
    sustentavel: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="detector-pix-bench-pontuacao-") as pasta_temp:
        pasta = Path(pasta_temp)
        base = Configuracao().com(
            dados_dir=str(pasta / "dados"), kafka_bootstrap=f"127.0.0.1:{portas_livres_para_broker()}",
            kafka_particoes=2, pushgateway_url="",
        )  # fmt: skip
        broker = BrokerKafkaLocal(base)
        broker.iniciar()
        try:
            _aquecer_coordenador_de_transacoes(base)
            spark = obter_spark(base, nome_app="detector-pix-bench-pontuacao")
            print("treinando um champion (GBM) para a medição...", flush=True)
            versao = _treinar_champion(base)

            def cfg_de(nome: str):
                cfg = base.com(
                    topico_transacoes=f"bench.{nome}.transacoes", topico_med=f"bench.{nome}.med",
                    topico_decisoes=f"bench.{nome}.decisoes", topico_lotes_decisao=f"bench.{nome}.lotes",
                    topico_features_recebedor=f"bench.{nome}.recebedor",
                    dados_dir=str(pasta / nome), mlflow_tracking_uri=base.uri_tracking,
                    mlflow_registry_uri=base.uri_registro,
                )  # fmt: skip
                broker.criar_topicos(cfg.topicos, decisoes=cfg.topico_decisoes)  # decisões com a hora do broker
                return cfg

            desenhos = ("piso", "tempo_real", "etapas") if args.etapas else tuple(DESENHOS)
            for tps in taxas:
                for desenho in desenhos:
                    print(f"{desenho}: {numero(tps)} Pix/s por {numero(args.duracao)} s...", flush=True)
                    cfg = cfg_de(f"{desenho}.{tps:g}").com(processos_decisao=args.etapas if desenho == "etapas" else 0)
                    r = medir(spark, cfg, desenho, tps, args.duracao)
                    resultados[(desenho, tps)] = r
                    print(f"  p50 {numero(r['p50_s'], 3)} s, p99 {numero(r['p99_s'], 3)} s", flush=True)
            for tps in [] if args.etapas else [float(t) for t in args.sustentavel.split(",") if t]:
                print(f"tempo real, taxa sustentável: {numero(tps)} Pix/s por 60 s...", flush=True)
                r = medir(spark, cfg_de(f"sustentavel.{tps:g}"), "tempo_real", tps, 60)
                sustentavel.append((tps, r))
                print(f"  p99 {numero(r['p99_s'], 3)} s, {numero(r['por_s'])} decididas/s", flush=True)
                if r["p99_s"] > 1.0:
                    break
        finally:
            broker.parar()
    if not args.sem_docs:
        if args.etapas:
            escrever_etapas_em_docs(args, versao, taxas, resultados)
        else:
            escrever_em_docs(args, versao, taxas, resultados, sustentavel)
    return 0


def _desenhar(taxas: list[float], resultados: dict[tuple[str, float], dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figura, eixo = plt.subplots(figsize=(8, 4.5), dpi=110)
    for desenho, rotulo in DESENHOS.items():
        for chave, estilo in (("p50_s", "--"), ("p99_s", "-")):
            valores = [resultados[(desenho, t)][chave] * 1000 for t in taxas]
            eixo.plot(taxas, valores, estilo, marker="o", label=f"{rotulo}, {chave[:3]}")
    eixo.axhline(250, color="grey", lw=0.8, ls=":")
    eixo.text(taxas[0], 260, "meta p99 250 ms a 1.000/s", fontsize=8, color="grey")
    eixo.set_yscale("log")
    eixo.set_xlabel("Pix por segundo")
    eixo.set_ylabel("latência Kafka -> decisão (ms)")
    eixo.set_title("Latência da decisão por taxa (p50 tracejado, p99 contínuo)")
    eixo.legend(fontsize=7)
    eixo.grid(True, which="both", alpha=0.3)
    figura.tight_layout()
    figura.savefig(IMAGEM)
    plt.close(figura)


def escrever_em_docs(
    args: argparse.Namespace,
    versao: str,
    taxas: list[float],
    resultados: dict[tuple[str, float], dict[str, float]],
    sustentavel: list[tuple[float, dict[str, float]]],
) -> None:
    n = numero
    linhas = []
    for tps in taxas:
        for desenho, rotulo in DESENHOS.items():
            r = resultados[(desenho, tps)]
            linhas.append(
                [n(tps), rotulo, n(r["medidas"]), n(r["por_s"]), n(r["p50_s"] * 1000), n(r["p95_s"] * 1000),
                 n(r["p99_s"] * 1000), n(r["max_s"] * 1000), n(r["cpu"] * 100)]
            )  # fmt: skip
    tabela = tabela_markdown(
        ["Pix/s", "desenho", "decisões medidas", "decididas/s", "p50 (ms)", "p95 (ms)", "p99 (ms)", "máx (ms)",
         "CPU ocupada (%)"], linhas, alinhamento="rlrrrrrrr",
    )  # fmt: skip
    razoes = []
    for tps in taxas:
        novo, piso, micro = (resultados[(d, tps)]["p99_s"] for d in ("tempo_real", "piso", "microlote"))
        razoes.append([n(tps), n(novo / piso, 2), n(novo / micro, 2)])
    tabela_razoes = tabela_markdown(["Pix/s", "p99 tempo real / piso", "p99 tempo real / micro-batch"], razoes)
    linhas_sust = [
        [n(t), n(r["por_s"]), n(r["p99_s"] * 1000), n(r["cpu"] * 100), "sim" if r["p99_s"] <= 1.0 else "não"]
        for t, r in sustentavel
    ]
    ok = [t for t, r in sustentavel if r["p99_s"] <= 1.0]
    maxima = f"**{n(max(ok))} Pix/s**" if ok else "abaixo da menor taxa tentada"
    if ok and len(ok) == len(sustentavel):
        maxima += " (a maior tentada; o limite pode estar acima, ou no gerador de tráfego)"
    um_mil = resultados.get(("tempo_real", 1000.0))
    partes = []
    if um_mil:
        piso = resultados[("piso", 1000.0)]["p99_s"]
        partes += [
            f"p99 <= 250 ms a 1.000 Pix/s: **{n(um_mil['p99_s'] * 1000)} ms** "
            f"({'atendida' if um_mil['p99_s'] <= 0.25 else 'não atendida'})",
            f"p99 até 3x o piso a 1.000/s: **{n(um_mil['p99_s'] / piso, 2)}x** "
            f"({'atendida' if um_mil['p99_s'] <= 3 * piso else 'não atendida'})",
        ]
    if sustentavel:
        partes.append(f"taxa sustentada >= 10.000 Pix/s: {'atendida' if ok and max(ok) >= 10_000 else 'não atendida'}")
    metas = f"Metas nesta máquina: {'; '.join(partes)}." if partes else ""
    corpo = f"""Comando: `detector-pix bench pontuacao --taxas {args.taxas} --duracao {args.duracao:g} --sustentavel \
{args.sustentavel}`.
Data: {agora()}. Máquina: {maquina()}. Carga média ao terminar (1/5/15 min): {carga()}.

Champion: GBM (versão {versao} de um registro temporário), treinado antes da medição. Tráfego ao vivo do
simulador noutro processo (mesma semente e ritmo para os três desenhos), broker Kafka local, Spark `local[*]` e o
produtor na mesma máquina de 2 núcleos. No tempo real, a `gold_decisoes` é da ingestão (outro job) e não roda
durante a medição; o micro-batch grava a dele em segundo plano no próprio processo. Latência: timestamp do Pix no
Kafka até o timestamp da decisão em `pix.decisoes` (hora do broker, `LogAppendTime`), lida com `read_committed`,
sem os {AQUECIMENTO_S} s iniciais.
"CPU ocupada": fração dos núcleos em uso durante a execução (todos os processos: broker, gerador, Spark).

{tabela}

Razões do p99 (o que se compara entre máquinas e cargas diferentes):

{tabela_razoes}

{metas}

Taxa máxima sustentável do tempo real (p99 <= 1 s durante 60 s): {maxima}.

{tabela_markdown(["Pix/s pedidos", "decididas/s", "p99 (ms)", "CPU ocupada (%)", "p99 <= 1 s"], linhas_sust)}

![latência por taxa](img/{IMAGEM.name})
"""
    _desenhar(taxas, resultados)
    gravar_secao("Pontuação (decisão no stream)", corpo)


def escrever_etapas_em_docs(
    args: argparse.Namespace, versao: str, taxas: list[float], resultados: dict[tuple[str, float], dict[str, float]]
) -> None:
    """A seção da decisão em etapas: piso, um processo e N processos, lado a lado, na mesma execução."""
    n = numero
    rotulos = {"piso": DESENHOS["piso"], "tempo_real": "tempo real, um processo",
               "etapas": f"em etapas, {args.etapas} processos"}  # fmt: skip
    linhas, razoes = [], []
    for tps in taxas:
        for desenho, rotulo in rotulos.items():
            r = resultados[(desenho, tps)]
            linhas.append(
                [n(tps), rotulo, n(r["medidas"]), n(r["por_s"]), n(r["p50_s"] * 1000), n(r["p95_s"] * 1000),
                 n(r["p99_s"] * 1000), n(r["max_s"] * 1000), n(r["cpu"] * 100)]
            )  # fmt: skip
        etapas, um, piso = (resultados[(d, tps)]["p99_s"] for d in ("etapas", "tempo_real", "piso"))
        razoes.append([n(tps), n(etapas / um, 2), n(etapas / piso, 2)])
    comando = f"detector-pix bench pontuacao --taxas {args.taxas} --duracao {args.duracao:g} --etapas {args.etapas}"
    corpo = f"""Comando: `{comando}`.
Data: {agora()}. Máquina: {maquina()}. Carga média ao terminar (1/5/15 min): {carga()}.

A decisão dividida em {args.etapas} processos ([arquitetura.md](arquitetura.md#escalar-para-vários-processos)),
cada um como um job (`executar modelo --modo pontuar`), ao lado do piso e do caminho de um processo, com o mesmo
champion (GBM, versão {versao}) e o mesmo tráfego ao vivo, num tópico de {numero(2)} partições. Cada processo
interpreta todas as mensagens (etapa do recebedor) e decide as suas partições (etapa do pagador); um Pix espera
a transação da etapa do recebedor antes da sua. Nesta máquina de 2 núcleos os processos dividem os núcleos com o
broker e o gerador: a medida é do custo do desenho, não do ganho de escala, que pede núcleos livres.

{
        tabela_markdown(
            [
                "Pix/s",
                "desenho",
                "decisões medidas",
                "decididas/s",
                "p50 (ms)",
                "p95 (ms)",
                "p99 (ms)",
                "máx (ms)",
                "CPU ocupada (%)",
            ],
            linhas,
            alinhamento="rlrrrrrrr",
        )
    }

{tabela_markdown(["Pix/s", "p99 em etapas / um processo", "p99 em etapas / piso"], razoes)}
"""
    gravar_secao("Pontuação em etapas (vários processos)", corpo)


def adicionar_subcomando(alvos: argparse._SubParsersAction) -> None:
    """``detector-pix bench pontuacao``."""
    alvo = alvos.add_parser(
        "pontuacao", help="latência Kafka -> decisão: piso, micro-batch e tempo real, lado a lado, por taxa"
    )
    alvo.add_argument("--taxas", default="1000,5000,10000", help="Pix por segundo, separados por vírgula")
    alvo.add_argument("--duracao", type=float, default=30.0, help="segundos de tráfego em cada desenho e taxa")
    alvo.add_argument(
        "--sustentavel", default="2000,4000,6000,8000,10000,12000,15000",
        help="taxas (crescentes) para achar a máxima com p99 <= 1 s em 60 s; vazio = não procurar",
    )  # fmt: skip
    alvo.add_argument(
        "--etapas", type=int, default=0, metavar="N",
        help="mede a decisão em etapas com N processos, ao lado do piso e do caminho de um processo, numa seção "
        "própria de docs/benchmarks.md (em vez dos três desenhos de sempre)",
    )  # fmt: skip
    alvo.add_argument("--sem-docs", action="store_true", help="não grava em docs/benchmarks.md")
    alvo.set_defaults(func=executar_benchmark)
