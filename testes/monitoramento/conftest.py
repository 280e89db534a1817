"""Fixtures com os binários reais do Prometheus, do Pushgateway e do Alertmanager (pacotes Debian).

Todos sobem no loopback, em portas livres e pastas temporárias; o Prometheus raspa e avalia as regras
a cada segundo. As regras carregadas são as de ``alertas.yml`` com um único ajuste: ``for: 0s``, para
que o teste não espere os minutos de produção. A expressão de cada alerta é a do arquivo do projeto.
O Alertmanager usa o ``alertmanager.yml`` do projeto com só a URL do webhook e os tempos trocados.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoramento.local import (
    ARQUIVO_ALERTAS,
    HOST,
    AlertmanagerLocal,
    PrometheusLocal,
    PushgatewayLocal,
    configuracao_alertmanager,
)
from plataforma.config import Configuracao

# Tempos de teste: o primeiro aviso de um grupo sai em ~1 s e o de "resolvido" logo depois, não em minutos.
TEMPOS_DE_TESTE = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}


@pytest.fixture(scope="session")
def regras_sem_espera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cópia de alertas.yml com ``for: 0s`` em todas as regras (as expressões ficam intactas)."""
    regras = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    for grupo in regras["groups"]:
        for regra in grupo["rules"]:
            regra["for"] = "0s"
    destino = tmp_path_factory.mktemp("regras") / "alertas-sem-espera.yml"
    destino.write_text(yaml.safe_dump(regras, allow_unicode=True), encoding="utf-8")
    return destino


@pytest.fixture(scope="session")
def prometheus_local(pushgateway: PushgatewayLocal, regras_sem_espera: Path) -> Iterator[PrometheusLocal]:
    prometheus = PrometheusLocal(f"{pushgateway.host}:{pushgateway.porta}", [regras_sem_espera], intervalo="1s")
    prometheus.iniciar()
    yield prometheus
    prometheus.parar()


@pytest.fixture
def cfg_monitoramento(pushgateway: PushgatewayLocal) -> Configuracao:
    return Configuracao().com(pushgateway_url=pushgateway.url)


@pytest.fixture
def cfg_sem_pushgateway() -> Configuracao:
    return Configuracao().com(pushgateway_url="")  # vazio = métricas desligadas


class ReceptorWebhook:
    """Um receptor de webhook de verdade (``http.server`` numa thread): guarda o JSON de cada POST recebido.

    Por que um servidor e não olhar a API do Alertmanager: o que se quer provar é que o aviso *sai* e chega a
    quem foi configurado, no formato que um receptor recebe.
    """

    caminho = "/alertas"

    def __init__(self) -> None:
        self._trava = threading.Lock()
        self._avisos: list[dict[str, Any]] = []
        receptor = self

        class Tratador(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # nome exigido por BaseHTTPRequestHandler
                corpo = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == receptor.caminho:
                    with receptor._trava:
                        receptor._avisos.append(json.loads(corpo))
                self.send_response(200 if self.path == receptor.caminho else 404)
                self.end_headers()

            def log_message(self, *_: object) -> None:  # sem linhas de acesso no meio da saída do pytest
                pass

        self._servidor = ThreadingHTTPServer((HOST, 0), Tratador)
        self._thread = threading.Thread(target=self._servidor.serve_forever, name="receptor-webhook", daemon=True)

    @property
    def url(self) -> str:
        host, porta = self._servidor.server_address[:2]
        return f"http://{host}:{porta}{self.caminho}"

    def avisos(self) -> list[dict[str, Any]]:
        """Cópia dos avisos recebidos até agora, na ordem de chegada."""
        with self._trava:
            return list(self._avisos)

    def iniciar(self) -> ReceptorWebhook:
        self._thread.start()
        return self

    def parar(self) -> None:
        self._servidor.shutdown()
        self._servidor.server_close()
        self._thread.join(5)


@pytest.fixture(scope="module")
def receptor_webhook() -> Iterator[ReceptorWebhook]:
    receptor = ReceptorWebhook().iniciar()
    yield receptor
    receptor.parar()


@pytest.fixture(scope="module")
def alertmanager_local(receptor_webhook: ReceptorWebhook) -> Iterator[AlertmanagerLocal]:
    """Alertmanager com o roteamento do projeto, avisando o receptor do teste, com tempos de segundos."""
    alertmanager = AlertmanagerLocal(configuracao=configuracao_alertmanager(receptor_webhook.url, TEMPOS_DE_TESTE))
    alertmanager.iniciar()
    yield alertmanager
    alertmanager.parar()


@pytest.fixture(scope="module")
def prometheus_com_alertmanager(
    pushgateway: PushgatewayLocal, regras_sem_espera: Path, alertmanager_local: AlertmanagerLocal
) -> Iterator[PrometheusLocal]:
    """Como ``prometheus_local``, mas entregando os alertas ao ``alertmanager_local``."""
    prometheus = PrometheusLocal(
        pushgateway.alvo, [regras_sem_espera], intervalo="1s", alvo_alertmanager=alertmanager_local.alvo
    )
    prometheus.iniciar()
    yield prometheus
    prometheus.parar()
