"""O broker Kafka do projeto é real: produz, consome, lista tópicos e falha com mensagens claras."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from plataforma.kafka_local import BrokerKafkaLocal, portas_livres_para_broker
from plataforma.processos import porta_livre

pytestmark = pytest.mark.integracao

DETECTOR_PIX = [sys.executable, "-m", "aplicacao.cli"]


def test_ida_e_volta_de_mensagens_pelo_broker(broker_kafka: BrokerKafkaLocal, topico_novo: str) -> None:
    enviadas = {f"chave-{i}": f'{{"n": {i}}}' for i in range(100)}
    produtor = Producer({"bootstrap.servers": broker_kafka.bootstrap, "enable.idempotence": True})
    for chave, valor in enviadas.items():
        produtor.produce(topico_novo, key=chave, value=valor)
    assert produtor.flush(30) == 0

    consumidor = Consumer(
        {
            "bootstrap.servers": broker_kafka.bootstrap,
            "group.id": f"teste-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumidor.subscribe([topico_novo])
    recebidas: dict[str, str] = {}
    for _ in range(60):
        for mensagem in consumidor.consume(num_messages=500, timeout=1):
            assert mensagem.error() is None
            recebidas[mensagem.key().decode()] = mensagem.value().decode()
        if len(recebidas) == len(enviadas):
            break
    consumidor.close()
    assert recebidas == enviadas


def test_status_mostra_os_topicos_do_projeto(broker_kafka: BrokerKafkaLocal, cfg_teste: Configuracao) -> None:
    status = broker_kafka.status()
    assert status.vivo
    for topico in cfg_teste.topicos:
        assert status.topicos[topico] == cfg_teste.kafka_particoes
    assert "ATIVO" in status.descrever()


def test_porta_ocupada_gera_erro_claro(tmp_path: Path) -> None:
    porta = portas_livres_para_broker()
    with socket.socket() as ocupante:
        ocupante.bind(("127.0.0.1", porta))
        ocupante.listen()
        cfg = Configuracao().com(dados_dir=str(tmp_path), kafka_bootstrap=f"127.0.0.1:{porta}")
        with pytest.raises(ErroDeAmbiente, match=f"Porta {porta} .*já está em uso"):
            BrokerKafkaLocal(cfg).iniciar()


def test_broker_local_recusa_host_remoto() -> None:
    with pytest.raises(ErroDeAmbiente, match="só escuta no loopback"):
        BrokerKafkaLocal(Configuracao().com(kafka_bootstrap="kafka.banco.com.br:9092"))


def _cli(args: list[str], ambiente: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DETECTOR_PIX, *args], capture_output=True, text=True, env=ambiente, timeout=180)


def test_cli_iniciar_status_parar_libera_a_porta(tmp_path: Path) -> None:
    porta = portas_livres_para_broker()
    ambiente = {
        **os.environ,
        "DETECTOR_PIX_DADOS_DIR": str(tmp_path),
        "DETECTOR_PIX_KAFKA_BOOTSTRAP": f"127.0.0.1:{porta}",
        "DETECTOR_PIX_KAFKA_PARTICOES": "3",
    }
    iniciar = _cli(["kafka", "iniciar"], ambiente)
    try:
        assert iniciar.returncode == 0, iniciar.stderr
        status = _cli(["kafka", "status"], ambiente)
        assert status.returncode == 0
        assert "ATIVO" in status.stdout
        for topico in ("pix.transacoes", "pix.med", "pix.decisoes"):
            assert f"tópico {topico}: 3 partição(ões)" in status.stdout
        assert (tmp_path / "kafka" / "server.log").exists()
    finally:
        parar = _cli(["kafka", "parar"], ambiente)
    assert parar.returncode == 0, parar.stderr
    assert porta_livre("127.0.0.1", porta)
    depois = _cli(["kafka", "status"], ambiente)
    assert depois.returncode == 3
    assert "PARADO" in depois.stdout


def test_cli_sem_java_explica_o_que_instalar(tmp_path: Path) -> None:
    ambiente = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    ambiente["PATH"] = str(Path(sys.executable).parent)  # só o venv: nada de java
    ambiente["DETECTOR_PIX_DADOS_DIR"] = str(tmp_path)
    ambiente["DETECTOR_PIX_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{portas_livres_para_broker()}"
    resultado = _cli(["kafka", "iniciar"], ambiente)
    assert resultado.returncode == 1
    assert "Java não encontrado" in resultado.stderr
    assert "OpenJDK 17" in resultado.stderr
    assert "Traceback" not in resultado.stderr


def test_cli_configuracao_invalida_sai_com_codigo_2(tmp_path: Path) -> None:
    ambiente = {**os.environ, "DETECTOR_PIX_DADOS_DIR": str(tmp_path)}
    resultado = _cli(["-D", "kafka_particoes=muitas", "kafka", "status"], ambiente)
    assert resultado.returncode == 2
    assert "'kafka_particoes'" in resultado.stderr
    assert "argumento de linha de comando" in resultado.stderr


def test_id_de_cluster_nunca_comeca_com_hifen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Um id que começa com "-" vira opção na linha de comando do formatador do KRaft (falha ao acaso, 1 em 64)."""
    from plataforma import kafka_local

    # O primeiro sorteio dá um id com "-" na frente (bytes 0xf8...: "-" em base64 de URL); o segundo, não.
    sorteios = iter([uuid.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid.UUID(bytes=b"\x00" * 16)])
    monkeypatch.setattr(kafka_local.uuid, "uuid4", lambda: next(sorteios))
    assert kafka_local._id_de_cluster() == "AAAAAAAAAAAAAAAAAAAAAA"
