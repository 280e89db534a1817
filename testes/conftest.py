"""Fixtures de sessão com componentes reais: broker Kafka KRaft, Spark com Delta e MLflow em sqlite.

Tudo roda numa pasta temporária e em portas livres, para não colidir com um broker ou dados de
desenvolvimento que o usuário tenha deixado rodando.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal, portas_livres_para_broker


@pytest.fixture(scope="session")
def pasta_sessao(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("detector-pix")


@pytest.fixture(scope="session")
def cfg_teste(pasta_sessao: Path) -> Configuracao:
    return Configuracao().com(
        dados_dir=str(pasta_sessao / "dados"),
        kafka_bootstrap=f"127.0.0.1:{portas_livres_para_broker()}",
        kafka_particoes=2,
        intervalo_trigger="1 seconds",
    )


@pytest.fixture(scope="session")
def broker_kafka(cfg_teste: Configuracao) -> Iterator[BrokerKafkaLocal]:
    """Um broker Kafka real para toda a sessão de testes; parado (porta liberada) no fim."""
    broker = BrokerKafkaLocal(cfg_teste)
    broker.iniciar()
    yield broker
    broker.parar()


@pytest.fixture(scope="session")
def spark(cfg_teste: Configuracao):
    from plataforma.spark import obter_spark

    sessao = obter_spark(cfg_teste, nome_app="detector-pix-testes", nucleos=2)
    yield sessao
    sessao.stop()


@pytest.fixture
def topico_novo(broker_kafka: BrokerKafkaLocal) -> str:
    """Um tópico exclusivo do teste, com as partições da configuração de teste."""
    nome = f"teste.{uuid.uuid4().hex[:12]}"
    broker_kafka.criar_topicos((nome,))
    return nome


Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="session")
def pushgateway():
    """Um Prometheus Pushgateway real (pacote Debian ``prometheus-pushgateway``) em porta livre."""
    from monitoramento.local import PushgatewayLocal

    pushgateway = PushgatewayLocal().iniciar()
    yield pushgateway
    pushgateway.parar()


@pytest.fixture
def ler_job(pushgateway):
    """As séries que o Pushgateway expõe para um job: {(nome, rótulos sem job/instance/implantacao): valor}."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    def ler(job: str) -> Series:
        with urllib.request.urlopen(f"{pushgateway.url}/metrics", timeout=5) as resposta:
            texto = resposta.read().decode()
        series: Series = {}
        for familia in text_string_to_metric_families(texto):
            for amostra in familia.samples:
                if amostra.labels.get("job") != job:
                    continue
                rotulos = frozenset(
                    (k, v) for k, v in amostra.labels.items() if k not in ("job", "instance", "implantacao")
                )
                series[(amostra.name, rotulos)] = amostra.value
        return series

    return ler
