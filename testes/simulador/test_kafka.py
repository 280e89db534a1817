"""Saída Kafka do simulador contra um broker real: tudo o que o resumo diz ter enviado chega."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer

from simulador import Parametros, gerar, parametros_ao_vivo, produzir_kafka, produzir_mensagens

pytestmark = pytest.mark.integracao


def _consumir(bootstrap: str, topico: str, esperado: int, limite_s: float = 60.0) -> list:
    consumidor = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"teste-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumidor.subscribe([topico])
    mensagens, vazias = [], 0
    try:
        while len(mensagens) < esperado and vazias < limite_s:
            lote = consumidor.consume(num_messages=10_000, timeout=1.0)
            vazias = 0 if lote else vazias + 1
            mensagens.extend(m for m in lote if m.error() is None)
    finally:
        consumidor.close()
    return mensagens


def test_periodo_inteiro_chega_aos_dois_topicos(broker_kafka, topico_novo):
    topico_med = f"teste.med.{uuid.uuid4().hex[:8]}"
    broker_kafka.criar_topicos((topico_med,))
    p = Parametros(semente=4, clientes=600, dias=3, taxa_fraude=0.03, atraso_med_max_dias=2, taxa_invalidas=0.01)
    resumo = produzir_kafka(p, broker_kafka.bootstrap, topico_novo, topico_med)
    assert resumo.mensagens > 2000 and resumo.med > 0

    transacoes = _consumir(broker_kafka.bootstrap, topico_novo, resumo.mensagens)
    med = _consumir(broker_kafka.bootstrap, topico_med, resumo.med)
    assert len(transacoes) == resumo.mensagens
    assert len(med) == resumo.med
    # mesma sequência que o gerador produz (por partição a ordem se mantém; o conjunto é idêntico)
    esperadas = sorted(x for lote in gerar(p) for x in lote.transacoes)
    assert sorted(m.value().decode() for m in transacoes) == esperadas
    # chave = conta do pagador (ispb-agencia-conta), para ordenar por pagador dentro da partição
    validas = [m for m in transacoes if m.value().startswith(b'{"end_to_end_id"')][:200]
    for m in validas:
        try:
            pagador = json.loads(m.value())["pagador"]
        except (ValueError, KeyError, TypeError):
            continue  # mensagens corrompidas de propósito
        assert m.key().decode() == f"{pagador['ispb']}-{pagador['agencia']}-{pagador['conta']}"


def test_produzir_mensagens_ja_geradas(broker_kafka, topico_novo):
    linhas = [x for lote in gerar(Parametros(semente=8, clientes=200, dias=0.5)) for x in lote.transacoes]
    assert produzir_mensagens(broker_kafka.bootstrap, topico_novo, linhas) == len(linhas)
    assert len(_consumir(broker_kafka.bootstrap, topico_novo, len(linhas))) == len(linhas)


def test_ao_vivo_tempo_do_evento_acompanha_o_relogio(broker_kafka, topico_novo):
    topico_med = f"teste.med.{uuid.uuid4().hex[:8]}"
    broker_kafka.criar_topicos((topico_med,))
    antes = datetime.now(UTC)
    p = parametros_ao_vivo(Parametros(semente=2, clientes=500), tps=400)
    resumo = produzir_kafka(p, broker_kafka.bootstrap, topico_novo, topico_med, tps=400, duracao_s=1.5)
    assert resumo.mensagens > 0
    recebidas = _consumir(broker_kafka.bootstrap, topico_novo, resumo.mensagens)
    assert len(recebidas) == resumo.mensagens
    instantes = [datetime.fromisoformat(json.loads(m.value())["data_hora"].replace("Z", "+00:00")) for m in recebidas]
    depois = datetime.now(UTC)
    assert min(instantes) >= antes - timedelta(seconds=1)
    assert max(instantes) <= depois + timedelta(seconds=1)
