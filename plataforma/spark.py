"""Uma função devolve a sessão Spark: a do cluster no Databricks, uma ``local[*]`` com Delta no laptop."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from plataforma.config import Configuracao, em_databricks
from plataforma.kafka_local import CACHE_JARS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PROVEDOR_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def pacote_kafka_spark() -> str:
    """Conector Kafka do Structured Streaming na mesma versão do pyspark instalado."""
    import pyspark

    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


def _arquivo_jars() -> Path:
    import pyspark

    versao_delta = importlib.metadata.version("delta-spark")
    return CACHE_JARS / f"spark-{pyspark.__version__}-delta-{versao_delta}.jars"


def _jars_em_cache() -> list[str]:
    """Os jars que o Ivy resolveu na primeira sessão (Delta, conector Kafka e dependências)."""
    arquivo = _arquivo_jars()
    if not arquivo.exists():
        return []
    jars = arquivo.read_text().split()
    return jars if jars and all(Path(j.removeprefix("file:")).exists() for j in jars) else []


def _guardar_jars(jars: str) -> None:
    lista = [j for j in jars.split(",") if j]
    if lista:
        arquivo = _arquivo_jars()
        arquivo.parent.mkdir(parents=True, exist_ok=True)
        arquivo.write_text("\n".join(lista))


def obter_spark(
    cfg: Configuracao | None = None,
    nome_app: str = "detector-pix",
    ui: bool = False,
    nucleos: int | None = None,
) -> SparkSession:
    """Devolve a sessão ativa no Databricks; localmente cria (ou reaproveita) uma com Delta e Kafka.

    Localmente: conector Kafka e Delta resolvidos do Maven Central e guardados no cache do Ivy
    (a segunda execução não precisa de rede), state store RocksDB como no Databricks, partições de
    shuffle do tamanho dos núcleos (o padrão 200 só custa tempo numa máquina pequena) e tudo
    amarrado ao loopback.
    """
    from pyspark.sql import SparkSession

    if em_databricks():
        ativa = SparkSession.getActiveSession()
        if ativa is None:  # pragma: no cover - só no Databricks
            raise RuntimeError("Databricks sem sessão Spark ativa: rode o notebook num cluster.")
        return ativa

    from delta import configure_spark_with_delta_pip

    from plataforma.java import verificar_java

    verificar_java()
    cfg = cfg or Configuracao()
    nucleos = nucleos or os.cpu_count() or 2
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warehouse = cfg.pasta_dados / "spark-warehouse"
    construtor = (
        SparkSession.builder.master(f"local[{nucleos}]")
        .appName(nome_app)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.streaming.stateStore.providerClass", PROVEDOR_ROCKSDB)
        .config("spark.sql.shuffle.partitions", str(nucleos))
        .config("spark.default.parallelism", str(nucleos))
        .config("spark.databricks.delta.snapshotPartitions", str(nucleos))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", os.environ.get("DETECTOR_PIX_SPARK_MEMORIA", "4g"))
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={cfg.pasta_dados}")
    )
    jars = _jars_em_cache()
    if jars:  # já resolvidos uma vez: sem Ivy, sem rede e sem o relatório de resolução no terminal
        sessao = construtor.config("spark.jars", ",".join(jars)).getOrCreate()
    else:
        sessao = configure_spark_with_delta_pip(construtor, extra_packages=[pacote_kafka_spark()]).getOrCreate()
        _guardar_jars(sessao.sparkContext.getConf().get("spark.jars", ""))
    sessao.sparkContext.setLogLevel("WARN")
    return sessao
