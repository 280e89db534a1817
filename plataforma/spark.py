"""Uma função devolve a sessão Spark: a do cluster no Databricks, uma ``local[*]`` com Delta no laptop."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from plataforma.config import Configuracao, em_databricks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PROVEDOR_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def pacote_kafka_spark() -> str:
    """Conector Kafka do Structured Streaming na mesma versão do pyspark instalado."""
    import pyspark

    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


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
    sessao = configure_spark_with_delta_pip(construtor, extra_packages=[pacote_kafka_spark()]).getOrCreate()
    sessao.sparkContext.setLogLevel("WARN")
    return sessao
