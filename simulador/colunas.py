"""Transações ainda não serializadas, em colunas numpy: o formato de trabalho de cada lote.

Por que colunas: gerar, juntar, ordenar por tempo e separar o que passa do fim do lote são operações
vetorizadas; só a serialização final percorre mensagem por mensagem.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

FORMAS = ("MANU", "DICT", "QRES", "QRDN", "INIC", "APDN", "AUTO")
MANU, DICT, QRES, QRDN, INIC, APDN, AUTO = range(7)
FINALIDADES = ("IPAY", "GSCB", "OTHR")
CANAIS = ("APP", "INTERNET_BANKING", "API", "OUTRO")
APP, INTERNET_BANKING, API, OUTRO = range(4)
SEM_DISPOSITIVO, CADASTRADO, NAO_CADASTRADO = range(3)

_TIPOS = {
    "t": np.int64,  # instante do pagamento, ms desde a época (UTC)
    "pag": np.int64,  # índice da conta pagadora
    "rec": np.int64,  # índice da conta recebedora
    "cent": np.int64,  # valor em centavos
    "forma": np.int8,
    "fin": np.int8,
    "canal": np.int8,
    "disp": np.int8,
    "disp_id": np.uint64,  # id do dispositivo não cadastrado
    "chave": np.bool_,  # leva a chave do recebedor
    "txid": np.int8,  # tamanho do txid (0 = sem)
    "info": np.int16,  # índice em INFO_PAGADOR (-1 = sem)
    "tip": np.int8,  # 0 = legítima; 1.. = tipologia de fraude
    "vitima": np.bool_,  # a vítima pode contestar no MED
}


@dataclass
class Colunas:
    t: np.ndarray
    pag: np.ndarray
    rec: np.ndarray
    cent: np.ndarray
    forma: np.ndarray
    fin: np.ndarray
    canal: np.ndarray
    disp: np.ndarray
    disp_id: np.ndarray
    chave: np.ndarray
    txid: np.ndarray
    info: np.ndarray
    tip: np.ndarray
    vitima: np.ndarray

    @classmethod
    def vazia(cls) -> Colunas:
        return cls(**{n: np.zeros(0, dtype=d) for n, d in _TIPOS.items()})

    @classmethod
    def de_listas(cls, listas: dict[str, list]) -> Colunas:
        return cls(**{n: np.asarray(listas[n], dtype=d) for n, d in _TIPOS.items()})

    def __len__(self) -> int:
        return len(self.t)

    def pegar(self, idx: np.ndarray) -> Colunas:
        return Colunas(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def juntar(partes: list[Colunas]) -> Colunas:
        return Colunas(**{f.name: np.concatenate([getattr(p, f.name) for p in partes]) for f in fields(Colunas)})


class Acumulador:
    """Junta transações geradas uma a uma (fraudes, que são poucas) antes de virar colunas."""

    def __init__(self) -> None:
        self.listas: dict[str, list] = {n: [] for n in _TIPOS}

    def add(
        self,
        t: int,
        pag: int,
        rec: int,
        cent: int,
        forma: int,
        canal: int = APP,
        disp: int = CADASTRADO,
        disp_id: int = 0,
        chave: bool = True,
        txid: int = 0,
        info: int = -1,
        tip: int = 0,
        vitima: bool = True,
        fin: int = 0,
    ) -> None:
        for nome, valor in (
            ("t", t), ("pag", pag), ("rec", rec), ("cent", max(int(cent), 1)), ("forma", forma), ("fin", fin),
            ("canal", canal), ("disp", disp), ("disp_id", disp_id), ("chave", chave), ("txid", txid),
            ("info", info), ("tip", tip), ("vitima", vitima),
        ):  # fmt: skip
            self.listas[nome].append(valor)

    def colunas(self) -> Colunas:
        return Colunas.de_listas(self.listas)
