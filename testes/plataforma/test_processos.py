"""O lançador dos serviços locais: espera o serviço, explica cada falha da partida e para com SIGTERM, depois SIGKILL.

Processos Python de verdade no lugar do broker e do Prometheus: o que se prova aqui é o lançador, em segundos.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from plataforma.erros import ErroDeAmbiente
from plataforma.processos import exigir_porta_livre, iniciar_processo, parar_processo


def _python(codigo: str) -> list[str]:
    return [sys.executable, "-c", codigo]


def test_espera_o_servico_ficar_pronto_e_para_com_sigterm(tmp_path: Path) -> None:
    pronto = tmp_path / "pronto"
    processo = iniciar_processo(
        "serviço", _python(f"import time; time.sleep(0.3); open({str(pronto)!r}, 'w'); time.sleep(60)"),
        tmp_path, tmp_path / "servico.log", pronto.exists, espera_s=30,
    )  # fmt: skip
    assert pronto.exists() and processo.poll() is None
    assert parar_processo(processo.pid, lambda: processo.poll() is None)
    assert processo.poll() is not None
    assert parar_processo(processo.pid, lambda: processo.poll() is None)  # já parado: nenhum sinal, nenhum erro


def test_processo_que_morre_na_partida_mostra_o_codigo_e_o_log(tmp_path: Path) -> None:
    codigo = "import sys; print('configuração inválida: porta'); sys.exit(3)"
    with pytest.raises(ErroDeAmbiente, match=r"(?s)O serviço terminou durante a partida \(código 3\).*porta"):
        iniciar_processo("serviço", _python(codigo), tmp_path, tmp_path / "servico.log", lambda: False, espera_s=30)


def test_processo_que_nao_responde_e_parado_antes_do_erro(tmp_path: Path) -> None:
    lancados: list[subprocess.Popen[bytes]] = []
    with pytest.raises(ErroDeAmbiente, match=r"não respondeu em 1s em 127\.0\.0\.1:1\. Veja .*servico\.log"):
        iniciar_processo(
            "serviço", _python("import time; time.sleep(60)"), tmp_path, tmp_path / "servico.log", lambda: False,
            espera_s=1, ao_lancar=lancados.append, onde="127.0.0.1:1",
        )  # fmt: skip
    assert lancados and lancados[0].poll() is not None  # não ficou órfão segurando a porta


def test_quem_ignora_o_sigterm_leva_sigkill(tmp_path: Path) -> None:
    pronto = tmp_path / "pronto"
    codigo = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(pronto)!r}, 'w'); time.sleep(60)"
    )
    processo = iniciar_processo("teimoso", _python(codigo), tmp_path, tmp_path / "t.log", pronto.exists, espera_s=30)
    assert not parar_processo(processo.pid, lambda: processo.poll() is None, espera_s=0.5)
    assert processo.poll() == -9


def test_porta_ocupada_diz_quem_procurar_e_como_trocar() -> None:
    with socket.socket() as ocupante:
        ocupante.bind(("127.0.0.1", 0))
        ocupante.listen()
        porta = ocupante.getsockname()[1]
        with pytest.raises(ErroDeAmbiente, match=rf"Porta {porta} \(prometheus\) .*ss -ltnp .*use --porta"):
            exigir_porta_livre("127.0.0.1", porta, "prometheus", "use --porta")
    exigir_porta_livre("127.0.0.1", porta, "prometheus")  # liberada: não reclama
