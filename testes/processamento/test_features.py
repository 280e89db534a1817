"""O motor vetorizado de features calcula o mesmo que a implementação de referência, linha a linha."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from processamento.features import COLUNAS_FEATURES, MotorDeFeatures, ParametrosFeatures
from testes.processamento.referencia_features import features_de_referencia

INICIO = pd.Timestamp("2026-11-27T18:00:00Z")  # 15h em Brasília: o dia atravessa a noite (20h-6h)


def transacoes_aleatorias(n: int, contas: int, semente: int, horas: float = 30.0) -> pd.DataFrame:
    """Poucas contas e muitas transações: janelas, repetições no lote e contas nos dois papéis."""
    rng = np.random.default_rng(semente)
    ms = np.sort(rng.integers(0, int(horas * 3_600_000), n))
    ms[5:8] = ms[min(5, n - 1)]  # empates de data_hora: a ordem vem do end_to_end_id
    return pd.DataFrame(
        {
            "end_to_end_id": [f"E{semente:04d}{i:027d}" for i in range(n)],
            "data_hora": INICIO + pd.to_timedelta(ms, unit="ms"),
            "valor": np.where(rng.random(n) < 0.1, 500.0, np.round(rng.lognormal(4.5, 1.3, n), 2)),
            "pagador_id_conta": rng.integers(0, contas, n).astype(str),
            "recebedor_id_conta": rng.integers(0, contas, n).astype(str),
            "pagador_tipo_pessoa": rng.choice(["PF", "PJ"], n, p=[0.85, 0.15]),
            "recebedor_tipo_pessoa": rng.choice(["PF", "PJ"], n, p=[0.7, 0.3]),
            "chave_hash": pd.Series(np.where(rng.random(n) < 0.7, rng.integers(0, contas, n).astype(str), None)),
            "dispositivo_cadastrado": pd.Series(rng.choice([True, False, None], n, p=[0.8, 0.15, 0.05]), dtype=object),
            "forma_iniciacao": rng.choice(["DICT", "MANU", "QRDN", "QRES", "XPTO"], n, p=[0.6, 0.1, 0.1, 0.1, 0.1]),
        }
    )


def comparar(obtido: pd.DataFrame, esperado: pd.DataFrame) -> None:
    obtido = obtido.set_index("end_to_end_id").loc[esperado["end_to_end_id"]]
    for coluna in COLUNAS_FEATURES:
        np.testing.assert_allclose(
            obtido[coluna].to_numpy(np.float64), esperado[coluna].to_numpy(np.float64),
            rtol=1e-6, atol=1e-6, equal_nan=True, err_msg=coluna,
        )  # fmt: skip


# k grande o bastante para que nenhum limite de estado seja atingido: o resultado deve ser exato.
SEM_LIMITE = ParametrosFeatures(k_eventos=256, k_recebedores=256)


@pytest.mark.parametrize("tamanho_lote", [1, 37, 10_000])
def test_motor_igual_a_referencia_em_qualquer_divisao_em_lotes(tamanho_lote: int) -> None:
    transacoes = transacoes_aleatorias(n=600, contas=40, semente=tamanho_lote)
    esperado = features_de_referencia(transacoes)
    motor = MotorDeFeatures(SEM_LIMITE, capacidade=8)  # capacidade pequena: força o crescimento dos arrays
    partes = [motor.processar(transacoes.iloc[i : i + tamanho_lote]) for i in range(0, len(transacoes), tamanho_lote)]
    comparar(pd.concat(partes), esperado)


def test_marcas_med_valem_so_depois_do_instante_da_notificacao() -> None:
    transacoes = transacoes_aleatorias(n=400, contas=25, semente=7)
    alvo = transacoes.iloc[[50, 120, 300]]
    marcas = pd.DataFrame(
        {
            "recebedor_id_conta": alvo["recebedor_id_conta"].to_numpy(),
            "data_hora_notificacao": alvo["data_hora"].to_numpy() + pd.Timedelta(minutes=5),
        }
    )
    esperado = features_de_referencia(transacoes, marcas)
    assert esperado["rec_marcada_fraude"].sum() > 0  # o teste exercita marcas de fato
    obtido = MotorDeFeatures(SEM_LIMITE).processar_linha_do_tempo(transacoes, marcas)
    comparar(obtido, esperado)


def test_janelas_de_velocidade_do_pagador() -> None:
    base = INICIO
    transacoes = pd.DataFrame(
        {
            "end_to_end_id": [f"E{i:031d}" for i in range(4)],
            "data_hora": [
                base,
                base + pd.Timedelta(minutes=5),
                base + pd.Timedelta(minutes=50),
                base + pd.Timedelta(hours=2),
            ],
            "valor": [10.0, 20.0, 30.0, 40.0],
            "pagador_id_conta": ["a"] * 4,
            "recebedor_id_conta": ["b", "c", "b", "d"],
            "pagador_tipo_pessoa": ["PF"] * 4,
            "recebedor_tipo_pessoa": ["PF"] * 4,
            "chave_hash": [None] * 4,
            "dispositivo_cadastrado": [True] * 4,
        }
    )
    f = MotorDeFeatures().processar(transacoes)
    assert f["pag_qtd_10min"].tolist() == [0, 1, 0, 0]
    assert f["pag_qtd_1h"].tolist() == [0, 1, 2, 0]
    assert f["pag_soma_24h"].tolist() == [0.0, 10.0, 30.0, 60.0]
    assert f["primeiro_pagamento_ao_recebedor"].tolist() == [True, True, False, True]
    assert f["pag_segundos_desde_anterior"].iloc[1] == 300.0
    assert np.isnan(f["pag_segundos_desde_anterior"].iloc[0])


def test_limites_noturno_e_de_dispositivo_do_bcb() -> None:
    noite = pd.Timestamp("2026-11-28T00:30:00Z")  # 21h30 em Brasília
    transacoes = pd.DataFrame(
        {
            "end_to_end_id": [f"E{i:031d}" for i in range(4)],
            "data_hora": [noite + pd.Timedelta(minutes=m) for m in (0, 10, 20, 30)],
            "valor": [600.0, 500.0, 150.0, 300.0],
            "pagador_id_conta": ["v"] * 4,
            "recebedor_id_conta": ["x", "y", "z", "w"],
            "pagador_tipo_pessoa": ["PF"] * 4,
            "recebedor_tipo_pessoa": ["PF", "PF", "PJ", "PF"],
            "chave_hash": [None] * 4,
            "dispositivo_cadastrado": [True, True, False, False],
        }
    )
    f = MotorDeFeatures().processar(transacoes)
    assert f["noturno"].all()
    assert f["noturno_acumulado"].tolist() == [600.0, 1100.0, 1100.0, 1400.0]  # PF->PJ não entra no limite
    assert f["excede_limite_noturno"].tolist() == [False, True, False, True]
    assert f["nao_cadastrado_acumulado_dia"].tolist() == [0.0, 0.0, 150.0, 450.0]
    assert f["excede_limite_dispositivo"].tolist() == [False, False, False, True]  # 300 > R$ 200


def test_conta_laranja_recebe_de_muitos_pagadores_distintos() -> None:
    n = 12
    transacoes = pd.DataFrame(
        {
            "end_to_end_id": [f"E{i:031d}" for i in range(n)],
            "data_hora": [INICIO + pd.Timedelta(minutes=3 * i) for i in range(n)],
            "valor": [500.0] * n,
            "pagador_id_conta": [f"vitima{i % 10}" for i in range(n)],  # 10 vítimas, 2 repetem
            "recebedor_id_conta": ["laranja"] * n,
            "pagador_tipo_pessoa": ["PF"] * n,
            "recebedor_tipo_pessoa": ["PF"] * n,
            "chave_hash": ["chave-nova"] * n,
            "dispositivo_cadastrado": [True] * n,
        }
    )
    f = MotorDeFeatures().processar(transacoes)
    assert f["rec_pagadores_distintos_1h"].tolist() == [*range(10), 10, 10]
    assert f["chave_idade_s"].iloc[-1] == 33 * 60


def test_estado_limitado_expira_contas_paradas() -> None:
    motor = MotorDeFeatures(ParametrosFeatures(ttl_dias=1))
    antigas = transacoes_aleatorias(n=50, contas=30, semente=3, horas=1)
    motor.processar(antigas)
    antes = motor.contas_no_estado
    novas = transacoes_aleatorias(n=5, contas=3, semente=4, horas=1)
    novas["data_hora"] = novas["data_hora"] + pd.Timedelta(days=5)  # além do TTL e da folga de atraso
    novas["pagador_id_conta"] = "nova-" + novas["pagador_id_conta"]
    novas["recebedor_id_conta"] = "nova-" + novas["recebedor_id_conta"]
    motor.processar(novas)
    removidas = motor.expirar()
    assert removidas >= antes
    assert motor.contas_no_estado <= 6
    assert motor.bytes_por_conta() < 1024


def test_conta_parada_alem_do_ttl_recomeca_do_zero_mesmo_sem_varredura() -> None:
    """A expiração vale no instante da transação, não no da varredura: ``expirar`` nunca é chamado aqui."""
    dias = [0.0, 0.5, 2.0]  # 12 h depois: conhecida; 36 h parada (TTL de 1 dia): começa de novo
    transacoes = pd.DataFrame(
        {
            "end_to_end_id": [f"E{i:031d}" for i in range(3)],
            "data_hora": [INICIO + pd.Timedelta(days=d) for d in dias],
            "valor": [100.0] * 3,
            "pagador_id_conta": ["p"] * 3,
            "recebedor_id_conta": ["r"] * 3,
            "pagador_tipo_pessoa": ["PF"] * 3,
            "recebedor_tipo_pessoa": ["PF"] * 3,
            "chave_hash": ["k"] * 3,
            "dispositivo_cadastrado": [True] * 3,
        }
    )
    motor = MotorDeFeatures(ParametrosFeatures(ttl_dias=1))
    f = pd.concat([motor.processar(transacoes.iloc[[i]]) for i in range(3)], ignore_index=True)
    assert f["pag_qtd_historico"].tolist() == [0, 1, 0]
    assert f["pag_idade_conta_s"].tolist() == [0.0, 43_200.0, 0.0]
    assert f["primeiro_pagamento_ao_recebedor"].tolist() == [True, False, True]
    assert f["chave_idade_s"].tolist() == [0.0, 43_200.0, 0.0]


def test_treino_sem_varredura_e_stream_varrendo_calculam_as_mesmas_features() -> None:
    """O treino (``processamento.historico``) não varre; o stream varre a cada tantos lotes. Mesmas features."""
    parametros = ParametrosFeatures(ttl_dias=1, folga_expiracao_dias=0)
    transacoes = transacoes_aleatorias(n=600, contas=80, semente=21, horas=24 * 8)  # paradas de mais de 1 dia
    treino, stream = MotorDeFeatures(parametros), MotorDeFeatures(parametros)
    removidas = 0
    for i in range(0, len(transacoes), 40):
        lote = transacoes.iloc[i : i + 40]
        esperado = treino.processar(lote)
        obtido = stream.processar(lote)
        removidas += stream.expirar()
        pd.testing.assert_frame_equal(obtido, esperado)
    assert removidas > 0  # a varredura rodou de verdade e devolveu memória
    assert stream.contas_no_estado < treino.contas_no_estado


def test_estado_restaurado_do_armazem_continua_igual_ao_ininterrupto(tmp_path) -> None:
    from processamento.estado import ArmazemDeEstado

    transacoes = transacoes_aleatorias(n=900, contas=400, semente=11, horas=80)
    lotes = [transacoes.iloc[i : i + 100] for i in range(0, 900, 100)]
    marcas = pd.DataFrame(
        {"recebedor_id_conta": [transacoes["recebedor_id_conta"].iloc[10]], "data_hora_notificacao": [INICIO]}
    )
    # A expiração (e a varredura, sem folga) também têm de sobreviver ao reinício.
    parametros = ParametrosFeatures(ttl_dias=1, folga_expiracao_dias=0)
    armazem = ArmazemDeEstado(tmp_path / "estado", intervalo_snapshot=3)
    motor = MotorDeFeatures(parametros)
    motor.aplicar_marcas(marcas["recebedor_id_conta"].to_numpy(), np.array([INICIO.timestamp()], np.int64))
    expiradas = 0
    for numero, lote in enumerate(lotes[:7]):
        motor.processar(lote)
        expiradas += motor.expirar()
        armazem.salvar(numero, {"features": motor}, {})
    continuo_exp = MotorDeFeatures(parametros)  # referência sem queda, com a mesma expiração por lote
    continuo_exp.aplicar_marcas(marcas["recebedor_id_conta"].to_numpy(), np.array([INICIO.timestamp()], np.int64))
    esperado = []
    for lote in lotes:
        esperado.append(continuo_exp.processar(lote))
        continuo_exp.expirar()

    assert expiradas > 0

    # Queda depois do lote 6 gravado, no meio do 7: o reinício parte do estado do lote 6.
    restaurado = MotorDeFeatures(parametros)
    armazem.restaurar(6, {"features": restaurado})
    assert restaurado.contas_no_estado == motor.contas_no_estado
    for numero in (7, 8):
        pd.testing.assert_frame_equal(restaurado.processar(lotes[numero]), esperado[numero])
        restaurado.expirar()


def test_estado_de_versao_anterior_sem_os_arrays_novos_continua() -> None:
    """Um snapshot gravado antes de uma feature nova não tem o array dela: o motor segue, com o array vazio."""
    transacoes = transacoes_aleatorias(n=300, contas=20, semente=11)
    antes, depois = transacoes.iloc[:200], transacoes.iloc[200:]
    completo = MotorDeFeatures(SEM_LIMITE)
    completo.processar(antes)
    estado = completo.extrair(completo=True)
    antigo = {k: v for k, v in estado.items() if k not in ("recebedor.media", "recebedor.m2")}
    restaurado = MotorDeFeatures(SEM_LIMITE)
    restaurado.aplicar(antigo)
    esperado, obtido = completo.processar(depois), restaurado.processar(depois)
    da_media = ["rec_valor_zscore", "rec_razao_media"]  # as que leem a média e o desvio do recebedor
    intactas = [c for c in COLUNAS_FEATURES if c not in da_media]
    pd.testing.assert_frame_equal(obtido[intactas], esperado[intactas])
    for coluna in da_media:
        assert (esperado[coluna] != obtido[coluna]).any()  # o que faltava recomeçou do zero


def test_estado_de_antes_da_separacao_por_papel_e_convertido() -> None:
    """Um snapshot com a tabela ``conta`` única (antes das tabelas por papel) continua de onde parou."""
    from processamento.features import _CONTA_ANTIGA

    transacoes = transacoes_aleatorias(n=300, contas=20, semente=12)
    transacoes["pagador_id_conta"] = "p" + transacoes["pagador_id_conta"]  # papéis disjuntos: a conversão é exata
    transacoes["recebedor_id_conta"] = "r" + transacoes["recebedor_id_conta"]
    antes, depois = transacoes.iloc[:200], transacoes.iloc[200:]
    continuo = MotorDeFeatures(SEM_LIMITE)
    continuo.processar(antes)
    estado = continuo.extrair(completo=True)
    # O formato antigo: uma linha por conta, com os arrays dos dois papéis (o do outro papel, vazio).
    vazio = MotorDeFeatures(SEM_LIMITE)
    antigo = {"relogio_s": estado["relogio_s"]}
    for nome in ("id", "primeiro_s", "ultimo_s", "removidas"):
        antigo[f"conta.{nome}"] = np.concatenate([estado[f"pagador.{nome}"], estado[f"recebedor.{nome}"]])
    for nome_antigo, (tabela, nome) in _CONTA_ANTIGA.items():
        outra = "recebedor" if tabela == "pagador" else "pagador"
        molde = vazio.arrays[tabela][nome][:1]
        preenchimento = np.repeat(molde, len(estado[f"{outra}.id"]), axis=0)
        partes = [estado[f"{tabela}.{nome}"], preenchimento]
        antigo[f"conta.{nome_antigo}"] = np.concatenate(partes if tabela == "pagador" else partes[::-1])
    for nome in ("id", "primeiro_s", "ultimo_s", "removidas"):
        antigo[f"chave.{nome}"] = estado[f"chave.{nome}"]
    restaurado = MotorDeFeatures(SEM_LIMITE)
    restaurado.aplicar(antigo)
    # As features genéricas vieram depois da tabela única: os arrays delas começam vazios na conversão.
    da_epoca = list(COLUNAS_FEATURES)[: list(COLUNAS_FEATURES).index("valor_log")]
    obtido, esperado = restaurado.processar(depois), continuo.processar(depois)
    pd.testing.assert_frame_equal(obtido[da_epoca], esperado[da_epoca])


def test_um_motor_por_papel_calcula_o_mesmo_que_um_motor_com_os_dois() -> None:
    """A base da decisão particionada: as duas metades do estado não se leem."""
    from processamento.features import COLUNAS_PAGADOR, COLUNAS_RECEBEDOR

    transacoes = transacoes_aleatorias(n=500, contas=30, semente=13)
    marcas = pd.DataFrame(
        {"recebedor_id_conta": transacoes["recebedor_id_conta"].iloc[[40, 90]].to_numpy(),
         "data_hora_notificacao": transacoes["data_hora"].iloc[[60, 95]].to_numpy()}
    )  # fmt: skip
    juntos, pagador, recebedor = (
        MotorDeFeatures(papeis=papeis) for papeis in (("pagador", "recebedor"), ("pagador",), ("recebedor",))
    )
    for i in range(0, len(transacoes), 70):
        lote = transacoes.iloc[i : i + 70]
        esperado = juntos.processar_linha_do_tempo(lote, marcas if i == 0 else None)
        so_pag = pagador.processar_linha_do_tempo(lote, marcas if i == 0 else None)
        so_rec = recebedor.processar_linha_do_tempo(lote, marcas if i == 0 else None)
        assert list(so_pag.columns[-len(COLUNAS_PAGADOR) :]) == COLUNAS_PAGADOR
        assert list(so_rec.columns[-len(COLUNAS_RECEBEDOR) :]) == COLUNAS_RECEBEDOR
        pd.testing.assert_frame_equal(so_pag[COLUNAS_PAGADOR], esperado[COLUNAS_PAGADOR])
        pd.testing.assert_frame_equal(so_rec[COLUNAS_RECEBEDOR], esperado[COLUNAS_RECEBEDOR])
    assert juntos.expirar() == 0
    assert pagador.bytes_por_conta() + recebedor.bytes_por_conta() == juntos.bytes_por_conta()
