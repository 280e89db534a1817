"""Identificadores Pix gerados em lote: CPF, CNPJ, EndToEndId, chaves, txid, dispositivos, datas.

Os dígitos verificadores vêm de ``processamento.contrato`` (uma só implementação de cada regra); o
resto é numpy vetorizado, porque o simulador precisa de centenas de milhares de ids por segundo.
"""

from __future__ import annotations

import numpy as np

from processamento.contrato import digitos_cnpj, digitos_cpf

ALFANUMERICOS = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
MAIUSCULOS = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
DDDS = (11, 11, 11, 21, 21, 31, 41, 47, 51, 61, 62, 71, 81, 85, 91, 92, 27, 48, 19, 12, 16, 34, 65, 67, 84, 98)


def _linhas(matriz: np.ndarray) -> list[str]:
    """Matriz (n, k) de bytes ASCII -> lista de n textos de k caracteres."""
    n, k = matriz.shape
    return np.ascontiguousarray(matriz, dtype=np.uint8).view(f"S{k}").reshape(n).astype(f"U{k}").tolist()


def aleatorios(rng: np.random.Generator, n: int, k: int, alfabeto: np.ndarray = ALFANUMERICOS) -> np.ndarray:
    """Matriz (n, k) de caracteres sorteados do alfabeto."""
    return alfabeto[rng.integers(0, len(alfabeto), size=(n, k))]


def textos_aleatorios(rng: np.random.Generator, n: int, k: int, alfabeto: np.ndarray = ALFANUMERICOS) -> list[str]:
    return _linhas(aleatorios(rng, n, k, alfabeto)) if n else []


def gerar_cpfs(rng: np.random.Generator, n: int) -> list[str]:
    bases = _linhas(rng.integers(48, 58, size=(n, 9), dtype=np.uint8)) if n else []
    return [b + digitos_cpf(b) for b in bases]


def gerar_cnpjs(rng: np.random.Generator, n: int, fracao_alfanumerica: float = 0.1) -> list[str]:
    """CNPJ de matriz (filial 0001); uma parte no formato alfanumérico de 2026 (raiz com letras)."""
    if not n:
        return []
    raizes = aleatorios(rng, n, 8, MAIUSCULOS)
    numericas = rng.random(n) >= fracao_alfanumerica
    raizes[numericas] = rng.integers(48, 58, size=(int(numericas.sum()), 8), dtype=np.uint8)
    return [b + digitos_cnpj(b) for b in (r + "0001" for r in _linhas(raizes))]


def gerar_evps(rng: np.random.Generator, n: int) -> list[str]:
    """Chaves aleatórias (UUID v4 em minúsculas)."""
    if not n:
        return []
    h = aleatorios(rng, n, 32, HEX)
    h[:, 12] = ord("4")
    h[:, 16] = HEX[8 + rng.integers(0, 4, size=n)]
    traco = np.full((n, 1), ord("-"), dtype=np.uint8)
    return _linhas(np.hstack([h[:, :8], traco, h[:, 8:12], traco, h[:, 12:16], traco, h[:, 16:20], traco, h[:, 20:]]))


def gerar_telefones(rng: np.random.Generator, n: int) -> list[str]:
    ddds = np.asarray(DDDS)[rng.integers(0, len(DDDS), size=n)]
    numeros = rng.integers(0, 100_000_000, size=n)
    return [f"+55{d}9{x:08d}" for d, x in zip(ddds.tolist(), numeros.tolist(), strict=True)]


def gerar_dispositivos(rng: np.random.Generator, n: int) -> list[str]:
    return textos_aleatorios(rng, n, 16, HEX)


def formatar_data_hora(ms: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Instantes em ms desde a época -> (textos ISO-8601 UTC com ms e 'Z', matriz (n, 12) yyyyMMddHHmm)."""
    textos = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms").astype("U23")
    n = len(textos)
    if not n:
        return [], np.zeros((0, 12), dtype=np.uint8)
    caracteres = textos.view(np.uint32).reshape(n, 23)
    minuto = caracteres[:, [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]].astype(np.uint8)
    return [t + "Z" for t in textos.tolist()], minuto


def gerar_end_to_end_ids(rng: np.random.Generator, ispbs: np.ndarray, minutos: np.ndarray) -> list[str]:
    """``E`` + ISPB do pagador (n, 8) + minuto UTC (n, 12) + 11 alfanuméricos sorteados."""
    n = len(minutos)
    if not n:
        return []
    prefixo = np.full((n, 1), ord("E"), dtype=np.uint8)
    return _linhas(np.hstack([prefixo, ispbs, minutos, aleatorios(rng, n, 11)]))
