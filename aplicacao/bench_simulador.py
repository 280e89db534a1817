"""``detector-pix bench simulador``: transações por segundo para arquivos e para o Kafka local.

Mede, não supõe: gera um período com o número de transações pedido, cronometra a escrita em disco e
a produção no Kafka (até a última confirmação do broker) e grava a seção ``## Simulador`` de
``docs/benchmarks.md`` com comando, data, máquina e números.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aplicacao.benchmarks import DOC, agora, gravar_secao, maquina, numero
from plataforma.config import RAIZ_PROJETO as RAIZ
from plataforma.kafka_cliente import criar_topicos
from plataforma.kafka_local import portas_livres_para_broker
from simulador.parametros import Parametros
from simulador.saida import Resumo, escrever_arquivos, produzir_kafka


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
                dados_dir=pasta_broker.name,
                kafka_bootstrap=f"127.0.0.1:{portas_livres_para_broker()}",
                kafka_particoes=2,
            )
            broker = BrokerKafkaLocal(cfg)
            print(f"Subindo um broker Kafka local temporário em {broker.bootstrap}...")
            broker.iniciar()
            bootstrap = broker.bootstrap
        sufixo = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        topicos = (f"bench.transacoes.{sufixo}", f"bench.med.{sufixo}")
        criar_topicos(bootstrap, topicos, 2)
        kafka = produzir_kafka(p, bootstrap, *topicos)
        print(f"Kafka: {kafka.mensagens:,} mensagens em {kafka.segundos:.1f} s = {kafka.por_segundo:,.0f}/s")
    finally:
        if broker is not None:
            broker.parar()
        if pasta_broker is not None:
            pasta_broker.cleanup()

    if not args.sem_docs:
        escrever_em_docs(
            args, p, populacao_s, arquivos, tamanho, kafka, bootstrap if args.bootstrap else None,
            (len(amostra), validacao), carga,
        )  # fmt: skip
        print(f"Resultados gravados em {DOC.relative_to(RAIZ)} (seção Simulador).")
    return 0


def escrever_em_docs(
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
        (f"montar a população ({numero(p.clientes)} clientes)", "-", numero(populacao_s, 1), "-", "-"),
        (
            f"arquivos (`transacoes.jsonl`, `med.jsonl`, `gabarito.csv`; {numero(tamanho / 2**20)} MiB)",
            numero(arquivos.mensagens), numero(arquivos.segundos, 1), numero(arquivos.por_segundo), numero(meta_arq),
        ),
        (
            "Kafka local (tópicos de transações e MED, 2 partições)",
            numero(kafka.mensagens), numero(kafka.segundos, 1), numero(kafka.por_segundo), numero(meta_kafka),
        ),
        (
            "validar o contrato (`validar_transacao`, 1 núcleo)",
            numero(validacao[0]), numero(validacao[1], 1), numero(validacao[0] / validacao[1]), numero(50_000),
        ),
    ]  # fmt: skip
    tabela = "\n".join("| " + " | ".join(linha) + " |" for linha in linhas)
    corpo = f"""Comando: `{comando}` (sobe um broker Kafka KRaft local temporário se `--bootstrap` não for dado).
Data: {agora()}. Máquina: {maquina()}. Carga média da máquina ao medir
(1/5/15 min): {" / ".join(numero(x, 1) for x in carga)} (outros processos, como testes Spark, dividem os núcleos).

Um processo Python, um núcleo para o simulador; no caso do Kafka o broker (JVM) roda na mesma máquina e
divide os 2 núcleos. Produtor confluent-kafka com `linger.ms=25`, lotes de 1 MiB, compressão lz4,
idempotência ligada; o tempo inclui a geração e só para na última confirmação do broker.

| medição | mensagens | segundos | mensagens/s | meta |
| --- | ---: | ---: | ---: | ---: |
{tabela}

Taxa de fraude gerada: {numero(100 * arquivos.taxa_fraude, 2)}%; mensagens MED: {numero(arquivos.med)}.
"""
    gravar_secao("Simulador", corpo)


def adicionar_subcomando(alvos: argparse._SubParsersAction) -> None:
    """``detector-pix bench simulador``."""
    alvo = alvos.add_parser("simulador", help="transações/s do simulador para arquivos e para o Kafka local")
    alvo.add_argument("--bootstrap", help="Kafka já rodando (padrão: sobe um broker local temporário)")
    alvo.add_argument("--clientes", type=int, default=200_000, help="clientes da população do benchmark")
    alvo.add_argument("--transacoes", type=int, default=2_000_000, help="transações por medição (aprox.)")
    alvo.add_argument("--sem-docs", action="store_true", help="só imprime; não altera docs/benchmarks.md")
    alvo.set_defaults(func=executar_benchmark)
