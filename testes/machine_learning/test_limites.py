"""Limites do BCB contam só o que passou: um Pix bloqueado não consome o limite; o do cliente vale no lugar do padrão.

Antes, o acumulado do motor (tudo o que foi tentado) decidia a regra dura: depois de um R$ 1.500 bloqueado às
21h30, um R$ 10 também era bloqueado.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machine_learning.decisao import APROVAR, BLOQUEAR, LIMIARES_SO_REGRAS, REVISAR, decidir, pontuar_regras
from machine_learning.limites import Bloqueio, LimitesAprovados, LimitesDoCliente
from machine_learning.tempo_real import RegistroDeLote
from processamento.features import MotorDeFeatures

NOITE = pd.Timestamp("2026-11-28T00:30:00Z")  # 21h30 em Brasília


def _pix(
    valores: list[float], minutos: list[int], cadastrado: bool = True, inicio: pd.Timestamp = NOITE
) -> pd.DataFrame:
    n = len(valores)
    return pd.DataFrame(
        {
            "end_to_end_id": [f"E{i:031d}" for i in range(n)],
            "data_hora": [inicio + pd.Timedelta(minutes=m) for m in minutos],
            "valor": valores,
            "pagador_id_conta": ["pagador"] * n,
            "recebedor_id_conta": ["amigo"] * n,  # o mesmo recebedor: nenhum outro sinal pesa
            "pagador_tipo_pessoa": ["PF"] * n,
            "recebedor_tipo_pessoa": ["PF"] * n,
            "chave_hash": [None] * n,
            "dispositivo_cadastrado": [cadastrado] * n,
        }
    )


def _decidir_em_lotes(
    pix: pd.DataFrame, tamanhos: list[int], limites: LimitesAprovados | None = None, clientes: dict | None = None
) -> pd.DataFrame:
    """Motor -> limites -> decisão, só com as regras, lote a lote (o estado dos dois passa de um lote ao outro)."""
    motor, limites = MotorDeFeatures(), limites or LimitesAprovados()
    saidas, inicio = [], 0
    for tamanho in tamanhos:
        features = motor.processar(pix.iloc[inicio : inicio + tamanho])
        ajustadas, score, _ = limites.ajustar(features, pontuar_regras(features), True, LIMIARES_SO_REGRAS, clientes)
        saidas.append(ajustadas.join(decidir(ajustadas, score, LIMIARES_SO_REGRAS)).assign(score=score))
        inicio += tamanho
    return pd.concat(saidas, ignore_index=True)


@pytest.mark.parametrize("tamanhos", [[2], [1, 1]], ids=["mesmo_lote", "lotes_seguidos"])
def test_pix_bloqueado_nao_consome_o_limite_noturno(tamanhos: list[int]) -> None:
    decididas = _decidir_em_lotes(_pix([1_500.0, 10.0], [0, 10]), tamanhos)
    assert decididas["noturno_acumulado"].tolist() == [1_500.0, 1_510.0]  # o motor soma o tentado (o modelo vê)
    assert decididas["decisao"].tolist() == [BLOQUEAR, APROVAR]
    assert decididas["excede_limite_noturno"].tolist() == [True, False]
    assert "LIMITE_NOTURNO_EXCEDIDO" in decididas["motivos"].iloc[0]
    # O score das regras é o das features ajustadas, o mesmo que pontuar_regras calcularia.
    np.testing.assert_array_equal(decididas["score"].to_numpy(), pontuar_regras(decididas))


def test_o_que_passou_conta_e_revisar_consome_o_limite() -> None:
    decididas = _decidir_em_lotes(_pix([600.0, 300.0, 200.0, 50.0], [0, 5, 10, 15]), [4])
    # 600 + 300 passam; 1.100 estoura e é bloqueado; 950 (sem o bloqueado) passa.
    assert decididas["decisao"].tolist()[2] == BLOQUEAR
    assert decididas["decisao"].tolist()[3] != BLOQUEAR
    assert decididas["excede_limite_noturno"].tolist() == [False, False, True, False]


def test_revisar_consome_o_limite() -> None:
    """Um Pix em REVISAR pode ser liberado pelo analista: conta no limite (só BLOQUEAR não conta)."""
    limites = LimitesAprovados()
    motor = MotorDeFeatures()
    features = motor.processar(_pix([900.0, 200.0], [0, 5]))
    score = np.array([3.0 / 13.1, 0.0])  # o primeiro cai na faixa REVISAR, sem regra dura
    ajustadas, score, bloqueios = limites.ajustar(features, score, False, LIMIARES_SO_REGRAS)
    decisao = decidir(ajustadas, score, LIMIARES_SO_REGRAS)["decisao"].tolist()
    assert decisao == [REVISAR, BLOQUEAR]  # 900 (em revisão) + 200 = 1.100 > 1.000
    assert [b.valor for b in bloqueios] == [200.0]


def test_dispositivo_nao_cadastrado_conta_so_o_que_passou() -> None:
    de_dia = pd.Timestamp("2026-11-27T15:00:00Z")  # meio-dia em Brasília
    decididas = _decidir_em_lotes(_pix([180.0, 190.0, 250.0, 190.0, 190.0, 190.0, 190.0], list(range(7)), False,
                                       de_dia), [3, 4])  # fmt: skip
    # R$ 250 passa do limite por Pix (R$ 200): bloqueado, e não entra no limite do dia (R$ 1.000).
    assert decididas["decisao"].tolist()[2] == BLOQUEAR
    assert decididas["nao_cadastrado_acumulado_dia"].tolist()[-1] == 1_380.0  # o tentado
    assert decididas["decisao"].tolist()[3:6] == [APROVAR] * 3  # 180+190+190+190+190 = 940 passou
    assert decididas["decisao"].tolist()[6] == BLOQUEAR  # 1.130 > 1.000


def test_limite_do_cliente_vale_no_lugar_do_padrao() -> None:
    maior = {"pagador": LimitesDoCliente(noturno=2_000.0)}
    assert _decidir_em_lotes(_pix([1_500.0], [0]), [1], clientes=maior)["decisao"].tolist() == [APROVAR]
    menor = {"pagador": LimitesDoCliente(noturno=300.0)}
    decididas = _decidir_em_lotes(_pix([500.0], [0]), [1], clientes=menor)
    assert decididas["decisao"].tolist() == [BLOQUEAR] and decididas["excede_limite_noturno"].iloc[0]
    assert _decidir_em_lotes(_pix([500.0], [0]), [1])["decisao"].tolist() == [APROVAR]  # o padrão é R$ 1.000


def test_estado_dos_bloqueios_sobrevive_ao_snapshot_e_ao_registro_do_lote() -> None:
    limites = LimitesAprovados()
    limites.registrar([Bloqueio("pagador", "noite", 20_420, 1_500.0), Bloqueio("outro", "dispositivo", 20_420, 250.0)])
    restaurado = LimitesAprovados()
    restaurado.aplicar(limites.extrair(completo=True))
    assert restaurado.bloqueado == limites.bloqueado
    LimitesAprovados().aplicar({})  # snapshot de uma versão anterior, sem os limites: nada muda, nada quebra

    registro = RegistroDeLote(7, 1_000, {0: (0, 10)}, [], -1, [Bloqueio("p", "noite", 1, 9.5).como_lista()])
    assert RegistroDeLote.de_json(registro.para_json()) == registro
    antigo = RegistroDeLote.de_json(b'{"lote": 1, "agora_ms": 0, "faixas": {}, "marcas": [], "med_ate": -1}')
    assert antigo.bloqueios == []


@pytest.mark.integracao
def test_limites_dos_clientes_lidos_do_delta_pela_conta_pseudonimizada(spark, cfg_teste, tmp_path) -> None:
    from machine_learning.limites import ler_limites_clientes
    from processamento.pseudonimizacao import id_conta, pseudonimizar

    caminho = str(tmp_path / "limites_clientes")
    spark.createDataFrame(
        [("00360305", "0001", "12345", 300.0, None, None), ("60746948", "8558", "99", None, 100.0, 500.0)],
        "ispb string, agencia string, conta string, limite_noturno double, limite_dispositivo_transacao double, "
        "limite_dispositivo_dia double",
    ).write.format("delta").save(caminho)
    chave = b"k" * 32
    lidos = ler_limites_clientes(spark, cfg_teste.com(tabela_limites_clientes=caminho), chave)
    primeira = pseudonimizar(chave, id_conta({"ispb": "00360305", "agencia": "0001", "conta": "12345"}))
    assert lidos[primeira] == LimitesDoCliente(noturno=300.0)
    assert len(lidos) == 2 and {v.dispositivo_dia for v in lidos.values()} == {None, 500.0}
    assert ler_limites_clientes(spark, cfg_teste, chave) == {}  # sem tabela configurada: só os do BCB
