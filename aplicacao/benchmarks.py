"""O que todo benchmark do projeto compartilha: a máquina, números em pt-BR e a seção em docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from plataforma.config import RAIZ_PROJETO, Configuracao
from plataforma.erros import ErroDeAmbiente

DOC = RAIZ_PROJETO / "docs" / "benchmarks.md"


def maquina() -> str:
    modelo, memoria = "?", 0.0
    try:
        for linha in Path("/proc/cpuinfo").read_text().splitlines():
            if linha.startswith("model name"):
                modelo = linha.split(":", 1)[1].strip()
                break
        memoria = int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2
    except OSError:
        pass
    return f"{os.cpu_count()} núcleos ({modelo}), {memoria:.0f} GiB, Python {platform.python_version()}"


def carga() -> str:
    """Carga média 1/5/15 min: outros processos dividindo os núcleos mudam os números."""
    return " / ".join(numero(x, 1) for x in os.getloadavg())


def agora() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def numero(valor: float, casas: int = 0) -> str:
    """Número no formato brasileiro: 1.234.567,8."""
    return f"{valor:,.{casas}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def tabela_markdown(cabecalho: list[str], linhas: list[list[str]], alinhamento: str | None = None) -> str:
    alinhamento = alinhamento or "l" + "r" * (len(cabecalho) - 1)
    separador = ["---" if a == "l" else "---:" for a in alinhamento]
    return "\n".join("| " + " | ".join(linha) + " |" for linha in [cabecalho, separador, *linhas])


def gravar_secao(titulo: str, corpo: str, documento: Path = DOC) -> None:
    """Substitui (ou acrescenta) a seção ``## titulo`` sem tocar nas seções dos outros benchmarks."""
    secao = f"## {titulo}\n\n{corpo.strip()}\n"
    texto = documento.read_text(encoding="utf-8") if documento.exists() else "# Benchmarks\n"
    padrao = re.compile(rf"^## {re.escape(titulo)}\n.*?(?=^## |\Z)", re.S | re.M)
    texto, trocas = padrao.subn(lambda _m: secao + "\n", texto)
    if not trocas:
        texto = texto.rstrip("\n") + "\n\n" + secao
    documento.write_text(texto.rstrip("\n") + "\n", encoding="utf-8")


def trafego_ao_vivo(cfg: Configuracao, tps: float, duracao_s: float, clientes: int = 5_000, semente: int = 12) -> None:
    """``detector-pix simular --kafka --tps`` noutro processo, até terminar; falha com o stderr do simulador.

    Noutro processo, como o sistema de pagamentos de um banco: no mesmo processo o gerador disputaria o GIL com o
    ``foreachBatch`` e a latência medida seria a do gerador, não a do pipeline.
    """
    comando = [
        sys.executable, "-m", "aplicacao.cli",
        *(f"-D{campo}={getattr(cfg, campo)}" for campo in ("kafka_bootstrap", "topico_transacoes", "topico_med",
                                                            "topico_decisoes")),
        "simular", "--kafka", "--tps", f"{tps:g}", "--duracao", f"{duracao_s:g}", "--clientes", str(clientes),
        "--semente", str(semente),
    ]  # fmt: skip
    produtor = subprocess.run(comando, capture_output=True, text=True)
    if produtor.returncode != 0:
        raise ErroDeAmbiente(f"Simulador ao vivo falhou (código {produtor.returncode}): {produtor.stderr[-2000:]}")
