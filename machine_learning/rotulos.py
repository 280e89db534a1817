"""Rótulos que chegam tarde (MED) e a divisão temporal honesta do treino.

Por que um corte: a fraude só vira rótulo quando a vítima contesta no MED, horas a semanas depois do Pix.
Um modelo treinado hoje não sabe das contestações de amanhã; treinar com elas superestima o modelo e
esconde o ruído real (fraudes ainda não contestadas parecem legítimas). O protocolo segue o Fraud
Detection Handbook: janela de treino, um intervalo do tamanho do atraso dos rótulos, janela de teste.
A avaliação usa o gabarito do simulador (a verdade), nunca os rótulos do corte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

JANELA_PRECISAO_TARDIA_DIAS = 30  # decisões dos últimos 30 dias: a maior parte das MED chega dentro disso


def rotulos_no_corte(transacoes: pd.DataFrame, med: pd.DataFrame, corte: pd.Timestamp) -> pd.Series:
    """1 para a transação cuja contestação MED foi notificada antes de ``corte``; 0 para as demais.

    ``transacoes`` tem ``end_to_end_id``; ``med`` tem ``end_to_end_id`` e ``data_hora_notificacao``.
    Devolve uma série int8 alinhada ao índice de ``transacoes``.
    """
    notificadas = pd.to_datetime(med["data_hora_notificacao"], utc=True) < _utc(corte)
    conhecidas = set(med.loc[notificadas.to_numpy(), "end_to_end_id"])
    return transacoes["end_to_end_id"].isin(conhecidas).astype("int8").rename("rotulo")


@dataclass(frozen=True)
class DivisaoTemporal:
    """Janelas ``[inicio, fim)`` em UTC. ``corte_rotulos`` = início do teste: o dia em que o modelo seria treinado."""

    inicio_treino: pd.Timestamp
    fim_treino: pd.Timestamp
    inicio_teste: pd.Timestamp
    fim_teste: pd.Timestamp

    @property
    def corte_rotulos(self) -> pd.Timestamp:
        return self.inicio_teste

    @property
    def intervalo(self) -> pd.Timedelta:
        return self.inicio_teste - self.fim_treino

    def mascaras(self, data_hora: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(treino, teste) para cada linha; as linhas do aquecimento e do intervalo ficam fora dos dois."""
        t = pd.to_datetime(data_hora, utc=True)
        treino = (t >= self.inicio_treino) & (t < self.fim_treino)
        teste = (t >= self.inicio_teste) & (t < self.fim_teste)
        return treino, teste

    def como_parametros(self) -> dict[str, str]:
        return {
            "inicio_treino": self.inicio_treino.isoformat(),
            "fim_treino": self.fim_treino.isoformat(),
            "inicio_teste": self.inicio_teste.isoformat(),
            "fim_teste": self.fim_teste.isoformat(),
            "intervalo_dias": f"{self.intervalo / pd.Timedelta(days=1):g}",
        }


