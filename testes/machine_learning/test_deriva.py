"""Deriva (PSI) e precisão tardia: as contas que alimentam os alertas DerivaDoScore e DerivaDeFeature."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from chispa import assert_df_equality

from machine_learning.deriva import (
    BLOCOS_JANELA,
    SCORE,
    JanelaDeDeriva,
    ReferenciaDeDeriva,
    baldes_de,
    colunas_de_deriva,
    psi,
    referencia_de,
)
from machine_learning.rotulos import precisao_tardia


def _features(rng: np.random.Generator, n: int, deslocamento: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    features = pd.DataFrame(
        {
            "valor": rng.lognormal(4 + deslocamento, 1.0, n),
            "pag_valor_zscore": rng.normal(deslocamento, 1.0, n),
            "primeiro_pagamento_ao_recebedor": rng.random(n) < 0.3,
        }
    )
    score = rng.beta(1, 30 / (1 + deslocamento), n)
    return features, score


def test_mesma_distribuicao_tem_psi_quase_zero_e_deslocada_passa_do_limiar() -> None:
    rng = np.random.default_rng(1)
    referencia = referencia_de(*_features(rng, 20_000))
    mesma = JanelaDeDeriva(referencia)
    mesma.observar(colunas_de_deriva(*_features(rng, 20_000)))
    deslocada = JanelaDeDeriva(referencia)
    deslocada.observar(colunas_de_deriva(*_features(rng, 20_000, deslocamento=1.0)))
    estavel, mudou = mesma.psi(), deslocada.psi()
    assert set(estavel) == {"valor", "pag_valor_zscore", "primeiro_pagamento_ao_recebedor", SCORE}
    assert max(estavel.values()) < 0.01
    assert mudou["valor"] > 0.25 and mudou["pag_valor_zscore"] > 0.25 and mudou[SCORE] > 0.25
    assert mudou["primeiro_pagamento_ao_recebedor"] < 0.01  # não mudou: a deriva aponta a variável certa


def test_baldes_de_variavel_discreta_e_nan_tem_balde_proprio() -> None:
    baldes = baldes_de(np.array([0, 0, 1, 1, 1, np.nan, 0, 1], dtype=np.float64))
    assert baldes.bordas == (0.0, 1.0)  # decis repetidos viram duas bordas: abaixo de 0, [0, 1), 1 ou mais
    assert baldes.proporcoes == (0.0, 3 / 8, 4 / 8, 1 / 8)  # o último é o balde dos NaN
    contagem = baldes.contar(np.array([np.nan, np.inf, 0.0, 1.0]))
    assert contagem[-1] == 2 and contagem.sum() == 4


def test_psi_sem_amostras_e_nan_e_balde_vazio_nao_e_infinito() -> None:
    assert np.isnan(psi((0.5, 0.5), np.array([0, 0])))
    assert np.isfinite(psi((1.0, 0.0), np.array([0, 100])))


def test_janela_esquece_o_passado_e_tem_memoria_fixa() -> None:
    rng = np.random.default_rng(2)
    referencia = referencia_de(*_features(rng, 10_000))
    janela = JanelaDeDeriva(referencia, tamanho=2_000)
    for _ in range(40):  # muito mais que a janela, em lotes de tamanhos variados
        janela.observar(colunas_de_deriva(*_features(rng, int(rng.integers(1, 300)))))
    assert janela.psi()[SCORE] < 0.1
    assert 2_000 <= janela.amostras <= 2_000 + 2_000 // BLOCOS_JANELA + 300
    assert len(janela._blocos) <= BLOCOS_JANELA + 1
    for _ in range(40):  # o tráfego muda: depois de uma janela inteira, só o novo conta
        janela.observar(colunas_de_deriva(*_features(rng, 100, deslocamento=1.0)))
    assert janela.psi()[SCORE] > 0.25
    assert janela.amostras <= 2_000 + 2_000 // BLOCOS_JANELA + 100


def test_referencia_vai_e_volta_em_json() -> None:
    rng = np.random.default_rng(3)
    referencia = referencia_de(*_features(rng, 1_000))
    de_volta = ReferenciaDeDeriva.de_dict(json.loads(json.dumps(referencia.como_dict())))
    assert de_volta == referencia


def test_precisao_tardia_por_decisao(spark) -> None:
    agora = datetime(2026, 12, 1, 12, tzinfo=UTC)
    velho = datetime(2026, 10, 1, tzinfo=UTC)
    decisoes = spark.createDataFrame(
        [
            ("e1", "BLOQUEAR", agora),
            ("e2", "BLOQUEAR", agora),
            ("e3", "REVISAR", agora),
            ("e4", "APROVAR", agora),
            ("e5", "APROVAR", agora),
            ("e6", "BLOQUEAR", velho),  # fora da janela, mesmo com MED
            ("e4", "REVISAR", velho),  # decisão antiga do mesmo Pix: vale a mais recente
        ],
        "end_to_end_id string, decisao string, data_hora_decisao timestamp",
    )
    med = spark.createDataFrame([("e1",), ("e1",), ("e4",), ("e6",), ("e9",)], "end_to_end_id string")
    resultado = precisao_tardia(decisoes, med, pd.Timestamp("2026-11-01", tz="UTC"))
    esperado = spark.createDataFrame(
        [("APROVAR", 2, 1), ("BLOQUEAR", 2, 1), ("REVISAR", 1, 0)],
        "decisao string, avaliadas long, confirmadas long",
    )
    assert_df_equality(resultado, esperado, ignore_nullable=True)


def test_precisao_tardia_sem_decisoes_tem_as_tres_com_zero(spark) -> None:
    vazias = spark.createDataFrame([], "end_to_end_id string, decisao string, data_hora_decisao timestamp")
    med = spark.createDataFrame([], "end_to_end_id string")
    linhas = precisao_tardia(vazias, med, pd.Timestamp("2026-11-01", tz="UTC")).collect()
    assert [(r.decisao, r.avaliadas, r.confirmadas) for r in linhas] == [
        ("APROVAR", 0, 0),
        ("BLOQUEAR", 0, 0),
        ("REVISAR", 0, 0),
    ]
