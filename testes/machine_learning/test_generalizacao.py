"""Deixar uma tipologia de fora: o corte só tira as fraudes dela do treino; teste, validação e features ficam."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from machine_learning.dados_simulados import simular
from machine_learning.generalizacao import (
    FIM_SECAO,
    INICIO_SECAO,
    _ap_da_tipologia,
    escrever_secao,
    medir,
    sem_tipologia,
)
from machine_learning.treino import DadosTreino, preparar_treino
from testes.util import PARAMETROS_TREINO


@pytest.fixture(scope="module")
def preparados() -> tuple[DadosTreino, np.ndarray]:
    dados = simular(PARAMETROS_TREINO)
    p = preparar_treino(dados.transacoes, dados.med, dados.gabarito)
    g = p.treino[["end_to_end_id"]].merge(dados.gabarito, on="end_to_end_id", how="left")
    return p, np.where(g["fraude"].fillna(0).to_numpy() == 1, g["tipologia"].fillna("").to_numpy(), "")


def test_sem_tipologia_tira_so_as_fraudes_dela_do_treino(preparados):
    dados, tip = preparados
    deixada = "falsa_central"
    assert (tip == deixada).sum() > 0
    sem = sem_tipologia(dados, tip, deixada)
    assert len(sem.treino) == len(dados.treino) - (tip == deixada).sum()
    assert len(sem.y_treino) == len(sem.treino)
    assert sem.y_treino.sum() == dados.y_treino[tip != deixada].sum()  # rótulos seguem as suas linhas
    assert not sem.treino["end_to_end_id"].isin(dados.treino["end_to_end_id"][tip == deixada]).any()
    assert sem.teste is dados.teste and sem.verdade_teste is dados.verdade_teste  # o teste não muda


def test_medir_com_regras_nao_muda_com_a_tipologia_fora(preparados):
    """As regras não aprendem: tirar uma tipologia do treino não pode mudar o recall delas nela (o teste é o mesmo)."""
    dados, tip = preparados
    verdade = dados.verdade_teste
    no_teste = set(verdade.loc[verdade["fraude"] == 1, "tipologia"])
    # a menos comum no treino entre as que estão no teste: sem ela, a validação ainda tem fraudes para calibrar
    deixada = min(no_teste & set(tip) - {""}, key=lambda t: (tip == t).sum())
    fora, _, _ = medir(dados, tip, deixada, semente=1, candidato="regras")
    _, metricas_base, _ = medir(dados, tip, None, semente=1, candidato="regras")
    assert fora.removidas_treino == (tip == deixada).sum() > 0
    assert fora.fraudes_teste == ((verdade["tipologia"] == deixada) & (verdade["fraude"] == 1)).sum() > 0
    assert fora.recall_deixada == pytest.approx(metricas_base[f"recall_alerta_1pct_{deixada}"])


def test_ap_da_tipologia_ignora_as_outras_fraudes():
    verdade = pd.DataFrame(
        {"fraude": [1, 1, 0, 0, 0], "tipologia": ["a", "b", "nenhuma", "nenhuma", "abuso_med"]}
    )  # fmt: skip
    score = np.array([0.9, 0.99, 0.1, 0.2, 0.3])
    assert _ap_da_tipologia(score, verdade, "a") == 1.0  # "b" tem score maior, mas não conta
    assert np.isnan(_ap_da_tipologia(score, verdade, "c"))


def test_escrever_secao_troca_so_o_que_esta_entre_os_marcadores(tmp_path: Path):
    doc = tmp_path / "modelo.md"
    doc.write_text(f"antes\n{INICIO_SECAO}\nvelho\n{FIM_SECAO}\ndepois\n", encoding="utf-8")
    escrever_secao(doc, "novo")
    escrever_secao(doc, "mais novo")  # de novo: os marcadores ficam
    assert doc.read_text(encoding="utf-8") == f"antes\n{INICIO_SECAO}\nmais novo\n{FIM_SECAO}\ndepois\n"
    sem_marcadores = tmp_path / "outro.md"
    sem_marcadores.write_text("nada\n", encoding="utf-8")
    with pytest.raises(ValueError, match="marcadores"):
        escrever_secao(sem_marcadores, "x")
