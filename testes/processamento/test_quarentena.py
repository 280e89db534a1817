"""A quarentena grava o payload mascarado pelos dois processadores, inclusive numa tabela de uma versão anterior.

Uma ``silver_quarentena`` criada quando a coluna era ``valor_bruto`` (o payload cru) continua recebendo lotes: a
preparação das tabelas acrescenta ``valor_mascarado``, as linhas antigas ficam como estavam e as novas não trazem
nenhum dado pessoal.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from plataforma.config import Configuracao
from plataforma.tabelas import tabela
from processamento.pipeline import ESQUEMA_QUARENTENA, ProcessadorDeMed, ProcessadorDeTransacoes, preparar_tabelas
from simulador import Parametros, gerar_tudo
from testes.util import CHAVE

INSTANTE = dt.datetime(2026, 11, 27, 12, 0, 0)
ESQUEMA_ANTIGO = T.StructType(
    [T.StructField("valor_bruto", T.BinaryType()) if c.name == "valor_mascarado" else c for c in ESQUEMA_QUARENTENA]
)
PAYLOAD_ANTIGO = b'{"pagador": {"documento": "payload-antigo"}}'


@pytest.fixture(scope="module")
def mensagens() -> tuple[list[dict], list[dict]]:
    tudo = gerar_tudo(Parametros(semente=7, clientes=100, dias=1.0, taxa_invalidas=0.0, taxa_fraude=0.05))
    transacoes = [json.loads(t) for t in tudo.transacoes if '"info_pagador"' in t][:2]
    assert len(transacoes) == 2 and tudo.med
    return transacoes, [json.loads(m) for m in tudo.med[:2]]


def _bronze(spark: SparkSession, topico: str, valores: list[bytes]):
    linhas = [(v, topico, 0, offset, INSTANTE, INSTANTE) for offset, v in enumerate(valores)]
    esquema = (
        "valor_bruto binary, topico string, particao int, offset long, timestamp_kafka timestamp, "
        "data_hora_ingestao timestamp"
    )
    return spark.createDataFrame(linhas, esquema)


def _dados_pessoais(transacoes: list[dict]) -> set[str]:
    dados = set()
    for t in transacoes:
        for papel in ("pagador", "recebedor"):
            dados |= {t[papel]["documento"], t[papel]["conta"], *t[papel]["nome"].split()}
        dados |= {t.get("chave"), (t.get("dispositivo") or {}).get("id"), t.get("info_pagador")}
    return {d for d in dados if d and len(d) >= 4}


def test_quarentena_antiga_ganha_valor_mascarado_e_nada_pessoal_entra(
    spark: SparkSession, cfg_teste: Configuracao, tmp_path, mensagens: tuple[list[dict], list[dict]]
) -> None:
    cfg = cfg_teste.com(dados_dir=str(tmp_path / "dados"))
    destino = tabela(cfg, "silver_quarentena")
    antiga = [("transacoes", "t", 0, 99, INSTANTE, INSTANTE, ["JSON_INVALIDO"], PAYLOAD_ANTIGO, None, 0, INSTANTE)]
    destino.anexar(spark.createDataFrame(antiga, ESQUEMA_ANTIGO), "detector-pix:criacao", 0)

    preparar_tabelas(spark, cfg)
    assert {"valor_bruto", "valor_mascarado"} <= set(destino.ler(spark).columns)
    assert destino.acrescentar_colunas_ausentes(spark, ESQUEMA_QUARENTENA) == []  # a segunda partida não muda nada

    transacoes, med = mensagens
    boa, ruim = transacoes
    ruim = copy.deepcopy(ruim)
    ruim["valor"] = str(ruim["valor"])  # TIPO_INVALIDO:valor, com todos os dados pessoais no payload
    valores = [json.dumps(boa).encode(), json.dumps(boa).encode(), json.dumps(ruim).encode()]
    valores.append(f"nome={boa['pagador']['nome']};cpf={boa['pagador']['documento']}".encode())  # nem é JSON
    ProcessadorDeTransacoes(spark, cfg, CHAVE)(_bronze(spark, "pix.transacoes", valores), 0)
    med_ruim = {**med[0], "tipo": "GOLPE"}
    valores_med = [json.dumps(med[0]).encode(), json.dumps(med[0]).encode(), json.dumps(med_ruim).encode()]
    ProcessadorDeMed(spark, cfg)(_bronze(spark, "pix.med", valores_med), 0)

    linhas = {(r.topico, r.offset): r for r in destino.ler(spark).collect()}
    assert set(linhas) == {("t", 99), ("pix.transacoes", 1), ("pix.transacoes", 2), ("pix.transacoes", 3),
                           ("pix.med", 1), ("pix.med", 2)}  # fmt: skip
    velha = linhas.pop(("t", 99))
    assert bytes(velha.valor_bruto) == PAYLOAD_ANTIGO and velha.valor_mascarado is None
    assert all(r.valor_bruto is None for r in linhas.values())
    # Duplicatas são mensagens válidas: sem payload; as inválidas, mascaradas.
    assert linhas["pix.transacoes", 1].motivos == ["DUPLICATA"] and linhas["pix.transacoes", 1].valor_mascarado is None
    assert linhas["pix.med", 1].motivos == ["DUPLICATA"] and linhas["pix.med", 1].valor_mascarado is None
    mascarados = {chave: json.loads(bytes(r.valor_mascarado)) for chave, r in linhas.items() if r.valor_mascarado}
    assert mascarados["pix.transacoes", 2]["valor"].startswith("<texto: ")
    assert mascarados["pix.transacoes", 2]["pagador"]["documento"] in {
        "<texto: 11 car., dígitos>", "<texto: 14 car., dígitos>", "<texto: 14 car., maiúsculas, dígitos>"
    }  # fmt: skip
    assert mascarados["pix.transacoes", 3] == {"ilegivel": "não é JSON", "bytes": len(valores[3])}
    assert mascarados["pix.med", 2] == med_ruim  # no MED não há dado pessoal: tudo fica

    texto = "\n".join(str(v) if not isinstance(v, bytes | bytearray) else bytes(v).decode() for r in linhas.values()
                      for v in r.asDict().values())  # fmt: skip
    dados = _dados_pessoais(transacoes)
    assert len(dados) >= 10
    assert not [d for d in dados if d in texto]
