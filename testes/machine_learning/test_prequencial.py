"""Avaliação prequencial: dobras semanais sem rótulo do futuro, sem aquecimento, e a média ± desvio das dobras."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from machine_learning import prequencial
from machine_learning import treino as modulo_treino
from machine_learning.dados_simulados import DadosSimulados, simular
from machine_learning.prequencial import (
    FIM_SECAO,
    INICIO_SECAO,
    avaliar_dobras,
    dobras_semanais,
    escolher,
    escrever_secao,
    resumir,
    secao,
    tabela,
)
from machine_learning.rotulos import rotulos_no_corte
from machine_learning.treino import (
    CANDIDATOS,
    ajustar_candidatos,
    dividir_treino,
    features_do_treino,
    matriz,
    momento_do_rotulo,
    rotulos_ate,
    verdade_de,
)
from testes.util import DIVISAO, PARAMETROS_TREINO

T0 = pd.Timestamp("2026-11-02T00:00:00Z")
DIA = pd.Timedelta(days=1)


def test_dobras_semanais_cobrem_o_fim_sem_sobrepor_nem_entrar_no_aquecimento() -> None:
    inicio, fim = T0 + 3 * DIA, T0 + 28 * DIA  # 28 dias, aquecimento de 3
    dobras = dobras_semanais(inicio, fim)
    assert [d.corte_rotulos for d in dobras] == [T0 + 7 * DIA, T0 + 14 * DIA, T0 + 21 * DIA]
    assert dobras[-1].fim_teste == fim
    for anterior, seguinte in itertools.pairwise(dobras):
        assert anterior.fim_teste == seguinte.inicio_teste  # semanas de teste encostadas, sem sobreposição
    for d in dobras:
        assert d.inicio_treino == inicio  # o aquecimento nunca é treino
        assert d.fim_treino == d.corte_rotulos == d.inicio_teste  # sem intervalo, o treino vai até o corte
        assert d.fim_teste - d.inicio_teste == 7 * DIA
    # Com intervalo, o treino para antes do corte; a 1ª dobra teria só 2 dias de treino e sai.
    com_intervalo = dobras_semanais(inicio, fim, dias_intervalo=2)
    assert [d.corte_rotulos for d in com_intervalo] == [T0 + 14 * DIA, T0 + 21 * DIA]
    assert all(d.intervalo == 2 * DIA for d in com_intervalo)
    assert len(dobras_semanais(inicio, fim, dias_treino_min=5)) == 2
    assert dobras_semanais(inicio, inicio + 9 * DIA) == []  # 9 dias: a semana de teste deixaria 2 de treino
    with pytest.raises(ValueError, match="dias_dobra"):
        dobras_semanais(inicio, fim, dias_dobra=0)


def _historia() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Um Pix a cada 2 h por 28 dias; uma fraude a cada 10, contestada de 6 h a 2 dias depois (uma em 4 nunca)."""
    data_hora = pd.Series(pd.date_range(T0, T0 + 28 * DIA, freq="2h", inclusive="left"))
    n = len(data_hora)
    tx = pd.DataFrame(
        {
            "end_to_end_id": [f"E{i}" for i in range(n)],
            "data_hora": data_hora,
            "valor": 100.0,
            "pagador_id_conta": [f"p{i % 7}" for i in range(n)],
            "fraude": (np.arange(n) % 10 == 0).astype(int),
        }
    )
    fraudes = tx[tx["fraude"] == 1].iloc[[i for i in range(int(tx["fraude"].sum())) if i % 4]]
    atraso = pd.to_timedelta(6 * (1 + np.arange(len(fraudes)) % 8), unit="h")
    med = pd.DataFrame(
        {"end_to_end_id": fraudes["end_to_end_id"], "data_hora_notificacao": fraudes["data_hora"] + atraso}
    )
    # Uma contestação repetida mais tarde não adia o rótulo: vale a primeira.
    med = pd.concat([med, med.head(3).assign(data_hora_notificacao=lambda m: m["data_hora_notificacao"] + 20 * DIA)])
    return tx, med


