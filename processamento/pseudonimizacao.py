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
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from plataforma.config import PREFIXO_AMBIENTE, Configuracao, ErroDeConfiguracao, em_databricks

TAMANHO_HEX = 32  # 128 bits: colisões desprezíveis mesmo com bilhões de contas


@lru_cache(maxsize=1 << 16)
def pseudonimizar(chave: bytes, valor: str) -> str:
    """HMAC-SHA256 de ``valor``, em hexadecimal, truncado a ``TAMANHO_HEX``.

    Com memória dos mais recentes: seis por mensagem eram um quarto do custo de interpretar um Pix no caminho
    quente, e contas, chaves e dispositivos se repetem muito (lojas, quem paga sempre). A memória só guarda o
    que já passa pelo processo, que tem a própria chave (mais sensível que qualquer pseudônimo).
    """
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


TAMANHO_MINIMO_CHAVE = 32


def arquivo_da_chave_local(cfg: Configuracao) -> Path:
    return cfg.pasta_dados / ".chave_pseudonimizacao"


def criar_chave_local(cfg: Configuracao) -> Path:
    """Cria (uma vez) a chave do laptop em ``<dados>/.chave_pseudonimizacao``, permissão 600, fora do repositório.

    Só por pedido explícito (``detector-pix preparar``, ``make demo``): uma chave gerada em silêncio num host de
    produção daria pseudônimos que nenhum outro host reproduz. Trocar de chave muda todos os pseudônimos, por isso
    ela é guardada e reaproveitada.
    """
    if em_databricks():
        raise ErroDeConfiguracao("No Databricks a chave vem do segredo 'chave-pseudonimizacao', nunca de um arquivo.")
    arquivo = arquivo_da_chave_local(cfg)
    if not arquivo.exists():
        arquivo.parent.mkdir(parents=True, exist_ok=True)
        descritor = os.open(arquivo, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descritor, "w") as saida:
            saida.write(secrets.token_hex(32))
    return arquivo


def obter_chave(cfg: Configuracao) -> bytes:
    """A chave do segredo (ou da variável de ambiente); no laptop, a chave local criada por ``criar_chave_local``.

    Sem nenhuma das duas, a partida para com erro dizendo onde pôr a chave: nunca uma chave nova em silêncio.
    """
    if cfg.chave_pseudonimizacao:
        if len(cfg.chave_pseudonimizacao) < TAMANHO_MINIMO_CHAVE:
            raise ErroDeConfiguracao(
                f"A chave de pseudonimização tem {len(cfg.chave_pseudonimizacao)} caracteres; são precisos pelo "
                f"menos {TAMANHO_MINIMO_CHAVE} aleatórios (segredo 'chave-pseudonimizacao' ou "
                f"{PREFIXO_AMBIENTE}CHAVE_PSEUDONIMIZACAO)."
            )
        return cfg.chave_pseudonimizacao.encode("utf-8")
    if em_databricks():
        raise ErroDeConfiguracao(
            f"Sem chave de pseudonimização: crie o segredo 'chave-pseudonimizacao' no escopo '{cfg.escopo_segredos}'."
        )
    arquivo = arquivo_da_chave_local(cfg)
    if not arquivo.exists():
        raise ErroDeConfiguracao(
            f"Sem chave de pseudonimização: defina {PREFIXO_AMBIENTE}CHAVE_PSEUDONIMIZACAO (32+ caracteres "
            f"aleatórios) ou, no laptop, rode `detector-pix preparar` (ou `make preparar`), que cria a chave local "
            f"em {arquivo}."
        )
    return arquivo.read_text().strip().encode("utf-8")
