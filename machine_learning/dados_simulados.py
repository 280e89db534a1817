"""Tráfego do simulador direto em pandas, no formato da silver, para treinar sem Kafka nem Delta.

Por que não passar pelo pipeline: testes e a medição do ``docs/modelo.md`` precisam de semanas de tráfego
em segundos. Os ids de conta e chave ficam em claro (dados sintéticos); o motor de features só precisa
que sejam estáveis, e a pseudonimização não muda nenhuma feature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from machine_learning.rotulos import ler_gabarito
from processamento.pseudonimizacao import id_chave, id_conta
from simulador import Parametros, gerar_tudo


@dataclass
class DadosSimulados:
    transacoes: pd.DataFrame  # colunas de processamento.features.COLUNAS_ENTRADA
    med: pd.DataFrame  # end_to_end_id, data_hora_notificacao, recebedor_id_conta
    gabarito: pd.DataFrame  # end_to_end_id, fraude, tipologia


def _transacao(obj: dict) -> dict:
    dispositivo = obj.get("dispositivo")
    return {
        "end_to_end_id": obj["end_to_end_id"],
        "data_hora": obj["data_hora"],
        "valor": float(obj["valor"]),
        "pagador_id_conta": id_conta(obj["pagador"]),
        "recebedor_id_conta": id_conta(obj["recebedor"]),
        "pagador_tipo_pessoa": obj["pagador"]["tipo_pessoa"],
        "recebedor_tipo_pessoa": obj["recebedor"]["tipo_pessoa"],
        "chave_hash": id_chave(obj["tipo_chave"], obj["chave"]) if obj.get("chave") else None,
        "dispositivo_cadastrado": dispositivo["cadastrado"] if dispositivo else None,
        "forma_iniciacao": obj["forma_iniciacao"],
    }


def montar(transacoes_json: list[str], med_json: list[str], gabarito: pd.DataFrame) -> DadosSimulados:
    """Transações e MED (linhas JSON do contrato) em DataFrames; a MED ganha a conta recebedora contestada."""
    tx = pd.DataFrame.from_records([_transacao(json.loads(linha)) for linha in transacoes_json])
    tx = tx.drop_duplicates("end_to_end_id").reset_index(drop=True)
    tx["data_hora"] = pd.to_datetime(tx["data_hora"], utc=True)
    med = pd.DataFrame.from_records(
        [
            {"end_to_end_id": o["end_to_end_id"], "data_hora_notificacao": o["data_hora_notificacao"]}
            for o in map(json.loads, med_json)
        ],
        columns=["end_to_end_id", "data_hora_notificacao"],
    ).drop_duplicates("end_to_end_id")
    med["data_hora_notificacao"] = pd.to_datetime(med["data_hora_notificacao"], utc=True)
    med = med.merge(tx[["end_to_end_id", "recebedor_id_conta"]], on="end_to_end_id", how="left")
    return DadosSimulados(tx, med.reset_index(drop=True), gabarito)


def simular(parametros: Parametros) -> DadosSimulados:
    """Gera o tráfego em memória (sem mensagens defeituosas)."""
    tudo = gerar_tudo(parametros.com(taxa_invalidas=0.0))
    return montar(tudo.transacoes, tudo.med, ler_gabarito(tudo.gabarito))


def ler_pasta(pasta: str | Path) -> DadosSimulados:
    """Os arquivos de ``detector-pix simular --saida arquivos`` (transacoes.jsonl, med.jsonl, gabarito.csv)."""
    pasta = Path(pasta)
    transacoes = (pasta / "transacoes.jsonl").read_text(encoding="utf-8").splitlines()
    med = (pasta / "med.jsonl").read_text(encoding="utf-8").splitlines()
    validas = []
    for linha in transacoes:  # arquivos gerados com --taxa-invalidas > 0 trazem entrada ruim de propósito
        try:
            obj = json.loads(linha)
            _transacao(obj)
            validas.append(linha)
        except (ValueError, KeyError, TypeError):
            continue
    return montar(validas, [m for m in med if m], ler_gabarito(str(pasta / "gabarito.csv")))
