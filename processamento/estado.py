"""Armazém do estado do processamento: snapshots e um log por lote, como o state store do Spark.

Por que assim: o estado do motor de features vive na memória do driver; para que um reinício (até um
SIGKILL) não perca nem duplique nada, o estado depois do lote ``b`` tem de ser reconstruível exatamente.
Cada lote grava só o que mudou (``log-b``); de tempos em tempos, um ``snapshot-b`` completo. Reprocessar
o lote ``b`` depois de uma queda começa do estado de ``b - 1`` e regrava ``log-b`` igual: as escritas são
idempotentes, como as das tabelas Delta com ``txnVersion``.

Funciona em qualquer caminho com semântica de arquivo, inclusive os que não aceitam escrita aleatória: volume
do Unity Catalog (``/Volumes/...``), S3 ou ADLS montados. Cada arquivo é montado inteiro na memória e escrito de
uma vez, do começo ao fim (o ``np.savez`` direto no arquivo volta ao cabeçalho de cada array para acertar o
tamanho, e um volume recusa essa escrita), com um nome temporário renomeado no fim.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger("detector_pix.estado")


class ComEstado(Protocol):
    """O que um componente com estado (motor de features, deduplicador) oferece ao armazém."""

    def extrair(self, completo: bool = False) -> dict[str, np.ndarray]: ...

    def aplicar(self, estado: dict[str, np.ndarray]) -> None: ...


_ARQUIVO = re.compile(r"(snapshot|log)-(\d{12})\.npz")


def juntar_estado(componentes: dict[str, ComEstado], completo: bool) -> dict[str, np.ndarray]:
    """O estado de cada componente num dicionário só, com o nome do componente como prefixo (``features.x``)."""
    return {f"{nome}.{k}": v for nome, c in componentes.items() for k, v in c.extrair(completo).items()}


def aplicar_estado(estado: dict[str, np.ndarray], componentes: dict[str, ComEstado]) -> dict[str, np.ndarray]:
    """O inverso de ``juntar_estado``: aplica a cada componente a sua parte; devolve o que não é de nenhum."""
    for nome, componente in componentes.items():
        prefixo = f"{nome}."
        componente.aplicar({k.removeprefix(prefixo): v for k, v in estado.items() if k.startswith(prefixo)})
    return {k: v for k, v in estado.items() if k.split(".", 1)[0] not in componentes}


def serializar(estado: dict[str, np.ndarray]) -> bytes:
    """O estado como um ``.npz`` em memória (o zip volta atrás para escrever cabeçalhos; na memória, pode)."""
    memoria = io.BytesIO()
    np.savez(memoria, **estado)
    return memoria.getvalue()


def gravar_sequencial(destino: Path, conteudo: bytes) -> None:
    """Escreve ``conteudo`` num temporário, do começo ao fim, e o renomeia: nunca há meio arquivo com o nome final.

    Um volume não renomeia por cima de um arquivo que existe (não seria atômico): o antigo sai antes. Só acontece
    quando um lote é refeito depois de uma queda, e aí o arquivo que sai é o do próprio lote refeito, que a
    recuperação não lê (ela volta ao estado do lote anterior); uma queda entre as duas operações só o apaga.
    """
    temporario = destino.with_name(f".{destino.name}.tmp")
    with open(temporario, "wb") as arquivo:
        arquivo.write(conteudo)
    if destino.exists():
        destino.unlink()
    os.replace(temporario, destino)


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
        gravar_sequencial(self.pasta / nome, serializar(estado))

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
        completo = juntar_estado(componentes, True) | extras if self.precisa_snapshot(lote) else None
        self._escrever_lote(lote, juntar_estado(componentes, False) | extras, completo)

    def restaurar(self, lote: int, componentes: dict[str, ComEstado]) -> list[dict[str, np.ndarray]]:
        """Aplica aos componentes (recém-criados) o estado após ``lote``; devolve os extras de cada parte, em ordem."""
        return [aplicar_estado(parte, componentes) for parte in self.sequencia_ate(lote)]

    def salvar_snapshot(self, lote: int, estado: dict[str, np.ndarray], guardar: int = 2) -> None:
        """Só o snapshot (quem tem o log dos lotes em outro lugar, como o caminho quente no Kafka)."""
        self._escrever(f"snapshot-{lote:012d}.npz", estado)
        for numero in sorted(self._arquivos("snapshot"))[:-guardar]:
            self._arquivos("snapshot")[numero].unlink(missing_ok=True)

    def ultimo_snapshot(self) -> tuple[int, dict[str, np.ndarray]] | None:
        """O snapshot mais recente que se lê inteiro (um arquivo corrompido fica para trás, com aviso)."""
        for numero, caminho in sorted(self._arquivos("snapshot").items(), reverse=True):
            try:
                with np.load(caminho, allow_pickle=False) as dados:
                    return numero, {k: dados[k] for k in dados.files}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as erro:
                log.warning("Snapshot %s ilegível (%s); tento o anterior.", caminho, erro)
        return None

    def ultimo_lote(self) -> int:
        """O lote mais recente com estado gravado (log ou snapshot); -1 sem nenhum."""
        return max([*self._arquivos("log"), *self._arquivos("snapshot")], default=-1)

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


class SnapshotsEmSegundoPlano:
    """O estado copiado no laço (rápido) e gravado inteiro noutra linha, um de cada vez: o laço não espera o disco.

    Quem tem o log dos lotes noutro lugar (a decisão em tempo real, no Kafka) perde só tempo de recuperação se um
    snapshot falhar: o anterior continua valendo.
    """

    def __init__(self, armazem: ArmazemDeEstado, intervalo_s: float, nome: str) -> None:
        self.armazem, self.intervalo_s, self.nome = armazem, intervalo_s, nome
        self.ultimo = time.monotonic()
        self._linha: threading.Thread | None = None

    def talvez(self, lote: int, estado: Callable[[], dict[str, np.ndarray]], forcar: bool = False) -> None:
        """Grava se passou ``intervalo_s`` desde o último (ou se ``forcar``, esperando a gravação terminar)."""
        if self._linha is not None and self._linha.is_alive():
            if not forcar:
                return
            self._linha.join()
        agora = time.monotonic()
        if not forcar and agora - self.ultimo < self.intervalo_s:
            return
        self.ultimo = agora
        self._linha = threading.Thread(target=self._gravar, args=(lote, estado()), name=self.nome, daemon=True)
        self._linha.start()
        if forcar:
            self._linha.join()

    def _gravar(self, lote: int, estado: dict[str, np.ndarray]) -> None:
        try:
            self.armazem.salvar_snapshot(lote, estado)
        except Exception as erro:  # sem snapshot novo a recuperação refaz mais lotes, mas nada se perde
            log.warning(
                "Snapshot do lote %s em %s falhou (%s); o anterior continua valendo.", lote, self.armazem.pasta, erro
            )
