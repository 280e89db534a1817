"""Regras do contrato de dados: documentos, EndToEndId, chaves, txid e o validador das mensagens."""

from __future__ import annotations

import json

import pytest

from processamento import contrato as c

CPFS_VALIDOS = ["52998224725", "11144477735", "39053344705"]
CPFS_INVALIDOS = ["52998224724", "11111111111", "00000000000", "5299822472", "5299822472a", "111444777350"]
CNPJS_VALIDOS = ["11222333000181", "11444777000161", "12ABC34501DE35"]
CNPJS_INVALIDOS = [
    "11222333000180",
    "12ABC34501DE36",
    "12abc34501de35",
    "00000000000000",
    "1122233300018",
    "12ABC34501DEX5",
]


@pytest.mark.parametrize("cpf", CPFS_VALIDOS)
def test_cpf_valido(cpf):
    assert c.cpf_valido(cpf)


@pytest.mark.parametrize("cpf", CPFS_INVALIDOS)
def test_cpf_invalido(cpf):
    assert not c.cpf_valido(cpf)


@pytest.mark.parametrize("cnpj", CNPJS_VALIDOS)
def test_cnpj_valido_inclusive_alfanumerico(cnpj):
    assert c.cnpj_valido(cnpj)


@pytest.mark.parametrize("cnpj", CNPJS_INVALIDOS)
def test_cnpj_invalido(cnpj):
    assert not c.cnpj_valido(cnpj)


def test_digitos_do_exemplo_oficial_do_cnpj_alfanumerico():
    # Exemplo da Receita Federal: 12.ABC.345/01DE-35
    assert c.digitos_cnpj("12ABC34501DE") == "35"
    assert c.digitos_cpf("529982247") == "25"


@pytest.mark.parametrize(
    "end_to_end_id,ok",
    [
        ("E9040088820210128000800123456789", True),
        ("E00000000202612312359abcXYZ01234", True),
        ("e9040088820210128000800123456789", False),  # prefixo minúsculo
        ("E904008882021012800080012345678", False),  # 31 caracteres
        ("E9040088820211328000800123456789", False),  # mês 13
        ("E9040088820210132000800123456789", False),  # dia 32
        ("E9040088820210128240800123456789", False),  # hora 24
        ("E9040088820210128006000123456789", False),  # minuto 60
        ("E90400888202101280008001234567-9", False),  # caractere fora do alfabeto
        ("D9040088820210128000800123456789", False),  # id de devolução não é EndToEndId de pagamento
    ],
)
def test_end_to_end_id(end_to_end_id, ok):
    assert c.end_to_end_id_valido(end_to_end_id) is ok


@pytest.mark.parametrize(
    "chave,tipo,ok",
    [
        ("52998224725", "CPF", True),
        ("52998224724", "CPF", False),
        ("12ABC34501DE35", "CNPJ", True),
        ("maria.silva12@gmail.com", "EMAIL", True),
        ("Maria.Silva@gmail.com", "EMAIL", False),
        ("a" * 70 + "@bol.com.br", "EMAIL", False),  # mais de 77 caracteres
        ("+5511987654321", "TELEFONE", True),
        ("5511987654321", "TELEFONE", False),
        ("123e4567-e89b-42d3-a456-426614174000", "EVP", True),
        ("123E4567-E89B-42D3-A456-426614174000", "EVP", False),
        ("52998224725", "EVP", False),
    ],
)
def test_chave_por_tipo(chave, tipo, ok):
    assert c.chave_valida(chave, tipo) is ok


def _base(**mudancas) -> dict:
    msg = {
        "end_to_end_id": "E18236120202611272341aB3dE5fG7h9",
        "data_hora": "2026-11-27T23:41:07.412Z",
        "valor": 150.5,
        "forma_iniciacao": "DICT",
        "finalidade": "IPAY",
        "pagador": {
            "ispb": "18236120", "agencia": "0001", "conta": "12345678", "tipo_conta": "TRAN",
            "tipo_pessoa": "PF", "documento": "52998224725", "nome": "Maria Silva Santos",
        },
        "recebedor": {
            "ispb": "60701190", "agencia": "1234", "conta": "998877", "tipo_conta": "CACC",
            "tipo_pessoa": "PJ", "documento": "12ABC34501DE35", "nome": "Padaria Lima Ltda",
        },
        "chave": "12ABC34501DE35",
        "tipo_chave": "CNPJ",
        "canal": "APP",
        "dispositivo": {"id": "a1b2c3d4e5f60718", "cadastrado": True},
    }  # fmt: skip
    msg.update(mudancas)
    return {k: v for k, v in msg.items() if v is not None}


