"""SIGKILL no meio do stream de processamento: o reinício não perde nem duplica nenhuma mensagem."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import checkpoint, tabela
from processamento.conciliacao import conciliar
from processamento.pipeline import CONSULTA_TRANSACOES
from simulador import Parametros
from testes.processos import derrubar_depois_de, executar_em_processo
from testes.util import CHAVE, cfg_isolada, ingerir, produzir_simulacao

pytestmark = pytest.mark.integracao


def _processo(cfg: Configuracao, saida: Path, *extras: str) -> subprocess.Popen:
    campos = ("max_arquivos_por_trigger", "intervalo_trigger")
    return executar_em_processo(cfg, saida, ["processamento", *extras], campos, CHAVE)


def test_sigkill_no_meio_do_stream_e_reinicio_exatamente_uma_vez(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, tmp_path: Path
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "queda").com(
        max_offsets_por_trigger=40, max_arquivos_por_trigger=1, intervalo_trigger="1 seconds"
    )
    _, total_tx, _ = produzir_simulacao(cfg, Parametros(semente=3, clientes=150, dias=1.0, taxa_invalidas=0.05))
    ingerir(spark, cfg)
    arquivos_bronze = len(tabela(cfg, "bronze_transacoes").ler(spark).inputFiles())
    assert arquivos_bronze >= 6

    estado = Path(checkpoint(cfg, CONSULTA_TRANSACOES)) / "estado"
    log = tmp_path / "processamento.log"
    processo = _processo(cfg, log)
    lotes_antes_da_queda = derrubar_depois_de(processo, estado, 3, log)
    assert lotes_antes_da_queda < arquivos_bronze, "a queda precisa acontecer no meio do stream"

    reinicio = _processo(cfg, log, "--disponivel")
    assert reinicio.wait(300) == 0, log.read_text(errors="replace")[-3000:]

    transacoes, _ = conciliar(spark, cfg)
    assert transacoes.equilibrado(), transacoes
    assert transacoes.bronze == total_tx
    silver = tabela(cfg, "silver_transacoes").ler(spark)
    gold = tabela(cfg, "gold_features").ler(spark)
    assert silver.count() == silver.select("end_to_end_id").distinct().count() == transacoes.silver
    assert gold.count() == gold.select("end_to_end_id").distinct().count() == transacoes.silver
    quarentena = tabela(cfg, "silver_quarentena").ler(spark).where(F.col("origem") == "transacoes")
    assert quarentena.count() == quarentena.select("particao", "offset").distinct().count()
