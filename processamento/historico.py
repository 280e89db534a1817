"""Features sobre a história inteira (backfill para treino), com o mesmo motor do stream.

Por que o mesmo motor e não um SQL com janelas: duas implementações divergem em detalhes (empates,
limites de janela, atrasadas) e o modelo aprende num mundo e decide em outro. Aqui a história passa pelo
``MotorDeFeatures`` em ordem de tempo, um dia UTC por vez, como passaria pelo stream; cada notificação MED
entra como marca no seu instante. O teste de paridade compara a saída com a do stream, valor a valor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from processamento.features import COLUNAS_ENTRADA, COLUNAS_FEATURES, MotorDeFeatures, ParametrosFeatures


def _normalizar_marcas(marcas: pd.DataFrame | None) -> pd.DataFrame | None:
    if marcas is None:
        return None
    marcas = marcas.loc[marcas["recebedor_id_conta"].notna(), ["recebedor_id_conta", "data_hora_notificacao"]]
    return marcas.assign(data_hora_notificacao=pd.to_datetime(marcas["data_hora_notificacao"], utc=True))


def percorrer_dias(
    motor: MotorDeFeatures,
    dias: Iterable[tuple[pd.Timestamp, pd.DataFrame]],
    marcas: pd.DataFrame | None = None,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """O laço comum: dias em ordem, cada marca no dia em que foi notificada (as de antes do 1º dia, no 1º).

    Devolve, por dia, as transações do dia e as features. O treino junta as features; o aquecimento da decisão em
    tempo real só quer o estado que o laço deixa no ``motor`` (o mesmo estado que o treino viu).
    """
    marcas = _normalizar_marcas(marcas)
    for i, (dia, do_dia) in enumerate(dias):
        marcas_do_dia = None
        if marcas is not None:
            inicio = dia if i else pd.Timestamp.min.tz_localize("UTC")
            instante = marcas["data_hora_notificacao"]
            marcas_do_dia = marcas[(instante >= inicio) & (instante < dia + pd.Timedelta(days=1))]
        yield do_dia, motor.processar_linha_do_tempo(do_dia.reset_index(drop=True), marcas_do_dia)


def features_por_dia(
    dias: Iterable[tuple[pd.Timestamp, pd.DataFrame]],
    marcas: pd.DataFrame | None = None,
    parametros: ParametrosFeatures | None = None,
) -> pd.DataFrame:
    """As features de toda a história, dia a dia, com um motor novo."""
    partes, colunas = [], list(COLUNAS_ENTRADA)
    for do_dia, features in percorrer_dias(MotorDeFeatures(parametros), dias, marcas):
        colunas = list(do_dia.columns)
        partes.append(features)
    if not partes:
        return pd.DataFrame(columns=[*colunas, *COLUNAS_FEATURES])
    return pd.concat(partes, ignore_index=True)


def features_de_pandas(
    transacoes: pd.DataFrame, marcas: pd.DataFrame | None = None, parametros: ParametrosFeatures | None = None
) -> pd.DataFrame:
    """Para uma história que cabe na memória (treino local, testes): sem Spark."""
    df = transacoes.assign(data_hora=pd.to_datetime(transacoes["data_hora"], utc=True))
    dia = df["data_hora"].dt.floor("D")
    return features_por_dia(((d, df[dia == d]) for d in sorted(dia.unique())), marcas, parametros)


def dias_da_tabela(
    transacoes: DataFrame, colunas_extras: tuple[str, ...] = ()
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Uma tabela Spark (colunas de ``COLUNAS_ENTRADA``) lida um dia UTC por vez para o driver, em ordem."""
    colunas = list(dict.fromkeys([*COLUNAS_ENTRADA, *colunas_extras]))
    base = transacoes.select(*colunas).withColumn("_dia", F.to_date("data_hora"))
    datas = [r._dia for r in base.select("_dia").distinct().orderBy("_dia").collect()]
    for data in datas:
        yield pd.Timestamp(data, tz="UTC"), base.where(F.col("_dia") == data).drop("_dia").toPandas()


def marcas_da_tabela(marcas: DataFrame | None) -> pd.DataFrame | None:
    if marcas is None:
        return None
    return marcas.select("recebedor_id_conta", "data_hora_notificacao").toPandas()


def features_em_lote(
    transacoes: DataFrame,
    marcas: DataFrame | None = None,
    parametros: ParametrosFeatures | None = None,
    colunas_extras: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Features de uma tabela Spark, lida um dia por vez para o driver.

    ``marcas`` (``recebedor_id_conta``, ``data_hora_notificacao``) é pequena e vem inteira. Devolve um pandas
    DataFrame: o chamador decide se grava em Delta ou treina direto.
    """
    return features_por_dia(dias_da_tabela(transacoes, colunas_extras), marcas_da_tabela(marcas), parametros)
