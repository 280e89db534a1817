"""O payload mascarado da quarentena: nenhum dado pessoal sai, o que explica a recusa fica, e nada levanta exceção.

A lista de permissão e a gramática das formas estão escritas aqui de novo, de propósito: são a especificação
(``docs/processamento.md``), e o teste não deve aceitar o que o módulo resolver preservar por engano.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processamento.mascaramento import (
    CAMPOS_MED,
    CAMPOS_POR_OBJETO,
    CAMPOS_TRANSACAO,
    ITENS_POR_LISTA,
    NOMES_DO_CONTRATO,
    PROFUNDIDADE_MAXIMA,
    TAMANHO_MAXIMO_SAIDA,
    mascarar,
)

CONFIG = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Os únicos lugares cujos valores podem sair como vieram (caminho a partir da raiz da mensagem).
PERMITIDOS_TRANSACAO = {
    ("end_to_end_id",), ("data_hora",), ("valor",), ("forma_iniciacao",), ("finalidade",), ("canal",),
    ("tipo_chave",), ("dispositivo", "cadastrado"),
    *((papel, campo) for papel in ("pagador", "recebedor") for campo in ("ispb", "tipo_conta", "tipo_pessoa")),
}  # fmt: skip
PERMITIDOS_MED = {("end_to_end_id",), ("data_hora_notificacao",), ("tipo",), ("valor_contestado",)}

_CLASSES = "(maiúsculas|minúsculas|dígitos|espaços|pontuação|não ASCII|não imprimíveis)"
_TEXTO = rf"\d+ car\.(, {_CLASSES})*"
# Uma forma só tem palavras fixas e números: nada da entrada cabe nela.
FORMA = re.compile(
    rf"<(texto: {_TEXTO}|campo desconhecido \d+: {_TEXTO}|número inteiro: \d+ dígitos?|número decimal"
    r"|número não finito|booleano|objeto: \d+ campos?|lista: \d+ (item|itens)|mais \d+ (campos?|item|itens))>"
)
MOTIVOS_ILEGIVEL = {"sem valor", "não é UTF-8", "não é JSON", "JSON aninhado demais", "não é um objeto JSON"}

TRANSACAO = {
    "end_to_end_id": "E00000000202611020002jHk2554cTva",
    "data_hora": "2026-11-02T00:02:11.363Z",
    "valor": "14.44",  # tipo errado: é por isso que ela está na quarentena
    "forma_iniciacao": "DICT",
    "finalidade": "IPAY",
    "pagador": {
        "ispb": "00000000", "agencia": "6988", "conta": "363806101", "tipo_conta": "CACC",
        "tipo_pessoa": "PF", "documento": "83760270425", "nome": "Igor Mendes Tavares",
    },
    "recebedor": {
        "ispb": "10573521", "agencia": "0001", "conta": 4528860086, "tipo_conta": "TRAN",
        "tipo_pessoa": "PF", "documento": "44713373435", "nome": "Cláudia Santana Machado",
    },
    "chave": "+5511916300966",
    "tipo_chave": "TELEFONE",
    "canal": "APP",
    "dispositivo": {"id": "db78f56e1cac99f1", "cadastrado": True},
    "info_pagador": "aluguel do apê da Rua Augusta",
    "cpf_do_cliente_83760270425": "Igor",
}  # fmt: skip
DADOS_PESSOAIS = (
    "83760270425", "44713373435", "Igor", "Mendes", "Cláudia", "Santana", "363806101", "4528860086", "6988",
    "+5511916300966", "5511916300966", "db78f56e1cac99f1", "aluguel", "Augusta", "cpf_do_cliente",
)  # fmt: skip


def _lido(bruto: object, campos: Any = CAMPOS_TRANSACAO) -> Any:
    saida = mascarar(bruto, campos)
    assert isinstance(saida, bytes)
    assert len(saida) <= TAMANHO_MAXIMO_SAIDA
    return json.loads(saida.decode("ascii"))  # ASCII puro, e JSON estrito (sem NaN)


def test_dados_pessoais_saem_so_pela_forma_e_o_que_explica_a_recusa_fica() -> None:
    saida = mascarar(json.dumps(TRANSACAO).encode())
    for dado in DADOS_PESSOAIS:
        assert dado.encode() not in saida
        assert dado not in json.dumps(json.loads(saida), ensure_ascii=False)
    assert json.loads(saida) == {
        "end_to_end_id": "E00000000202611020002jHk2554cTva",
        "data_hora": "2026-11-02T00:02:11.363Z",
        "valor": "<texto: 5 car., dígitos, pontuação>",
        "forma_iniciacao": "DICT",
        "finalidade": "IPAY",
        "pagador": {
            "ispb": "00000000", "agencia": "<texto: 4 car., dígitos>", "conta": "<texto: 9 car., dígitos>",
            "tipo_conta": "CACC", "tipo_pessoa": "PF", "documento": "<texto: 11 car., dígitos>",
            "nome": "<texto: 19 car., maiúsculas, minúsculas, espaços>",
        },
        "recebedor": {
            "ispb": "10573521", "agencia": "<texto: 4 car., dígitos>", "conta": "<número inteiro: 10 dígitos>",
            "tipo_conta": "TRAN", "tipo_pessoa": "PF", "documento": "<texto: 11 car., dígitos>",
            "nome": "<texto: 23 car., maiúsculas, minúsculas, espaços, não ASCII>",
        },
        "chave": "<texto: 14 car., dígitos, pontuação>",
        "tipo_chave": "TELEFONE",
        "canal": "APP",
        "dispositivo": {"id": "<texto: 16 car., minúsculas, dígitos>", "cadastrado": True},
        "info_pagador": "<texto: 29 car., maiúsculas, minúsculas, espaços, não ASCII>",
        "<campo desconhecido 1: 26 car., minúsculas, dígitos, pontuação>": "<texto: 4 car., maiúsculas, minúsculas>",
    }  # fmt: skip


def test_campo_permitido_fora_do_jeito_do_contrato_e_mascarado() -> None:
    """Um produtor que troca campos de lugar não vaza: um CPF ou um nome num campo de código sai pela forma."""
    obj = copy.deepcopy(TRANSACAO)
    obj["pagador"]["tipo_pessoa"] = "83760270425"
    obj["recebedor"]["ispb"] = "44713373435"
    obj["forma_iniciacao"] = "Igor Mendes"
    obj["canal"] = "PIX_NOVO"  # código desconhecido, mas com jeito de código: ajuda a achar o produtor
    obj["data_hora"] = "36380610100"
    obj["end_to_end_id"] = "igor@exemplo.com"
    obj["valor"] = 10**20
    obj["dispositivo"]["cadastrado"] = "sim"
    saida = _lido(json.dumps(obj).encode())
    assert saida["pagador"]["tipo_pessoa"] == "<texto: 11 car., dígitos>"
    assert saida["recebedor"]["ispb"] == "<texto: 11 car., dígitos>"
    assert saida["forma_iniciacao"] == "<texto: 11 car., maiúsculas, minúsculas, espaços>"
    assert saida["canal"] == "PIX_NOVO"
    assert saida["data_hora"] == "<texto: 11 car., dígitos>"
    assert saida["end_to_end_id"] == "<texto: 16 car., minúsculas, pontuação>"
    assert saida["valor"] == "<número inteiro: 21 dígitos>"
    assert saida["dispositivo"]["cadastrado"] == "<texto: 3 car., minúsculas>"


def test_nome_do_contrato_fora_do_lugar_fica_com_o_nome_e_sem_o_valor() -> None:
    saida = _lido(b'{"documento": "83760270425", "pagador": [{"nome": "Igor", "ispb": "12345678"}], "tipo": "PF"}')
    assert saida == {
        "documento": "<texto: 11 car., dígitos>",
        "pagador": [{"nome": "<texto: 4 car., maiúsculas, minúsculas>", "ispb": "<texto: 8 car., dígitos>"}],
        "tipo": "<texto: 2 car., maiúsculas>",  # nome do contrato do MED: numa transação, só o nome fica
    }


def test_med_mantem_os_campos_dele() -> None:
    med = {"end_to_end_id": "E1", "data_hora_notificacao": "2026-11-05T10:00:00.000Z", "tipo": "GOLPE",
           "valor_contestado": float("nan"), "comentario": "Igor ligou"}  # fmt: skip
    assert _lido(json.dumps(med).encode(), CAMPOS_MED) == {
        "end_to_end_id": "E1",
        "data_hora_notificacao": "2026-11-05T10:00:00.000Z",
        "tipo": "GOLPE",
        "valor_contestado": "<número não finito>",
        "<campo desconhecido 1: 10 car., minúsculas>": "<texto: 10 car., maiúsculas, minúsculas, espaços>",
    }


@pytest.mark.parametrize(
    "bruto, esperado",
    [
        (None, {"ilegivel": "sem valor"}),
        (b'{"nome": "\xc3\x28Igor"}', {"ilegivel": "não é UTF-8", "bytes": 18}),
        (b"{nome: Igor Mendes}", {"ilegivel": "não é JSON", "bytes": 19}),
        (b"", {"ilegivel": "não é JSON", "bytes": 0}),
        (b'"83760270425"', {"ilegivel": "não é um objeto JSON", "bytes": 13, "forma": "<texto: 11 car., dígitos>"}),
        (b'["Igor", 7]', {"ilegivel": "não é um objeto JSON", "bytes": 11,
                          "forma": ["<texto: 4 car., maiúsculas, minúsculas>", "<número inteiro: 1 dígito>"]}),
        (b"[" * 100_000 + b"]" * 100_000, {"ilegivel": "JSON aninhado demais", "bytes": 200_000}),
        ("83760270425", {"ilegivel": "tipo inesperado: str"}),
        (bytearray(b'{"nome": "Igor"}'), {"nome": "<texto: 4 car., maiúsculas, minúsculas>"}),
    ],
)  # fmt: skip
def test_o_que_nao_e_um_objeto_json_e_descrito_sem_os_bytes(bruto: object, esperado: dict) -> None:
    assert _lido(bruto) == esperado


def _profundidade(valor: object) -> int:
    if isinstance(valor, dict):
        return 1 + max(map(_profundidade, valor.values()), default=0)
    if isinstance(valor, list):
        return 1 + max(map(_profundidade, valor), default=0)
    return 0


def test_aninhamento_fundo_para_na_profundidade_maxima() -> None:
    fundo: object = {"documento": "83760270425"}
    for _ in range(600):  # o json.loads ainda lê; o percurso não pode acompanhar
        fundo = {"pagador": fundo, "lista": [1]}
    bruto = json.dumps(fundo).encode()
    saida = _lido(bruto)
    assert _profundidade(saida) <= PROFUNDIDADE_MAXIMA + 1
    assert b"83760270425" not in mascarar(bruto)
    assert any(FORMA.fullmatch(v) and v.startswith("<objeto: 2 campos") for v in _textos(saida))


def test_entrada_enorme_da_saida_pequena() -> None:
    enorme = {
        "info_pagador": "igor mendes " * 100_000,
        **{f"extra{i}": {"conta": str(i), "itens": list(range(1000))} for i in range(2000)},
    }
    bruto = json.dumps(enorme).encode()
    saida = mascarar(bruto)
    assert len(bruto) > 5_000_000 and len(saida) < 16_000
    lido = json.loads(saida)
    assert lido["info_pagador"] == "<texto: 1200000 car., minúsculas, espaços>"
    chaves = list(lido)  # o orçamento de valores acaba antes do limite de campos por objeto
    assert chaves[-1] == f"<mais {2001 - (len(chaves) - 1)} campos>" and len(chaves) < CAMPOS_POR_OBJETO
    assert any(v == f"<mais {1000 - ITENS_POR_LISTA} itens>" for v in _textos(lido))
    largo = _lido(json.dumps({f"k{i}": None for i in range(100)}).encode())
    assert len(largo) == CAMPOS_POR_OBJETO + 1 and f"<mais {100 - CAMPOS_POR_OBJETO} campos>" in largo


def test_surrogate_isolado_nao_chega_a_saida() -> None:
    saida = mascarar(b'{"nome": "Igor\\ud800", "\\udfff": "\\u202e"}')
    assert json.loads(saida) == {
        "nome": "<texto: 5 car., maiúsculas, minúsculas, não imprimíveis>",
        "<campo desconhecido 1: 1 car., não imprimíveis>": "<texto: 1 car., não imprimíveis>",
    }
    saida.decode("ascii")


# Propriedades ---------------------------------------------------------------------------------------------------
def _textos(valor: object) -> list[str]:
    """Todas as chaves e todos os textos de um JSON lido."""
    if isinstance(valor, dict):
        return [t for chave, item in valor.items() for t in (chave, *_textos(item))]
    if isinstance(valor, list):
        return [t for item in valor for t in _textos(item)]
    return [valor] if isinstance(valor, str) else []


def _escalares(valor: object) -> list[object]:
    """Os números e booleanos de um JSON lido."""
    if isinstance(valor, dict):
        return [e for item in valor.values() for e in _escalares(item)]
    if isinstance(valor, list):
        return [e for item in valor for e in _escalares(item)]
    return [] if valor is None or isinstance(valor, str) else [valor]


def _separar(valor: object, caminho: tuple, permitidos: set[tuple], no_contrato: bool) -> tuple[list, list[str]]:
    """(valores em lugar permitido, textos que não podem sair) da entrada; chave fora do contrato também é segredo."""
    if isinstance(valor, dict):
        livres: list = []
        segredos: list[str] = []
        for chave, item in valor.items():
            if chave not in NOMES_DO_CONTRATO:
                segredos.append(chave)
            lv, sg = _separar(item, (*caminho, chave), permitidos, no_contrato)
            livres += lv
            segredos += sg
        return livres, segredos
    if isinstance(valor, list):
        partes = [_separar(item, (*caminho, None), permitidos, no_contrato) for item in valor]
        return [v for lv, _ in partes for v in lv], [s for _, sg in partes for s in sg]
    if no_contrato and caminho in permitidos:
        return [valor], []
    return [], [valor] if isinstance(valor, str) else []


def _sem_vazamento(bruto: bytes, obj: object, campos: Any, permitidos: set[tuple]) -> None:
    saida = mascarar(bruto, campos)
    assert isinstance(saida, bytes) and len(saida) <= TAMANHO_MAXIMO_SAIDA
    lido = json.loads(saida.decode("ascii"))
    assert isinstance(lido, dict)
    if "ilegivel" in lido:
        assert lido["ilegivel"] in MOTIVOS_ILEGIVEL and set(lido) <= {"ilegivel", "bytes", "forma"}
        lido = {"forma": lido.get("forma")}
        obj = None if isinstance(obj, dict) else obj  # objeto ilegível: nada dele é permitido
    livres, segredos = _separar(obj, (), permitidos, isinstance(obj, dict))
    textos_livres = [t for t in livres if isinstance(t, str)] + [json.dumps(v) for v in livres]
    # Gramática: cada texto da saída é um nome do contrato, uma forma ou um valor de um lugar permitido; cada número
    # e booleano também veio de um lugar permitido.
    for texto in _textos(lido):
        assert texto in NOMES_DO_CONTRATO or FORMA.fullmatch(texto) or texto in livres or texto in {
            "forma", "ilegivel", *MOTIVOS_ILEGIVEL
        }, texto  # fmt: skip
    for escalar in _escalares(lido):
        assert any(type(escalar) is type(v) and escalar == v for v in livres), escalar
    # Nenhum trecho de 6 caracteres de um texto fora da lista aparece fora das formas (que só têm palavras fixas).
    fora_das_formas = "\x00".join(t for t in _textos(lido) if not FORMA.fullmatch(t))
    for segredo in segredos:
        for i in range(len(segredo) - 5):
            trecho = segredo[i : i + 6]
            explicado = any(trecho in t for t in (*textos_livres, *NOMES_DO_CONTRATO, *MOTIVOS_ILEGIVEL, "ilegivel"))
            assert explicado or trecho not in fora_das_formas, (trecho, segredo)


ESCALARES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet="0123456789", min_size=6, max_size=14),  # documento, conta
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=40),  # jeito de código
    st.sampled_from(["83760270425", "Igor Mendes Tavares", "+5511916300966", "igor@exemplo.com", "\ud800", ""]),
)
JSON_QUALQUER = st.recursive(
    ESCALARES,
    lambda filhos: st.lists(filhos, max_size=5) | st.dictionaries(st.text(max_size=12), filhos, max_size=5),
    max_leaves=30,
)


def _mensagem(campos: dict) -> st.SearchStrategy[dict]:
    """Uma mensagem com a forma do contrato (campos ausentes, valores de qualquer tipo) e campos a mais."""
    valores = {
        nome: (_mensagem(regra) | JSON_QUALQUER) if isinstance(regra, dict) else JSON_QUALQUER
        for nome, regra in campos.items()
    }
    return st.builds(
        lambda conhecidos, extras: {**extras, **conhecidos},
        st.fixed_dictionaries({}, optional=valores),
        st.dictionaries(st.text(max_size=20), JSON_QUALQUER, max_size=3),
    )


def _bytes(obj: object, ensure_ascii: bool) -> bytes:
    return json.dumps(obj, ensure_ascii=ensure_ascii, allow_nan=True).encode("utf-8", "surrogatepass")


@CONFIG
@given(bruto=st.one_of(st.none(), st.binary(max_size=500)))
def test_quaisquer_bytes(bruto: bytes | None) -> None:
    try:
        obj = json.loads(bruto) if bruto is not None else None
    except (ValueError, RecursionError):
        obj = None
    _sem_vazamento(bruto, obj, CAMPOS_TRANSACAO, PERMITIDOS_TRANSACAO)


@CONFIG
@given(obj=JSON_QUALQUER, ensure_ascii=st.booleans())
def test_qualquer_json(obj: object, ensure_ascii: bool) -> None:
    bruto = _bytes(obj, ensure_ascii)
    _sem_vazamento(bruto, _relido(bruto), CAMPOS_TRANSACAO, PERMITIDOS_TRANSACAO)


@CONFIG
@given(obj=_mensagem(CAMPOS_TRANSACAO), ensure_ascii=st.booleans())
def test_mensagens_com_a_forma_do_contrato_de_transacoes(obj: dict, ensure_ascii: bool) -> None:
    bruto = _bytes(obj, ensure_ascii)
    _sem_vazamento(bruto, _relido(bruto), CAMPOS_TRANSACAO, PERMITIDOS_TRANSACAO)


@CONFIG
@given(obj=_mensagem(CAMPOS_MED), ensure_ascii=st.booleans())
def test_mensagens_com_a_forma_do_contrato_do_med(obj: dict, ensure_ascii: bool) -> None:
    bruto = _bytes(obj, ensure_ascii)
    _sem_vazamento(bruto, _relido(bruto), CAMPOS_MED, PERMITIDOS_MED)


def _relido(bruto: bytes) -> object:
    """O objeto como o mascaramento o vê (um surrogate em UTF-8 não é UTF-8: a mensagem fica ilegível)."""
    try:
        return json.loads(bruto)
    except ValueError:
        return None
