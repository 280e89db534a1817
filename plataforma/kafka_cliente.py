"""O que todo cliente Python do Kafka (confluent-kafka) do projeto faz igual: criar os tópicos e produzir.

Por que aqui, e não em cada etapa: o broker local, a CLI do simulador e os benchmarks criam tópicos, e o
simulador e a pontuação produzem mensagens. As configurações de cada tópico (partições, hora do broker no tópico
das decisões) e o reenvio quando a fila local do produtor enche não podem divergir entre eles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from plataforma.erros import ErroDeAmbiente

if TYPE_CHECKING:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

ESPERA_FILA_CHEIA_S = 0.05  # o librdkafka entrega parte da fila local nesse tempo e a mensagem volta a caber

# Decisões com a hora do broker (LogAppendTime): o timestamp de cada decisão é o instante em que ela ficou
# disponível no Kafka, e a latência Pix -> decisão se mede com os dois timestamps do próprio Kafka.
CONFIG_TOPICO_DECISOES = {"message.timestamp.type": "LogAppendTime"}


def criar_topicos(
    admin_ou_opcoes: AdminClient | str | dict[str, str],
    topicos: Iterable[str],
    particoes: int,
    topico_decisoes: str | None = None,
    configuracoes: dict[str, dict[str, str]] | None = None,
    replicacao: int = 1,
) -> None:
    """Cria os tópicos que faltam; os existentes ficam como estão.

    ``topico_decisoes`` (se estiver em ``topicos``) ganha ``CONFIG_TOPICO_DECISOES``; ``configuracoes``, por nome,
    o resto. ``replicacao``: 1 no broker local; -1 usa o padrão do broker. ``admin_ou_opcoes``: um ``AdminClient``
    pronto, um bootstrap ou as opções do librdkafka (``opcoes_cliente_kafka``).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    if isinstance(admin_ou_opcoes, str):
        admin = AdminClient({"bootstrap.servers": admin_ou_opcoes})
    elif isinstance(admin_ou_opcoes, dict):
        admin = AdminClient(dict(admin_ou_opcoes))
    else:
        admin = admin_ou_opcoes
    existentes = set(admin.list_topics(timeout=15).topics)
    novos = [
        NewTopic(
            nome,
            num_partitions=particoes,
            replication_factor=replicacao,
            config=(CONFIG_TOPICO_DECISOES if nome == topico_decisoes else {}) | (configuracoes or {}).get(nome, {}),
        )
        for nome in dict.fromkeys(topicos)
        if nome not in existentes
    ]
    if not novos:
        return
    for nome, futuro in admin.create_topics(novos, operation_timeout=30).items():
        try:
            futuro.result()
        except KafkaException as erro:  # outro processo criou o mesmo tópico no meio do caminho: está lá, serve
            if erro.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise ErroDeAmbiente(f"Não consegui criar o tópico {nome}: {erro}") from erro


def produzir(
    produtor: Producer,
    topico: str,
    valores: Iterable[str | bytes],
    chaves: Iterable[str | bytes | None],
    ao_confirmar: Callable[[object, object], None],
) -> None:
    """Produz cada par (valor, chave); com a fila local cheia (``BufferError``), espera o envio de parte dela e tenta
    de novo, em vez de perder a mensagem ou derrubar o chamador. A confirmação de cada uma chega a ``ao_confirmar``."""
    produce, poll = produtor.produce, produtor.poll
    for valor, chave in zip(valores, chaves, strict=True):
        while True:
            try:
                produce(topico, valor, chave, on_delivery=ao_confirmar)
                break
            except BufferError:
                poll(ESPERA_FILA_CHEIA_S)
    poll(0)


def particoes_do_topico(cliente: object, topico: str, bootstrap: str, espera_s: float = 30.0) -> list[int]:
    """As partições de ``topico``, esperando o metadado chegar: logo depois de criado, o broker ainda pode
    responder sem partições, e um consumidor atribuído a nada não consome nada, em silêncio.

    ``cliente``: um ``Consumer``, ``Producer`` ou ``AdminClient`` (todos têm ``list_topics``).
    """
    import time

    limite = time.monotonic() + espera_s
    while True:
        metadados = cliente.list_topics(topico, timeout=10).topics.get(topico)
        if metadados is not None and metadados.error is None and metadados.partitions:
            return sorted(metadados.partitions)
        if time.monotonic() > limite:
            erro = "não existe" if metadados is None else (metadados.error or "sem partições")
            raise ErroDeAmbiente(
                f"Kafka {bootstrap}: tópico '{topico}' indisponível ({erro}) depois de {espera_s:g} s. Crie o tópico "
                "ou confira o nome na configuração (topico_transacoes)."
            )
        time.sleep(0.5)