VISTOS: list[tuple[np.ndarray, np.ndarray]] = []  # o que cada ajuste do espião viu: linhas (``i``) e rótulos


class Espiao(ClassifierMixin, BaseEstimator):
    """Guarda em ``VISTOS`` o que cada ajuste viu; pontua pela própria ``i`` (a fraude é ``i % 10 == 0``)."""

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> Espiao:
        VISTOS.append((x["i"].to_numpy().astype(int), np.asarray(y).copy()))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        s = (x["i"].to_numpy() % 10 == 0) * 0.9 + 0.05
        return np.column_stack([1 - s, s])


def test_nenhuma_dobra_treina_com_rotulo_notificado_depois_do_seu_corte(monkeypatch) -> None:
    tx, med = _historia()
    rotulado_em = momento_do_rotulo(tx, med)
    inicio = T0 + 3 * DIA
    dobras = dobras_semanais(inicio, T0 + 28 * DIA)
    VISTOS.clear()
    monkeypatch.setattr(modulo_treino, "_candidato", lambda nome, semente: Espiao())
    x = pd.DataFrame({"i": np.arange(len(tx), dtype=float)})
    por_dobra = avaliar_dobras(x, rotulado_em, tx, dobras, ("espiao",), avisar=lambda _: None)

    assert len(VISTOS) == len(dobras) == por_dobra["dobra"].nunique() == 3
    for d, (linhas, y) in zip(dobras, VISTOS, strict=True):
        quando = tx["data_hora"].iloc[linhas]
        assert quando.min() >= inicio and quando.max() < d.fim_treino  # nem aquecimento, nem a semana de teste
        # Exatamente os rótulos que a MED conhecia no corte: nem um notificado depois, nem um conhecido a menos.
        esperado = rotulos_no_corte(tx.iloc[linhas], med, d.corte_rotulos).to_numpy()
        np.testing.assert_array_equal(y, esperado)
        assert 0 < y.sum() < tx["fraude"].to_numpy()[linhas].sum()  # o atraso esconde parte das fraudes
    # E a contagem da tabela diz isso: rotuladas no corte < reais.
    assert (por_dobra["fraudes_rotuladas_treino"] < por_dobra["fraudes_treino"]).all()
    assert (por_dobra["average_precision"] == 1.0).all()  # o espião pontua a fraude acima de tudo


def test_momento_do_rotulo_da_med_e_da_coluna_rotulo() -> None:
    tx, med = _historia()
    momento = momento_do_rotulo(tx, med)
    for corte in (T0, T0 + 5 * DIA, T0 + 17.5 * DIA, T0 + 60 * DIA):
        np.testing.assert_array_equal(rotulos_ate(momento, corte), rotulos_no_corte(tx, med, corte).to_numpy())
    # Sem MED: ``rotulo`` com ``data_hora_rotulo`` (NaT = ainda não se sabe) ou, sem ela, desde a própria transação.
    com_rotulo = tx.head(3).assign(rotulo=[1, 1, 0], data_hora_rotulo=[T0 + DIA, None, T0])
    m = momento_do_rotulo(com_rotulo, None)
    assert rotulos_ate(m, T0 + 2 * DIA).tolist() == [1, 0, 0]
    m = momento_do_rotulo(com_rotulo.drop(columns="data_hora_rotulo"), None)
    assert rotulos_ate(m, T0 + DIA).tolist() == [1, 1, 0]


@pytest.fixture(scope="module")
def simulado() -> tuple[DadosSimulados, pd.DataFrame]:
    dados = simular(PARAMETROS_TREINO)
    return dados, features_do_treino(dados.transacoes, dados.med)


