"""Conciliação: toda mensagem da bronze está em exatamente um lugar (silver ou quarentena), ou pendente.

O balanço é feito pelas coordenadas no Kafka (tópico, partição, offset), não só por contagens: uma
mensagem perdida aparece como pendente para sempre, uma duplicada aparece como repetida, e uma linha da
silver sem origem na bronze aparece como órfã. Qualquer uma dessas quebra o balanço.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from plataforma.config import Configuracao
from plataforma.tabelas import tabela
from processamento.silver import DUPLICATA

COORDENADAS = ["topico", "particao", "offset"]
ORIGENS = {"transacoes": ("bronze_transacoes", "silver_transacoes"), "med": ("bronze_med", "silver_med")}


@dataclass
class Balanco:
    origem: str
    bronze: int
    silver: int
    quarentena: int
    duplicatas: int
    atrasadas: int
    pendentes: int
    repetidas: int
    orfas: int
    quarentena_por_motivo: dict[str, int] = field(default_factory=dict)
    aguardando_pix: int = 0  # MED na silver que ainda não achou o Pix contestado (não vale como marca ainda)

    def equilibrado(self, permitir_pendentes: bool = False) -> bool:
        fecha = self.bronze == self.silver + self.quarentena + self.pendentes
        return fecha and self.repetidas == 0 and self.orfas == 0 and (permitir_pendentes or self.pendentes == 0)

    def como_dict(self) -> dict:
        return asdict(self)


def _vazio(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([], "topico string, particao int, offset long")


def balanco_da_origem(spark: SparkSession, cfg: Configuracao, origem: str) -> Balanco:
    nome_bronze, nome_silver = ORIGENS[origem]
    ler = {n: tabela(cfg, n) for n in (nome_bronze, nome_silver, "silver_quarentena")}
    existe = {n: t.existe(spark) for n, t in ler.items()}
    bronze = ler[nome_bronze].ler(spark).select(*COORDENADAS) if existe[nome_bronze] else _vazio(spark)
    silver_df = ler[nome_silver].ler(spark) if existe[nome_silver] else None
    silver = silver_df.select(*COORDENADAS) if silver_df is not None else _vazio(spark)
    quarentena_df = (
        ler["silver_quarentena"].ler(spark).where(F.col("origem") == origem) if existe["silver_quarentena"] else None
    )
    quarentena = quarentena_df.select(*COORDENADAS) if quarentena_df is not None else _vazio(spark)

    # Uma passada só: cada coordenada com quantas vezes aparece na bronze, na silver e na quarentena.
    marcadas = (
        bronze.select(*COORDENADAS, F.lit(1).alias("b"), F.lit(0).alias("s"), F.lit(0).alias("q"))
        .unionByName(silver.select(*COORDENADAS, F.lit(0).alias("b"), F.lit(1).alias("s"), F.lit(0).alias("q")))
        .unionByName(quarentena.select(*COORDENADAS, F.lit(0).alias("b"), F.lit(0).alias("s"), F.lit(1).alias("q")))
        .groupBy(*COORDENADAS)
        .agg(F.sum("b").alias("b"), F.sum("s").alias("s"), F.sum("q").alias("q"))
    )
    destino = F.col("s") + F.col("q")
    totais = marcadas.agg(
        F.coalesce(F.sum("b"), F.lit(0)).alias("bronze"),
        F.coalesce(F.sum("s"), F.lit(0)).alias("silver"),
        F.coalesce(F.sum("q"), F.lit(0)).alias("quarentena"),
        F.count(F.when((F.col("b") > 0) & (destino == 0), 1)).alias("pendentes"),
        F.count(F.when((destino > 1) | (F.col("b") > 1), 1)).alias("repetidas"),
        F.count(F.when((F.col("b") == 0) & (destino > 0), 1)).alias("orfas"),
    ).first()
    motivos: dict[str, int] = {}
    if quarentena_df is not None:
        codigos = quarentena_df.select(F.explode("motivos").alias("m")).select(
            F.split("m", ":").getItem(0).alias("motivo")
        )
        motivos = {r.motivo: r["count"] for r in codigos.groupBy("motivo").count().collect()}
    atrasadas = aguardando = 0
    if silver_df is not None and "atrasado" in silver_df.columns:
        atrasadas = silver_df.where(F.col("atrasado")).count()
    if silver_df is not None and origem == "med":
        aguardando = silver_df.where(F.col("recebedor_id_conta").isNull()).count()
    return Balanco(
        origem=origem,
        bronze=int(totais.bronze),
        silver=int(totais.silver),
        quarentena=int(totais.quarentena),
        duplicatas=motivos.get(DUPLICATA, 0),
        atrasadas=atrasadas,
        pendentes=int(totais.pendentes),
        repetidas=int(totais.repetidas),
        orfas=int(totais.orfas),
        quarentena_por_motivo=dict(sorted(motivos.items())),
        aguardando_pix=aguardando,
    )


def conciliar(spark: SparkSession, cfg: Configuracao) -> list[Balanco]:
    return [balanco_da_origem(spark, cfg, origem) for origem in ORIGENS]


def descrever(balancos: list[Balanco], permitir_pendentes: bool = False) -> str:
    linhas = []
    for b in balancos:
        situacao = "FECHA" if b.equilibrado(permitir_pendentes) else "NÃO FECHA"
        linhas.append(
            f"[{b.origem}] {situacao}: bronze {b.bronze} = silver {b.silver} + quarentena {b.quarentena} "
            f"(duplicatas {b.duplicatas}) + pendentes {b.pendentes}; atrasadas na silver {b.atrasadas}; "
            f"repetidas {b.repetidas}; órfãs {b.orfas}"
            + (f"; aguardando o Pix (MED sem o Pix na silver) {b.aguardando_pix}" if b.origem == "med" else "")
        )
        for motivo, quantidade in b.quarentena_por_motivo.items():
            linhas.append(f"    quarentena {motivo}: {quantidade}")
    return "\n".join(linhas)
