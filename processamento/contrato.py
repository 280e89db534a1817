"""Contrato de dados dos tópicos ``pix.transacoes`` e ``pix.med``: regras e validador.

Por que Python puro e sem Spark: o mesmo código valida no simulador (testes), na quarentena do
processamento (chamado dentro do Spark, em lotes) e em qualquer cliente. Uma só implementação de cada
regra (dígitos do CPF/CNPJ, EndToEndId, formato de chave) evita que gerador e validador divirjam.

O validador devolve **todos** os motivos que se aplicam, como códigos estáveis ``MOTIVO`` ou
``MOTIVO:campo`` (lista vazia = mensagem válida). Duplicatas e eventos atrasados não violam o
contrato: são tratados por deduplicação e watermark mais adiante.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from operator import mul

# Códigos de motivo ----------------------------------------------------------------------------------
JSON_INVALIDO = "JSON_INVALIDO"
CAMPO_AUSENTE = "CAMPO_AUSENTE"
CAMPO_INESPERADO = "CAMPO_INESPERADO"
TIPO_INVALIDO = "TIPO_INVALIDO"
END_TO_END_ID_INVALIDO = "END_TO_END_ID_INVALIDO"
DATA_HORA_INVALIDA = "DATA_HORA_INVALIDA"
VALOR_INVALIDO = "VALOR_INVALIDO"
CODIGO_DESCONHECIDO = "CODIGO_DESCONHECIDO"
FORMATO_INVALIDO = "FORMATO_INVALIDO"
DOCUMENTO_INVALIDO = "DOCUMENTO_INVALIDO"
CHAVE_INVALIDA = "CHAVE_INVALIDA"
TXID_INVALIDO = "TXID_INVALIDO"
FORA_DA_JANELA = "FORA_DA_JANELA"
ERRO_INTERNO = "ERRO_INTERNO"

MOTIVOS: dict[str, str] = {
    JSON_INVALIDO: "não é UTF-8, não é JSON ou não é um objeto JSON",
    CAMPO_AUSENTE: "campo obrigatório ausente ou nulo (qualificado pelo campo)",
    CAMPO_INESPERADO: "campo que o contrato proíbe neste caso, ex.: chave em MANU (qualificado)",
    TIPO_INVALIDO: "tipo JSON errado, ex.: valor como texto (qualificado)",
    END_TO_END_ID_INVALIDO: "end_to_end_id fora do formato estrito de 32 caracteres",
    DATA_HORA_INVALIDA: "data/hora fora de ISO-8601 UTC com milissegundos (qualificado)",
    VALOR_INVALIDO: "valor não positivo, não finito ou com mais de 2 casas decimais (qualificado)",
    CODIGO_DESCONHECIDO: "código fora do domínio do campo (qualificado)",
    FORMATO_INVALIDO: "ISPB, agência, conta, nome, dispositivo.id ou info_pagador fora do formato (qualificado)",
    DOCUMENTO_INVALIDO: "CPF/CNPJ com dígitos verificadores errados ou incompatível com tipo_pessoa (qualificado)",
    CHAVE_INVALIDA: "chave Pix inválida para o seu tipo_chave",
    TXID_INVALIDO: "txid fora das regras da forma de iniciação",
    FORA_DA_JANELA: "data/hora antes do lançamento do Pix ou além da tolerância no futuro do relógio (qualificado)",
    ERRO_INTERNO: "exceção inesperada ao interpretar a mensagem (qualificado pela classe do erro); o stream segue",
}

# Domínios ------------------------------------------------------------------------------------------
FORMAS_INICIACAO = ("MANU", "DICT", "QRES", "QRDN", "INIC", "APDN", "AUTO")
FINALIDADES = ("IPAY", "GSCB", "OTHR")
TIPOS_CONTA = ("CACC", "SVGS", "TRAN", "SLRY")
TIPOS_PESSOA = ("PF", "PJ")
TIPOS_CHAVE = ("CPF", "CNPJ", "EMAIL", "TELEFONE", "EVP")
CANAIS = ("APP", "INTERNET_BANKING", "API", "OUTRO")
TIPOS_MED = ("SCAM", "ACCOUNT_TAKEOVER", "COERCION", "FRAUDULENT_ACCESS", "OTHER")

# Formas de iniciação sem chave (dados da conta digitados; Pix Automático) e com chave obrigatória.
SEM_CHAVE = frozenset({"MANU", "AUTO"})
CHAVE_OBRIGATORIA = frozenset({"DICT", "QRES", "QRDN", "APDN"})
# txid: QR dinâmico (e aproximação dinâmica) exige 26..35; estático/iniciador aceita até 25; MANU/DICT não têm.
TXID_OBRIGATORIO = frozenset({"QRDN", "APDN"})
TXID_CURTO = frozenset({"QRES", "INIC"})
TXID_PROIBIDO = frozenset({"MANU", "DICT"})

# Regras de formato ---------------------------------------------------------------------------------
RE_END_TO_END_ID = re.compile(
    r"E[0-9]{8}[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][a-zA-Z0-9]{11}"
)
_RE_DATA_HORA = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z"
)
_RE_ISPB = re.compile(r"[0-9]{8}")
_RE_AGENCIA = re.compile(r"[0-9]{1,4}")
_RE_CONTA = re.compile(r"[0-9]{1,20}")
_RE_TELEFONE = re.compile(r"\+[1-9][0-9]{1,14}")
_RE_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
_RE_EVP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RE_TXID_LONGO = re.compile(r"[a-zA-Z0-9]{26,35}")
_RE_TXID_CURTO = re.compile(r"[a-zA-Z0-9]{1,25}")
_RE_TXID_QUALQUER = re.compile(r"[a-zA-Z0-9]{1,35}")
_RE_CPF = re.compile(r"[0-9]{11}")
_RE_CNPJ = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_DIAS_MES = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
TAMANHO_MAX_CHAVE = 77
TAMANHO_MAX_TEXTO = 140
TAMANHO_MAX_DISPOSITIVO = 64
VALOR_MAXIMO = 1e11  # R$ 100 bilhões: acima disso é defeito, não Pix (o maior limite por transação é bem menor)
VALOR_MINIMO = 0.01  # um centavo
# Janela de aceite do tempo do evento: nenhum Pix é anterior ao lançamento (16/11/2020, BCB), e nenhum pode estar
# no futuro além da tolerância de relógio (``tolerancia_futuro_s`` na configuração). Sem ela, um Pix datado de 2099
# empurraria o relógio do estado para frente e a próxima expiração apagaria todas as contas.
LANCAMENTO_DO_PIX_S = datetime(2020, 11, 16, tzinfo=UTC).timestamp()
_LANCAMENTO_NA_DATA_HORA = "2020-11-16T00:00:00.000Z"
_LANCAMENTO_NO_END_TO_END_ID = "202011160000"
TOLERANCIA_FUTURO_PADRAO_S = 300
# ASCII imprimível sem espaço: UUID, Android ID, hash.
_RE_DISPOSITIVO = re.compile(rf"[\x21-\x7e]{{1,{TAMANHO_MAX_DISPOSITIVO}}}")


def _dv_mod11(valores: list[int], pesos: tuple[int, ...]) -> int:
    if len(valores) != len(pesos):
        raise ValueError("quantidade de dígitos errada")
    resto = sum(map(mul, valores, pesos)) % 11
    return 0 if resto < 2 else 11 - resto


_PESOS_CPF_1 = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_PESOS_CPF_2 = (11, 10, 9, 8, 7, 6, 5, 4, 3, 2)
_PESOS_CNPJ_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_PESOS_CNPJ_2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def digitos_cpf(base9: str) -> str:
    """Os 2 dígitos verificadores de um CPF a partir dos 9 primeiros (mod 11, pesos 10..2 e 11..2)."""
    numeros = [ord(c) - 48 for c in base9]
    d1 = _dv_mod11(numeros, _PESOS_CPF_1)
    numeros.append(d1)
    return f"{d1}{_dv_mod11(numeros, _PESOS_CPF_2)}"


def digitos_cnpj(base12: str) -> str:
    """Os 2 dígitos verificadores de um CNPJ, numérico ou alfanumérico (2026): valor = ASCII - 48."""
    valores = [ord(c) - 48 for c in base12]
    d1 = _dv_mod11(valores, _PESOS_CNPJ_1)
    valores.append(d1)
    return f"{d1}{_dv_mod11(valores, _PESOS_CNPJ_2)}"


def cpf_valido(cpf: str) -> bool:
    """11 dígitos, dígitos verificadores certos e não todos iguais (000... passa no mod 11, mas não existe)."""
    return bool(_RE_CPF.fullmatch(cpf)) and cpf != cpf[0] * 11 and digitos_cpf(cpf[:9]) == cpf[9:]


def cnpj_valido(cnpj: str) -> bool:
    """14 caracteres: 12 alfanuméricos maiúsculos (ou dígitos) e 2 dígitos verificadores."""
    return bool(_RE_CNPJ.fullmatch(cnpj)) and cnpj != cnpj[0] * 14 and digitos_cnpj(cnpj[:12]) == cnpj[12:]


def _data_existe(ano: int, mes: int, dia: int) -> bool:
    if dia > _DIAS_MES[mes]:
        return False
    return not (mes == 2 and dia == 29 and not (ano % 4 == 0 and (ano % 100 != 0 or ano % 400 == 0)))


def end_to_end_id_valido(end_to_end_id: str) -> bool:
    """32 caracteres no formato do BCB e uma data (``yyyyMMdd``, posições 9 a 16) que existe no calendário."""
    if len(end_to_end_id) != 32 or RE_END_TO_END_ID.fullmatch(end_to_end_id) is None:
        return False
    return _data_existe(int(end_to_end_id[9:13]), int(end_to_end_id[13:15]), int(end_to_end_id[15:17]))


def instante_do_end_to_end_id(end_to_end_id: str) -> float:
    """Epoch (s) do minuto ``yyyyMMddHHmm`` do EndToEndId (válido); ``-inf`` antes do lançamento do Pix."""
    s = end_to_end_id
    if s[9:21] < _LANCAMENTO_NO_END_TO_END_ID:  # o ano 0000 nem cabe num datetime
        return -math.inf
    return datetime(int(s[9:13]), int(s[13:15]), int(s[15:17]), int(s[17:19]), int(s[19:21]), tzinfo=UTC).timestamp()


def instante_de(texto: str) -> float:
    """Epoch (s) de uma data/hora já conferida por ``data_hora_valida``; ``-inf`` antes do lançamento do Pix.

    ISO de largura fixa: a ordem do texto é a do tempo, e o ano 0000 (que não cabe num datetime) nem é convertido.
    """
    if texto < _LANCAMENTO_NA_DATA_HORA:
        return -math.inf
    return datetime.fromisoformat(texto).timestamp()


def janela_de_aceite(
    agora_s: float | None = None, tolerancia_futuro_s: float = TOLERANCIA_FUTURO_PADRAO_S
) -> tuple[float, float]:
    """(mais antigo, mais novo) instante aceito: o lançamento do Pix e o relógio mais a tolerância."""
    return LANCAMENTO_DO_PIX_S, (time.time() if agora_s is None else agora_s) + tolerancia_futuro_s


def texto_seguro(texto: str) -> bool:
    """Sem caractere de controle nem surrogate isolado (um "\\ud800" é JSON válido, mas não vira UTF-8)."""
    return texto.isprintable()


def data_hora_valida(texto: str) -> bool:
    """ISO-8601 UTC com milissegundos, ex.: 2026-11-27T23:41:07.412Z, e uma data que existe."""
    m = _RE_DATA_HORA.fullmatch(texto)
    if m is None:
        return False
    if texto[8:10] <= "28":  # todo mês tem pelo menos 28 dias
        return True
    return _data_existe(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def chave_valida(chave: str, tipo_chave: str) -> bool:
    """Formato da chave Pix segundo o DICT; ``tipo_chave`` já deve ser um código conhecido."""
    if len(chave) > TAMANHO_MAX_CHAVE:
        return False
    if tipo_chave == "EVP":
        return _RE_EVP.fullmatch(chave) is not None
    if tipo_chave == "TELEFONE":
        return _RE_TELEFONE.fullmatch(chave) is not None
    if tipo_chave == "EMAIL":
        return _RE_EMAIL.fullmatch(chave) is not None
    if tipo_chave == "CPF":
        return cpf_valido(chave)
    if tipo_chave == "CNPJ":
        return cnpj_valido(chave)
    return False


def txid_valido(txid: str, forma: str) -> bool:
    if forma in TXID_OBRIGATORIO:
        return _RE_TXID_LONGO.fullmatch(txid) is not None
    if forma in TXID_CURTO:
        return _RE_TXID_CURTO.fullmatch(txid) is not None
    return _RE_TXID_QUALQUER.fullmatch(txid) is not None


def valor_valido(valor: float) -> bool:
    """De um centavo a ``VALOR_MAXIMO``, finito, no máximo 2 casas decimais (tolerância de ponto flutuante)."""
    if not (VALOR_MINIMO - 1e-9 <= valor <= VALOR_MAXIMO) or not math.isfinite(valor):
        return False
    centavos = valor * 100
    return abs(centavos - round(centavos)) < 1e-6


# Cache de documentos: o mesmo pagador/recebedor aparece em milhares de mensagens; a conta do
# dígito verificador é o passo mais caro da validação. Limitado para não crescer sem fim.
_CACHE_DOCS: dict[tuple[str, str], bool] = {}
_CACHE_MAX = 500_000


def _documento_ok(documento: str, tipo_pessoa: str) -> bool:
    chave = (documento, tipo_pessoa)
    ok = _CACHE_DOCS.get(chave)
    if ok is None:
        ok = cpf_valido(documento) if tipo_pessoa == "PF" else cnpj_valido(documento)
        if len(_CACHE_DOCS) >= _CACHE_MAX:
            _CACHE_DOCS.clear()
        _CACHE_DOCS[chave] = ok
    return ok


def ler_json(texto: str | bytes | None) -> object:
    """O objeto da mensagem, ou ``None`` se não é UTF-8 nem JSON (inclusive aninhado fundo demais para o parser)."""
    if texto is None:
        return None
    try:
        return json.loads(texto)
    except (ValueError, UnicodeDecodeError, TypeError, RecursionError):
        return None


def _carregar(texto: str | bytes) -> dict | None:
    obj = ler_json(texto)
    return obj if type(obj) is dict else None


def _texto(obj: dict, campo: str, nome: str, erros: list[str], obrigatorio: bool = True) -> str | None:
    valor = obj.get(campo)
    if valor is None:
        if obrigatorio:
            erros.append(f"{CAMPO_AUSENTE}:{nome}")
        return None
    if type(valor) is not str:
        erros.append(f"{TIPO_INVALIDO}:{nome}")
        return None
    return valor


def _codigo(obj: dict, campo: str, nome: str, dominio: tuple[str, ...], erros: list[str]) -> str | None:
    valor = _texto(obj, campo, nome, erros)
    if valor is not None and valor not in dominio:
        erros.append(f"{CODIGO_DESCONHECIDO}:{nome}")
        return None
    return valor


def _numero(obj: dict, campo: str, erros: list[str]) -> None:
    valor = obj.get(campo)
    if valor is None:
        erros.append(f"{CAMPO_AUSENTE}:{campo}")
    elif type(valor) is not float and type(valor) is not int:
        erros.append(f"{TIPO_INVALIDO}:{campo}")
    elif not valor_valido(valor):
        erros.append(f"{VALOR_INVALIDO}:{campo}")


_CACHE_PARTICIPANTES: dict[tuple, tuple[str, ...]] = {}


def _participante(obj: dict, papel: str, erros: list[str]) -> None:
    parte = obj.get(papel)
    if parte is None:
        erros.append(f"{CAMPO_AUSENTE}:{papel}")
        return
    if type(parte) is not dict:
        erros.append(f"{TIPO_INVALIDO}:{papel}")
        return
    # A mesma conta aparece em milhares de mensagens: o resultado para os mesmos textos é reaproveitado.
    g = parte.get
    chave = (papel, g("ispb"), g("agencia"), g("conta"), g("tipo_conta"), g("tipo_pessoa"), g("documento"), g("nome"))
    try:
        memorizado = _CACHE_PARTICIPANTES.get(chave)
    except TypeError:  # algum valor é lista/objeto: não dá para memorizar
        _conferir_participante(parte, papel, erros)
        return
    if memorizado is None:
        proprios: list[str] = []
        _conferir_participante(parte, papel, proprios)
        if len(_CACHE_PARTICIPANTES) >= _CACHE_MAX:
            _CACHE_PARTICIPANTES.clear()
        memorizado = _CACHE_PARTICIPANTES[chave] = tuple(proprios)
    erros.extend(memorizado)


def _conferir_participante(parte: dict, papel: str, erros: list[str]) -> None:
    for campo, regra in (("ispb", _RE_ISPB), ("agencia", _RE_AGENCIA), ("conta", _RE_CONTA)):
        valor = _texto(parte, campo, f"{papel}.{campo}", erros)
        if valor is not None and regra.fullmatch(valor) is None:
            erros.append(f"{FORMATO_INVALIDO}:{papel}.{campo}")
    _codigo(parte, "tipo_conta", f"{papel}.tipo_conta", TIPOS_CONTA, erros)
    tipo_pessoa = _codigo(parte, "tipo_pessoa", f"{papel}.tipo_pessoa", TIPOS_PESSOA, erros)
    documento = _texto(parte, "documento", f"{papel}.documento", erros)
    if documento is not None and tipo_pessoa is not None and not _documento_ok(documento, tipo_pessoa):
        erros.append(f"{DOCUMENTO_INVALIDO}:{papel}.documento")
    nome = _texto(parte, "nome", f"{papel}.nome", erros)
    if nome is not None and not (0 < len(nome) <= TAMANHO_MAX_TEXTO and nome.strip() and texto_seguro(nome)):
        erros.append(f"{FORMATO_INVALIDO}:{papel}.nome")


def _falta_ou_tipo(valor: object, nome: str, erros: list[str]) -> None:
    erros.append(f"{CAMPO_AUSENTE}:{nome}" if valor is None else f"{TIPO_INVALIDO}:{nome}")


def _codigo_rapido(valor: object, nome: str, dominio: frozenset[str], erros: list[str]) -> str | None:
    """Caminho comum (texto dentro do domínio) sem chamadas extras; o resto cai na conferência completa."""
    if type(valor) is str and valor in dominio:
        return valor
    if type(valor) is str:
        erros.append(f"{CODIGO_DESCONHECIDO}:{nome}")
    else:
        _falta_ou_tipo(valor, nome, erros)
    return None


_FORMAS = frozenset(FORMAS_INICIACAO)
_FINALIDADES = frozenset(FINALIDADES)
_CANAIS = frozenset(CANAIS)
_TIPOS_CHAVE = frozenset(TIPOS_CHAVE)


def validar_transacao(texto: str | bytes, janela: tuple[float, float] | None = None) -> list[str]:
    """Todos os motivos pelos quais uma mensagem de ``pix.transacoes`` viola o contrato ([] = válida)."""
    return validar_transacao_lida(_carregar(texto), janela)


def _no_tempo(instante: float, nome: str, janela: tuple[float, float] | None, erros: list[str]) -> None:
    piso, teto = janela or janela_de_aceite()
    if not piso <= instante <= teto:
        erros.append(f"{FORA_DA_JANELA}:{nome}")


def validar_transacao_lida(obj: object, janela: tuple[float, float] | None = None) -> list[str]:
    """``validar_transacao`` de uma mensagem já lida com ``json.loads`` (quem precisa do objeto lê uma vez só).

    ``janela``: (mais antigo, mais novo) instante aceito, de ``janela_de_aceite``; padrão: agora + 5 min.
    """
    if type(obj) is not dict:
        return [JSON_INVALIDO]
    erros: list[str] = []
    g = obj.get
    end_to_end_id = g("end_to_end_id")
    if type(end_to_end_id) is not str:
        _falta_ou_tipo(end_to_end_id, "end_to_end_id", erros)
    elif not end_to_end_id_valido(end_to_end_id):
        erros.append(END_TO_END_ID_INVALIDO)
    else:
        _no_tempo(instante_do_end_to_end_id(end_to_end_id), "end_to_end_id", janela, erros)
    data_hora = g("data_hora")
    if type(data_hora) is not str:
        _falta_ou_tipo(data_hora, "data_hora", erros)
    elif not data_hora_valida(data_hora):
        erros.append(f"{DATA_HORA_INVALIDA}:data_hora")
    else:
        _no_tempo(instante_de(data_hora), "data_hora", janela, erros)
    valor = g("valor")
    if type(valor) is not float and type(valor) is not int:
        _falta_ou_tipo(valor, "valor", erros)
    elif not valor_valido(valor):
        erros.append(f"{VALOR_INVALIDO}:valor")
    forma = _codigo_rapido(g("forma_iniciacao"), "forma_iniciacao", _FORMAS, erros)
    _codigo_rapido(g("finalidade"), "finalidade", _FINALIDADES, erros)
    _participante(obj, "pagador", erros)
    _participante(obj, "recebedor", erros)

    chave, tipo_chave = obj.get("chave"), obj.get("tipo_chave")
    if forma in SEM_CHAVE:
        if chave is not None:
            erros.append(f"{CAMPO_INESPERADO}:chave")
        if tipo_chave is not None:
            erros.append(f"{CAMPO_INESPERADO}:tipo_chave")
    elif forma is not None and (chave is not None or tipo_chave is not None or forma in CHAVE_OBRIGATORIA):
        if type(chave) is not str:
            _falta_ou_tipo(chave, "chave", erros)
            chave = None
        tipo_chave = _codigo_rapido(tipo_chave, "tipo_chave", _TIPOS_CHAVE, erros)
        if chave is not None and tipo_chave is not None and not chave_valida(chave, tipo_chave):
            erros.append(CHAVE_INVALIDA)

    canal = _codigo_rapido(g("canal"), "canal", _CANAIS, erros)
    dispositivo = obj.get("dispositivo")
    if canal == "API":
        if dispositivo is not None:
            erros.append(f"{CAMPO_INESPERADO}:dispositivo")
    elif canal is not None:
        if dispositivo is None:
            erros.append(f"{CAMPO_AUSENTE}:dispositivo")
        elif type(dispositivo) is not dict:
            erros.append(f"{TIPO_INVALIDO}:dispositivo")
        else:
            ident = _texto(dispositivo, "id", "dispositivo.id", erros)
            if ident is not None and _RE_DISPOSITIVO.fullmatch(ident) is None:
                erros.append(f"{FORMATO_INVALIDO}:dispositivo.id")
            cadastrado = dispositivo.get("cadastrado")
            if cadastrado is None:
                erros.append(f"{CAMPO_AUSENTE}:dispositivo.cadastrado")
            elif type(cadastrado) is not bool:
                erros.append(f"{TIPO_INVALIDO}:dispositivo.cadastrado")

    txid = obj.get("txid")
    if forma is not None:
        if txid is None:
            if forma in TXID_OBRIGATORIO:
                erros.append(f"{CAMPO_AUSENTE}:txid")
        elif forma in TXID_PROIBIDO:
            erros.append(f"{CAMPO_INESPERADO}:txid")
        elif type(txid) is not str:
            erros.append(f"{TIPO_INVALIDO}:txid")
        elif not txid_valido(txid, forma):
            erros.append(TXID_INVALIDO)

    info = _texto(obj, "info_pagador", "info_pagador", erros, obrigatorio=False)
    if info is not None and not (len(info) <= TAMANHO_MAX_TEXTO and texto_seguro(info)):
        erros.append(f"{FORMATO_INVALIDO}:info_pagador")
    return erros


def validar_med(texto: str | bytes, janela: tuple[float, float] | None = None) -> list[str]:
    """Todos os motivos pelos quais uma notificação de ``pix.med`` viola o contrato ([] = válida)."""
    return validar_med_lida(_carregar(texto), janela)


def validar_med_lida(obj: object, janela: tuple[float, float] | None = None) -> list[str]:
    """``validar_med`` de uma notificação já lida com ``json.loads``."""
    if type(obj) is not dict:
        return [JSON_INVALIDO]
    erros: list[str] = []
    end_to_end_id = _texto(obj, "end_to_end_id", "end_to_end_id", erros)
    if end_to_end_id is not None and not end_to_end_id_valido(end_to_end_id):
        erros.append(END_TO_END_ID_INVALIDO)
    data_hora = _texto(obj, "data_hora_notificacao", "data_hora_notificacao", erros)
    if data_hora is not None and not data_hora_valida(data_hora):
        erros.append(f"{DATA_HORA_INVALIDA}:data_hora_notificacao")
    elif data_hora is not None:
        _no_tempo(instante_de(data_hora), "data_hora_notificacao", janela, erros)
    _codigo(obj, "tipo", "tipo", TIPOS_MED, erros)
    _numero(obj, "valor_contestado", erros)
    return erros


def validar_lote(textos: Iterable[str | bytes], med: bool = False) -> list[list[str]]:
    """Valida uma sequência (ex.: a coluna ``value`` de um micro-batch); ordem preservada."""
    validar = validar_med if med else validar_transacao
    return [validar(t) for t in textos]
