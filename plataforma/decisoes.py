"""As três decisões possíveis para um Pix e o esquema de uma decisão, declarados uma vez.

Por que na plataforma: são parte do contrato de ``pix.decisoes`` e da ``gold_decisoes``, e quem as usa mora em
camadas diferentes. A decisão (``machine_learning``) as produz; as métricas (``monitoramento``, abaixo dela) criam
uma série por decisão desde a partida. A plataforma é a camada que as duas podem importar.
"""

from __future__ import annotations

from pyspark.sql import types as T

# Os nomes moram em plataforma.faixas (sem PySpark: o modelo registrado os leva junto); reexportados aqui.
from plataforma.faixas import APROVAR, BLOQUEAR, DECISOES, REVISAR

__all__ = ["APROVAR", "BLOQUEAR", "DECISOES", "ESQUEMA_DECISOES", "REVISAR"]

# Uma decisão: o JSON de pix.decisoes e a linha da gold_decisoes (contrato em docs/contrato_de_dados.md).
ESQUEMA_DECISOES = T.StructType(
    [
        T.StructField("id_decisao", T.StringType()),
        T.StructField("end_to_end_id", T.StringType()),
        T.StructField("decisao", T.StringType()),
        T.StructField("score", T.DoubleType()),
        T.StructField("motivos", T.ArrayType(T.StringType())),
        T.StructField("versao_modelo", T.StringType()),
        T.StructField("data_hora", T.TimestampType()),
        T.StructField("timestamp_kafka", T.TimestampType()),
        T.StructField("data_hora_decisao", T.TimestampType()),
        T.StructField("valor", T.DoubleType()),
        T.StructField("pagador_id_conta", T.StringType()),
        T.StructField("recebedor_id_conta", T.StringType()),
        T.StructField("topico", T.StringType()),
        T.StructField("particao", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("lote", T.LongType()),
    ]
)
