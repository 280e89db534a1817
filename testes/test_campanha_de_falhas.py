"""Campanha de falhas de ponta a ponta, com Spark, Delta e Kafka reais e a mistura de entrada hostil.

Tráfego simulado (com 5% de mensagens defeituosas e duplicatas) mais mensagens hostis (surrogate isolado, datas
impossíveis, futuro distante, JSON fundo demais, campo enorme, bytes que não são UTF-8) passa pela ingestão, pelo
processamento e pela decisão. Cada um é derrubado com SIGKILL cinco vezes em pontos ao acaso e reiniciado; o
broker é parado e religado no meio da ingestão e no meio da decisão. No fim:

- a bronze tem cada offset do Kafka uma vez;
- a conciliação fecha: cada mensagem na silver, na quarentena com motivo, ou contada como duplicata;
- cada Pix da silver tem exatamente uma decisão em ``pix.decisoes`` (``read_committed``), e nenhuma decisão válida
  é de um Pix que a silver não tem.

Cenários de uma falha só (checkpoint reiniciado, MED antes do Pix, champion que não carrega e volta, MLflow e
Pushgateway fora) têm testes próprios, listados em docs/arquitetura.md.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from machine_learning.decisao import MENSAGEM_INVALIDA
from machine_learning.nucleo import ler_decisoes_kafka
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal, portas_livres_para_broker
from plataforma.tabelas import checkpoint, tabela
from processamento.conciliacao import conciliar
from processamento.retomada import CONSULTA_TRANSACOES
from simulador import Parametros, gerar_tudo, produzir_mensagens
from testes.processos import executar_em_processo
from testes.util import CHAVE, esperar

pytestmark = [pytest.mark.integracao, pytest.mark.campanha]

QUEDAS = 5
CAMPOS = ("max_offsets_por_trigger", "max_arquivos_por_trigger", "intervalo_trigger", "max_mensagens_lote_decisao",
          "intervalo_snapshot_decisao_s", "estado_inicial_decisao", "pushgateway_url")  # fmt: skip


def hostis(base: dict) -> tuple[list[bytes], set[str]]:
    """Mensagens que já derrubaram (ou quase) um stream, e os ``end_to_end_id`` legíveis delas.

    Cada uma deve ir para a quarentena, e o stream seguir. Os ids são novos (nenhum Pix válido os tem).
    """

    def novo_id(sufixo: str) -> str:
        return base["end_to_end_id"][:-2] + sufixo

    def com(**mudancas: object) -> bytes:
        return json.dumps({**base, **mudancas}).encode()

    original = base["end_to_end_id"]
    ids = {novo_id(s) for s in ("!1", "!2", "!3", "!4", "!5")}
    mensagens = [
        com(end_to_end_id=novo_id("!1"), dispositivo={"id": "\ud800", "cadastrado": True}),  # surrogate isolado
        com(end_to_end_id=novo_id("!2"), data_hora="2099-01-01T00:00:00.000Z"),  # futuro distante
        com(end_to_end_id=novo_id("!3"), data_hora="0000-01-01T00:00:00.000Z"),  # ano zero
        com(end_to_end_id=novo_id("!4"), valor=1e-9),
        com(end_to_end_id=novo_id("!5"), pagador={**base["pagador"], "nome": "x" * 500_000}),  # campo enorme
        com(end_to_end_id=original[:9] + "202602311200" + original[21:]),  # 31 de fevereiro: id ilegível como data
        b'{"end_to_end_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # JSON fundo demais
        b"\xff\xfe\x00 nem UTF-8",
        b"",
        b'{"valor": NaN}',
    ]
    return mensagens, ids


@pytest.fixture(scope="module")
def broker_proprio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerKafkaLocal]:
    """Um broker só desta campanha: ele é parado e religado no meio, sem afetar os outros testes."""
    pasta = tmp_path_factory.mktemp("campanha")
    cfg = Configuracao().com(dados_dir=str(pasta / "dados"), kafka_bootstrap=f"127.0.0.1:{portas_livres_para_broker()}")
    broker = BrokerKafkaLocal(cfg)
    broker.iniciar()
    yield broker
    broker.parar()


def _derrubar_varias_vezes(
    iniciar: Callable[[], subprocess.Popen],
    progresso: Callable[[], int],
    o_que: str,
    log: Path,
    sorteio: random.Random,
    no_meio: Callable[[], None] | None = None,
) -> None:
    """``QUEDAS`` vezes: inicia, espera o progresso andar de 1 a 3 passos (ao acaso) e manda SIGKILL ao grupo.

    ``no_meio`` roda com o processo vivo, antes da terceira queda (o broker parado e religado). Se o processo
    terminar sozinho por causa disso (como um job que falhou), é reiniciado, como faria o Databricks.
    """
    for queda in range(QUEDAS):
        processo = iniciar()
        if queda == 2 and no_meio is not None:
            _esperar_andar(processo, progresso, progresso() + 1, o_que, log)
            no_meio()
            if processo.poll() is not None:  # caiu com o broker parado: o job reinicia
                processo = iniciar()
        _esperar_andar(processo, progresso, progresso() + sorteio.randint(1, 3), o_que, log)
        if processo.poll() is None:
            os.killpg(processo.pid, signal.SIGKILL)
        processo.wait(30)


def _esperar_andar(processo: subprocess.Popen, progresso: Callable[[], int], alvo: int, o_que: str, log: Path) -> None:
    def andou() -> bool:
        if processo.poll() not in (None, 0):
            pytest.fail(f"{o_que} morreu sozinho (código {processo.returncode}):\n{_cauda(log)}")
        return progresso() >= alvo or processo.poll() is not None

    esperar(andou, 300, f"{o_que} chegar ao passo {alvo}", diagnostico=lambda: _cauda(log))


def _cauda(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _commits(caminho_delta: str) -> int:
    return len(list((Path(caminho_delta) / "_delta_log").glob("*.json")))


def _registros_de_lote(cfg: Configuracao) -> int:
    from confluent_kafka import Consumer, TopicPartition

    leitor = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": "campanha-contagem"})
    try:
        topico = leitor.list_topics(cfg.topico_lotes_decisao, timeout=10).topics[cfg.topico_lotes_decisao]
        if topico.error is not None:
            return 0
        return sum(
            leitor.get_watermark_offsets(TopicPartition(cfg.topico_lotes_decisao, p), timeout=10)[1]
            for p in topico.partitions
        )
    finally:
        leitor.close()


def test_cinco_sigkill_por_stream_e_broker_religado_nada_perdido_nem_duplicado(
    spark: SparkSession, broker_proprio: BrokerKafkaLocal, tmp_path: Path
) -> None:
    sorteio = random.Random(20261201)
    cfg = Configuracao().com(
        dados_dir=str(tmp_path / "dados"), kafka_bootstrap=broker_proprio.bootstrap, kafka_particoes=2,
        max_offsets_por_trigger=150, max_arquivos_por_trigger=1, intervalo_trigger="1 seconds",
        max_mensagens_lote_decisao=40, intervalo_snapshot_decisao_s=1, estado_inicial_decisao="vazio",
        pushgateway_url="",
    )  # fmt: skip
    broker_proprio.criar_topicos(cfg.topicos, 2, decisoes=cfg.topico_decisoes)
    tudo = gerar_tudo(Parametros(semente=77, clientes=1_500, dias=2.0, taxa_invalidas=0.05, fracao_med=1.0))
    ruins, ids_hostis = hostis(json.loads(tudo.transacoes[0]))
    mensagens = tudo.transacoes + ruins
    chaves = tudo.chaves + [f"hostil-{i}" for i in range(len(ruins))]
    enviadas = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, mensagens, chaves)
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_med, tudo.med, tudo.chaves_med)
    log = tmp_path / "campanha.log"

    def religar_broker() -> None:
        broker_proprio.parar()
        broker_proprio.iniciar()

    def notebook(*argumentos: str) -> Callable[[], subprocess.Popen]:
        return lambda: executar_em_processo(cfg, log, argumentos, CAMPOS, CHAVE)

    # Ingestão: Kafka -> bronze. O broker cai e volta no meio.
    bronze = tabela(cfg, "bronze_transacoes")
    _derrubar_varias_vezes(
        notebook("ingestao", "--disponivel"), lambda: _commits(bronze.caminho), "a ingestão", log, sorteio,
        no_meio=religar_broker,
    )  # fmt: skip
    assert notebook("ingestao", "--disponivel")().wait(600) == 0, _cauda(log)
    coordenadas = bronze.ler(spark).select("particao", "offset")
    assert coordenadas.count() == coordenadas.distinct().count() == enviadas  # cada offset uma vez

    # Processamento: bronze -> silver, quarentena, gold.
    estado = Path(checkpoint(cfg, CONSULTA_TRANSACOES)) / "estado"
    _derrubar_varias_vezes(
        notebook("processamento", "--disponivel"), lambda: len(list(estado.glob("log-*.npz"))), "o processamento",
        log, sorteio,
    )  # fmt: skip
    assert notebook("processamento", "--disponivel")().wait(600) == 0, _cauda(log)
    for balanco in conciliar(spark, cfg):
        assert balanco.equilibrado(), balanco
    transacoes = next(b for b in conciliar(spark, cfg) if b.origem == "transacoes")
    assert transacoes.bronze == enviadas and transacoes.quarentena >= len(ruins)
    silver = tabela(cfg, "silver_transacoes").ler(spark)
    assert silver.count() == silver.select("end_to_end_id").distinct().count()
    gold = tabela(cfg, "gold_features").ler(spark)
    assert gold.count() == silver.count() and gold.join(silver, "end_to_end_id", "left_anti").count() == 0

    # Decisão em tempo real: Kafka -> pix.decisoes. O broker cai e volta no meio.
    _derrubar_varias_vezes(
        notebook("modelo", "--modo", "pontuar"), lambda: _registros_de_lote(cfg), "a decisão", log, sorteio,
        no_meio=religar_broker,
    )  # fmt: skip
    assert notebook("modelo", "--modo", "pontuar", "--disponivel")().wait(600) == 0, _cauda(log)
    decisoes = ler_decisoes_kafka(cfg)
    assert decisoes["id_decisao"].is_unique  # nenhuma decisão duas vezes, com cinco quedas e o broker religado
    validas = decisoes[~decisoes["motivos"].map(lambda m: MENSAGEM_INVALIDA in m)]
    pix_da_silver = {r.end_to_end_id for r in silver.select("end_to_end_id").collect()}
    assert validas["end_to_end_id"].is_unique
    assert set(validas["end_to_end_id"]) == pix_da_silver  # cada Pix válido: exatamente uma decisão
    # As hostis com id legível viram REVISAR (mensagem inválida), nunca um Pix da silver.
    hostil = decisoes[decisoes["end_to_end_id"].isin(ids_hostis)]
    assert set(hostil["end_to_end_id"]) == ids_hostis
    assert hostil["motivos"].map(lambda m: MENSAGEM_INVALIDA in m).all()
    assert silver.where(F.col("end_to_end_id").isin(list(ids_hostis))).count() == 0
