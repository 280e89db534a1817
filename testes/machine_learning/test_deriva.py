"""Deriva (PSI) e precisão tardia: as contas que alimentam os alertas DerivaDoScore e DerivaDeFeature."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from chispa import assert_df_equality

from machine_learning.deriva import (
    HORAS_JANELA,
    SCORE,
    JanelaDeDeriva,
    ReferenciaDeDeriva,
    baldes_de,
    colunas_de_deriva,
    horas_do_evento,
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


AGORA_S = datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp()
HORA = int(AGORA_S // 3600)


def _horas(n: int, hora: int = HORA) -> np.ndarray:
    return np.full(n, hora, np.int64)


def test_mesma_distribuicao_tem_psi_quase_zero_e_deslocada_passa_do_limiar() -> None:
    rng = np.random.default_rng(1)
    referencia = referencia_de(*_features(rng, 20_000))
    mesma = JanelaDeDeriva(referencia)
    mesma.observar(colunas_de_deriva(*_features(rng, 20_000)), _horas(20_000), AGORA_S)
    deslocada = JanelaDeDeriva(referencia)
    deslocada.observar(colunas_de_deriva(*_features(rng, 20_000, deslocamento=1.0)), _horas(20_000), AGORA_S)
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


def test_janela_guarda_24_horas_de_evento_e_esquece_o_resto() -> None:
    rng = np.random.default_rng(2)
    referencia = referencia_de(*_features(rng, 10_000))
    janela = JanelaDeDeriva(referencia)
    inicio = HORA - 100  # os dois dias e o dia seguinte, todos antes do relógio
    for hora in range(inicio, inicio + 48):  # dois dias de tráfego estável, em lotes de tamanhos variados
        n = int(rng.integers(1, 300))
        janela.observar(colunas_de_deriva(*_features(rng, n)), _horas(n, hora), AGORA_S)
    assert janela.psi()[SCORE] < 0.1
    assert janela.horas_cobertas == HORAS_JANELA and len(janela._blocos) == HORAS_JANELA  # memória fixa
    for hora in range(inicio + 48, inicio + 48 + HORAS_JANELA):  # o tráfego muda: depois de um dia, só o novo conta
        janela.observar(colunas_de_deriva(*_features(rng, 100, deslocamento=1.0)), _horas(100, hora), AGORA_S)
    assert janela.psi()[SCORE] > 0.25
    assert janela.amostras == 100 * HORAS_JANELA


def test_janela_ignora_futuro_absurdo_e_passado_fora_da_janela() -> None:
    rng = np.random.default_rng(4)
    referencia = referencia_de(*_features(rng, 2_000))
    janela = JanelaDeDeriva(referencia)
    janela.observar(colunas_de_deriva(*_features(rng, 500)), _horas(500), AGORA_S)
    # Um Pix datado de 2099 não empurra a janela para frente (o que apagaria o dia inteiro).
    futuro = np.array([int(datetime(2099, 1, 1, tzinfo=UTC).timestamp() // 3600)])
    janela.observar(colunas_de_deriva(*_features(rng, 1)), futuro, AGORA_S)
    velho = np.array([HORA - 30])  # mais velho que 24 h antes do Pix mais novo: fora
    janela.observar(colunas_de_deriva(*_features(rng, 1)), velho, AGORA_S)
    assert janela.amostras == 500 and janela.horas_cobertas == 1


def test_horas_do_evento_em_utc() -> None:
    datas = pd.Series(pd.to_datetime(["2026-12-01T12:59:59.999Z", "2026-12-01T13:00:00.000Z"], utc=True))
    assert horas_do_evento(datas).tolist() == [HORA, HORA + 1]


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
