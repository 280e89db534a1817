"""Broker Apache Kafka real, de um nó só em modo KRaft, iniciado pelo próprio projeto.

Por que não um fake em memória nem Docker: os testes e a demo precisam do mesmo protocolo, das mesmas
garantias de offset e do mesmo conector Spark que um banco usa em produção, numa máquina que só tem
Python e Java. Os jars do Kafka vêm do Maven Central pelo resolvedor Ivy que já acompanha o pyspark,
e ficam em cache: a segunda partida não precisa de rede.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from plataforma import kafka_cliente
from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from plataforma.java import verificar_java
from plataforma.processos import exigir_porta_livre, iniciar_processo, parar_processo, porta_livre

VERSAO_KAFKA = "4.1.1"
VERSAO_LOG4J = "2.24.3"
CACHE_JARS = Path(os.environ.get("DETECTOR_PIX_CACHE", Path.home() / ".cache" / "detector-pix"))
CACHE_IVY = Path.home() / ".ivy2.5.2" / "cache"  # o mesmo cache que o Spark usa para --packages
HOSTS_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

_IVY_XML = """<ivy-module version="2.0">
  <info organisation="detector-pix" module="kafka-local"/>
  <dependencies>
    <dependency org="org.apache.kafka" name="kafka_2.13" rev="{kafka}" conf="default->default"/>
    <dependency org="org.apache.logging.log4j" name="log4j-slf4j-impl" rev="{log4j}" conf="default->default"/>
  </dependencies>
