"""Onde cada tabela mora: pasta Delta local ou nome do Unity Catalog, com a mesma chamada.

As etapas pedem uma tabela pelo nome lógico (``bronze_transacoes``) e não sabem se estão num laptop
ou num workspace; é isso que mantém o mesmo código nos dois lugares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from plataforma.config import Configuracao

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import DataStreamWriter, StreamingQuery
    from pyspark.sql.types import StructType

TABELAS = (
    "bronze_transacoes",
    "bronze_med",
    "silver_transacoes",
    "silver_quarentena",
    "silver_med",
    "gold_features",
    "gold_decisoes",
)


@dataclass(frozen=True)
class Tabela:
    """Referência a uma tabela Delta: ``nome_uc`` no Databricks, ``caminho`` localmente."""

    nome: str
    nome_uc: str | None
    caminho: str | None

    @property
    def identificador_sql(self) -> str:
        return self.nome_uc or f"delta.`{self.caminho}`"

    def ler(self, spark: SparkSession) -> DataFrame:
        return spark.read.table(self.nome_uc) if self.nome_uc else spark.read.format("delta").load(self.caminho)

    def ler_stream(self, spark: SparkSession, opcoes: dict[str, object] | None = None) -> DataFrame:
        leitor = spark.readStream.format("delta")
        for chave, valor in (opcoes or {}).items():
            if valor is not None:
                leitor = leitor.option(chave, str(valor))
        return leitor.table(self.nome_uc) if self.nome_uc else leitor.load(self.caminho)

    def iniciar_escrita(self, escritor: DataStreamWriter) -> StreamingQuery:
        escritor = escritor.format("delta")
        return escritor.toTable(self.nome_uc) if self.nome_uc else escritor.start(self.caminho)

    def anexar(
        self,
        df: DataFrame,
        id_app: str,
        versao: int,
        particao: str | None = None,
        propriedades: dict[str, str] | None = None,
        acrescentar_colunas: bool = False,
    ) -> None:
        """Append idempotente: repetir o mesmo (id_app, versao) depois de uma queda não duplica linhas.

        ``propriedades`` (``delta.*``) valem na criação da tabela. ``acrescentar_colunas``: coluna nova no
        DataFrame entra na tabela (``mergeSchema``), para a gold ganhar features sem recriar a tabela.
        """
        escritor = df.write.format("delta").mode("append").option("txnAppId", id_app).option("txnVersion", str(versao))
        if acrescentar_colunas:
            escritor = escritor.option("mergeSchema", "true")
        for chave, valor in (propriedades or {}).items():
            escritor = escritor.option(chave, valor)
        if particao:
            escritor = escritor.partitionBy(particao)
        if self.nome_uc:
            escritor.saveAsTable(self.nome_uc)
        else:
            escritor.save(self.caminho)

    def delta(self, spark: SparkSession) -> DeltaTable:
        """A tabela para ``merge`` e afins (``delta.tables.DeltaTable``)."""
        from delta.tables import DeltaTable

        return DeltaTable.forName(spark, self.nome_uc) if self.nome_uc else DeltaTable.forPath(spark, self.caminho)

    def acrescentar_colunas_ausentes(self, spark: SparkSession, esquema: StructType) -> list[str]:
        """Acrescenta à tabela as colunas do ``esquema`` que ela não tem (``ALTER TABLE ADD COLUMNS``); devolve-as.

        Por que não ``mergeSchema`` em toda escrita: coluna nova entra uma vez, de propósito, na preparação das
        tabelas; uma coluna a mais por engano num lote continua sendo erro. As colunas que a tabela tem e o
        ``esquema`` não ficam (nulas nas linhas novas), como ``valor_bruto`` numa quarentena antiga.
        """
        existentes = {nome.lower() for nome in self.ler(spark).columns}
        novas = [campo for campo in esquema.fields if campo.name.lower() not in existentes]
        if novas:
            colunas = ", ".join(f"`{campo.name}` {campo.dataType.simpleString()}" for campo in novas)
            spark.sql(f"ALTER TABLE {self.identificador_sql} ADD COLUMNS ({colunas})")
        return [campo.name for campo in novas]

    def existe(self, spark: SparkSession) -> bool:
        if self.nome_uc:
            return spark.catalog.tableExists(self.nome_uc)
        from delta.tables import DeltaTable

        return DeltaTable.isDeltaTable(spark, self.caminho)


def tabela(cfg: Configuracao, nome: str) -> Tabela:
    if nome not in TABELAS:
        raise ValueError(f"Tabela desconhecida '{nome}'. Tabelas do projeto: {', '.join(TABELAS)}.")
    if cfg.usa_unity_catalog:
        return Tabela(nome, f"{cfg.catalogo}.{cfg.esquema}.{nome}", None)
    return Tabela(nome, None, str(cfg.pasta_dados / "delta" / nome))


def com_trigger(escritor: DataStreamWriter, cfg: Configuracao, disponivel: bool) -> DataStreamWriter:
    """``disponivel``: processa o que existe agora e para; senão, um micro-batch a cada ``intervalo_trigger``."""
    if disponivel:
        return escritor.trigger(availableNow=True)
    return escritor.trigger(processingTime=cfg.intervalo_trigger)


def checkpoint(cfg: Configuracao, consulta: str) -> str:
    """Um checkpoint por consulta de streaming; trocar a lógica de uma consulta pede um novo nome."""
    return f"{cfg.pasta_checkpoints}/{consulta}"
