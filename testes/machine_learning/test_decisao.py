"""A decisão de um Pix: regras duras acima do score, faixas pelos limiares e motivos por escrito."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import machine_learning.decisao as modulo_decisao
from machine_learning.decisao import (
    APROVAR,
    BLOQUEAR,
    LIMIARES_SO_REGRAS,
    REGRAS,
    REVISAR,
    decidir,
    pontuar_regras,
)
from processamento.features import COLUNAS_FEATURES

LIMIARES = {REVISAR: 0.2, BLOQUEAR: 0.8}


def features(**valores: object) -> pd.DataFrame:
    """Uma linha de features "inofensiva" (conta antiga, sem sinais), com os valores dados por cima."""
    base = {nome: (False if tipo == "bool" else 0) for nome, tipo in COLUNAS_FEATURES.items()}
    base |= {"rec_idade_conta_s": 10 * 86_400.0, "pag_valor_razao_media": 1.0}
    return pd.DataFrame([base | valores])


def test_faixas_do_score_pelos_limiares() -> None:
    linhas = pd.concat([features()] * 3, ignore_index=True)
    saida = decidir(linhas, np.array([0.1, 0.5, 0.9]), LIMIARES)
    assert saida["decisao"].tolist() == [APROVAR, REVISAR, BLOQUEAR]
    assert saida["motivos"].tolist() == [[], ["SCORE_REVISAR>=0.2"], ["SCORE_BLOQUEAR>=0.8"]]


def test_regra_dura_bloqueia_mesmo_com_score_baixo_e_vem_primeiro_nos_motivos() -> None:
    casos = {
        "LIMITE_NOTURNO_EXCEDIDO": {"excede_limite_noturno": True, "noturno": True},
        "LIMITE_DISPOSITIVO_NAO_CADASTRADO": {"excede_limite_dispositivo": True},
        "RECEBEDOR_MARCADO_FRAUDE": {"rec_marcada_fraude": True, "rec_qtd_med": 2, "rec_qtd_historico": 4},
    }
    for regra, valores in casos.items():
        saida = decidir(features(**valores, primeiro_pagamento_ao_recebedor=True), np.array([0.01]), LIMIARES)
        assert saida["decisao"].iloc[0] == BLOQUEAR, regra
        assert saida["motivos"].iloc[0] == [regra, "PRIMEIRO_PIX_AO_RECEBEDOR"], regra


def test_uma_notificacao_med_so_e_sinal_duas_confirmam_a_marca() -> None:
    linhas = pd.concat([features(rec_marcada_fraude=True, rec_qtd_med=n) for n in (1, 2)], ignore_index=True)
    saida = decidir(linhas, np.array([0.1, 0.1]), LIMIARES)
    assert saida["decisao"].tolist() == [APROVAR, BLOQUEAR]
    assert saida["motivos"].iloc[1] == ["RECEBEDOR_MARCADO_FRAUDE"]


def test_sinais_comportamentais_explicam_o_alerta_mas_nao_decidem_sozinhos() -> None:
    sinais = features(rec_pagadores_distintos_1h=5, pag_qtd_10min=4, rec_idade_conta_s=3_600.0)
    aprovado = decidir(sinais, np.array([0.1]), LIMIARES)
    assert aprovado["decisao"].iloc[0] == APROVAR and aprovado["motivos"].iloc[0] == []
    revisado = decidir(sinais, np.array([0.3]), LIMIARES)
    assert revisado["motivos"].iloc[0] == [
        "SCORE_REVISAR>=0.2",
        "RECEBEDOR_MUITOS_PAGADORES_1H",
        "RAJADA_DO_PAGADOR_10MIN",
        "RECEBEDOR_CONTA_NOVA",
    ]


def test_so_regras_revisa_com_dois_sinais_e_bloqueia_pelas_duras() -> None:
    linhas = pd.concat(
        [
            features(),
            features(pag_qtd_10min=3),
            features(pag_qtd_10min=3, pag_valor_zscore=4.0),
            features(excede_limite_noturno=True),
        ],
        ignore_index=True,
    )
    saida = decidir(linhas, pontuar_regras(linhas), LIMIARES_SO_REGRAS)
    assert saida["decisao"].tolist() == [APROVAR, APROVAR, REVISAR, BLOQUEAR]


def test_score_so_de_regras_fica_entre_0_e_1_e_ordena_pela_gravidade() -> None:
    linhas = pd.concat(
        [features(), features(primeiro_pagamento_ao_recebedor=True), features(rec_qtd_med=2, rec_qtd_historico=2)],
        ignore_index=True,
    )
    score = pontuar_regras(linhas)
    assert ((score >= 0) & (score < 1)).all()
    assert score[0] < score[1] < score[2]
    tudo = features(
        rec_marcada_fraude=True, rec_qtd_med=1, excede_limite_noturno=True, excede_limite_dispositivo=True,
        rec_pagadores_distintos_1h=9, pag_qtd_10min=9, pag_valor_zscore=9.0, primeiro_pagamento_ao_recebedor=True,
        rec_idade_conta_s=0.0, pag_valor_razao_media=1e6,
    )  # fmt: skip
    assert pontuar_regras(tudo)[0] < 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.lists(st.booleans(), min_size=len(REGRAS), max_size=len(REGRAS)), st.floats(0, 1))))
def test_motivos_montados_por_padrao_seguem_a_definicao_pix_a_pix(linhas: list[tuple[list[bool], float]]) -> None:
    """Os motivos saem uma vez por padrão de sinais; cada Pix recebe o da definição: regras duras acionadas, a
    faixa do score (se não for APROVAR) e os sinais comportamentais, na ordem de ``REGRAS``; nada se APROVAR."""
    matriz = np.array([s for s, _ in linhas], dtype=bool).reshape(len(linhas), len(REGRAS))
    score = np.array([p for _, p in linhas], dtype=np.float64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(modulo_decisao, "sinais", lambda _features: matriz)
        saida = decidir(pd.DataFrame(index=range(len(linhas))), score, LIMIARES)
    for sinal, p, decisao, motivos in zip(matriz, score, saida["decisao"], saida["motivos"], strict=True):
        duras = [r.nome for r, s in zip(REGRAS, sinal, strict=True) if s and r.dura]
        faixa = BLOQUEAR if p >= LIMIARES[BLOQUEAR] else REVISAR if p >= LIMIARES[REVISAR] else APROVAR
        assert decisao == (BLOQUEAR if duras else faixa)
        rotulo = [f"SCORE_{faixa}>={LIMIARES[faixa]:.4g}"] if faixa != APROVAR else []
        outras = [r.nome for r, s in zip(REGRAS, sinal, strict=True) if s and not r.dura]
        assert motivos == ([] if decisao == APROVAR else duras + rotulo + outras)
    assert len({id(m) for m in saida["motivos"]}) == len(saida)  # listas próprias: alterar uma não muda outra
