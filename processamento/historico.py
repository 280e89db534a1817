"""Features sobre a história inteira (backfill para treino), com o mesmo motor do stream.

Por que o mesmo motor e não um SQL com janelas: duas implementações divergem em detalhes (empates,
limites de janela, atrasadas) e o modelo aprende num mundo e decide em outro. Aqui a história é lida em
ordem de tempo, um dia por vez, e passa pelo ``MotorDeFeatures`` como passaria pelo stream. O teste de
paridade compara as duas saídas valor a valor.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from processamento.features import COLUNAS_ENTRADA, MotorDeFeatures, ParametrosFeatures


def features_em_lote(
    transacoes: DataFrame,
    marcas: DataFrame | None = None,
    parametros: ParametrosFeatures | None = None,
    colunas_extras: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Features de cada transação de ``transacoes`` (colunas de ``COLUNAS_ENTRADA``), em ordem de tempo.

    ``marcas`` (``recebedor_id_conta``, ``data_hora_notificacao``) entram na linha do tempo no seu
    instante. Devolve um pandas DataFrame: o chamador decide se grava em Delta ou treina direto.
    """
    motor = MotorDeFeatures(parametros)
    colunas = list(dict.fromkeys([*COLUNAS_ENTRADA, *colunas_extras]))
    base = transacoes.select(*colunas).withColumn("_dia", F.to_date("data_hora"))
    dias = [r._dia for r in base.select("_dia").distinct().orderBy("_dia").collect()]
    todas_marcas = None
    if marcas is not None:
        todas_marcas = (
            marcas.where(F.col("recebedor_id_conta").isNotNull())
            .select("recebedor_id_conta", "data_hora_notificacao")
            .toPandas()
        )
        todas_marcas["data_hora_notificacao"] = pd.to_datetime(todas_marcas["data_hora_notificacao"], utc=True)
    partes = []
    for i, dia in enumerate(dias):
        do_dia = base.where(F.col("_dia") == dia).drop("_dia").toPandas()
        marcas_do_dia = None
        if todas_marcas is not None:
            # Cada marca entra no dia em que foi notificada (as de antes do 1º dia, no 1º dia).
            fim = pd.Timestamp(dia, tz="UTC") + pd.Timedelta(days=1)
            inicio = pd.Timestamp(dia, tz="UTC") if i else pd.Timestamp.min.tz_localize("UTC")
            janela = todas_marcas["data_hora_notificacao"]
            marcas_do_dia = todas_marcas[(janela >= inicio) & (janela < fim)]
        partes.append(motor.processar_linha_do_tempo(do_dia, marcas_do_dia))
    if not partes:
        return pd.DataFrame(columns=colunas)
    return pd.concat(partes, ignore_index=True)