def _sem(msg: dict, *campos: str) -> dict:
    return {k: v for k, v in msg.items() if k not in campos}


def test_mensagem_valida_nao_tem_motivos():
    assert c.validar_transacao(json.dumps(_base())) == []
    assert c.validar_transacao(json.dumps(_base()).encode()) == []
    manual = _sem(_base(forma_iniciacao="MANU"), "chave", "tipo_chave")
    assert c.validar_transacao(json.dumps(manual)) == []
    api = _sem(_base(canal="API"), "dispositivo")
    assert c.validar_transacao(json.dumps(api)) == []
    qr = _base(forma_iniciacao="QRDN", txid="a" * 30, info_pagador="almoço")
    assert c.validar_transacao(json.dumps(qr)) == []


@pytest.mark.parametrize(
    "texto,motivos",
    [
        ('{"end_to_end_id": ', ["JSON_INVALIDO"]),
        ("[1, 2]", ["JSON_INVALIDO"]),
        (b"\xff\xfe{}", ["JSON_INVALIDO"]),
        (json.dumps(_sem(_base(), "valor")), ["CAMPO_AUSENTE:valor"]),
        (json.dumps(_base(valor="150.50")), ["TIPO_INVALIDO:valor"]),
        (json.dumps(_base(valor=True)), ["TIPO_INVALIDO:valor"]),
        (json.dumps(_base(valor=-10.0)), ["VALOR_INVALIDO:valor"]),
        (json.dumps(_base(valor=0)), ["VALOR_INVALIDO:valor"]),
        (json.dumps(_base(valor=10.001)), ["VALOR_INVALIDO:valor"]),
        (json.dumps(_base(end_to_end_id="E18236120202611272341aB3dE5fG7h")), ["END_TO_END_ID_INVALIDO"]),
        (json.dumps(_base(data_hora="2026-11-27T23:41:07Z")), ["DATA_HORA_INVALIDA:data_hora"]),
        (json.dumps(_base(data_hora="2026-02-30T10:00:00.000Z")), ["DATA_HORA_INVALIDA:data_hora"]),
        (json.dumps(_base(forma_iniciacao="PIX")), ["CODIGO_DESCONHECIDO:forma_iniciacao"]),
        (json.dumps(_base(canal="SMS")), ["CODIGO_DESCONHECIDO:canal"]),
        (json.dumps(_base(forma_iniciacao="MANU")), ["CAMPO_INESPERADO:chave", "CAMPO_INESPERADO:tipo_chave"]),
        (json.dumps(_sem(_base(), "chave")), ["CAMPO_AUSENTE:chave"]),
        (json.dumps(_base(chave="12ABC34501DE36")), ["CHAVE_INVALIDA"]),
        (json.dumps(_base(tipo_chave="PIX")), ["CODIGO_DESCONHECIDO:tipo_chave"]),
        (json.dumps(_base(canal="API")), ["CAMPO_INESPERADO:dispositivo"]),
        (json.dumps(_sem(_base(), "dispositivo")), ["CAMPO_AUSENTE:dispositivo"]),
        (json.dumps(_base(dispositivo={"id": "x", "cadastrado": "sim"})), ["TIPO_INVALIDO:dispositivo.cadastrado"]),
        (json.dumps(_base(forma_iniciacao="QRDN")), ["CAMPO_AUSENTE:txid"]),
        (json.dumps(_base(txid="abc")), ["CAMPO_INESPERADO:txid"]),
        (json.dumps(_base(forma_iniciacao="QRES", txid="a" * 30)), ["TXID_INVALIDO"]),
        (json.dumps(_base(info_pagador="x" * 141)), ["FORMATO_INVALIDO:info_pagador"]),
    ],
)
def test_cada_violacao_da_o_seu_motivo(texto, motivos):
    assert c.validar_transacao(texto) == motivos


