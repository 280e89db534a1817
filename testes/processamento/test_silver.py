"""Transformações da silver com DataFrames pequenos e chispa: cada regra do contrato leva à quarentena."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pandas as pd
import pytest
from chispa import assert_df_equality
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from processamento.deduplicacao import Deduplicador
from processamento.mascaramento import CAMPOS_MED, mascarar
from processamento.pseudonimizacao import pseudonimizar
from processamento.silver import interpretar_med, interpretar_transacoes, quarentena, validas
from testes.util import CHAVE

INSTANTE = dt.datetime(2026, 11, 27, 12, 0, 0)
VALIDA = {
    "end_to_end_id": "E00000000202611020002jHk2554cTva",
    "data_hora": "2026-11-02T00:02:11.363Z",
    "valor": 14.44,
    "forma_iniciacao": "DICT",
    "finalidade": "IPAY",
    "pagador": {
        "ispb": "00000000", "agencia": "6988", "conta": "363806101", "tipo_conta": "CACC",
        "tipo_pessoa": "PF", "documento": "83760270425", "nome": "Igor Mendes Tavares",
    },
    "recebedor": {
        "ispb": "10573521", "agencia": "0001", "conta": "4528860086", "tipo_conta": "TRAN",
        "tipo_pessoa": "PF", "documento": "44713373435", "nome": "Cláudia Santana Machado",
    },
    "chave": "+5511916300966",
    "tipo_chave": "TELEFONE",
    "canal": "APP",
    "dispositivo": {"id": "db78f56e1cac99f1", "cadastrado": True},
    "info_pagador": "aluguel",
}  # fmt: skip


def _bronze(spark: SparkSession, valores: list[bytes | None]):
    linhas = [("pix.transacoes", 0, offset, INSTANTE, INSTANTE, v) for offset, v in enumerate(valores)]
    esquema = (
        "topico string, particao int, offset long, timestamp_kafka timestamp, data_hora_ingestao timestamp, "
        "valor_bruto binary"
    )
    return spark.createDataFrame(linhas, esquema)


def _com(mudanca) -> bytes:
    obj = copy.deepcopy(VALIDA)
    mudanca(obj)
    return json.dumps(obj).encode()


# Uma mensagem por regra do contrato, com o motivo que ela tem de receber.
CASOS = [
    (b"{nao e json", ["JSON_INVALIDO"]),
    (_com(lambda o: o.pop("valor")), ["CAMPO_AUSENTE:valor"]),
    (_com(lambda o: o.update(valor="14.44")), ["TIPO_INVALIDO:valor"]),
    (_com(lambda o: o.update(valor=-3.0)), ["VALOR_INVALIDO:valor"]),
    (_com(lambda o: o.update(valor=1.234)), ["VALOR_INVALIDO:valor"]),
    (_com(lambda o: o.update(end_to_end_id="E123")), ["END_TO_END_ID_INVALIDO"]),
    (_com(lambda o: o.update(data_hora="2026-02-30T10:00:00.000Z")), ["DATA_HORA_INVALIDA:data_hora"]),
    (_com(lambda o: o.update(forma_iniciacao="PIX")), ["CODIGO_DESCONHECIDO:forma_iniciacao"]),
    (_com(lambda o: o["pagador"].update(documento="83760270424")), ["DOCUMENTO_INVALIDO:pagador.documento"]),
    (_com(lambda o: o["recebedor"].update(ispb="123")), ["FORMATO_INVALIDO:recebedor.ispb"]),
    (_com(lambda o: o.update(chave="11916300966")), ["CHAVE_INVALIDA"]),
    (_com(lambda o: o.update(forma_iniciacao="MANU")), ["CAMPO_INESPERADO:chave", "CAMPO_INESPERADO:tipo_chave"]),
    (_com(lambda o: o.update(canal="API")), ["CAMPO_INESPERADO:dispositivo"]),
    (_com(lambda o: o.update(txid="abc")), ["CAMPO_INESPERADO:txid"]),
    (_com(lambda o: (o.pop("valor"), o["pagador"].update(tipo_pessoa="XX"))),
     ["CAMPO_AUSENTE:valor", "CODIGO_DESCONHECIDO:pagador.tipo_pessoa"]),
]  # fmt: skip


# Os dados pessoais de VALIDA (e das mensagens derivadas dela): nenhum pode chegar à quarentena, nem em parte.
DADOS_PESSOAIS = (
    "83760270425", "83760270424", "44713373435", "Igor", "Mendes", "Cláudia", "Santana", "363806101", "4528860086",
    "+5511916300966", "11916300966", "db78f56e1cac99f1", "aluguel",
)  # fmt: skip


def test_cada_regra_do_contrato_vai_para_a_quarentena_com_seu_motivo(spark: SparkSession) -> None:
    valores = [json.dumps(VALIDA).encode(), *[caso for caso, _ in CASOS]]
    interpretadas = interpretar_transacoes(_bronze(spark, valores), CHAVE)
    obtido = quarentena(interpretadas, "transacoes").select("origem", "offset", "motivos", "valor_mascarado")
    esperado = spark.createDataFrame(
        [("transacoes", i + 1, motivos, mascarar(caso)) for i, (caso, motivos) in enumerate(CASOS)],
        "origem string, offset long, motivos array<string>, valor_mascarado binary",
    )
    assert_df_equality(obtido, esperado, ignore_nullable=True, ignore_row_order=True)
    assert validas(interpretadas).count() == 1
    assert "valor_bruto" not in interpretadas.columns
    assert interpretadas.where("size(motivos) = 0 and valor_mascarado is not null").count() == 0  # válida: nada


def test_nenhum_dado_pessoal_chega_a_quarentena(spark: SparkSession) -> None:
    """De ponta a ponta no Spark: todas as colunas de todas as linhas da quarentena, como texto."""
    valores = [caso for caso, _ in CASOS]
    interpretadas = interpretar_transacoes(_bronze(spark, valores), CHAVE)
    linhas = quarentena(interpretadas, "transacoes").orderBy("offset").collect()
    assert len(linhas) == len(CASOS)
    texto = "\n".join(
        (bytes(v).decode("ascii") if isinstance(v, bytes | bytearray) else str(v))
        for linha in linhas
        for v in linha.asDict().values()
    )
    achados = [dado for dado in DADOS_PESSOAIS if dado in texto]
    assert not achados, achados
    # O que explica a recusa continua lá: o documento errado (pela forma) e o valor em texto (pela forma).
    payloads = [json.loads(linha.valor_mascarado) for linha in linhas]
    assert {"documento": "<texto: 11 car., dígitos>"}.items() <= payloads[8]["pagador"].items()
    assert payloads[2]["valor"] == "<texto: 5 car., dígitos, pontuação>"
    assert payloads[0] == {"ilegivel": "não é JSON", "bytes": len(CASOS[0][0])}


def test_silver_pseudonimiza_documentos_chaves_e_contas(spark: SparkSession) -> None:
    silver = validas(interpretar_transacoes(_bronze(spark, [json.dumps(VALIDA).encode()]), CHAVE))
    obtido = silver.select(
        "end_to_end_id", "valor", "pagador_id_conta", "pagador_documento_hash", "recebedor_documento_hash",
        "chave_hash", "dispositivo_id_hash", "dispositivo_cadastrado", "tem_info_pagador",
    )  # fmt: skip
    esperado = spark.createDataFrame(
        [
            (
                VALIDA["end_to_end_id"],
                14.44,
                pseudonimizar(CHAVE, "00000000|6988|363806101"),
                pseudonimizar(CHAVE, "83760270425"),
                pseudonimizar(CHAVE, "44713373435"),
                pseudonimizar(CHAVE, "TELEFONE|+5511916300966"),
                pseudonimizar(CHAVE, "db78f56e1cac99f1"),
                True,
                True,
            )
        ],
        obtido.schema,
    )
    assert_df_equality(obtido, esperado)
    texto = " ".join(str(v) for v in silver.first().asDict().values())
    for dado_pessoal in ("83760270425", "44713373435", "Igor", "Cláudia", "+5511916300966", "aluguel"):
        assert dado_pessoal not in texto
    hora = silver.select("data_hora").first().data_hora
    assert hora == dt.datetime(2026, 11, 2, 0, 2, 11, 363000)  # sessão em UTC


def test_pseudonimo_depende_da_chave_secreta() -> None:
    assert pseudonimizar(b"a" * 32, "83760270425") != pseudonimizar(b"b" * 32, "83760270425")
    assert len(pseudonimizar(b"a" * 32, "83760270425")) == 32


def test_med_valida_e_invalida(spark: SparkSession) -> None:
    boa = {"end_to_end_id": VALIDA["end_to_end_id"], "data_hora_notificacao": "2026-11-05T10:00:00.000Z",
           "tipo": "SCAM", "valor_contestado": 14.44}  # fmt: skip
    ruim = {**boa, "tipo": "GOLPE"}
    interpretadas = interpretar_med(_bronze(spark, [json.dumps(boa).encode(), json.dumps(ruim).encode()]))
    assert_df_equality(
        quarentena(interpretadas, "med").select("offset", "motivos", "valor_mascarado"),
        spark.createDataFrame(
            [(1, ["CODIGO_DESCONHECIDO:tipo"], mascarar(json.dumps(ruim).encode(), CAMPOS_MED))],
            "offset long, motivos array<string>, valor_mascarado binary",
        ),
        ignore_nullable=True,
    )
    assert json.loads(mascarar(json.dumps(ruim).encode(), CAMPOS_MED)) == ruim  # no MED, nada é pessoal
    assert_df_equality(
        validas(interpretadas).select("end_to_end_id", "tipo", "valor_contestado"),
        spark.createDataFrame(
            [(boa["end_to_end_id"], "SCAM", 14.44)], "end_to_end_id string, tipo string, valor_contestado double"
        ),
        ignore_nullable=True,
    )


@pytest.fixture
def ids() -> list[str]:
    return [f"E00000000202611020{minuto:02d}0abcdefghij{i}" for minuto, i in ((1, 1), (2, 2), (3, 3))]


def test_deduplicacao_no_lote_e_entre_lotes(ids: list[str]) -> None:
    dedup = Deduplicador(janela_h=24)
    duplicata, antigo = dedup.classificar(pd.Series([ids[0], ids[1], ids[0]]))
    assert duplicata.tolist() == [False, False, True]
    assert not antigo.any()
    duplicata, _ = dedup.classificar(pd.Series([ids[1], ids[2]]))
    assert duplicata.tolist() == [True, False]


def test_deduplicacao_sobrevive_ao_estado_gravado_e_manda_os_antigos_para_a_silver(ids: list[str]) -> None:
    dedup = Deduplicador(janela_h=1)
    dedup.classificar(pd.Series(ids))
    restaurado = Deduplicador(janela_h=1)
    restaurado.aplicar(dedup.extrair(completo=True))
    assert restaurado.classificar(pd.Series([ids[2]]))[0].tolist() == [True]
    # Duas horas depois (pelo minuto do id), os ids velhos saem da memória e são "antigos".
    depois = "E00000000202611020400abcdefghijk"
    duplicata, antigo = restaurado.classificar(pd.Series([depois, ids[0]]))
    assert duplicata.tolist() == [False, True]  # no mesmo lote, ainda vale a memória de antes dele
    assert not antigo.any()
    assert restaurado.ids_na_memoria == 1
    duplicata, antigo = restaurado.classificar(pd.Series([ids[1]]))
    assert duplicata.tolist() == [False]  # fora da memória: quem decide é a consulta à silver
    assert antigo.tolist() == [True]


def test_particao_adiantada_no_backlog_nao_faz_a_outra_esquecer_duplicatas() -> None:
    """Um relógio por partição: a partição 0 um dia à frente não tira da memória os ids recentes da partição 1.

    Com um relógio só, a duplicata da partição 1 parecia "antiga" e a decisão (que não consulta a silver) a
    decidia de novo; a campanha de falhas achou isso num backlog de dois dias em duas partições.
    """
    dedup = Deduplicador(janela_h=24)
    na_1 = "E00000000202611020100atrasadaP1x"
    dedup.classificar(pd.Series([na_1]), pd.Series(["t/1"]))
    adiantada = "E00000000202611040000adiantadaP0"  # 47 h depois, na outra partição
    dedup.classificar(pd.Series([adiantada]), pd.Series(["t/0"]))
    duplicata, antigo = dedup.classificar(pd.Series([na_1]), pd.Series(["t/1"]))
    assert duplicata.tolist() == [True] and not antigo.any()
    restaurado = Deduplicador(janela_h=24)  # e o relógio por partição sobrevive ao estado gravado
    restaurado.aplicar(dedup.extrair(completo=True))
    assert restaurado.classificar(pd.Series([na_1]), pd.Series(["t/1"]))[0].tolist() == [True]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40)), max_size=30),  # (minuto, sufixo) por id
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 7),
)
def test_deduplicacao_igual_a_um_conjunto_em_lotes_e_depois_do_estado_gravado(
    lotes: list[list[tuple[int, int]]], restaurar_depois: int
) -> None:
    """A memória por minuto (arrays ordenados, busca binária) responde como um ``set`` de todos os ids já
    aceitos, lote a lote, e também depois de gravada e restaurada no meio do caminho."""
    dedup, aceitos = Deduplicador(janela_h=24), set()
    for i, lote in enumerate(lotes):
        if i == restaurar_depois:
            restaurado = Deduplicador(janela_h=24)
            restaurado.aplicar(dedup.extrair(completo=True))
            dedup = restaurado
        ids = [f"E00000000202611020{10 + minuto:03d}x{sufixo:010d}" for minuto, sufixo in lote]
        duplicata, antigo = dedup.classificar(pd.Series(ids, dtype=object))
        esperado, no_lote = [], set()
        for id_ in ids:
            esperado.append(id_ in aceitos or id_ in no_lote)
            no_lote.add(id_)
        assert duplicata.tolist() == esperado
        assert not antigo.any()
        aceitos |= no_lote
    assert dedup.ids_na_memoria == len(aceitos)
