"""Bronze -> silver: interpretar, validar contra o contrato e pseudonimizar, sem perder nenhuma mensagem.

Cada mensagem da bronze sai daqui como uma linha com ``motivos``: vazia, a linha segue para a silver;
com motivos, vai para a quarentena com o payload mascarado (``processamento.mascaramento``: a forma da
mensagem, sem dados pessoais; o payload intocado fica na bronze) e todos os motivos. O contrato é o de
``processamento.contrato`` (o mesmo que o simulador usa), chamado em lotes dentro do Spark com
``mapInPandas``: uma só implementação de cada regra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from operator import itemgetter

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from processamento.contrato import (
    ERRO_INTERNO,
    TOLERANCIA_FUTURO_PADRAO_S,
    janela_de_aceite,
    ler_json,
    validar_med_lida,
    validar_transacao_lida,
)
from processamento.mascaramento import CAMPOS_MED, CAMPOS_TRANSACAO, Campos, mascarar
from processamento.pseudonimizacao import id_chave, id_conta, pseudonimizar

DUPLICATA = "DUPLICATA"  # motivo da quarentena para um end_to_end_id já visto (não viola o contrato)

_COORDENADAS = [
    T.StructField("topico", T.StringType()),
    T.StructField("particao", T.IntegerType()),
    T.StructField("offset", T.LongType()),
    T.StructField("timestamp_kafka", T.TimestampType()),
    T.StructField("data_hora_ingestao", T.TimestampType()),
]

ESQUEMA_TRANSACAO_INTERPRETADA = T.StructType(
    [
        *_COORDENADAS,
        T.StructField("motivos", T.ArrayType(T.StringType())),
        T.StructField("valor_mascarado", T.BinaryType()),
        T.StructField("end_to_end_id", T.StringType()),
        T.StructField("data_hora", T.TimestampType()),
        T.StructField("valor", T.DoubleType()),
        T.StructField("forma_iniciacao", T.StringType()),
        T.StructField("finalidade", T.StringType()),
        T.StructField("canal", T.StringType()),
        *[
            T.StructField(f"{papel}_{campo}", T.StringType())
            for papel in ("pagador", "recebedor")
            for campo in ("id_conta", "ispb", "tipo_conta", "tipo_pessoa", "documento_hash")
        ],
        T.StructField("chave_hash", T.StringType()),
        T.StructField("tipo_chave", T.StringType()),
        T.StructField("dispositivo_id_hash", T.StringType()),
        T.StructField("dispositivo_cadastrado", T.BooleanType()),
        T.StructField("txid", T.StringType()),
        T.StructField("tem_info_pagador", T.BooleanType()),
    ]
)

ESQUEMA_MED_INTERPRETADA = T.StructType(
    [
        *_COORDENADAS,
        T.StructField("motivos", T.ArrayType(T.StringType())),
        T.StructField("valor_mascarado", T.BinaryType()),
        T.StructField("end_to_end_id", T.StringType()),
        T.StructField("data_hora_notificacao", T.TimestampType()),
        T.StructField("tipo", T.StringType()),
        T.StructField("valor_contestado", T.DoubleType()),
    ]
)

COLUNAS_QUARENTENA = [
    "origem",
    "topico",
    "particao",
    "offset",
    "timestamp_kafka",
    "data_hora_ingestao",
    "end_to_end_id",
    "motivos",
    "valor_mascarado",
]


def _instante(texto: str) -> datetime:
    # O contrato já garantiu o formato "2026-11-27T23:41:07.412Z": fromisoformat basta e é bem mais rápido que strptime.
    return datetime.fromisoformat(texto)


def _end_to_end_id_se_houver(obj: object) -> str | None:
    """O end_to_end_id de uma mensagem inválida, se legível: ajuda a investigar a quarentena.

    Só texto ASCII imprimível: um surrogate isolado ou um byte de controle daqui derrubaria a conversão do lote.
    """
    if isinstance(obj, dict):
        valor = obj.get("end_to_end_id")
        if isinstance(valor, str) and valor.isascii() and valor.isprintable():
            return valor[:64]
    return None


def _para_quarentena(bruto: object, obj: object, motivos: list[str], campos: Campos | None) -> dict:
    """A linha da quarentena: só aqui o payload é mascarado (uma mensagem válida não paga por isso).

    ``campos``: o contrato do tópico para o mascaramento; ``None`` para quem não grava a quarentena.
    """
    return {
        "motivos": motivos,
        "valor_mascarado": None if campos is None else mascarar(bruto, campos),
        "end_to_end_id": _end_to_end_id_se_houver(obj),
    }


def _isolada(interpretar: Callable[[object], dict], bruto: object, campos: Campos | None) -> dict:
    """Uma mensagem nunca derruba o lote: o que escapar do contrato vira quarentena com ``ERRO_INTERNO:<classe>``."""
    try:
        return interpretar(bruto)
    except Exception as erro:  # o lote inteiro pararia, e cada reinício pararia de novo na mesma mensagem
        return _para_quarentena(bruto, None, [f"{ERRO_INTERNO}:{type(erro).__name__}"], campos)


def _transacao(bruto: bytes | None, chave: bytes, janela: tuple[float, float], campos: Campos | None) -> dict:
    obj = ler_json(bruto)
    motivos = validar_transacao_lida(obj, janela)  # sem valor ou JSON ilegível: JSON_INVALIDO
    if motivos:
        return _para_quarentena(bruto, obj, motivos, campos)
    pagador, recebedor = obj["pagador"], obj["recebedor"]
    dispositivo = obj.get("dispositivo")
    valor_chave = obj.get("chave")
    linha = {
        "motivos": [],
        "valor_mascarado": None,
        "end_to_end_id": obj["end_to_end_id"],
        "data_hora": _instante(obj["data_hora"]),
        "valor": float(obj["valor"]),
        "forma_iniciacao": obj["forma_iniciacao"],
        "finalidade": obj["finalidade"],
        "canal": obj["canal"],
        "chave_hash": pseudonimizar(chave, id_chave(obj["tipo_chave"], valor_chave)) if valor_chave else None,
        "tipo_chave": obj.get("tipo_chave"),
        "dispositivo_id_hash": pseudonimizar(chave, dispositivo["id"]) if dispositivo else None,
        "dispositivo_cadastrado": dispositivo["cadastrado"] if dispositivo else None,
        "txid": obj.get("txid"),
        "tem_info_pagador": bool(obj.get("info_pagador")),
    }
    for papel, parte in (("pagador", pagador), ("recebedor", recebedor)):
        linha[f"{papel}_id_conta"] = pseudonimizar(chave, id_conta(parte))
        linha[f"{papel}_ispb"] = parte["ispb"]
        linha[f"{papel}_tipo_conta"] = parte["tipo_conta"]
        linha[f"{papel}_tipo_pessoa"] = parte["tipo_pessoa"]
        linha[f"{papel}_documento_hash"] = pseudonimizar(chave, parte["documento"])
    return linha


def _med(bruto: bytes | None, janela: tuple[float, float]) -> dict:
    obj = ler_json(bruto)
    motivos = validar_med_lida(obj, janela)
    if motivos:
        return _para_quarentena(bruto, obj, motivos, CAMPOS_MED)
    return {
        "motivos": [],
        "valor_mascarado": None,
        "end_to_end_id": obj["end_to_end_id"],
        "data_hora_notificacao": _instante(obj["data_hora_notificacao"]),
        "tipo": obj["tipo"],
        "valor_contestado": float(obj["valor_contestado"]),
    }


def interpretar_transacoes_pandas(
    bronze: pd.DataFrame,
    chave: bytes,
    tolerancia_futuro_s: float = TOLERANCIA_FUTURO_PADRAO_S,
    agora_s: float | None = None,
    mascarar_invalidas: bool = True,
) -> pd.DataFrame:
    """Uma linha de saída por mensagem: campos da silver já pseudonimizados, ou os motivos e o payload mascarado
    da quarentena.

    Qualquer que seja o conteúdo, cada mensagem sai em exatamente uma linha, e nenhuma levanta exceção.
    ``agora_s`` fixa o relógio da janela de aceite: quem refaz um lote passa o relógio gravado com ele, e a
    mesma mensagem recebe a mesma classificação. ``mascarar_invalidas=False``: ``valor_mascarado`` nulo, para
    quem não grava a quarentena (a decisão em tempo real não paga o mascaramento de uma enxurrada de inválidas).
    """
    janela = janela_de_aceite(agora_s, tolerancia_futuro_s)  # um relógio por lote
    campos = CAMPOS_TRANSACAO if mascarar_invalidas else None
    interpretar = partial(_transacao, chave=chave, janela=janela, campos=campos)
    linhas = [_isolada(interpretar, bruto, campos) for bruto in bronze["valor_bruto"]]
    return _com_coordenadas(bronze, linhas, ESQUEMA_TRANSACAO_INTERPRETADA)


def interpretar_med_pandas(
    bronze: pd.DataFrame, tolerancia_futuro_s: float = TOLERANCIA_FUTURO_PADRAO_S
) -> pd.DataFrame:
    """Notificações MED: não têm dados pessoais além do end_to_end_id; só validar e tipar."""
    janela = janela_de_aceite(tolerancia_futuro_s=tolerancia_futuro_s)
    interpretar = partial(_med, janela=janela)
    linhas = [_isolada(interpretar, bruto, CAMPOS_MED) for bruto in bronze["valor_bruto"]]
    return _com_coordenadas(bronze, linhas, ESQUEMA_MED_INTERPRETADA)


def _com_coordenadas(bronze: pd.DataFrame, linhas: list[dict], esquema: T.StructType) -> pd.DataFrame:
    """As linhas interpretadas, coluna a coluna nos tipos do esquema, com as coordenadas do Kafka da bronze.

    Um só DataFrame montado de arrays prontos: no caminho quente roda a cada lote, dentro da latência.
    """
    coordenadas = {campo.name for campo in _COORDENADAS}
    nomes = [campo.name for campo in esquema.fields if campo.name not in coordenadas]
    # Linha a linha em tuplas, e a transposição no zip (em C): pedir cada campo a cada dicionário custava ~15 µs
    # por mensagem. Uma linha da quarentena só tem alguns campos; o resto fica None.
    completas = [linha if len(linha) == len(nomes) else dict.fromkeys(nomes) | linha for linha in linhas]
    try:
        tuplas = list(map(itemgetter(*nomes), completas))
    except KeyError:  # uma linha com um campo fora do esquema: o caminho lento, campo a campo
        tuplas = [tuple(linha.get(nome) for nome in nomes) for linha in linhas]
    transpostas = dict(zip(nomes, zip(*tuplas, strict=True), strict=True)) if linhas else {}
    colunas: dict[str, object] = {}
    for campo in esquema.fields:
        if campo.name in coordenadas:
            # ``.array``: uma data com fuso vira objeto Timestamp a Timestamp com ``to_numpy`` (~4 µs por valor).
            colunas[campo.name] = bronze[campo.name].array
            continue
        valores = list(transpostas.get(campo.name, ()))
        if isinstance(campo.dataType, T.TimestampType):  # datas como datetime UTC, mesmo num lote só de inválidas
            colunas[campo.name] = pd.to_datetime(valores, utc=True)
        elif isinstance(campo.dataType, T.DoubleType):
            colunas[campo.name] = np.array([np.nan if v is None else v for v in valores], dtype=np.float64)
        elif isinstance(campo.dataType, T.BooleanType) and None not in valores:
            colunas[campo.name] = np.array(valores, dtype=bool)
        else:  # ausente é None (o Arrow não aceita NaN numa coluna de texto)
            colunas[campo.name] = np.fromiter(valores, dtype=object, count=len(valores))
    return pd.DataFrame(colunas, index=bronze.index)


def _no_spark(bronze: DataFrame, funcao: Callable[[pd.DataFrame], pd.DataFrame], esquema: T.StructType) -> DataFrame:
    colunas = ["valor_bruto", *[c.name for c in _COORDENADAS]]

    def lotes(iterador: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for parte in iterador:
            yield funcao(parte)

    return bronze.select(*colunas).mapInPandas(lotes, esquema)


def interpretar_transacoes(
    bronze: DataFrame, chave: bytes, tolerancia_futuro_s: float = TOLERANCIA_FUTURO_PADRAO_S
) -> DataFrame:
    """DataFrame da bronze -> uma linha por mensagem com ``motivos`` (vazio = válida)."""
    return _no_spark(
        bronze,
        lambda parte: interpretar_transacoes_pandas(parte, chave, tolerancia_futuro_s),
        ESQUEMA_TRANSACAO_INTERPRETADA,
    )


def interpretar_med(bronze: DataFrame, tolerancia_futuro_s: float = TOLERANCIA_FUTURO_PADRAO_S) -> DataFrame:
    return _no_spark(bronze, lambda parte: interpretar_med_pandas(parte, tolerancia_futuro_s), ESQUEMA_MED_INTERPRETADA)


def validas(interpretadas: DataFrame) -> DataFrame:
    return interpretadas.where(F.size("motivos") == 0).drop("motivos", "valor_mascarado")


def quarentena(interpretadas: DataFrame, origem: str) -> DataFrame:
    """As inválidas, com o payload mascarado, todos os motivos e as coordenadas no Kafka (que acham o payload
    intocado na bronze)."""
    return interpretadas.where(F.size("motivos") > 0).select(F.lit(origem).alias("origem"), *COLUNAS_QUARENTENA[1:])
