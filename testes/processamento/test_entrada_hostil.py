"""Entrada hostil nunca derruba a interpretação: propriedades com ``hypothesis`` sobre as funções reais.

Quaisquer bytes, qualquer JSON e mutações quase válidas de mensagens do contrato (campo sumido, tipo trocado,
texto enorme, vazio, Unicode de borda, datas de borda) passam por ``interpretar_transacoes_pandas`` e
``interpretar_med_pandas`` — as mesmas funções da silver e da decisão no stream. Propriedades:

- nada levanta exceção;
- cada entrada sai em exatamente uma linha, classificada uma vez: válida (sem motivos) ou com motivos;
- só a que tem motivos leva o payload mascarado (JSON ASCII); a válida não paga o mascaramento;
- a classificação é a do contrato, e uma mensagem válida passa intocada pelo isolamento;
- o que sai válido alimenta a deduplicação e o motor de features sem erro.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processamento import contrato as c
from processamento.deduplicacao import Deduplicador
from processamento.features import COLUNAS_ENTRADA, MotorDeFeatures
from processamento.mascaramento import mascarar
from processamento.silver import interpretar_med_pandas, interpretar_transacoes_pandas
from simulador import Parametros, gerar_tudo

CHAVE = b"chave-de-teste-com-32-caracteres!!"
CONFIG = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def validas() -> tuple[list[dict], list[dict]]:
    """Transações e notificações MED válidas do simulador: a base das mutações."""
    tudo = gerar_tudo(Parametros(semente=31, clientes=200, dias=1.0, taxa_invalidas=0.0, taxa_fraude=0.05))
    transacoes = [json.loads(t) for t in tudo.transacoes[:200]]
    med = [json.loads(m) for m in tudo.med[:50]]
    assert transacoes and med
    return transacoes, med


def _bronze(valores: list[bytes | None]) -> pd.DataFrame:
    n = len(valores)
    agora = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame(
        {
            "valor_bruto": valores,
            "topico": ["t"] * n,
            "particao": np.zeros(n, np.int32),
            "offset": np.arange(n, dtype=np.int64),
            "timestamp_kafka": [agora] * n,
            "data_hora_ingestao": [agora] * n,
        }
    )


def _conferir(saida: pd.DataFrame, valores: list[bytes | None], med: bool) -> None:
    """Uma linha por entrada, na mesma ordem; válida exatamente quando o contrato diz que é."""
    assert len(saida) == len(valores)
    assert saida["offset"].tolist() == list(range(len(valores)))
    validar = c.validar_med if med else c.validar_transacao
    for valor, motivos, mascarado in zip(valores, saida["motivos"], saida["valor_mascarado"], strict=True):
        esperado = validar(valor) if valor is not None else [c.JSON_INVALIDO]
        if esperado:
            assert list(motivos), valor
            assert isinstance(json.loads(mascarado.decode("ascii")), dict)
        else:
            assert list(motivos) == [], (valor, motivos)
            assert mascarado is None


# Estratégias ------------------------------------------------------------------------------------------------
DATAS_DE_BORDA = [
    "0000-00-00T00:00:00.000Z",
    "0000-01-01T00:00:00.000Z",
    "0001-01-01T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z",
    "2026-02-30T10:00:00.000Z",
    "2028-02-29T10:00:00.000Z",
    "2099-01-01T00:00:00.000Z",
    "1970-01-01T00:00:00.000Z",
    "2026-11-27T23:41:07.412",
    "2026-11-27T23:41:07.412+03:00",
    "E18236120202602311200aB3dE5fG7h9",
    "E18236120000001010000aB3dE5fG7h9",
    "E18236120999912312359aB3dE5fG7h9",
    "E18236120209912311259aB3dE5fG7h9",
]
TEXTOS_DE_BORDA = st.sampled_from(
    ["", " ", "\ud800", "a\udfffb", "\x00", "\u202e", "😀" * 40, "ç" * 200, "x" * 100_000, "NaN", *DATAS_DE_BORDA]
)
VALORES_DE_BORDA = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-9, 0.001, 0.005, 0.01, 1e11, 1e11 + 0.01, 1e308, -0.0]),
    TEXTOS_DE_BORDA,
    st.text(max_size=50),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
JSON_QUALQUER = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda filhos: st.lists(filhos, max_size=4) | st.dictionaries(st.text(max_size=10), filhos, max_size=4),
    max_leaves=20,
)


def _caminhos(obj: dict) -> list[tuple[str, ...]]:
    caminhos: list[tuple[str, ...]] = []
    for chave, valor in obj.items():
        caminhos.append((chave,))
        if isinstance(valor, dict):
            caminhos.extend((chave, sub) for sub in valor)
    return caminhos


@st.composite
def mutacoes(draw: st.DrawFn, base: list[dict]) -> tuple[bytes, bool]:
    """Uma mensagem válida com 0 a 3 mutações; devolve os bytes e se nada mudou."""
    msg = copy.deepcopy(draw(st.sampled_from(base)))
    n = draw(st.integers(min_value=0, max_value=3))
    for _ in range(n):
        caminho = draw(st.sampled_from(_caminhos(msg) or [("x",)]))
        alvo = msg
        for parte in caminho[:-1]:
            alvo = alvo[parte] if isinstance(alvo.get(parte), dict) else alvo
        acao = draw(st.sampled_from(["remover", "trocar", "borda", "data", "aninhar"]))
        datas = [k for k in msg if k.startswith("data_hora") or k == "end_to_end_id"]
        if acao == "data" and datas:  # data impossível, antes do Pix ou no futuro num campo de tempo
            msg[draw(st.sampled_from(datas))] = draw(st.sampled_from(DATAS_DE_BORDA))
        elif acao == "remover":
            alvo.pop(caminho[-1], None)
        elif acao == "trocar":
            alvo[caminho[-1]] = draw(VALORES_DE_BORDA)
        elif acao == "borda":  # o texto de borda (data impossível, surrogate, enorme) no lugar de um campo
            alvo[caminho[-1]] = draw(TEXTOS_DE_BORDA)
        else:
            alvo[caminho[-1]] = {"a": [[[[alvo.get(caminho[-1])]]]]}
    ensure_ascii = draw(st.booleans())  # com escapes \\uXXXX (surrogates isolados viram JSON válido) ou em UTF-8
    try:
        texto = json.dumps(msg, ensure_ascii=ensure_ascii, allow_nan=True).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError):
        texto = json.dumps(msg, ensure_ascii=True, allow_nan=True).encode()
    return texto, n == 0


# Propriedades -----------------------------------------------------------------------------------------------
@CONFIG
@given(valores=st.lists(st.one_of(st.none(), st.binary(max_size=300)), min_size=1, max_size=8))
def test_quaisquer_bytes(valores: list[bytes | None]) -> None:
    _conferir(interpretar_transacoes_pandas(_bronze(valores), CHAVE), valores, med=False)
    _conferir(interpretar_med_pandas(_bronze(valores)), valores, med=True)


@CONFIG
@given(objetos=st.lists(JSON_QUALQUER, min_size=1, max_size=8))
def test_qualquer_json(objetos: list[Any]) -> None:
    valores = [json.dumps(o).encode() for o in objetos]
    _conferir(interpretar_transacoes_pandas(_bronze(valores), CHAVE), valores, med=False)
    _conferir(interpretar_med_pandas(_bronze(valores)), valores, med=True)


def _interpretar_mutacoes(dados: st.DataObject, base: list[dict], med: bool) -> pd.DataFrame:
    """Um lote de mutações da base, interpretado e conferido; uma mensagem intacta sai válida e com o mesmo id."""
    amostras = [dados.draw(mutacoes(base)) for _ in range(dados.draw(st.integers(1, 8)))]
    valores = [texto for texto, _ in amostras]
    saida = interpretar_med_pandas(_bronze(valores)) if med else interpretar_transacoes_pandas(_bronze(valores), CHAVE)
    _conferir(saida, valores, med=med)
    for (texto, intacta), motivos, end_to_end_id in zip(
        amostras, saida["motivos"], saida["end_to_end_id"], strict=True
    ):
        if intacta:  # o isolamento não muda uma mensagem válida
            assert list(motivos) == [] and end_to_end_id == json.loads(texto)["end_to_end_id"]
    return saida


@CONFIG
@given(dados=st.data())
def test_mutacoes_quase_validas_de_transacoes(validas: tuple[list[dict], list[dict]], dados: st.DataObject) -> None:
    _alimenta_dedup_e_motor(_interpretar_mutacoes(dados, validas[0], med=False))


@CONFIG
@given(dados=st.data())
def test_mutacoes_quase_validas_de_med(validas: tuple[list[dict], list[dict]], dados: st.DataObject) -> None:
    _interpretar_mutacoes(dados, validas[1], med=True)


def _alimenta_dedup_e_motor(saida: pd.DataFrame) -> None:
    """O que a interpretação aceita segue pelo caminho do stream (deduplicação e features) sem erro."""
    aceitas = saida[saida["motivos"].str.len() == 0]
    if aceitas.empty:
        return
    duplicata, _ = Deduplicador(24).classificar(aceitas["end_to_end_id"])
    features = MotorDeFeatures().processar(aceitas[~duplicata][list(COLUNAS_ENTRADA)].reset_index(drop=True))
    assert len(features) == int((~duplicata).sum())


def test_erro_inesperado_numa_mensagem_vira_quarentena_e_o_lote_segue(
    validas: tuple[list[dict], list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uma exceção que escapou do contrato (aqui, provocada na pseudonimização) fica na mensagem dela."""
    import processamento.silver as silver

    transacoes, _ = validas
    boas = [json.dumps(t).encode() for t in transacoes[:3]]
    alvo = transacoes[1]["pagador"]["documento"]
    original = silver.pseudonimizar

    def pseudonimizar(chave: bytes, texto: str) -> str:
        if texto == alvo:
            raise RuntimeError("falha provocada")
        return original(chave, texto)

    monkeypatch.setattr(silver, "pseudonimizar", pseudonimizar)
    saida = interpretar_transacoes_pandas(_bronze(boas), CHAVE)
    assert [list(m) for m in saida["motivos"]] == [[], [f"{c.ERRO_INTERNO}:RuntimeError"], []]
    assert saida["valor_mascarado"].iloc[1] == mascarar(boas[1])
    assert alvo.encode() not in saida["valor_mascarado"].iloc[1]
    assert saida["valor_mascarado"].iloc[[0, 2]].isna().all()


def test_sem_mascarar_as_invalidas_a_classificacao_e_a_mesma(validas: tuple[list[dict], list[dict]]) -> None:
    """A decisão em tempo real não grava a quarentena: pede ``mascarar_invalidas=False`` e não paga o mascaramento."""
    transacoes, _ = validas
    valores = [json.dumps(transacoes[0]).encode(), b"{nao e json", json.dumps({**transacoes[1], "valor": "1"}).encode()]
    bronze = _bronze(valores)
    com = interpretar_transacoes_pandas(bronze, CHAVE)
    sem = interpretar_transacoes_pandas(bronze, CHAVE, mascarar_invalidas=False)
    assert sem["valor_mascarado"].isna().all()
    assert com["valor_mascarado"].notna().tolist() == [False, True, True]
    pd.testing.assert_frame_equal(sem.drop(columns="valor_mascarado"), com.drop(columns="valor_mascarado"))
