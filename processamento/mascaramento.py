"""O payload mascarado da quarentena: a forma da mensagem recusada, sem o conteúdo pessoal.

Por que: a ``silver_quarentena`` é lida por analistas (``docs/databricks.md``), e uma mensagem recusada traz CPF/CNPJ,
nomes, agência e conta, chave Pix, id do dispositivo e texto livre. O payload intocado fica só na bronze (acesso
restrito) e é achado de novo pelas coordenadas no Kafka (``topico``, ``particao``, ``offset``) que a quarentena guarda;
aqui fica o que basta para entender o motivo da recusa.

Lista de permissão, não de bloqueio: só os campos do contrato que não identificam ninguém, no lugar que o contrato
lhes dá, saem como vieram, e só quando o valor tem o tipo do contrato e o jeito de um valor dele (código em
maiúsculas, ISPB de até 8 dígitos, data ISO, id alfanumérico curto, número finito, booleano). Todo o resto vira a
descrição da sua forma:

- texto: ``"<texto: 11 car., dígitos>"`` (tamanho e classes de caracteres, na ordem: maiúsculas, minúsculas,
  dígitos, espaços, pontuação, não ASCII, não imprimíveis; "não imprimíveis" inclui controle e surrogate isolado);
- número: ``"<número inteiro: 11 dígitos>"``, ``"<número decimal>"`` ou ``"<número não finito>"``;
- booleano: ``"<booleano>"``; ``null`` continua ``null`` (não diz nada além da ausência);
- campo fora do contrato: a chave também pode ser um dado pessoal, então vira
  ``"<campo desconhecido 1: 8 car., minúsculas>"`` (o N-ésimo desconhecido daquele objeto) e o valor é mascarado;
  um nome do contrato fora do seu lugar fica com o nome, mas o valor é mascarado;
- objetos e listas são percorridos até ``PROFUNDIDADE_MAXIMA``; mais fundo, ``"<objeto: 3 campos>"`` ou
  ``"<lista: 2 itens>"``; acima de ``CAMPOS_POR_OBJETO``, ``ITENS_POR_LISTA`` ou ``VALORES_NO_TOTAL``, o resto vira
  ``"<mais N campos>": null`` ou ``"<mais N itens>"`` (a saída tem tamanho limitado, qualquer que seja a entrada);
- o que não é um objeto JSON: ``{"ilegivel": "não é UTF-8", "bytes": 12}`` (ou ``"não é JSON"``, ``"JSON aninhado
  demais"``, ``"não é um objeto JSON"`` com a ``"forma"`` do valor, ``"sem valor"``), nunca os bytes.

A saída é JSON em bytes ASCII (``ensure_ascii``): um surrogate isolado da entrada não chega ao Arrow nem ao Spark.
``mascarar`` nunca levanta exceção.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum
from typing import TypeAlias

PROFUNDIDADE_MAXIMA = 6  # o contrato tem 2 níveis; o resto é só para mostrar a forma de um aninhamento inesperado
CAMPOS_POR_OBJETO = 32
ITENS_POR_LISTA = 8
VALORES_NO_TOTAL = 128  # cada chave e cada valor escritos (ao todo, algumas dezenas de KiB no pior caso)
TAMANHO_MAXIMO_SAIDA = 64 * 1024  # garantia final, caso os limites acima deixem passar algo maior


class _Regra(Enum):
    NUMERO = "número finito"
    BOOLEANO = "booleano"
    MASCARAR = "mascarar"


Campos: TypeAlias = "dict[str, re.Pattern[str] | _Regra | Campos]"

# Como um texto preservado pode ser: tamanhos e alfabetos que não comportam nome, e-mail, telefone ou documento.
_CODIGO = re.compile(r"[A-Z_]{1,32}")  # MANU, IPAY, INTERNET_BANKING; um código desconhecido também (PIX)
_ID = re.compile(r"[A-Za-z0-9]{1,40}")  # end_to_end_id, mesmo fora do formato
_ISPB = re.compile(r"[0-9]{1,8}")
_DATA_HORA = re.compile(r"(?=.*[-:T])[0-9TZ:.+-]{1,40}")  # ISO, mesmo fora do formato, e nunca só dígitos
_TAMANHO_MAXIMO_PRESERVADO = 40

_PARTICIPANTE: Campos = {
    "ispb": _ISPB,
    "agencia": _Regra.MASCARAR,
    "conta": _Regra.MASCARAR,
    "tipo_conta": _CODIGO,
    "tipo_pessoa": _CODIGO,
    "documento": _Regra.MASCARAR,
    "nome": _Regra.MASCARAR,
}
CAMPOS_TRANSACAO: Campos = {
    "end_to_end_id": _ID,
    "data_hora": _DATA_HORA,
    "valor": _Regra.NUMERO,
    "forma_iniciacao": _CODIGO,
    "finalidade": _CODIGO,
    "pagador": _PARTICIPANTE,
    "recebedor": _PARTICIPANTE,
    "chave": _Regra.MASCARAR,
    "tipo_chave": _CODIGO,
    "canal": _CODIGO,
    "dispositivo": {"id": _Regra.MASCARAR, "cadastrado": _Regra.BOOLEANO},
    "txid": _Regra.MASCARAR,
    "info_pagador": _Regra.MASCARAR,
}
CAMPOS_MED: Campos = {
    "end_to_end_id": _ID,
    "data_hora_notificacao": _DATA_HORA,
    "tipo": _CODIGO,
    "valor_contestado": _Regra.NUMERO,
}


def _nomes(campos: Campos) -> set[str]:
    nomes = set(campos)
    for regra in campos.values():
        if isinstance(regra, dict):
            nomes |= _nomes(regra)
    return nomes


NOMES_DO_CONTRATO = frozenset(_nomes(CAMPOS_TRANSACAO) | _nomes(CAMPOS_MED))

_CLASSES = ("maiúsculas", "minúsculas", "dígitos", "espaços", "pontuação", "não ASCII", "não imprimíveis")


def _classe(caractere: str) -> int:
    if "A" <= caractere <= "Z":
        return 0
    if "a" <= caractere <= "z":
        return 1
    if "0" <= caractere <= "9":
        return 2
    if caractere == " ":
        return 3
    if not caractere.isprintable():
        return 6
    return 4 if caractere.isascii() else 5


def forma_do_texto(texto: str) -> str:
    """``"11 car., dígitos"``: tamanho e classes de caracteres, sem nenhum caractere do texto."""
    presentes = sorted({_classe(c) for c in set(texto)})  # set() em C primeiro: um texto de 1 MB custa pouco
    return ", ".join([f"{len(texto)} car.", *(_CLASSES[i] for i in presentes)])


def _contagem(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _forma(valor: object) -> str:
    """A forma de um valor escalar que não pode sair como veio."""
    if isinstance(valor, str):
        return f"<texto: {forma_do_texto(valor)}>"
    if isinstance(valor, bool):
        return "<booleano>"
    if isinstance(valor, int):
        return f"<número inteiro: {_contagem(len(str(abs(valor))), 'dígito', 'dígitos')}>"
    if isinstance(valor, float):
        return "<número decimal>" if math.isfinite(valor) else "<número não finito>"
    return f"<{type(valor).__name__}>"  # json.loads não produz outro tipo; por garantia, só o nome do tipo


def _preservado(valor: object, regra: re.Pattern[str] | _Regra) -> bool:
    if isinstance(regra, re.Pattern):
        return type(valor) is str and len(valor) <= _TAMANHO_MAXIMO_PRESERVADO and regra.fullmatch(valor) is not None
    if regra is _Regra.NUMERO:
        if type(valor) is int:
            return abs(valor) < 10**15
        return type(valor) is float and math.isfinite(valor)
    return regra is _Regra.BOOLEANO and type(valor) is bool


class _Mascarador:
    """Um percurso: guarda quantos valores ainda cabem na saída."""

    def __init__(self) -> None:
        self.restantes = VALORES_NO_TOTAL

    def valor(self, valor: object, regra: re.Pattern[str] | _Regra | Campos | None, profundidade: int) -> object:
        self.restantes -= 1
        if isinstance(valor, dict):
            return self.objeto(valor, regra if isinstance(regra, dict) else None, profundidade + 1)
        if isinstance(valor, list):
            return self.lista(valor, profundidade + 1)
        if valor is None:
            return None
        if regra is not None and not isinstance(regra, dict) and _preservado(valor, regra):
            return valor
        return _forma(valor)

    def objeto(self, obj: dict, campos: Campos | None, profundidade: int) -> object:
        """``campos``: o trecho do contrato deste objeto; ``None`` fora do contrato (nenhum valor é preservado)."""
        if profundidade > PROFUNDIDADE_MAXIMA:
            return f"<objeto: {_contagem(len(obj), 'campo', 'campos')}>"
        saida: dict[str, object] = {}
        desconhecidos = 0
        for escritos, (chave, valor) in enumerate(obj.items()):
            if escritos >= CAMPOS_POR_OBJETO or self.restantes <= 0:
                saida[f"<mais {_contagem(len(obj) - escritos, 'campo', 'campos')}>"] = None
                break
            self.restantes -= 1
            if chave in NOMES_DO_CONTRATO:
                nome = chave
            else:
                desconhecidos += 1
                nome = f"<campo desconhecido {desconhecidos}: {forma_do_texto(chave)}>"
            saida[nome] = self.valor(valor, campos.get(chave) if campos else None, profundidade)
        return saida

    def lista(self, itens: list, profundidade: int) -> object:
        if profundidade > PROFUNDIDADE_MAXIMA:
            return f"<lista: {_contagem(len(itens), 'item', 'itens')}>"
        saida: list[object] = []
        for escritos, item in enumerate(itens):
            if escritos >= ITENS_POR_LISTA or self.restantes <= 0:
                saida.append(f"<mais {_contagem(len(itens) - escritos, 'item', 'itens')}>")
                break
            saida.append(self.valor(item, None, profundidade))
        return saida


def _json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")


def _ilegivel(motivo: str, tamanho: int | None = None, **extras: object) -> bytes:
    return _json({"ilegivel": motivo, **({} if tamanho is None else {"bytes": tamanho}), **extras})


def mascarar(bruto: object, campos: Campos = CAMPOS_TRANSACAO) -> bytes:
    """O payload ``bruto`` (bytes da mensagem Kafka) mascarado para a quarentena: JSON ASCII, nunca uma exceção.

    ``campos``: o contrato do tópico, ``CAMPOS_TRANSACAO`` ou ``CAMPOS_MED``. Lido como o contrato o lê
    (``json.loads`` dos bytes), para que a forma mostrada seja a do objeto que recebeu os motivos.
    """
    try:
        if bruto is None:
            return _ilegivel("sem valor")
        if not isinstance(bruto, bytes | bytearray):
            return _ilegivel(f"tipo inesperado: {type(bruto).__name__}")
        tamanho = len(bruto)
        try:
            obj = json.loads(bruto)
        except UnicodeDecodeError:
            return _ilegivel("não é UTF-8", tamanho)
        except RecursionError:
            return _ilegivel("JSON aninhado demais", tamanho)
        except ValueError:
            return _ilegivel("não é JSON", tamanho)
        mascarador = _Mascarador()
        if not isinstance(obj, dict):
            return _ilegivel("não é um objeto JSON", tamanho, forma=mascarador.valor(obj, None, 0))
        saida = _json(mascarador.objeto(obj, campos, 1))
        return saida if len(saida) <= TAMANHO_MAXIMO_SAIDA else _ilegivel("grande demais para mascarar", tamanho)
    except Exception as erro:  # nunca derrubar a quarentena: a mensagem continua achável pelas coordenadas
        return _ilegivel(f"erro ao mascarar: {type(erro).__name__}")
