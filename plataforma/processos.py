"""Serviços locais num processo próprio (broker Kafka, Pushgateway, Prometheus, Alertmanager): partida e parada.

Por que um só lançador: todo serviço que o projeto sobe sem Docker precisa das mesmas garantias. A saída vai para um
arquivo de log (o terminal fica limpo e o erro fica guardado), o processo ganha sessão própria (um Ctrl+C no terminal
de quem chamou não o derruba pela metade) e a partida só termina quando o serviço responde, com um erro que diz o que
houve: porta ocupada, processo que morreu na partida (com as últimas linhas do log) ou que não respondeu a tempo (e
então é parado, para não ficar órfão segurando a porta). A parada é SIGTERM, para o desligamento limpo, e SIGKILL
só se o prazo passar.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from plataforma.erros import ErroDeAmbiente

ESPERA_SIGKILL_S = 5.0  # depois do SIGKILL, só o tempo de o sistema recolher o processo


def porta_livre(host: str, porta: int) -> bool:
    """Verdadeiro se ninguém escuta em ``host:porta`` (tentamos ocupá-la por um instante)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, porta))
        except OSError as erro:
            if erro.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def exigir_porta_livre(host: str, porta: int, servico: str, como_trocar: str = "escolha outra porta") -> None:
    """Erro que diz quem procurar e como sair do conflito, antes de subir um serviço numa porta ocupada."""
    if not porta_livre(host, porta):
        raise ErroDeAmbiente(
            f"Porta {porta} ({servico}) em {host} já está em uso por outro processo. "
            f"Pare esse processo (veja 'ss -ltnp | grep :{porta}') ou {como_trocar}."
        )


def ultimas_linhas(logs: Sequence[Path], n: int = 25) -> str:
    """As últimas ``n`` linhas do primeiro log não vazio, com o nome dele: o diagnóstico de uma partida que falhou."""
    for log in logs:
        if log.exists() and log.stat().st_size:
            return f"Últimas linhas de {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    return f"(sem log em {', '.join(str(log) for log in logs)})"


def iniciar_processo(
    nome: str,
    comando: Sequence[str],
    pasta: Path,
    saida: Path,
    pronto: Callable[[], bool],
    espera_s: float,
    *,
    logs: Sequence[Path] = (),
    ao_lancar: Callable[[subprocess.Popen[bytes]], None] | None = None,
    intervalo_s: float = 0.1,
    onde: str = "",
) -> subprocess.Popen[bytes]:
    """Inicia ``comando`` em ``pasta`` (stdout e stderr anexados a ``saida``) e espera ``pronto()``.

    ``logs``: onde procurar o diagnóstico se o processo morrer na partida (padrão: ``saida``); ``ao_lancar``: chamado
    logo depois do lançamento, antes da espera (o broker anota o pid para um ``parar`` de outro processo);
    ``onde``: o endereço citado no erro de tempo esgotado.
    """
    pasta.mkdir(parents=True, exist_ok=True)
    with saida.open("ab") as arquivo:
        processo = subprocess.Popen(
            list(comando), stdout=arquivo, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=pasta,
        )  # fmt: skip
    if ao_lancar is not None:
        ao_lancar(processo)
    limite = time.monotonic() + espera_s
    while not pronto():
        if processo.poll() is not None:
            raise ErroDeAmbiente(
                f"O {nome} terminou durante a partida (código {processo.returncode}). "
                f"{ultimas_linhas(logs or (saida,))}"
            )
        if time.monotonic() > limite:
            parar_processo(processo.pid, lambda: processo.poll() is None)
            raise ErroDeAmbiente(
                f"O {nome} não respondeu em {espera_s:.0f}s{f' em {onde}' if onde else ''}. "
                f"Veja {(logs or (saida,))[0]}."
            )
        time.sleep(intervalo_s)
    return processo


def parar_processo(pid: int, vivo: Callable[[], bool], espera_s: float = 10.0) -> bool:
    """SIGTERM, espera ``vivo()`` ficar falso até ``espera_s``; senão SIGKILL. Verdadeiro se parou com o SIGTERM.

    ``vivo`` vem de quem conhece o processo: ``Popen.poll`` para um filho, ou o arquivo de pid conferido em
    ``/proc`` para um serviço iniciado por outro comando (``detector-pix kafka parar``).
    """
    if not vivo():  # já terminou: o pid pode ser de outro processo agora, não se manda sinal
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _esperar_o_fim(pid, vivo, espera_s):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _esperar_o_fim(pid, vivo, ESPERA_SIGKILL_S)
    return False


def _esperar_o_fim(pid: int, vivo: Callable[[], bool], segundos: float) -> bool:
    limite = time.monotonic() + segundos
    while vivo():
        if time.monotonic() >= limite:
            return False
        time.sleep(0.1)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # um filho deste processo que terminou não fica zumbi
    return True
