"""Fixtures de sessão com os binários reais do Prometheus e do Pushgateway (pacotes Debian).

Os dois sobem no loopback, em portas livres e pastas temporárias; o Prometheus raspa e avalia as regras
a cada segundo. As regras carregadas são as de ``alertas.yml`` com um único ajuste: ``for: 0s``, para
que o teste não espere os minutos de produção. A expressão de cada alerta é a do arquivo do projeto.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitoramento.local import ARQUIVO_ALERTAS, PrometheusLocal, PushgatewayLocal
from plataforma.config import Configuracao


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
