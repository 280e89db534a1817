"""Append idempotente com Delta real: a gold ganha colunas novas sem recriar a tabela."""

from __future__ import annotations

import pytest
from pyspark.errors import AnalysisException

from plataforma.tabelas import Tabela


def test_coluna_nova_so_entra_quando_pedida(spark, tmp_path) -> None:
    gold = Tabela("gold_features", None, str(tmp_path / "gold"))
    gold.anexar(spark.createDataFrame([("E1", 1)], "end_to_end_id string, pag_qtd_1h int"), "app", 0)
    nova = spark.createDataFrame([("E2", 2, True)], "end_to_end_id string, pag_qtd_1h int, valor_redondo boolean")

    # Sem pedir, uma coluna a mais é erro (protege silver e quarentena de colunas por engano).
    with pytest.raises(AnalysisException, match=r"valor_redondo|schema"):
        gold.anexar(nova, "app", 1)

    gold.anexar(nova, "app", 1, acrescentar_colunas=True)
    gold.anexar(nova, "app", 1, acrescentar_colunas=True)  # repetição do mesmo lote: não duplica
    linhas = {r["end_to_end_id"]: r.asDict() for r in gold.ler(spark).collect()}
    assert linhas == {
        "E1": {"end_to_end_id": "E1", "pag_qtd_1h": 1, "valor_redondo": None},
        "E2": {"end_to_end_id": "E2", "pag_qtd_1h": 2, "valor_redondo": True},
    }


def test_coluna_ausente_entra_uma_vez_e_a_que_sobra_fica_nula(spark, tmp_path) -> None:
    """Tabela de uma versão anterior: a preparação acrescenta a coluna nova, e o append sem a velha continua valendo."""
    from pyspark.sql import types as T

    quarentena = Tabela("silver_quarentena", None, str(tmp_path / "quarentena"))
    quarentena.anexar(spark.createDataFrame([(1, b"cru")], "offset long, valor_bruto binary"), "app", 0)
    esquema = T.StructType([T.StructField("offset", T.LongType()), T.StructField("valor_mascarado", T.BinaryType())])

    assert quarentena.acrescentar_colunas_ausentes(spark, esquema) == ["valor_mascarado"]
    assert quarentena.acrescentar_colunas_ausentes(spark, esquema) == []
    quarentena.anexar(spark.createDataFrame([(2, b"{}")], esquema), "app", 1)  # sem valor_bruto, sem mergeSchema
    linhas = {r["offset"]: r.asDict() for r in quarentena.ler(spark).collect()}
    assert linhas == {
        1: {"offset": 1, "valor_bruto": bytearray(b"cru"), "valor_mascarado": None},
        2: {"offset": 2, "valor_bruto": None, "valor_mascarado": bytearray(b"{}")},
    }