def test_participante_com_varios_problemas_reporta_todos():
    msg = _base()
    msg["pagador"] = {**msg["pagador"], "ispb": "1823612", "agencia": "00001", "documento": "12ABC34501DE35"}
    del msg["recebedor"]["nome"]
    esperado = [
        "FORMATO_INVALIDO:pagador.ispb",
        "FORMATO_INVALIDO:pagador.agencia",
        "DOCUMENTO_INVALIDO:pagador.documento",  # PF com CNPJ
        "CAMPO_AUSENTE:recebedor.nome",
    ]
    assert c.validar_transacao(json.dumps(msg)) == esperado
    assert c.validar_transacao(json.dumps(msg)) == esperado  # o cache de contas devolve o mesmo
    # a mesma conta como recebedor é qualificada como recebedor, não como pagador
    invertida = {**msg, "pagador": _base()["pagador"], "recebedor": msg["pagador"]}
    assert c.validar_transacao(json.dumps(invertida)) == [
        "FORMATO_INVALIDO:recebedor.ispb",
        "FORMATO_INVALIDO:recebedor.agencia",
        "DOCUMENTO_INVALIDO:recebedor.documento",
    ]


def test_med():
    valida = {
        "end_to_end_id": "E18236120202611272341aB3dE5fG7h9",
        "data_hora_notificacao": "2026-11-29T10:00:00.000Z",
        "tipo": "SCAM",
        "valor_contestado": 150.5,
    }
    assert c.validar_med(json.dumps(valida)) == []
    assert c.validar_med(json.dumps({**valida, "tipo": "GOLPE"})) == ["CODIGO_DESCONHECIDO:tipo"]
    assert c.validar_med(json.dumps({**valida, "valor_contestado": -1})) == ["VALOR_INVALIDO:valor_contestado"]
    assert c.validar_med(json.dumps(_sem(valida, "data_hora_notificacao"))) == ["CAMPO_AUSENTE:data_hora_notificacao"]
    assert c.validar_med("nada") == ["JSON_INVALIDO"]


def test_todo_motivo_tem_descricao():
    codigos = {v for k, v in vars(c).items() if k.isupper() and isinstance(v, str) and v.isupper() and "_" in v}
    assert codigos <= set(c.MOTIVOS) | {"SEM_CHAVE"}


def test_exemplos_do_documento_do_contrato_sao_validos():
    import re
    from pathlib import Path

    texto = (Path(__file__).resolve().parents[2] / "docs" / "contrato_de_dados.md").read_text(encoding="utf-8")
    exemplos = re.findall(r"```json\n(.*?)\n```", texto, re.S)
    decisoes = [e for e in exemplos if '"decisao"' in e]
    assert len(exemplos) - len(decisoes) == 4 and len(decisoes) == 1
    for exemplo in exemplos:
        if exemplo in decisoes:
            continue
        validar = c.validar_med if "data_hora_notificacao" in exemplo else c.validar_transacao
        assert validar(exemplo) == [], exemplo
    # O exemplo de pix.decisoes tem exatamente os campos que a pontuação publica.
    import json

    import pandas as pd

    from machine_learning.nucleo import ESQUEMA_DECISOES, mensagens_kafka

    agora = pd.Timestamp.now(tz="UTC")
    linha = pd.DataFrame(
        {
            "id_decisao": ["pix.transacoes/0/1"], "end_to_end_id": ["E1"], "decisao": ["APROVAR"], "score": [0.1],
            "motivos": [[]], "versao_modelo": ["1"], "data_hora": [agora], "timestamp_kafka": [agora],
            "data_hora_decisao": [agora], "valor": [10.0], "pagador_id_conta": ["p"], "recebedor_id_conta": ["r"],
            "topico": ["pix.transacoes"], "particao": [0], "offset": [1], "lote": [3],
        }
    )  # fmt: skip
    assert list(json.loads(mensagens_kafka(linha)[0])) == ESQUEMA_DECISOES.fieldNames()  # a gold lê o mesmo JSON
    assert list(json.loads(decisoes[0])) == list(json.loads(mensagens_kafka(linha)[0]))


