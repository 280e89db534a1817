"""Pseudonimização (LGPD) com hash com chave: o mesmo documento vira sempre o mesmo pseudônimo.

Por que HMAC e não um hash simples: CPFs têm só 11 dígitos, e um SHA-256 sem chave se reverte por força
bruta em minutos. Com HMAC-SHA256, sem a chave (no secret scope) o pseudônimo não revela nada, e ainda
assim serve para juntar, contar e calcular features por conta.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from collections.abc import Mapping

from plataforma.config import PREFIXO_AMBIENTE, Configuracao, ErroDeConfiguracao, em_databricks

TAMANHO_HEX = 32  # 128 bits: colisões desprezíveis mesmo com bilhões de contas


def pseudonimizar(chave: bytes, valor: str) -> str:
    return hmac.new(chave, valor.encode("utf-8"), hashlib.sha256).hexdigest()[:TAMANHO_HEX]


def id_conta(parte: Mapping[str, str]) -> str:
    """A conta de um pagador ou recebedor em claro, ``ispb|agencia|conta``: o que vira ``*_id_conta``.

    Um formato só: a silver pseudonimiza este texto e o treino sem Kafka (``machine_learning.dados_simulados``) o usa
    em claro; o estado das features por conta só é o mesmo nos dois caminhos se a conta for identificada igual.
    """
    return f"{parte['ispb']}|{parte['agencia']}|{parte['conta']}"


def id_chave(tipo_chave: str, chave: str) -> str:
    """A chave Pix em claro com o tipo, ``tipo_chave|chave``: o que vira ``chave_hash`` (pelo mesmo motivo)."""
    return f"{tipo_chave}|{chave}"


def obter_chave(cfg: Configuracao) -> bytes:
    """A chave vem de um segredo. Só no laptop, sem segredo definido, uma chave local é criada e guardada.

    A chave local fica em ``<dados>/.chave_pseudonimizacao`` (permissão 600), fora do repositório: trocar
    de chave muda todos os pseudônimos, então ela precisa ser estável entre execuções.
    """
    if cfg.chave_pseudonimizacao:
        if len(cfg.chave_pseudonimizacao) < 16:
            raise ErroDeConfiguracao("A chave de pseudonimização precisa de pelo menos 16 caracteres.")
        return cfg.chave_pseudonimizacao.encode("utf-8")
    if em_databricks():
        raise ErroDeConfiguracao("Sem chave de pseudonimização: crie o segredo 'chave-pseudonimizacao'.")
    arquivo = cfg.pasta_dados / ".chave_pseudonimizacao"
    if not arquivo.exists():
        arquivo.parent.mkdir(parents=True, exist_ok=True)
        descritor = os.open(arquivo, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descritor, "w") as saida:
            saida.write(secrets.token_hex(32))
        print(
            f"aviso: chave de pseudonimização local criada em {arquivo}; em produção use o segredo "
            f"'chave-pseudonimizacao' ou {PREFIXO_AMBIENTE}CHAVE_PSEUDONIMIZACAO.",
            file=sys.stderr,
        )
    return arquivo.read_text().strip().encode("utf-8")
