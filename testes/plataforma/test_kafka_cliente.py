"""Criar tópicos e produzir: as configurações por tópico, a corrida de quem cria primeiro e a fila local cheia.

Sem broker: um admin e um produtor que só anotam, para provar o que o código pede ao Kafka e como reage a cada
erro (a ida e volta real está em ``test_kafka_local.py`` e nos testes do simulador e da pontuação).
"""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from plataforma.erros import ErroDeAmbiente
from plataforma.kafka_cliente import CONFIG_TOPICO_DECISOES, criar_topicos, produzir


class _Admin:
    """Anota os tópicos pedidos; ``erros`` diz com que ``KafkaError`` cada criação falha."""

    def __init__(self, existentes: tuple[str, ...] = (), erros: dict[str, int] | None = None) -> None:
        self.existentes = existentes
        self.erros = erros or {}
        self.pedidos: list[Any] = []

    def list_topics(self, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(topics=dict.fromkeys(self.existentes))

    def create_topics(self, novos: list[Any], operation_timeout: float) -> dict[str, Future[None]]:
        self.pedidos.extend(novos)
        resultados: dict[str, Future[None]] = {}
        for novo in novos:
            resultados[novo.topic] = Future()
            if novo.topic in self.erros:
                resultados[novo.topic].set_exception(KafkaException(KafkaError(self.erros[novo.topic])))
            else:
                resultados[novo.topic].set_result(None)
        return resultados


def test_cria_so_os_que_faltam_e_o_de_decisoes_com_a_hora_do_broker() -> None:
    admin = _Admin(existentes=("pix.med",))
    criar_topicos(admin, ["pix.transacoes", "pix.med", "pix.decisoes", "pix.transacoes"], 3, "pix.decisoes")
    pedidos = {t.topic: (t.num_partitions, t.replication_factor, dict(t.config)) for t in admin.pedidos}
    assert pedidos == {"pix.transacoes": (3, 1, {}), "pix.decisoes": (3, 1, CONFIG_TOPICO_DECISOES)}


def test_topico_criado_por_outro_no_meio_do_caminho_serve_e_outro_erro_explica() -> None:
    criar_topicos(_Admin(erros={"pix.med": KafkaError.TOPIC_ALREADY_EXISTS}), ["pix.med"], 2)  # sem erro
    with pytest.raises(ErroDeAmbiente, match=r"Não consegui criar o tópico pix\.med: .*POLICY_VIOLATION"):
        criar_topicos(_Admin(erros={"pix.med": KafkaError.POLICY_VIOLATION}), ["pix.med"], 2)


class _ProdutorDeFilaCurta:
    """Aceita ``vaga`` mensagens; cada ``poll`` entrega a fila (abre as vagas de novo)."""

    def __init__(self, vaga: int) -> None:
        self.vaga, self.na_fila, self.entregues, self.polls = vaga, [], [], 0

    def produce(self, topico: str, valor: str, chave: str | None, on_delivery: Any) -> None:
        if len(self.na_fila) >= self.vaga:
            raise BufferError("Local: Queue full")
        self.na_fila.append((topico, valor, chave, on_delivery))

    def poll(self, _espera: float) -> int:
        self.polls += 1
        for topico, valor, chave, confirmar in self.na_fila:
            self.entregues.append((topico, valor, chave))
            confirmar(None, None)
        entregues, self.na_fila = len(self.na_fila), []
        return entregues


def test_fila_local_cheia_espera_e_reenvia_sem_perder_nem_repetir() -> None:
    produtor = _ProdutorDeFilaCurta(vaga=2)
    confirmadas: list[object] = []
    valores = [f"v{i}" for i in range(7)]
    produzir(produtor, "t", valores, [f"k{i}" for i in range(7)], lambda erro, _m: confirmadas.append(erro))
    assert produtor.entregues == [("t", f"v{i}", f"k{i}") for i in range(7)]
    assert confirmadas == [None] * 7 and produtor.polls >= 3