# Entrada quase certa que passava ou derrubava o lote (issue de robustez) ----------------------------------------
@pytest.mark.parametrize(
    ("mudanca", "motivo"),
    [
        ({"end_to_end_id": "E18236120202602311200aB3dE5fG7h9"}, c.END_TO_END_ID_INVALIDO),  # 31 de fevereiro
        ({"end_to_end_id": "E18236120209901011200aB3dE5fG7h9"}, f"{c.FORA_DA_JANELA}:end_to_end_id"),
        ({"end_to_end_id": "E18236120201901011200aB3dE5fG7h9"}, f"{c.FORA_DA_JANELA}:end_to_end_id"),
        ({"data_hora": "2099-01-01T00:00:00.000Z"}, f"{c.FORA_DA_JANELA}:data_hora"),
        ({"data_hora": "0000-01-01T00:00:00.000Z"}, f"{c.FORA_DA_JANELA}:data_hora"),
        ({"data_hora": "2019-12-31T23:59:59.999Z"}, f"{c.FORA_DA_JANELA}:data_hora"),
        ({"valor": 1e-9}, f"{c.VALOR_INVALIDO}:valor"),
        ({"valor": 0.001}, f"{c.VALOR_INVALIDO}:valor"),
        ({"dispositivo": {"id": "\ud800", "cadastrado": True}}, f"{c.FORMATO_INVALIDO}:dispositivo.id"),
        ({"dispositivo": {"id": "a b", "cadastrado": True}}, f"{c.FORMATO_INVALIDO}:dispositivo.id"),
        ({"info_pagador": "oi\u0000"}, f"{c.FORMATO_INVALIDO}:info_pagador"),
    ],
)
def test_entrada_quase_certa_vai_para_a_quarentena_com_motivo(mudanca: dict, motivo: str) -> None:
    texto = json.dumps(_base(**mudanca))  # ensure_ascii: "\ud800" vira o escape \\ud800, JSON válido
    assert motivo in c.validar_transacao(texto)


def test_nome_com_surrogate_isolado_e_formato_invalido() -> None:
    msg = _base()
    msg["pagador"] = {**msg["pagador"], "nome": "Maria \udc80"}
    assert f"{c.FORMATO_INVALIDO}:pagador.nome" in c.validar_transacao(json.dumps(msg))


def test_janela_segue_o_relogio_e_a_tolerancia() -> None:
    msg = json.dumps(_base(data_hora="2026-11-27T23:41:07.412Z", end_to_end_id="E18236120202611272341aB3dE5fG7h9"))
    instante = c.instante_de("2026-11-27T23:41:07.412Z")
    assert c.validar_transacao(msg, c.janela_de_aceite(agora_s=instante - 299, tolerancia_futuro_s=300)) == []
    atrasado_o_relogio = c.janela_de_aceite(agora_s=instante - 301, tolerancia_futuro_s=300)
    assert f"{c.FORA_DA_JANELA}:data_hora" in c.validar_transacao(msg, atrasado_o_relogio)


def test_json_aninhado_fundo_demais_e_json_invalido() -> None:
    assert c.validar_transacao("[" * 100_000 + "]" * 100_000) == [c.JSON_INVALIDO]
    assert c.validar_med('{"a":' * 100_000 + "1" + "}" * 100_000) == [c.JSON_INVALIDO]


def test_med_fora_da_janela() -> None:
    med = {
        "end_to_end_id": "E18236120202611272341aB3dE5fG7h9",
        "data_hora_notificacao": "2099-11-28T10:00:00.000Z",
        "tipo": "SCAM",
        "valor_contestado": 10.0,
    }
    assert c.validar_med(json.dumps(med)) == [f"{c.FORA_DA_JANELA}:data_hora_notificacao"]
