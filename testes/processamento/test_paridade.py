"""Uma implementação de features: o stream (vários micro-batches) e o backfill em lote dão os mesmos valores."""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import tabela
from processamento.features import COLUNAS_FEATURES
from processamento.historico import features_em_lote
from processamento.pipeline import iniciar_processamento
from simulador import Parametros
from testes.util import CHAVE, cfg_isolada, ingerir, produzir_simulacao

pytestmark = pytest.mark.integracao


def test_features_do_stream_iguais_as_do_backfill(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal
) -> None:
    # Uma partição e tráfego em ordem: a ordem de chegada é a ordem do tempo, como no backfill.
    cfg = cfg_isolada(cfg_teste, broker_kafka, "paridade", particoes=1).com(
        max_offsets_por_trigger=150, max_arquivos_por_trigger=1
    )
    produzir_simulacao(cfg, Parametros(semente=9, clientes=150, dias=3.0, taxa_fraude=0.03, fracao_med=0.0))
    ingerir(spark, cfg)
    _, med, processador = iniciar_processamento(spark, cfg, CHAVE, disponivel=True)
    med.awaitTermination()
    assert len(processador.resumos) >= 3  # o estado atravessou vários micro-batches

    do_stream = tabela(cfg, "gold_features").ler(spark).toPandas().set_index("end_to_end_id").sort_index()
    do_backfill = features_em_lote(tabela(cfg, "silver_transacoes").ler(spark)).set_index("end_to_end_id").sort_index()
    assert len(do_stream) == len(do_backfill) > 500
    assert (do_stream["pag_qtd_24h"] > 0).any() and (do_stream["rec_pagadores_distintos_24h"] > 1).any()
    for coluna in COLUNAS_FEATURES:
        pd.testing.assert_series_equal(
            do_stream[coluna].astype("float64"), do_backfill[coluna].astype("float64"), check_names=False, obj=coluna
        )
