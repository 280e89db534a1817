"""Checkpoint reiniciado e consulta renomeada: o processamento continua sem perder nem duplicar linha nenhuma.

Antes, com ``txnAppId`` fixo, um checkpoint novo recomeçava os lotes do 0 e o Delta descartava em silêncio as
escritas até passar o número antigo: as mensagens novas nunca chegavam à silver.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import checkpoint, tabela
from processamento import pipeline
from processamento.conciliacao import conciliar
from processamento.features import COLUNAS_FEATURES
from processamento.retomada import ARQUIVO_RETOMADA, id_de_escrita, reiniciar_checkpoint
from simulador import Parametros
from simulador.parametros import INICIO_PADRAO
from testes.util import CHAVE, cfg_isolada, ingerir, produzir_simulacao

pytestmark = pytest.mark.integracao

PARTES = [
    Parametros(semente=40 + i, clientes=120, dias=0.5, inicio=INICIO_PADRAO + timedelta(hours=12 * i),
               taxa_invalidas=0.05, fracao_med=1.0, taxa_fraude=0.03)
    for i in range(3)
]  # fmt: skip


def _processar(spark: SparkSession, cfg: Configuracao) -> None:
    _, med, _ = pipeline.iniciar_processamento(spark, cfg, CHAVE, disponivel=True)
    med.awaitTermination()


def _parte(spark: SparkSession, cfg: Configuracao, i: int) -> None:
    produzir_simulacao(cfg, PARTES[i])
    ingerir(spark, cfg)
    _processar(spark, cfg)


def _features(spark: SparkSession, cfg: Configuracao) -> pd.DataFrame:
    colunas = ["end_to_end_id", *COLUNAS_FEATURES]
    gold = tabela(cfg, "gold_features").ler(spark).select(*colunas).toPandas()
    return gold.sort_values("end_to_end_id").reset_index(drop=True)


def test_checkpoint_reiniciado_e_consulta_renomeada_continuam_sem_perder_nem_duplicar(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Uma partição: a ordem na bronze é a do tópico, e as features das duas execuções podem ser comparadas.
    continua = cfg_isolada(cfg_teste, broker_kafka, "retomada-referencia", particoes=1)
    for i in range(3):
        _parte(spark, continua, i)

    cfg = cfg_isolada(cfg_teste, broker_kafka, "retomada", particoes=1)
    _parte(spark, cfg, 0)
    id_antigo = id_de_escrita(cfg, pipeline.CONSULTA_TRANSACOES)
    assert cfg.implantacao in id_antigo  # dev e prod nunca dividem ids
    lote_antes = tabela(cfg, "silver_transacoes").ler(spark).agg(F.max("lote")).first()[0]

    # 1. Checkpoint reiniciado (as duas consultas); o estado das features fica.
    for consulta in (pipeline.CONSULTA_TRANSACOES, pipeline.CONSULTA_MED):
        antigos = reiniciar_checkpoint(cfg, consulta)
        assert (antigos / "metadata").exists()
    assert (Path(checkpoint(cfg, pipeline.CONSULTA_TRANSACOES)) / "estado").is_dir()
    _parte(spark, cfg, 1)
    assert id_de_escrita(cfg, pipeline.CONSULTA_TRANSACOES) != id_antigo
    retomada = Path(checkpoint(cfg, pipeline.CONSULTA_TRANSACOES)) / ARQUIVO_RETOMADA
    assert retomada.exists()
    silver = tabela(cfg, "silver_transacoes").ler(spark)
    assert silver.where(F.col("lote") > lote_antes).count() > 0  # a numeração continuou; nada foi descartado

    # 2. Consulta renomeada: o checkpoint (com o estado) vai junto para o nome novo.
    novo = f"{pipeline.CONSULTA_TRANSACOES}_v2"
    Path(checkpoint(cfg, pipeline.CONSULTA_TRANSACOES)).rename(checkpoint(cfg, novo))
    monkeypatch.setattr(pipeline, "CONSULTA_TRANSACOES", novo)
    _parte(spark, cfg, 2)

    for balanco in conciliar(spark, cfg):
        assert balanco.equilibrado(), balanco
    silver = tabela(cfg, "silver_transacoes").ler(spark)
    referencia = tabela(continua, "silver_transacoes").ler(spark)
    assert silver.count() == silver.select("end_to_end_id").distinct().count() == referencia.count()
    quarentena = tabela(cfg, "silver_quarentena").ler(spark)
    for origem in ("transacoes", "med"):
        da_origem = quarentena.where(F.col("origem") == origem)
        assert da_origem.count() == da_origem.select("particao", "offset").distinct().count()
        assert (
            da_origem.count()
            == tabela(continua, "silver_quarentena").ler(spark).where(F.col("origem") == origem).count()
        )
    med = tabela(cfg, "silver_med").ler(spark)
    assert med.count() == med.select("end_to_end_id").distinct().count()
    assert med.count() == tabela(continua, "silver_med").ler(spark).count()

    # O estado das features continuou do último lote: a gold é a de quem nunca reiniciou nada.
    pd.testing.assert_frame_equal(_features(spark, cfg), _features(spark, continua))


def test_checkpoint_reiniciado_depois_de_uma_queda_no_meio_do_lote_para_com_erro_claro(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "retomada-suja", particoes=1)
    _parte(spark, cfg, 0)
    estado = Path(checkpoint(cfg, pipeline.CONSULTA_TRANSACOES)) / "estado"
    ultimo = max(int(p.stem.split("-")[1]) for p in estado.glob("log-*.npz"))
    for arquivo in estado.glob(f"*-{ultimo:012d}.npz"):
        arquivo.unlink()  # as tabelas gravaram o último lote e a queda veio antes do estado
    reiniciar_checkpoint(cfg, pipeline.CONSULTA_TRANSACOES)
    with pytest.raises(ErroDeAmbiente, match="não terminou limpa"):
        pipeline.iniciar_processamento(spark, cfg, CHAVE, disponivel=True)