def test_ponta_a_ponta_pequeno_tabela_media_e_desvio(simulado, tmp_path: Path) -> None:
    dados, feats = simulado
    todos = dividir_treino(feats, dados.med, dados.gabarito, dias_aquecimento=0.5, dias_atraso=0, dias_teste=0)
    verdade = verdade_de(todos.treino, dados.med, dados.gabarito)
    dobras = dobras_semanais(todos.divisao.inicio_treino, todos.divisao.fim_treino, dias_dobra=2)
    assert len(dobras) == 3  # 10 dias, meio de aquecimento: testes em [4, 6), [6, 8), [8, 10), treino >= 3 dias
    por_dobra = avaliar_dobras(matriz(todos.treino), todos.rotulado_em, verdade, dobras, CANDIDATOS, 7, lambda _: None)
    assert len(por_dobra) == 3 * len(CANDIDATOS)
    assert (por_dobra["fraudes_teste"] > 0).all() and (por_dobra["fraudes_rotuladas_treino"] >= 2).all()
    assert por_dobra.groupby("dobra")["transacoes_treino"].first().is_monotonic_increasing  # o treino só cresce

    resumo = resumir(por_dobra)
    assert list(resumo.index) == list(CANDIDATOS)
    for candidato, r in resumo.iterrows():
        ap = por_dobra.loc[por_dobra["candidato"] == candidato, "average_precision"].to_numpy()
        recall = por_dobra.loc[por_dobra["candidato"] == candidato, "recall_alerta_1pct"].to_numpy()
        assert r["dobras"] == 3
        assert r["ap_media"] == pytest.approx(ap.mean()) and r["ap_desvio"] == pytest.approx(ap.std(ddof=1))
        assert r["recall_media"] == pytest.approx(recall.mean())
        assert r["recall_desvio"] == pytest.approx(recall.std(ddof=1))
    escolhido = escolher(resumo)
    assert resumo.loc[escolhido, "ap_media"] == resumo["ap_media"].max()

    md = tabela(por_dobra, resumo)
    linhas = md.splitlines()
    assert len(linhas) == 2 + 3 + 1  # cabeçalho, uma por dobra, média ± desvio
    assert all(linha.count("|") == linhas[0].count("|") for linha in linhas)
    assert f"**{prequencial.NOMES[escolhido]}**" in linhas[0]
    assert linhas[-1].count("±") == 1 + 2 * len(CANDIDATOS)  # o rótulo e AP e recall de cada candidato

    a = argparse.Namespace(
        clientes=600, dias=10.0, semente=7, aquecimento=0.5, dias_dobra=2.0, dias_intervalo=0.0,
        mistura=dict(PARAMETROS_TREINO.mistura), figuras=None,
    )  # fmt: skip
    texto = secao(a, por_dobra, resumo, len(feats), {"simulação": 1.0}, 60.0, (1.0, 2.0))
    assert md in texto and "--aquecimento 0.5 --dias-dobra 2 --mistura original --escrever docs/modelo.md" in texto
    doc = tmp_path / "modelo.md"
    doc.write_text(f"antes\n{INICIO_SECAO}\nvelho\n{FIM_SECAO}\ndepois\n", encoding="utf-8")
    escrever_secao(doc, texto)
    assert doc.read_text(encoding="utf-8") == f"antes\n{INICIO_SECAO}\n{texto.strip()}\n{FIM_SECAO}\ndepois\n"


def test_escolha_prequencial_sem_dobras_falha_antes_de_ajustar(simulado) -> None:
    dados, feats = simulado
    treino = dividir_treino(feats, dados.med, dados.gabarito, **DIVISAO)  # 5 dias de treino: nenhuma semana cabe
    with pytest.raises(ValueError, match="sem dobras: só 0 dobra"):
        ajustar_candidatos(treino, CANDIDATOS, 7, escolha="prequencial")
    with pytest.raises(ValueError, match="desconhecida"):
        ajustar_candidatos(treino, CANDIDATOS, 7, escolha="semana")
