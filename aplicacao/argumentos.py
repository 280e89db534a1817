"""O que todo subcomando da CLI faz com ``-D parametro=valor`` e ``--config``: montar a configuração."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from plataforma.config import Configuracao, ErroDeConfiguracao, carregar_configuracao


def pares(valores: Sequence[str]) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; um item sem ``=`` é erro de configuração, com o item."""
    pares: dict[str, str] = {}
    for item in valores:
        chave, sep, valor = item.partition("=")
        if not sep:
            raise ErroDeConfiguracao(f"Use -D parametro=valor; recebido {item!r}.")
        pares[chave.strip()] = valor
    return pares


def configuracao_dos_argumentos(args: argparse.Namespace) -> Configuracao:
    """A configuração local com os ``-D`` e o ``--config`` da linha de comando por cima."""
    return carregar_configuracao(pares(args.definir), arquivo=args.config)
