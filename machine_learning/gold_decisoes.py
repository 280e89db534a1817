"""A ``gold_decisoes``: o tópico de decisões gravado em Delta, cada decisão uma vez.

Por que do tópico, e não de dentro do laço de decisão: o tópico já é exatamente uma vez (transações), e o Spark
lê só as transações confirmadas (``read_committed``) com o seu checkpoint; o commit Delta fica fora do caminho
quente e uma queda de qualquer lado não perde nem duplica linha.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from machine_learning.nucleo import ESQUEMA_DECISOES
from plataforma.config import Configuracao
from plataforma.kafka_opcoes import opcoes_kafka_spark
from plataforma.tabelas import checkpoint, tabela

CONSULTA = "gold_decisoes"
PROPRIEDADES = {"delta.dataSkippingStatsColumns": "id_decisao,end_to_end_id,data_hora,decisao,lote"}


def preparar_gold_decisoes(spark: SparkSession, cfg: Configuracao, id_app: str) -> None:
    """Cria a tabela vazia (partição por ``data``, estatísticas nas colunas de busca) se ainda não existe."""
    destino = tabela(cfg, "gold_decisoes")
    if not destino.existe(spark):
        vazio = spark.createDataFrame([], ESQUEMA_DECISOES).withColumn("data", F.to_date("data_hora"))
        destino.anexar(vazio, f"{id_app}:criacao", 0, "data", PROPRIEDADES)


def gravar_decisoes_do_topico(spark: SparkSession, cfg: Configuracao) -> int:
    """Lê o que o tópico de decisões tem de novo (checkpoint próprio) e anexa à tabela; devolve as linhas."""
    preparar_gold_decisoes(spark, cfg, f"detector-pix:{CONSULTA}")
    leitura = (
        spark.readStream.format("kafka")
        .options(**opcoes_kafka_spark(cfg))
        .option("subscribe", cfg.topico_decisoes)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "true")
        .option("kafka.isolation.level", "read_committed")
        .load()
    )
    linhas = (
        leitura.select(F.from_json(F.col("value").cast("string"), ESQUEMA_DECISOES).alias("d"))
        .select("d.*")
        .withColumn("data", F.to_date("data_hora"))
    )
    escritor = (
        linhas.writeStream.queryName(f"{CONSULTA}_{cfg.topico_decisoes}")
        .option("checkpointLocation", checkpoint(cfg, CONSULTA))
        .option("mergeSchema", "true")
        .partitionBy("data")
        .trigger(availableNow=True)
    )
    consulta = tabela(cfg, "gold_decisoes").iniciar_escrita(escritor)
    consulta.awaitTermination()
    return sum(int(p["numInputRows"]) for p in consulta.recentProgress)
