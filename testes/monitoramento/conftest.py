"""Fixtures com os binários reais do Prometheus, do Pushgateway e do Alertmanager (pacotes Debian).

Todos sobem no loopback, em portas livres e pastas temporárias; o Prometheus raspa e avalia as regras
a cada segundo. As regras carregadas são as de ``alertas.yml`` com um único ajuste: ``for: 0s``, para
que o teste não espere os minutos de produção. A expressão de cada alerta é a do arquivo do projeto.
O Alertmanager usa o ``alertmanager.yml`` do projeto com só a URL do webhook e os tempos trocados.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitoramento.local import (
    ARQUIVO_ALERTAS,
    AlertmanagerLocal,
    PrometheusLocal,
    PushgatewayLocal,
    configuracao_alertmanager,
)
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from plataforma.config import Configuracao
from testes.util import ReceptorWebhook, job_de_teste

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
def metricas_pontuacao(cfg_monitoramento: Configuracao) -> MetricasDaPontuacao:
    """Métricas da pontuação publicadas no Pushgateway da sessão, num ``job`` só deste teste."""
    return MetricasDaPontuacao(cfg_monitoramento, job=job_de_teste())


@pytest.fixture
def metricas_processamento(cfg_monitoramento: Configuracao) -> MetricasDoProcessamento:
    """Métricas do processamento publicadas no Pushgateway da sessão, num ``job`` só deste teste."""
    return MetricasDoProcessamento(cfg_monitoramento, job=job_de_teste())


@pytest.fixture
def cfg_sem_pushgateway() -> Configuracao:
    return Configuracao().com(pushgateway_url="")  # vazio = métricas desligadas


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
