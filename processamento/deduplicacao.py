"""Deduplicação por ``end_to_end_id``: o id do Pix é único em todo o sistema, então repetido = duplicata.

Política (documentada em docs/processamento.md):
- dentro do lote, a primeira ocorrência (pela ordem tópico/partição/offset) vale e as demais são duplicatas;
- entre lotes, os ids ficam na memória por ``janela_deduplicacao_h`` horas, contadas pelo minuto que o
  próprio end_to_end_id carrega (não pela hora de chegada): uma reentrega do Kafka ou um reenvio do
  participante cai nesta janela;
- um id mais antigo que a janela não está na memória: é conferido contra a silver (consulta pontual,
  com poda pela data do id). Assim nenhuma duplicata passa, por mais tarde que chegue.

A memória guarda 8 bytes por id (hash de 64 bits), um array ordenado por minuto, e o minuto inteiro sai quando
fica mais velho que a janela. Ordenado para que um lote custe O(k log n) na consulta (busca binária) e uma cópia
na inserção: refazer o ``np.unique`` do minuto a cada lote custava O(n log n), com n os ids do minuto (600 mil a
10 mil Pix/s), e era o que mais crescia com a taxa.

Um relógio por partição do Kafka (o maior minuto já visto nela): num backlog, uma partição pode estar um dia à
frente da outra, e com um relógio só os ids da atrasada pareceriam "antigos" e sairiam da memória cedo (a decisão,
que não consulta a silver, decidiria a duplicata de novo). A memória só perde um minuto quando toda partição já
passou dele pela janela; uma partição parada segura isso no máximo ``FOLGA_DE_PARTICAO_PARADA`` janelas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from processamento.features import hash_id

FOLGA_DE_PARTICAO_PARADA = 6  # janelas: uma partição sem tráfego não segura a memória além disso
TODAS = "*"  # quem não informa partições (um relógio só)


def _contidos(ordenado: np.ndarray, procurados: np.ndarray) -> np.ndarray:
    """Quais de ``procurados`` estão em ``ordenado`` (crescente): busca binária, sem ordenar o grande de novo."""
    if not len(ordenado):
        return np.zeros(len(procurados), bool)
    posicoes = np.searchsorted(ordenado, procurados)
    return ordenado[np.minimum(posicoes, len(ordenado) - 1)] == procurados


def minuto_do_id(end_to_end_id: pd.Series) -> np.ndarray:
    """Minutos desde a época a partir de ``yyyyMMddHHmm`` (posições 9 a 20 do EndToEndId)."""
    instantes = pd.to_datetime(end_to_end_id.str.slice(9, 21), format="%Y%m%d%H%M", utc=True)
    return (instantes.astype("int64") // 60_000_000_000).to_numpy(np.int64)


class Deduplicador:
    def __init__(self, janela_h: int = 24) -> None:
        self.janela_min = janela_h * 60
        self.vistos: dict[int, np.ndarray] = {}
        self.minuto_maximo = 0
        self.relogios: dict[str, int] = {}  # "tópico/partição" -> maior minuto já visto nela
        self._novos: list[tuple[np.ndarray, np.ndarray]] = []

    def _limite(self) -> int:
        """O minuto abaixo do qual a memória pode esquecer: toda partição já passou dele pela janela."""
        if not self.relogios:
            return self.minuto_maximo - self.janela_min
        piso = self.minuto_maximo - (1 + FOLGA_DE_PARTICAO_PARADA) * self.janela_min
        return max(min(self.relogios.values()) - self.janela_min, piso)

    def classificar(
        self, end_to_end_id: pd.Series, particoes: pd.Series | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(duplicata, antigo) para cada id; ``antigo`` = fora da janela (não está na memória), conferir na silver.

        ``particoes``: ``"tópico/partição"`` de cada id, para o relógio por partição. Os ids novos entram na
        memória, de modo que um lote posterior os reconhece.
        """
        n = len(end_to_end_id)
        duplicata = end_to_end_id.duplicated(keep="first").to_numpy()
        if n == 0:
            return duplicata, np.zeros(0, bool)
        hashes = hash_id(end_to_end_id)
        minutos = minuto_do_id(end_to_end_id)
        chaves = np.full(n, TODAS, object) if particoes is None else particoes.to_numpy(object)
        # "Antigo" é relativo ao que já passou na mesma partição (lotes anteriores): num backlog de vários dias
        # lido de uma vez, o primeiro dia não é antigo só porque o último dia veio no mesmo lote, nem porque a
        # outra partição está adiantada. E o que a memória já esqueceu também é antigo.
        relogio = np.array([self.relogios.get(c, 0) for c in chaves.tolist()], np.int64)
        antigo = (minutos < relogio - self.janela_min) | (minutos < self._limite())
        for chave in set(chaves.tolist()):
            self.relogios[chave] = max(self.relogios.get(chave, 0), int(minutos[chaves == chave].max()))
        self.minuto_maximo = max(self.minuto_maximo, int(minutos.max()))
        limite = self._limite()
        for minuto in np.unique(minutos[~antigo]).tolist():
            vistos = self.vistos.get(minuto)
            if vistos is not None:
                deste = minutos == minuto
                duplicata[deste] |= _contidos(vistos, hashes[deste])
        aceitos = ~duplicata & ~antigo
        self._guardar(hashes[aceitos], minutos[aceitos])
        self._novos.append((hashes[aceitos], minutos[aceitos]))
        for minuto in [m for m in self.vistos if m < limite]:
            del self.vistos[minuto]
        return duplicata, antigo

    def ja_vistos(self, end_to_end_id: pd.Series) -> np.ndarray:
        """Quais ids já estão na memória, sem guardar nada; um id sem data legível nunca foi visto."""
        if not len(end_to_end_id):
            return np.zeros(0, bool)
        instantes = pd.to_datetime(end_to_end_id.str.slice(9, 21), format="%Y%m%d%H%M", utc=True, errors="coerce")
        legivel = instantes.notna().to_numpy()
        minutos = np.where(legivel, instantes.to_numpy("datetime64[m]").astype(np.int64, copy=False), -1)
        hashes = hash_id(end_to_end_id)
        vistos = np.zeros(len(end_to_end_id), bool)
        for minuto in np.unique(minutos[legivel]).tolist():
            memoria = self.vistos.get(minuto)
            if memoria is not None:
                deste = minutos == minuto
                vistos[deste] = _contidos(memoria, hashes[deste])
        return vistos

    def esquecer_mudancas(self) -> None:
        """Para quem não grava o log por lote (o caminho quente grava snapshots): não acumular os novos."""
        self._novos = []

    def _guardar(self, hashes: np.ndarray, minutos: np.ndarray) -> None:
        for minuto in np.unique(minutos).tolist():
            deste = np.unique(hashes[minutos == minuto])  # só o lote é ordenado; o minuto já está
            atual = self.vistos.get(minuto)
            if atual is None:
                self.vistos[minuto] = deste
                continue
            novos = deste[~_contidos(atual, deste)]
            self.vistos[minuto] = np.insert(atual, np.searchsorted(atual, novos), novos)

    @property
    def ids_na_memoria(self) -> int:
        return sum(len(v) for v in self.vistos.values())

    def extrair(self, completo: bool = False) -> dict[str, np.ndarray]:
        pares = [(v, np.full(len(v), m, np.int64)) for m, v in self.vistos.items()] if completo else self._novos
        self._novos = []
        hashes = np.concatenate([p[0] for p in pares]) if pares else np.zeros(0, np.int64)
        minutos = np.concatenate([p[1] for p in pares]) if pares else np.zeros(0, np.int64)
        return {
            "hash": hashes, "minuto": minutos, "minuto_maximo": np.array([self.minuto_maximo], np.int64),
            "relogio_particao": np.array(list(self.relogios), dtype=str),
            "relogio_minuto": np.array(list(self.relogios.values()), np.int64),
        }  # fmt: skip

    def aplicar(self, estado: dict[str, np.ndarray]) -> None:
        self.minuto_maximo = max(self.minuto_maximo, int(estado["minuto_maximo"][0]))
        if "relogio_particao" in estado:  # estado de versão anterior: um relógio só
            pares = zip(estado["relogio_particao"].tolist(), estado["relogio_minuto"].tolist(), strict=True)
            for chave, minuto in pares:
                self.relogios[chave] = max(self.relogios.get(chave, 0), int(minuto))
        self._guardar(estado["hash"], estado["minuto"])
        limite = self._limite()
        for minuto in [m for m in self.vistos if m < limite]:
            del self.vistos[minuto]
