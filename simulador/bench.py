"""``detector-pix bench simulador``: transações por segundo para arquivos e para o Kafka local.

Mede, não supõe: gera um período com o número de transações pedido, cronometra a escrita em disco e
a produção no Kafka (até a última confirmação do broker) e grava a seção ``## Simulador`` de
``docs/benchmarks.md`` com comando, data, máquina e números.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from simulador.parametros import Parametros
from simulador.saida import Resumo, escrever_arquivos, garantir_topicos, produzir_kafka

RAIZ = Path(__file__).resolve().parents[1]
DOC = RAIZ / "docs" / "benchmarks.md"


def _maquina() -> str:
    modelo = "?"
    try:
        for linha in Path("/proc/cpuinfo").read_text().splitlines():
            if linha.startswith("model name"):
                modelo = linha.split(":", 1)[1].strip()
                break
        memoria = int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2
    except OSError:
        memoria = 0.0
    return f"{os.cpu_count()} núcleos ({modelo}), {memoria:.0f} GiB, Python {platform.python_version()}"


def _n(valor: float, casas: int = 0) -> str:
    """Número no formato brasileiro: 1.234.567,8."""
    return f"{valor:,.{casas}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _portas_livres() -> int:
    """Uma porta p com p e p+1 livres (cliente e controlador do broker temporário)."""
    import random

    from plataforma.kafka_local import porta_livre

    sorteio = random.Random()
    for _ in range(200):
        porta = sorteio.randrange(20_000, 40_000)
        if porta_livre("127.0.0.1", porta) and porta_livre("127.0.0.1", porta + 1):
            return porta
    raise RuntimeError("nenhum par de portas livres")


def _medir_validador(linhas: list[bytes]) -> float:
    from processamento.contrato import _CACHE_DOCS, _CACHE_PARTICIPANTES, validar_transacao

    _CACHE_DOCS.clear()  # mede com os caches começando vazios
    _CACHE_PARTICIPANTES.clear()
    inicio = time.perf_counter()
    invalidas = sum(1 for linha in linhas if validar_transacao(linha))
    segundos = time.perf_counter() - inicio
    if invalidas:
        raise RuntimeError(f"{invalidas} mensagens do simulador não passaram no contrato")
    return segundos


def _parametros(clientes: int, transacoes: int) -> Parametros:
    p = Parametros(semente=7, clientes=clientes)
    dias = transacoes / (clientes * p.pix_por_cliente_dia)
    return p.com(dias=dias)


def executar_benchmark(args: argparse.Namespace) -> int:
    p = _parametros(args.clientes, args.transacoes)
    print(f"Benchmark do simulador: {args.clientes} clientes, ~{args.transacoes:,} transações por medição.")
    inicio = time.perf_counter()
    from simulador.motor import Motor

    Motor(p.com(dias=0.001))  # mede a montagem da população à parte
    populacao_s = time.perf_counter() - inicio

    with tempfile.TemporaryDirectory(prefix="bench-simulador-") as pasta:
        arquivos = escrever_arquivos(p, pasta)
        tamanho = (Path(pasta) / "transacoes.jsonl").stat().st_size
        with (Path(pasta) / "transacoes.jsonl").open("rb") as arquivo:
            amostra = [linha for _, linha in zip(range(300_000), arquivo, strict=False)]
    print(f"Arquivos: {arquivos.mensagens:,} mensagens em {arquivos.segundos:.1f} s = {arquivos.por_segundo:,.0f}/s")
    validacao = _medir_validador(amostra)
    print(f"Validador do contrato: {len(amostra):,} mensagens em {validacao:.1f} s = {len(amostra) / validacao:,.0f}/s")
    carga = os.getloadavg()

    broker = None
    pasta_broker = None
    try:
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            from plataforma.config import Configuracao
            from plataforma.kafka_local import BrokerKafkaLocal

            pasta_broker = tempfile.TemporaryDirectory(prefix="bench-kafka-")
            cfg = Configuracao().com(
                dados_dir=pasta_broker.name, kafka_bootstrap=f"127.0.0.1:{_portas_livres()}", kafka_particoes=2
            )
            broker = BrokerKafkaLocal(cfg)
            print(f"Subindo um broker Kafka local temporário em {broker.bootstrap}...")
            broker.iniciar()
            bootstrap = broker.bootstrap
        sufixo = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        topicos = (f"bench.transacoes.{sufixo}", f"bench.med.{sufixo}")
        garantir_topicos(bootstrap, topicos, 2)
        kafka = produzir_kafka(p, bootstrap, *topicos)
        print(f"Kafka: {kafka.mensagens:,} mensagens em {kafka.segundos:.1f} s = {kafka.por_segundo:,.0f}/s")
    finally:
        if broker is not None:
            broker.parar()
        if pasta_broker is not None:
            pasta_broker.cleanup()

    if not args.sem_docs:
        registrar_em_docs(
            args, p, populacao_s, arquivos, tamanho, kafka, bootstrap if args.bootstrap else None,
            (len(amostra), validacao), carga,
        )  # fmt: skip
        print(f"Resultados gravados em {DOC.relative_to(RAIZ)} (seção Simulador).")
    return 0


def registrar_em_docs(
    args: argparse.Namespace,
    p: Parametros,
    populacao_s: float,
    arquivos: Resumo,
    tamanho: int,
    kafka: Resumo,
    bootstrap: str | None,
    validacao: tuple[int, float],
    carga: tuple[float, float, float],
) -> None:
    comando = f"detector-pix bench simulador --clientes {args.clientes} --transacoes {args.transacoes}"
    if bootstrap:
        comando += f" --bootstrap {bootstrap}"
    meta_arq, meta_kafka = 50_000, 20_000
    linhas = [
        (f"montar a população ({_n(p.clientes)} clientes)", "-", _n(populacao_s, 1), "-", "-"),
        (
            f"arquivos (`transacoes.jsonl`, `med.jsonl`, `gabarito.csv`; {_n(tamanho / 2**20)} MiB)",
            _n(arquivos.mensagens), _n(arquivos.segundos, 1), _n(arquivos.por_segundo), _n(meta_arq),
        ),
        (
            "Kafka local (tópicos de transações e MED, 2 partições)",
            _n(kafka.mensagens), _n(kafka.segundos, 1), _n(kafka.por_segundo), _n(meta_kafka),
        ),
        (
            "validar o contrato (`validar_transacao`, 1 núcleo)",
            _n(validacao[0]), _n(validacao[1], 1), _n(validacao[0] / validacao[1]), _n(50_000),
        ),
    ]  # fmt: skip
    tabela = "\n".join("| " + " | ".join(linha) + " |" for linha in linhas)
    secao = f"""## Simulador

