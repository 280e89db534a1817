"""A chave da pseudonimização: de um segredo, ou a do laptop criada por pedido explícito; nunca em silêncio."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from plataforma.config import Configuracao, ErroDeConfiguracao
from processamento.pseudonimizacao import TAMANHO_MINIMO_CHAVE, criar_chave_local, obter_chave


def test_sem_segredo_e_sem_chave_local_a_partida_para_dizendo_onde_por_a_chave(tmp_path: Path) -> None:
    cfg = Configuracao().com(dados_dir=str(tmp_path))
    with pytest.raises(ErroDeConfiguracao, match=r"DETECTOR_PIX_CHAVE_PSEUDONIMIZACAO.*detector-pix preparar"):
        obter_chave(cfg)
    assert not list(tmp_path.iterdir())  # nada foi criado


def test_chave_local_criada_por_pedido_fica_com_permissao_600_e_e_estavel(tmp_path: Path) -> None:
    cfg = Configuracao().com(dados_dir=str(tmp_path))
    arquivo = criar_chave_local(cfg)
    assert stat.S_IMODE(arquivo.stat().st_mode) == 0o600
    chave = obter_chave(cfg)
    assert len(chave) == 64 and criar_chave_local(cfg) == arquivo and obter_chave(cfg) == chave


def test_chave_curta_no_segredo_e_recusada(tmp_path: Path) -> None:
    curta = Configuracao().com(dados_dir=str(tmp_path), chave_pseudonimizacao="x" * (TAMANHO_MINIMO_CHAVE - 1))
    with pytest.raises(ErroDeConfiguracao, match=f"tem {TAMANHO_MINIMO_CHAVE - 1} caracteres"):
        obter_chave(curta)
    boa = curta.com(chave_pseudonimizacao="y" * TAMANHO_MINIMO_CHAVE)
    assert obter_chave(boa) == b"y" * TAMANHO_MINIMO_CHAVE
