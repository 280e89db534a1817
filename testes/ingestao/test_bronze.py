"""Kafka -> bronze: colunas certas e exatamente uma vez através de paradas e reinícios."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from chispa import assert_df_equality
from confluent_kafka import Producer
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from ingestao.bronze import COLUNAS_BRONZE, iniciar_ingestao, para_bronze
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import Tabela

ESQUEMA_KAFKA = T.StructType(
    [
        T.StructField("key", T.BinaryType()),
        T.StructField("value", T.BinaryType()),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("timestamp", T.TimestampType()),
        T.StructField("timestampType", T.IntegerType()),
    ]
)


def test_para_bronze_mantem_o_valor_cru_e_as_coordenadas(spark: SparkSession) -> None:
    instante = dt.datetime(2026, 11, 27, 12, 0, 0)
    kafka = spark.createDataFrame(
        [
            (b"conta-1", b'{"valor": 10.5}', "pix.transacoes", 1, 42, instante, 0),
            (None, b"{nao json", "t", 0, 7, instante, 0),
        ],
        ESQUEMA_KAFKA,
    )
    bronze = para_bronze(kafka)
    assert tuple(bronze.columns) == COLUNAS_BRONZE
    esperado = spark.createDataFrame(
        [
            (b"conta-1", b'{"valor": 10.5}', "pix.transacoes", 1, 42, instante),
            (None, b"{nao json", "t", 0, 7, instante),
        ],
        "chave_kafka binary, valor_bruto binary, topico string, particao int, offset long, timestamp_kafka timestamp",
    )
    assert_df_equality(bronze.drop("data_hora_ingestao"), esperado, ignore_nullable=True)
    assert bronze.filter("data_hora_ingestao is null").count() == 0


def _produzir(bootstrap: str, topico: str, valores: list[str]) -> None:
    produtor = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i, valor in enumerate(valores):
        produtor.produce(topico, key=f"conta-{i % 7}", value=valor)
    assert produtor.flush(30) == 0


@pytest.mark.integracao
def test_ingestao_retoma_do_checkpoint_exatamente_uma_vez(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, topico_novo: str
) -> None:
    pasta = cfg_teste.pasta_dados / "teste-bronze" / uuid.uuid4().hex
    cfg = cfg_teste.com(checkpoints_dir=str(pasta / "checkpoints"))
    destino = Tabela("bronze_transacoes", None, str(pasta / "bronze"))
    primeiras = [f'{{"lote": 1, "n": {i}}}' for i in range(60)]
    segundas = [f'{{"lote": 2, "n": {i}}}' for i in range(45)]

    _produzir(broker_kafka.bootstrap, topico_novo, primeiras)
    iniciar_ingestao(spark, cfg, topico_novo, destino, disponivel=True).awaitTermination()
    assert destino.ler(spark).count() == 60

    # Sem mensagens novas, uma nova execução não grava nada de novo.
    iniciar_ingestao(spark, cfg, topico_novo, destino, disponivel=True).awaitTermination()
    assert destino.ler(spark).count() == 60

    _produzir(broker_kafka.bootstrap, topico_novo, segundas)
    consulta = iniciar_ingestao(spark, cfg, topico_novo, destino, disponivel=True)
    consulta.awaitTermination()
    assert consulta.exception() is None

    bronze = destino.ler(spark)
    linhas = bronze.selectExpr("cast(valor_bruto as string) as v", "particao", "offset", "topico").collect()
    assert sorted(r.v for r in linhas) == sorted(primeiras + segundas)
    assert len({(r.particao, r.offset) for r in linhas}) == len(linhas) == 105
    assert {r.topico for r in linhas} == {topico_novo}