Comando: `{comando}` (sobe um broker Kafka KRaft local temporário se `--bootstrap` não for dado).
Data: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Máquina: {_maquina()}. Carga média da máquina ao medir
(1/5/15 min): {" / ".join(_n(x, 1) for x in carga)} (outros processos, como testes Spark, dividem os núcleos).

Um processo Python, um núcleo para o simulador; no caso do Kafka o broker (JVM) roda na mesma máquina e
divide os 2 núcleos. Produtor confluent-kafka com `linger.ms=25`, lotes de 1 MiB, compressão lz4,
idempotência ligada; o tempo inclui a geração e só para na última confirmação do broker.

| medição | mensagens | segundos | mensagens/s | meta |
| --- | ---: | ---: | ---: | ---: |
{tabela}

Taxa de fraude gerada: {_n(100 * arquivos.taxa_fraude, 2)}%; mensagens MED: {_n(arquivos.med)}.
"""
    texto = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    padrao = re.compile(r"^## Simulador\n.*?(?=^## |\Z)", re.S | re.M)
    novo = padrao.sub(lambda _m: secao + "\n", texto) if padrao.search(texto) else None
    texto = novo or texto.rstrip("\n") + "\n\n" + secao
    DOC.write_text(texto.rstrip("\n") + "\n", encoding="utf-8")
