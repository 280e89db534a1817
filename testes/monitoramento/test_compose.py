"""O docker-compose.yml confere com o código: listeners do Kafka, tópicos, Prometheus e Alertmanager.

Sem Docker nesta máquina, o compose não sobe nos testes; então o arquivo é lido como dado e comparado com o que
o projeto faz sem Docker: os tópicos, partições e configurações vêm de ``Configuracao()`` e do que
``BrokerKafkaLocal.criar_topicos`` realmente pede ao Kafka, não de uma cópia escrita aqui.
"""

from __future__ import annotations

import shlex
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from monitoramento.local import ARQUIVO_ALERTAS, ARQUIVO_ALERTMANAGER
from plataforma.config import RAIZ_PROJETO, Configuracao
from plataforma.kafka_local import BrokerKafkaLocal

COMPOSE = RAIZ_PROJETO / "docker-compose.yml"
PROMETHEUS_YML = RAIZ_PROJETO / "monitoramento" / "prometheus" / "prometheus.yml"


@dataclass(frozen=True)
class Topico:
    particoes: int
    replicas: int
    config: dict[str, str]


class _AdminQueSoAnota:
    """O suficiente do AdminClient para ``criar_topicos`` rodar sem broker, anotando os tópicos pedidos."""

    def __init__(self) -> None:
        self.pedidos: list[Any] = []

    def list_topics(self, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(topics={})

    def create_topics(self, novos: list[Any], operation_timeout: float) -> dict[str, Future[None]]:
        self.pedidos.extend(novos)
        resultados: dict[str, Future[None]] = {}
        for novo in novos:
            resultados[novo.topic] = Future()
            resultados[novo.topic].set_result(None)
        return resultados


def _topicos_do_kafka_local(cfg: Configuracao) -> dict[str, Topico]:
    """O que ``detector-pix kafka iniciar`` cria: nome -> partições, réplicas e configuração por tópico."""
    admin = _AdminQueSoAnota()

    class BrokerQueSoAnota(BrokerKafkaLocal):
        def _admin(self) -> _AdminQueSoAnota:
            return admin

    BrokerQueSoAnota(cfg).criar_topicos()
    return {t.topic: Topico(t.num_partitions, t.replication_factor, dict(t.config)) for t in admin.pedidos}


@pytest.fixture(scope="module")
def servicos() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def _listeners(valor: str) -> dict[str, tuple[str, int]]:
    """``NOME://host:porta,...`` -> {NOME: (host, porta)}; host vazio = todas as interfaces."""
    resultado = {}
    for item in valor.split(","):
        nome, _, endereco = item.strip().partition("://")
        host, _, porta = endereco.rpartition(":")
        resultado[nome] = (host, int(porta))
    return resultado


def _portas_publicadas(servico: dict[str, Any]) -> set[tuple[str, int, int]]:
    """``"ip:porta_host:porta_contêiner"`` -> {(ip, porta_host, porta_contêiner)}."""
    publicadas = set()
    for item in servico.get("ports") or []:
        ip, porta_host, porta_conteiner = str(item).rsplit(":", 2)
        publicadas.add((ip, int(porta_host), int(porta_conteiner)))
    return publicadas


def _montagens(servico: dict[str, Any]) -> dict[str, Path]:
    """Montagens de arquivos do projeto: destino no contêiner -> arquivo (absoluto) na máquina."""
    montagens = {}
    for item in servico.get("volumes") or []:
        origem, destino, *_ = str(item).split(":")
        if origem.startswith("."):
            montagens[destino] = (COMPOSE.parent / origem).resolve()
    return montagens


def _comandos(script: str) -> list[list[str]]:
    """Os comandos de um script sh, já separados em argumentos (comentários e linhas vazias de fora)."""
    return [argumentos for linha in script.splitlines() if (argumentos := shlex.split(linha, comments=True))]


def _opcoes(argumentos: list[str]) -> dict[str, list[str]]:
    """``--chave valor`` -> {chave: [valores]}; ``--flag`` sozinha -> {flag: []}."""
    opcoes: dict[str, list[str]] = {}
    for i, argumento in enumerate(argumentos):
        if argumento.startswith("--"):
            valores = opcoes.setdefault(argumento, [])
            if i + 1 < len(argumentos) and not argumentos[i + 1].startswith("--"):
                valores.append(argumentos[i + 1])
    return opcoes


def _kafka(servicos: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    ambiente = servicos["kafka"]["environment"]
    return ambiente, _listeners(ambiente["KAFKA_LISTENERS"]), _listeners(ambiente["KAFKA_ADVERTISED_LISTENERS"])


def _endereco_interno(servicos: dict[str, Any]) -> str:
    """O listener anunciado com o nome do serviço: o único que outro contêiner da rede do compose alcança."""
    _, _, anunciados = _kafka(servicos)
    internos = [f"{host}:{porta}" for host, porta in anunciados.values() if host == "kafka"]
    assert len(internos) == 1, f"esperava um listener anunciado como kafka:<porta>, há {anunciados}"
    return internos[0]


# Kafka -------------------------------------------------------------------------------------------------------
def test_listeners_anunciados_do_kafka_existem_e_tem_protocolo(servicos: dict[str, Any]) -> None:
    ambiente, ouvintes, anunciados = _kafka(servicos)
    mapa = dict(par.split(":") for par in ambiente["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    for nome, (_, porta) in anunciados.items():
        assert nome in mapa, f"listener anunciado {nome} fora de KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
        assert nome in ouvintes, f"listener anunciado {nome} fora de KAFKA_LISTENERS: o broker não escuta nele"
        assert ouvintes[nome][1] == porta, f"{nome} anunciado na porta {porta}, mas escuta na {ouvintes[nome][1]}"
    assert set(ouvintes) <= set(mapa), f"listeners sem protocolo: {set(ouvintes) - set(mapa)}"
    for controlador in ambiente["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","):
        assert controlador in ouvintes, f"listener do controlador {controlador} fora de KAFKA_LISTENERS"
    entre_brokers = ambiente.get("KAFKA_INTER_BROKER_LISTENER_NAME")
    assert entre_brokers in anunciados, f"KAFKA_INTER_BROKER_LISTENER_NAME={entre_brokers} não é anunciado"
    portas = [porta for _, porta in ouvintes.values()]
    assert len(portas) == len(set(portas)), f"dois listeners na mesma porta: {ouvintes}"


def test_kafka_tem_listener_para_os_conteineres_e_outro_publicado_na_maquina(servicos: dict[str, Any]) -> None:
    _, _, anunciados = _kafka(servicos)
    interno = _endereco_interno(servicos)
    # O endereço que o projeto usa por padrão (e que o cabeçalho do compose manda exportar) é o publicado.
    host, _, porta = Configuracao().kafka_bootstrap.split(",")[0].rpartition(":")
    externos = [nome for nome, endereco in anunciados.items() if endereco == (host, int(porta))]
    assert externos, f"nenhum listener anunciado como {host}:{porta} (kafka_bootstrap padrão): {anunciados}"
    assert (host, int(porta), anunciados[externos[0]][1]) in _portas_publicadas(servicos["kafka"]), (
        f"o listener {externos[0]} não está publicado como {host}:{porta}:{porta} em ports"
    )
    assert interno != f"{host}:{porta}"


def test_healthcheck_do_kafka_usa_o_listener_interno(servicos: dict[str, Any]) -> None:
    teste = servicos["kafka"]["healthcheck"]["test"]
    assert teste[0] == "CMD-SHELL"
    opcoes = _opcoes(shlex.split(teste[1]))
    assert opcoes.get("--bootstrap-server") == [_endereco_interno(servicos)]


def test_kafka_topicos_cria_pelo_listener_interno_os_mesmos_topicos_do_kafka_local(servicos: dict[str, Any]) -> None:
    cfg = Configuracao()
    esperados = _topicos_do_kafka_local(cfg)
    assert set(esperados) == set(cfg.topicos)
    assert esperados[cfg.topico_decisoes].config.get("message.timestamp.type") == "LogAppendTime"

    servico = servicos["kafka-topicos"]
    assert servico["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert servico["entrypoint"] == ["/bin/sh", "-c"]
    script = servico["command"][0]
    comandos = _comandos(script)
    assert comandos[0] == ["set", "-e"], "sem 'set -e' uma criação que falha passa despercebida"

    do_kafka = [c for c in comandos if c[0].startswith("/opt/kafka/bin/")]
    assert do_kafka, "kafka-topicos não roda nenhuma ferramenta do Kafka"
    for comando in do_kafka:
        assert _opcoes(comando).get("--bootstrap-server") == [_endereco_interno(servicos)], shlex.join(comando)

    criados = {}
    for comando in do_kafka:
        opcoes = _opcoes(comando)
        if comando[0].endswith("kafka-topics.sh") and "--create" in opcoes:
            assert "--if-not-exists" in opcoes, f"rodar o compose de novo falharia: {shlex.join(comando)}"
            (nome,) = opcoes["--topic"]
            criados[nome] = Topico(
                int(opcoes["--partitions"][0]),
                int(opcoes["--replication-factor"][0]),
                dict(item.split("=", 1) for item in opcoes.get("--config", [])),
            )
    assert criados == esperados

    for nome, topico in esperados.items():
        if not topico.config:
            continue
        # Um tópico criado antes (volume antigo) não passa pelo --create: a configuração também entra por --alter.
        alterados = {}
        for comando in do_kafka:
            opcoes = _opcoes(comando)
            if comando[0].endswith("kafka-configs.sh") and opcoes.get("--entity-name") == [nome]:
                assert "--alter" in opcoes and opcoes.get("--entity-type") == ["topics"], shlex.join(comando)
                for valor in opcoes.get("--add-config", []):
                    alterados.update(item.split("=", 1) for item in valor.split(","))
        assert alterados == topico.config, f"{nome}: kafka-configs --alter aplica {alterados}, não {topico.config}"


def test_particoes_padrao_do_broker_do_compose_sao_as_da_configuracao(servicos: dict[str, Any]) -> None:
    ambiente, _, _ = _kafka(servicos)
    assert str(ambiente["KAFKA_NUM_PARTITIONS"]) == str(Configuracao().kafka_particoes)
    assert str(ambiente["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"


# Monitoramento -----------------------------------------------------------------------------------------------
def test_servicos_de_monitoramento_existem_com_imagem_fixada_e_arquivos_do_projeto(servicos: dict[str, Any]) -> None:
    faltam = {"pushgateway", "prometheus", "alertmanager", "grafana"} - set(servicos)
    assert not faltam, f"serviços de monitoramento ausentes do compose: {faltam}"
    for nome, servico in servicos.items():
        imagem = servico["image"]
        assert ":" in imagem and not imagem.endswith(":latest"), f"{nome}: imagem sem versão fixa ({imagem})"
        for destino, origem in _montagens(servico).items():
            assert origem.exists(), f"{nome}: monta {origem} em {destino}, mas o arquivo não existe"


def test_prometheus_do_compose_carrega_regras_e_entrega_os_alertas_ao_alertmanager(servicos: dict[str, Any]) -> None:
    montagens = _montagens(servicos["prometheus"])
    assert montagens.get("/etc/prometheus/prometheus.yml") == PROMETHEUS_YML.resolve()
    configuracao = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    for regras in configuracao["rule_files"]:
        destino = str(PurePosixPath("/etc/prometheus") / regras)
        assert destino in montagens, f"rule_files cita {regras}, que não está montado em /etc/prometheus"
    assert ARQUIVO_ALERTAS.resolve() in montagens.values()

    alvos = [
        alvo
        for alertmanager in configuracao.get("alerting", {}).get("alertmanagers", [])
        for estatico in alertmanager.get("static_configs", [])
        for alvo in estatico.get("targets", [])
    ]
    assert alvos, "prometheus.yml sem alerting.alertmanagers: os alertas nunca saem do Prometheus"
    for alvo in alvos:
        servico, _, porta = alvo.rpartition(":")
        assert servico in servicos, f"alvo {alvo} não é um serviço do compose"
        assert int(porta) in {p for _, _, p in _portas_publicadas(servicos[servico])}, (
            f"{alvo}: o serviço {servico} não expõe a porta {porta}"
        )
    assert "alertmanager" in {alvo.rpartition(":")[0] for alvo in alvos}


def test_alertmanager_do_compose_usa_o_exemplo_do_projeto(servicos: dict[str, Any]) -> None:
    servico = servicos["alertmanager"]
    assert servico["image"].startswith("prom/alertmanager:")
    argumentos = dict(argumento.split("=", 1) for argumento in servico["command"])  # --chave=valor
    arquivo = argumentos["--config.file"]
    assert _montagens(servico).get(arquivo) == ARQUIVO_ALERTMANAGER.resolve()
    assert ("127.0.0.1", 9093, 9093) in _portas_publicadas(servico)