</ivy-module>
"""

_LOG4J2 = """Configuration:
  Appenders:
    RollingFile:
      name: Arquivo
      fileName: "{pasta}/server.log"
      filePattern: "{pasta}/server.log.%i"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
      SizeBasedTriggeringPolicy:
        size: 20MB
      DefaultRolloverStrategy:
        max: 3
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: Arquivo
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: WARN
"""


def _silencioso() -> logging.Logger:
    """Logger para o librdkafka não inundar o terminal enquanto o broker ainda está subindo."""
    registro = logging.getLogger("detector_pix.kafka.silencioso")
    registro.addHandler(logging.NullHandler())
    registro.propagate = False
    return registro


def portas_livres_para_broker(host: str = "127.0.0.1") -> int:
    """Uma porta p com p (cliente) e p + 1 (controlador) livres: para brokers temporários (testes, benchmarks)."""
    import random

    sorteio = random.Random()
    for _ in range(200):
        porta = sorteio.randrange(20_000, 40_000)
        if porta_livre(host, porta) and porta_livre(host, porta + 1):
            return porta
    raise ErroDeAmbiente("Nenhum par de portas livres entre 20000 e 40000 para um broker temporário.")


def _aceita_conexao(host: str, porta: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, porta), timeout=0.5):
        return True
    return False


def resolver_jars(versao: str = VERSAO_KAFKA) -> list[Path]:
    """Baixa (uma vez) o Kafka e suas dependências do Maven Central e devolve o classpath."""
    destino = CACHE_JARS / f"kafka-{versao}"
    marcador = destino / "CLASSPATH"
    if marcador.exists():
        jars = [destino / nome for nome in marcador.read_text().split()]
        if all(j.exists() for j in jars):
            return jars
    java = verificar_java()
    import pyspark

    ivys = sorted((Path(pyspark.__file__).parent / "jars").glob("ivy-*.jar"))
    if not ivys:
        raise ErroDeAmbiente("pyspark sem o jar do Ivy: reinstale as dependências com 'make instalar'.")
    destino.mkdir(parents=True, exist_ok=True)
    (destino / "ivy.xml").write_text(_IVY_XML.format(kafka=versao, log4j=VERSAO_LOG4J))
    comando = [
        java, "-cp", str(ivys[-1]), "org.apache.ivy.Main",
        "-ivy", str(destino / "ivy.xml"), "-confs", "default", "-cache", str(CACHE_IVY),
        "-retrieve", str(destino / "libs" / "[artifact]-[revision](-[classifier]).[ext]"),
    ]  # fmt: skip
    saida = subprocess.run(comando, capture_output=True, text=True, check=False)
    jars = sorted((destino / "libs").glob("*.jar"))
    if saida.returncode != 0 or not any(j.name.startswith("kafka_2.13") for j in jars):
        raise ErroDeAmbiente(
            f"Falha ao baixar o Kafka {versao} do Maven Central (org.apache.kafka:kafka_2.13). "
            f"Verifique o acesso à rede. Saída do Ivy:\n{(saida.stdout + saida.stderr)[-2000:]}"
        )
    marcador.write_text("\n".join(j.name for j in jars))
    return jars


@dataclass
class StatusBroker:
    vivo: bool
    pid: int | None
    bootstrap: str
    topicos: dict[str, int] = field(default_factory=dict)

    def descrever(self) -> str:
        if not self.vivo:
            return f"Broker Kafka local: PARADO ({self.bootstrap})"
        linhas = [f"Broker Kafka local: ATIVO em {self.bootstrap} (pid {self.pid}, KRaft, Kafka {VERSAO_KAFKA})"]
        for nome, particoes in sorted(self.topicos.items()):
            linhas.append(f"  tópico {nome}: {particoes} partição(ões)")
        return "\n".join(linhas)


class BrokerKafkaLocal:
    """Um broker+controlador KRaft com dados e logs numa pasta do projeto."""

    def __init__(self, cfg: Configuracao, pasta: Path | None = None, porta_controlador: int | None = None):
        primeiro = cfg.kafka_bootstrap.split(",")[0]
        host, _, porta = primeiro.rpartition(":")
        if host not in HOSTS_LOOPBACK:
            raise ErroDeAmbiente(
                f"kafka_bootstrap={cfg.kafka_bootstrap}: o broker local só escuta no loopback "
                "(127.0.0.1 ou localhost). Para um Kafka remoto, não use 'detector-pix kafka'."
            )
        self.cfg = cfg
        self.host = "127.0.0.1" if host == "localhost" else host
        self.porta = int(porta)
        self.porta_controlador = porta_controlador or self.porta + 1
        self.pasta = (pasta or cfg.pasta_dados / "kafka").resolve()
        self.arquivo_pid = self.pasta / "broker.pid"
        self.log = self.pasta / "server.log"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.porta}"

    # Processo ------------------------------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int(self.arquivo_pid.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            linha = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            return None
        return pid if "kafka.Kafka" in linha and str(self.pasta) in linha else None

    def _propriedades(self) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{self.host}:{self.porta_controlador}",
                f"listeners=PLAINTEXT://{self.host}:{self.porta},CONTROLLER://{self.host}:{self.porta_controlador}",
                f"advertised.listeners=PLAINTEXT://{self.host}:{self.porta}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.pasta / 'dados'}",
                f"num.partitions={self.cfg.kafka_particoes}",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        )

    def iniciar(self, espera_s: float = 90.0) -> StatusBroker:
        """Sobe o broker (se já não estiver de pé), espera responder e cria os tópicos do projeto."""
        if self._pid() is not None:
            self.criar_topicos()
            return self.status()
        java = verificar_java()
        for nome, porta in (("cliente", self.porta), ("controlador", self.porta_controlador)):
            exigir_porta_livre(
                self.host, porta, f"{nome} do Kafka",
                f"escolha outra porta com DETECTOR_PIX_KAFKA_BOOTSTRAP={self.host}:<porta> (o controlador usa porta+1)",
            )  # fmt: skip
        classpath = ":".join(str(j) for j in resolver_jars())
        self.pasta.mkdir(parents=True, exist_ok=True)
        propriedades = self.pasta / "server.properties"
        propriedades.write_text(self._propriedades())
        (self.pasta / "log4j2.yaml").write_text(_LOG4J2.format(pasta=self.pasta))
        if not (self.pasta / "dados" / "meta.properties").exists():
            id_cluster = _id_de_cluster()
            formatar = [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
                        "-t", id_cluster, "-c", str(propriedades)]  # fmt: skip
            saida = subprocess.run(formatar, capture_output=True, text=True, check=False)
            if saida.returncode != 0:
                raise ErroDeAmbiente(f"Falha ao formatar o armazenamento KRaft em {self.pasta}: {saida.stderr[-1500:]}")
        comando = [
            java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.pasta / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.pasta}", "-cp", classpath, "kafka.Kafka", str(propriedades),
        ]  # fmt: skip
        iniciar_processo(
            "broker Kafka", comando, self.pasta, self.pasta / "kafka.out",
            lambda: _aceita_conexao(self.host, self.porta) and self._responde(), espera_s,
            logs=(self.log, self.pasta / "kafka.out"), intervalo_s=0.3,
            ao_lancar=lambda processo: self.arquivo_pid.write_text(str(processo.pid)),
        )  # fmt: skip
        self.criar_topicos()
        return self.status()

    def parar(self, espera_s: float = 30.0) -> bool:
        """Para o broker (SIGTERM para o desligamento limpo; SIGKILL se passar de ``espera_s``) e espera a porta."""
        pid = self._pid()
        if pid is None:
            self.arquivo_pid.unlink(missing_ok=True)
            return False
        parar_processo(pid, lambda: self._pid() is not None, espera_s)
        self.arquivo_pid.unlink(missing_ok=True)
        limite = time.monotonic() + 10
        while not porta_livre(self.host, self.porta) and time.monotonic() < limite:
            time.sleep(0.2)
        return True

    # Cliente -----------------------------------------------------------------------------------
    def _admin(self):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.bootstrap, "logger": _silencioso()})

    def _responde(self) -> bool:
        try:
            metadados = self._admin().list_topics(timeout=2)
        except Exception:
            return False
        return bool(metadados.brokers)

    def criar_topicos(
        self, topicos: tuple[str, ...] | None = None, particoes: int | None = None, decisoes: str | None = None
    ) -> None:
        """Cria os tópicos que faltam (padrão: os da configuração); os existentes ficam como estão. ``decisoes``: o
        tópico das decisões, se não for o da configuração do broker."""
        kafka_cliente.criar_topicos(
            self._admin(),
            topicos or self.cfg.topicos,
            particoes or self.cfg.kafka_particoes,
            decisoes or self.cfg.topico_decisoes,
        )

    def status(self) -> StatusBroker:
        pid = self._pid()
        if pid is None or not self._responde():
            return StatusBroker(False, pid, self.bootstrap)
        metadados = self._admin().list_topics(timeout=5)
        topicos = {n: len(t.partitions) for n, t in metadados.topics.items() if not n.startswith("__")}
        return StatusBroker(True, pid, self.bootstrap, topicos)


def _id_de_cluster() -> str:
    """Um UUID em base64 de URL que não começa com "-": a linha de comando do Kafka o leria como opção (1 em 64
    formatações falhava assim; o ``Uuid.randomUuid`` do próprio Kafka sorteia de novo pelo mesmo motivo)."""
    while True:
        candidato = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidato.startswith("-"):
            return candidato
