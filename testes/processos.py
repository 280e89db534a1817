"""Um notebook rodando noutro processo, como um job: para os testes de queda (SIGKILL no grupo todo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from plataforma.config import Configuracao
from testes.util import esperar

CAMPOS_ISOLADOS = (
    "dados_dir", "kafka_bootstrap", "topico_transacoes", "topico_med", "topico_decisoes", "topico_lotes_decisao",
    "topico_features_recebedor",
)  # fmt: skip


def executar_em_processo(
    cfg: Configuracao,
    saida: Path,
    argumentos: Sequence[str],
    campos: Sequence[str],
    chave: bytes,
    extras: dict[str, str] | None = None,
) -> subprocess.Popen:
    """``detector-pix executar <argumentos>`` com os ``campos`` da configuração do teste no ambiente (e ``extras``)."""
    ambiente = {**os.environ, "DETECTOR_PIX_SPARK_MEMORIA": "1g", "DETECTOR_PIX_CHAVE_PSEUDONIMIZACAO": chave.decode()}
    ambiente.update(extras or {})
    for campo in (*CAMPOS_ISOLADOS, *campos):
        ambiente[f"DETECTOR_PIX_{campo.upper()}"] = str(getattr(cfg, campo))
    comando = [sys.executable, "-m", "aplicacao.cli", "executar", *argumentos]
    with saida.open("ab") as log:
        # Sessão própria: o SIGKILL derruba o grupo todo (Python e a JVM do Spark), como a queda de um driver.
        return subprocess.Popen(comando, env=ambiente, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def derrubar_depois_de(processo: subprocess.Popen, estado: Path, lotes: int, saida: Path) -> int:
    """Espera ``lotes`` logs de estado gravados e manda SIGKILL ao grupo; devolve quantos logs havia na queda."""

    def gravou() -> bool:
        assert processo.poll() is None, saida.read_text(errors="replace")[-3000:]  # morreu antes da queda
        return len(list(estado.glob("log-*.npz"))) >= lotes

    esperar(gravou, 240, f"o stream gravar {lotes} lotes", intervalo_s=0.2)
    os.killpg(processo.pid, signal.SIGKILL)
    processo.wait(30)
    return len(list(estado.glob("log-*.npz")))
