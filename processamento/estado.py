"""Armazém do estado do processamento: snapshots e um log por lote, como o state store do Spark.

Por que assim: o estado do motor de features vive na memória do driver; para que um reinício (até um
SIGKILL) não perca nem duplique nada, o estado depois do lote ``b`` tem de ser reconstruível exatamente.
Cada lote grava só o que mudou (``log-b``); de tempos em tempos, um ``snapshot-b`` completo. Reprocessar
o lote ``b`` depois de uma queda começa do estado de ``b - 1`` e regrava ``log-b`` igual: as escritas são
idempotentes, como as das tabelas Delta com ``txnVersion``.

Funciona em qualquer caminho com semântica de arquivo: pasta local ou volume do Unity Catalog
(``/Volumes/...``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

import numpy as np


class ComEstado(Protocol):
    """O que um componente com estado (motor de features, deduplicador) oferece ao armazém."""

    def extrair(self, completo: bool = False) -> dict[str, np.ndarray]: ...

    def aplicar(self, estado: dict[str, np.ndarray]) -> None: ...


_ARQUIVO = re.compile(r"(snapshot|log)-(\d{12})\.npz")


class ArmazemDeEstado:
    def __init__(self, pasta: str | Path, intervalo_snapshot: int = 50) -> None:
        self.pasta = Path(pasta)
        self.intervalo_snapshot = intervalo_snapshot

    def _arquivos(self, tipo: str) -> dict[int, Path]:
        if not self.pasta.exists():
            return {}
        achados = (_ARQUIVO.fullmatch(p.name) for p in self.pasta.iterdir())
        return {int(m.group(2)): self.pasta / m.group(0) for m in achados if m and m.group(1) == tipo}

    def _escrever(self, nome: str, estado: dict[str, np.ndarray]) -> None:
        self.pasta.mkdir(parents=True, exist_ok=True)
        temporario = self.pasta / f".{nome}.tmp.npz"
        with temporario.open("wb") as arquivo:
            np.savez(arquivo, **estado)
        os.replace(temporario, self.pasta / nome)  # atômico: um leitor nunca vê um arquivo pela metade

    def _escrever_lote(
        self, lote: int, mudancas: dict[str, np.ndarray], completo: dict[str, np.ndarray] | None = None
    ) -> None:
        """O log do lote; com ``completo``, também um snapshot, e apaga o que ele torna inútil."""
        self._escrever(f"log-{lote:012d}.npz", mudancas)
        if completo is not None:
            self._escrever(f"snapshot-{lote:012d}.npz", completo)
            snapshots = sorted(self._arquivos("snapshot"))
            anteriores = snapshots[:-2]  # guarda os dois últimos snapshots
            if anteriores:
                corte = anteriores[-1]
                for numero, caminho in [*self._arquivos("log").items(), *self._arquivos("snapshot").items()]:
                    if numero <= corte:
                        caminho.unlink(missing_ok=True)

    def salvar(self, lote: int, componentes: dict[str, ComEstado], extras: dict[str, np.ndarray]) -> None:
        """Grava o estado de ``lote``: o que mudou em cada componente e, a cada ``intervalo_snapshot``, tudo."""

        def juntar(completo: bool) -> dict[str, np.ndarray]:
            partes = {f"{nome}.{k}": v for nome, c in componentes.items() for k, v in c.extrair(completo).items()}
            return partes | extras

        self._escrever_lote(lote, juntar(False), juntar(True) if self.precisa_snapshot(lote) else None)

    def restaurar(self, lote: int, componentes: dict[str, ComEstado]) -> list[dict[str, np.ndarray]]:
        """Aplica aos componentes (recém-criados) o estado após ``lote``; devolve os extras de cada parte, em ordem."""
        extras = []
        for parte in self.sequencia_ate(lote):
            for nome, componente in componentes.items():
                prefixo = f"{nome}."
                componente.aplicar({k.removeprefix(prefixo): v for k, v in parte.items() if k.startswith(prefixo)})
            extras.append({k: v for k, v in parte.items() if k.split(".", 1)[0] not in componentes})
        return extras

    def precisa_snapshot(self, lote: int) -> bool:
        return lote % self.intervalo_snapshot == 0

    def sequencia_ate(self, lote: int) -> list[dict[str, np.ndarray]]:
        """Snapshot mais recente até ``lote`` e os logs depois dele, em ordem: o estado após ``lote``."""
        snapshots = [n for n in self._arquivos("snapshot") if n <= lote]
        inicio = max(snapshots) if snapshots else -1
        logs = sorted(n for n in self._arquivos("log") if inicio < n <= lote)
        caminhos = ([self._arquivos("snapshot")[inicio]] if snapshots else []) + [
            self._arquivos("log")[n] for n in logs
        ]
        sequencia = []
        for caminho in caminhos:
            with np.load(caminho, allow_pickle=False) as dados:
                sequencia.append({k: dados[k] for k in dados.files})
        return sequencia
