"""Kafka -> Delta bronze: a mensagem crua, intocada, com suas coordenadas no Kafka.

A bronze é o registro de tudo o que entrou. Nada é interpretado aqui: uma mensagem malformada chega
à bronze como qualquer outra e só é julgada no processamento, para que nunca se perca no caminho.
Exatamente uma vez: a fonte Kafka guarda os offsets no checkpoint e o sink Delta grava cada
micro-batch numa transação idempotente pelo id do batch; um reinício reprocessa o último batch sem
duplicar linhas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from plataforma.config import Configuracao
from plataforma.kafka_opcoes import PARAMETROS_CONEXAO_KAFKA, opcoes_kafka_spark
from plataforma.tabelas import Tabela, checkpoint, com_trigger

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

COLUNAS_BRONZE = (
    "chave_kafka",
    "valor_bruto",
    "topico",
    "particao",
    "offset",
    "timestamp_kafka",
    "data_hora_ingestao",
)

# Os parâmetros da configuração que o notebook da ingestão lê: no Databricks, só eles viram widgets. Usuário e senha
# do Kafka (segredos) só com SASL; esquema só com Unity Catalog; intervalo_trigger só no modo contínuo.
PARAMETROS_INGESTAO = (
    *PARAMETROS_CONEXAO_KAFKA,
    "topico_transacoes",
    "topico_med",
    "topico_decisoes",
    "offsets_iniciais",
    "max_offsets_por_trigger",
    "intervalo_trigger",
    "catalogo",
    "esquema",
    "dados_dir",
    "checkpoints_dir",
)


def ler_topico(spark: SparkSession, cfg: Configuracao, topico: str) -> DataFrame:
    """Stream do tópico com as opções que um banco precisa (offsets iniciais, limite por batch, SASL)."""
    leitor = (
        spark.readStream.format("kafka")
        .options(**opcoes_kafka_spark(cfg))
        .option("subscribe", topico)
        .option("startingOffsets", cfg.offsets_iniciais)
        # Perder dados (retenção expirou antes da leitura) deve parar o stream, não passar em silêncio.
        .option("failOnDataLoss", "true")
    )
    if cfg.max_offsets_por_trigger:
        leitor = leitor.option("maxOffsetsPerTrigger", str(cfg.max_offsets_por_trigger))
    return leitor.load()


def para_bronze(kafka: DataFrame) -> DataFrame:
    """Colunas do Kafka com nomes do projeto, mais a hora em que a linha entrou no lakehouse."""
    return kafka.select(
        F.col("key").alias("chave_kafka"),
        F.col("value").alias("valor_bruto"),
        F.col("topic").alias("topico"),
        F.col("partition").alias("particao"),
        F.col("offset").alias("offset"),
        F.col("timestamp").alias("timestamp_kafka"),
        F.current_timestamp().alias("data_hora_ingestao"),
    )


def iniciar_ingestao(
    spark: SparkSession,
    cfg: Configuracao,
    topico: str,
    destino: Tabela,
    disponivel: bool = False,
) -> StreamingQuery:
    """Inicia a consulta tópico -> bronze. ``disponivel`` lê o que há no Kafka agora e para."""
    escritor = (
        para_bronze(ler_topico(spark, cfg, topico))
        .writeStream.queryName(destino.nome)
        .outputMode("append")
        .option("checkpointLocation", checkpoint(cfg, destino.nome))
    )
    return destino.iniciar_escrita(com_trigger(escritor, cfg, disponivel))