def dividir_no_tempo(
    data_hora: pd.Series,
    dias_aquecimento: float | None = None,
    dias_atraso: float | None = None,
    dias_teste: float | None = None,
) -> DivisaoTemporal:
    """Aquecimento | treino | intervalo (atraso dos rótulos) | teste, contados a partir da 1ª transação.

    O aquecimento fica fora do treino porque as features por conta (histórico, idade da conta, primeiro
    pagamento ao recebedor) ainda não têm passado nos primeiros dias: tudo parece novo. O teste termina no
    fim dos dados; o treino fica com o que sobra entre o aquecimento e o intervalo. Sem valores: 3, 7 e 7
    dias a partir de 21 dias de dados; em períodos menores (a demo), 10%, 20% e 30% do período.
    """
    t = pd.to_datetime(data_hora, utc=True)
    inicio, fim = t.min(), t.max() + pd.Timedelta(milliseconds=1)
    total = (fim - inicio) / pd.Timedelta(days=1)
    padrao = (3.0, 7.0, 7.0) if total >= 21 else (0.1 * total, 0.2 * total, 0.3 * total)
    dias_aquecimento = padrao[0] if dias_aquecimento is None else dias_aquecimento
    dias_atraso = padrao[1] if dias_atraso is None else dias_atraso
    dias_teste = padrao[2] if dias_teste is None else dias_teste
    inicio_treino = inicio + pd.Timedelta(days=dias_aquecimento)
    inicio_teste = fim - pd.Timedelta(days=dias_teste)
    fim_treino = inicio_teste - pd.Timedelta(days=dias_atraso)
    if fim_treino <= inicio_treino:
        raise ValueError(
            f"Período curto demais para a divisão: {total:.1f} dias de dados, e aquecimento ({dias_aquecimento}) + "
            f"atraso ({dias_atraso}) + teste ({dias_teste}) não deixam janela de treino. Reduza algum deles."
        )
    return DivisaoTemporal(inicio_treino, fim_treino, inicio_teste, fim)


def ler_gabarito(linhas_ou_caminho: list[str] | str) -> pd.DataFrame:
    """O gabarito do simulador (``end_to_end_id,fraude,tipologia``), de um arquivo CSV ou das linhas dos lotes."""
    if isinstance(linhas_ou_caminho, str):
        df = pd.read_csv(linhas_ou_caminho, dtype={"end_to_end_id": str, "tipologia": str})
    else:
        registros = [linha.split(",") for linha in linhas_ou_caminho if linha and not linha.startswith("end_to_end")]
        df = pd.DataFrame(registros, columns=["end_to_end_id", "fraude", "tipologia"])
    df["fraude"] = df["fraude"].astype(int).astype("int8")
    return df.drop_duplicates("end_to_end_id")


def _utc(instante: pd.Timestamp | str) -> pd.Timestamp:
    t = pd.Timestamp(instante)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def precisao_tardia(decisoes: DataFrame, med: DataFrame, desde: pd.Timestamp) -> DataFrame:
    """Por tipo de decisão: quantas decisões desde ``desde`` e quantas a MED já confirmou como fraude.

    A precisão de produção que os rótulos tardios permitem medir: ``confirmadas / avaliadas`` cresce conforme as
    notificações chegam (dias a semanas depois), então compare-a com a mesma janela de ontem, não com o treino.
    ``decisoes`` é a ``gold_decisoes`` (``end_to_end_id``, ``decisao``, ``data_hora_decisao``); ``med`` é a
    ``silver_med`` (``end_to_end_id``). Um Pix decidido duas vezes conta uma vez, com a decisão mais recente.
    Devolve ``decisao``, ``avaliadas`` e ``confirmadas`` (as três decisões sempre presentes, com zero).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from machine_learning.decisao import DECISOES

    ordem = Window.partitionBy("end_to_end_id").orderBy(F.col("data_hora_decisao").desc())
    recentes = (
        decisoes.where(F.col("data_hora_decisao") >= F.lit(_utc(desde).to_pydatetime()))
        .withColumn("_ordem", F.row_number().over(ordem))
        .where("_ordem = 1")
        .select("end_to_end_id", "decisao")
    )
    contestadas = med.select("end_to_end_id").distinct().withColumn("_med", F.lit(1))
    por_decisao = (
        recentes.join(contestadas, "end_to_end_id", "left")
        .groupBy("decisao")
        .agg(F.count("*").alias("avaliadas"), F.count("_med").alias("confirmadas"))
    )
    todas = decisoes.sparkSession.createDataFrame([(d,) for d in DECISOES], "decisao string")
    return (
        todas.join(por_decisao, "decisao", "left")
        .select(
            "decisao",
            F.coalesce("avaliadas", F.lit(0)).cast("long").alias("avaliadas"),
            F.coalesce("confirmadas", F.lit(0)).cast("long").alias("confirmadas"),
        )
        .orderBy("decisao")
    )
