"""Rótulos tardios e divisão temporal: o treino só sabe do que a MED já contou até o corte."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning.rotulos import dividir_no_tempo, ler_gabarito, rotulos_no_corte

T0 = pd.Timestamp("2026-11-02T00:00:00Z")


def test_contestacao_depois_do_corte_nao_vira_rotulo_de_treino() -> None:
    transacoes = pd.DataFrame({"end_to_end_id": ["a", "b", "c", "d"]})
    med = pd.DataFrame(
        {
            "end_to_end_id": ["a", "b", "c"],
            "data_hora_notificacao": [T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(days=5), T0],
        }
    )
    corte = T0 + pd.Timedelta(days=2)
    rotulos = rotulos_no_corte(transacoes, med, corte)
    assert rotulos.tolist() == [1, 0, 1, 0]  # "b" foi contestada depois do corte; "d" nunca
    assert rotulos_no_corte(transacoes, med, T0 + pd.Timedelta(days=6)).tolist() == [1, 1, 1, 0]
    # exatamente no corte ainda não se sabe (estritamente antes)
    assert rotulos_no_corte(transacoes, med, T0).tolist() == [0, 0, 0, 0]


def test_divisao_tem_intervalo_do_atraso_e_nao_se_sobrepoe() -> None:
    data_hora = pd.Series(pd.date_range(T0, T0 + pd.Timedelta(days=28), freq="17min", inclusive="left"))
    d = dividir_no_tempo(data_hora, dias_aquecimento=3, dias_atraso=7, dias_teste=7)
    treino, teste = d.mascaras(data_hora)
    assert not (treino & teste).any()
    assert data_hora[treino].max() < d.fim_treino <= d.inicio_teste <= data_hora[teste].min()
    assert (data_hora[teste].min() - data_hora[treino].max()) >= pd.Timedelta(days=7)
    assert d.intervalo == pd.Timedelta(days=7)
    assert d.corte_rotulos == d.inicio_teste
    assert data_hora[treino].min() >= T0 + pd.Timedelta(days=3)  # o aquecimento fica de fora
    assert teste.any() and treino.any()
    assert data_hora[teste].max() == data_hora.max()


def test_divisao_recusa_periodo_curto() -> None:
    data_hora = pd.Series(pd.date_range(T0, T0 + pd.Timedelta(days=5), freq="1h"))
    with pytest.raises(ValueError, match="curto demais"):
        dividir_no_tempo(data_hora, dias_aquecimento=3, dias_atraso=7, dias_teste=7)


def test_gabarito_de_linhas_e_de_arquivo(tmp_path) -> None:
    linhas = ["end_to_end_id,fraude,tipologia", "E1,1,falso_parente", "E2,0,nenhuma"]
    (tmp_path / "gabarito.csv").write_text("\n".join(linhas) + "\n")
    for origem in (linhas[1:], str(tmp_path / "gabarito.csv")):
        g = ler_gabarito(origem)
        assert g["fraude"].tolist() == [1, 0]
        assert g["tipologia"].tolist() == ["falso_parente", "nenhuma"]
