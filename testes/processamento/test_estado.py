"""O armazém do estado num volume: arquivos escritos do começo ao fim, nunca reescritos no meio.

Volumes do Unity Catalog (e S3/ADLS montados) aceitam criar e escrever um arquivo em sequência, mas recusam a
escrita depois de um ``seek`` para trás (o que o ``np.savez`` direto no arquivo faz para acertar os cabeçalhos do
zip). Renomear por cima de um arquivo que existe também não vale lá: não é atômico. O teste troca o ``open`` e o
``os.replace`` do Python, só dentro da pasta do volume, por versões com essas regras.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from processamento.deduplicacao import Deduplicador
from processamento.estado import ArmazemDeEstado
from processamento.features import MotorDeFeatures


@pytest.fixture
def volume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pasta = tmp_path / "Volumes" / "catalogo" / "esquema" / "checkpoints"
    pasta.mkdir(parents=True)
    original = builtins.open

    def abrir(arquivo, modo="r", *args, **kwargs):
        if str(arquivo).startswith(str(pasta)) and any(c in modo for c in "wax+"):
            bruto = _ArquivoQueRecusaVoltar(arquivo, modo.replace("b", "").replace("t", "") or "r")
            return io.BufferedRandom(bruto) if "+" in modo else io.BufferedWriter(bruto)
        return original(arquivo, modo, *args, **kwargs)

    substituir_original = os.replace

    def substituir(origem, destino, *args, **kwargs):
        if str(destino).startswith(str(pasta)) and Path(destino).exists():
            raise OSError(errno.EOPNOTSUPP, "renomear por cima de um arquivo não é atômico no volume", str(destino))
        return substituir_original(origem, destino, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", abrir)
    monkeypatch.setattr(io, "open", abrir)
    monkeypatch.setattr(os, "replace", substituir)
    return pasta


class _ArquivoQueRecusaVoltar(io.FileIO):
    """Um ``FileIO`` que lembra até onde escreveu e recusa escrever antes disso."""

    def __init__(self, nome, modo: str) -> None:
        super().__init__(nome, modo)
        self._escrito_ate = 0

    def write(self, dados) -> int:
        if self.tell() < self._escrito_ate:
            raise OSError(errno.EOPNOTSUPP, "escrita aleatória não suportada no volume", self.name)
        escritos = super().write(dados)
        self._escrito_ate = max(self._escrito_ate, self.tell())
        return escritos


def _estado(semente: int) -> tuple[MotorDeFeatures, Deduplicador]:
    rng = np.random.default_rng(semente)
    n = 300
    inicio = pd.Timestamp("2026-11-27T10:00:00Z")
    transacoes = pd.DataFrame(
        {
            "end_to_end_id": [f"E18236120202611271000{i:011d}" for i in range(n)],
            "data_hora": inicio + pd.to_timedelta(np.sort(rng.integers(0, 3_600, n)), unit="s"),
            "valor": rng.uniform(1, 500, n).round(2),
            "pagador_id_conta": [f"p{i}" for i in rng.integers(0, 40, n)],
            "recebedor_id_conta": [f"r{i}" for i in rng.integers(0, 40, n)],
            "pagador_tipo_pessoa": "PF",
            "recebedor_tipo_pessoa": "PF",
            "chave_hash": [f"k{i}" for i in rng.integers(0, 40, n)],
            "dispositivo_cadastrado": True,
        }
    )
    motor, dedup = MotorDeFeatures(), Deduplicador(24)
    motor.processar(transacoes)
    dedup.classificar(transacoes["end_to_end_id"])
    return motor, dedup


def test_o_volume_do_teste_recusa_o_que_um_volume_recusa(volume: Path) -> None:
    """O np.savez direto no arquivo (o armazém antigo) volta aos cabeçalhos do zip: o volume recusa."""
    with pytest.raises(OSError, match="escrita aleatória"), open(volume / "direto.npz", "wb") as arquivo:
        np.savez(arquivo, a=np.arange(100_000))


def test_snapshot_e_log_no_volume_reconstroem_o_estado(volume: Path) -> None:
    motor, dedup = _estado(1)
    armazem = ArmazemDeEstado(volume / "decisao" / "estado", intervalo_snapshot=2)
    armazem.salvar(0, {"features": motor, "dedup": dedup}, {"extra": np.array([7], np.int64)})
    completo = {f"features.{k}": v for k, v in motor.extrair(True).items()}
    armazem.salvar_snapshot(5, completo)

    novo_motor, novo_dedup = MotorDeFeatures(), Deduplicador(24)
    extras = armazem.restaurar(0, {"features": novo_motor, "dedup": novo_dedup})
    assert int(extras[0]["extra"][0]) == 7
    assert novo_motor.extrair(True).keys() == motor.extrair(True).keys()
    for nome, valor in motor.extrair(True).items():
        np.testing.assert_array_equal(np.sort(novo_motor.extrair(True)[nome], axis=0), np.sort(valor, axis=0), nome)
    assert novo_dedup.ids_na_memoria == dedup.ids_na_memoria == 300

    lote, estado = armazem.ultimo_snapshot()
    assert lote == 5 and estado.keys() == completo.keys()


def test_lote_refeito_regrava_log_e_snapshot_no_volume(volume: Path) -> None:
    """Depois de uma queda o lote é refeito e o seu log (e snapshot) gravado de novo, com o mesmo nome."""
    motor, dedup = _estado(2)
    armazem = ArmazemDeEstado(volume / "processamento" / "estado", intervalo_snapshot=1)
    for _ in range(2):
        armazem.salvar(0, {"features": motor, "dedup": dedup}, {"extra": np.array([1], np.int64)})
    novo = MotorDeFeatures()
    armazem.restaurar(0, {"features": novo, "dedup": Deduplicador(24)})
    assert novo.contas_no_estado == motor.contas_no_estado > 0


def test_snapshot_ilegivel_fica_para_tras(tmp_path: Path) -> None:
    armazem = ArmazemDeEstado(tmp_path)
    armazem.salvar_snapshot(1, {"a": np.arange(3)})
    armazem.salvar_snapshot(2, {"a": np.arange(4)})
    (tmp_path / "snapshot-000000000002.npz").write_bytes(b"PK\x03\x04 cortado no meio")
    lote, estado = armazem.ultimo_snapshot()
    assert lote == 1 and estado["a"].tolist() == [0, 1, 2]
    armazem.salvar_snapshot(3, {"a": np.arange(5)})
    armazem.salvar_snapshot(4, {"a": np.arange(6)})
    assert sorted(p.name for p in tmp_path.glob("snapshot-*")) == [
        "snapshot-000000000003.npz",
        "snapshot-000000000004.npz",
    ]


def test_snapshot_forcado_com_outro_gravando_espera_e_grava(tmp_path: Path) -> None:
    """O snapshot do encerramento não se perde porque o periódico ainda estava gravando (ele espera e grava)."""
    import threading

    from processamento.estado import SnapshotsEmSegundoPlano

    liberar, gravados = threading.Event(), []

    class ArmazemLento(ArmazemDeEstado):
        def salvar_snapshot(self, lote: int, estado: dict[str, np.ndarray], guardar: int = 2) -> None:
            liberar.wait(10)
            gravados.append(lote)

    snapshots = SnapshotsEmSegundoPlano(ArmazemLento(tmp_path), intervalo_s=0, nome="teste")
    snapshots.talvez(1, lambda: {"x": np.arange(3)})  # começa a gravar e fica preso
    threading.Timer(0.2, liberar.set).start()
    snapshots.talvez(2, lambda: {"x": np.arange(3)}, forcar=True)
    assert gravados == [1, 2]
