"""Notificação MED que chega antes do seu Pix: espera (contada na conciliação) e vira marca quando o Pix chega.

Antes, ela ficava na ``silver_med`` sem conta recebedora para sempre e nunca marcava o recebedor: no primeiro
deploy, ou depois de uma parada, o backlog do MED pode ser processado antes do das transações.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import tabela
from processamento.conciliacao import conciliar
from processamento.pipeline import iniciar_processamento, marcas_depois_de
from simulador import Parametros, gerar_tudo, produzir_mensagens
from testes.util import CHAVE, cfg_isolada, ingerir

pytestmark = pytest.mark.integracao


def _processar(spark: SparkSession, cfg: Configuracao) -> None:
    _, med, _ = iniciar_processamento(spark, cfg, CHAVE, disponivel=True)
    med.awaitTermination()


def _produzir(cfg: Configuracao, topico: str, mensagens: list[str], chaves: list[str]) -> None:
    produzir_mensagens(cfg.kafka_bootstrap, topico, mensagens, chaves)


def _iso(instante: pd.Timestamp) -> str:
    return instante.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instante.microsecond // 1000:03d}Z"


def test_med_antes_do_pix_espera_contada_e_vira_marca_quando_o_pix_chega(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "med-antes-do-pix", particoes=1)
    tudo = gerar_tudo(
        Parametros(semente=9, clientes=200, dias=2.0, fracao_med=1.0, taxa_fraude=0.05, atraso_med_mediana_horas=6,
                   atraso_med_max_dias=1.5)
    )  # fmt: skip
    med = [json.loads(m) for m in tudo.med]
    adiantadas = {m["end_to_end_id"] for m in med[:8]}  # estas chegam antes dos seus Pix
    pix = {json.loads(t)["end_to_end_id"]: (t, c) for t, c in zip(tudo.transacoes, tudo.chaves, strict=True)}
    assert adiantadas <= pix.keys()

    # 1. Todas as notificações (menos o gatilho) e os Pix, menos os contestados adiantados.
    primeiro = [(t, c) for e, (t, c) in pix.items() if e not in adiantadas]
    _produzir(cfg, cfg.topico_transacoes, *map(list, zip(*primeiro, strict=True)))
    _produzir(cfg, cfg.topico_med, tudo.med[:8] + tudo.med[9:], tudo.chaves_med[:8] + tudo.chaves_med[9:])
    ingerir(spark, cfg)
    _processar(spark, cfg)
    _, notificacoes = conciliar(spark, cfg)
    assert notificacoes.equilibrado(), notificacoes
    assert notificacoes.aguardando_pix == len(adiantadas)  # contadas enquanto esperam
    silver_med = tabela(cfg, "silver_med").ler(spark)
    cursor = silver_med.agg(F.max("lote")).first()[0]
    marcadas = {r.end_to_end_id for r in silver_med.where("recebedor_id_conta is not null").collect()}
    assert not adiantadas & marcadas

    # 2. Os Pix chegam, e mais uma notificação qualquer: todo lote do MED reconfere as que esperam o Pix.
    _produzir(cfg, cfg.topico_transacoes, [pix[e][0] for e in adiantadas], [pix[e][1] for e in adiantadas])
    _produzir(cfg, cfg.topico_med, [tudo.med[8]], [tudo.chaves_med[8]])
    ingerir(spark, cfg)
    _processar(spark, cfg)
    _, notificacoes = conciliar(spark, cfg)
    assert notificacoes.equilibrado() and notificacoes.aguardando_pix == 0, notificacoes
    silver = tabela(cfg, "silver_transacoes").ler(spark).select("end_to_end_id", "recebedor_id_conta")
    resolvidas = (
        tabela(cfg, "silver_med").ler(spark).where(F.col("end_to_end_id").isin(list(adiantadas)))
        .join(silver.withColumnRenamed("recebedor_id_conta", "do_pix"), "end_to_end_id")
        .collect()
    )  # fmt: skip
    assert len(resolvidas) == len(adiantadas)
    assert all(r.recebedor_id_conta == r.do_pix and r.lote_marca > r.lote for r in resolvidas)
    # Quem busca marcas pelo cursor (processamento e decisão) recebe as adiantadas e o gatilho.
    novas = marcas_depois_de(tabela(cfg, "silver_med").ler(spark), cursor).toPandas()
    assert len(novas) == len(adiantadas) + 1

    # 3. Um Pix novo a um recebedor contestado, depois da notificação: o estado do processamento tem a marca.
    alvo = min(med[:8], key=lambda m: m["data_hora_notificacao"])
    original = json.loads(pix[alvo["end_to_end_id"]][0])
    instante = pd.Timestamp(alvo["data_hora_notificacao"]) + timedelta(minutes=5)
    novo_id = original["end_to_end_id"][:9] + instante.strftime("%Y%m%d%H%M") + "Zz9novoPixMED"[:11]
    novo = {**original, "end_to_end_id": novo_id, "data_hora": _iso(instante)}
    _produzir(cfg, cfg.topico_transacoes, [json.dumps(novo)], [pix[alvo["end_to_end_id"]][1]])
    ingerir(spark, cfg)
    _processar(spark, cfg)
    gold = tabela(cfg, "gold_features").ler(spark).where(F.col("end_to_end_id") == novo_id).collect()
    assert len(gold) == 1
    assert gold[0].rec_marcada_fraude and gold[0].rec_qtd_med >= 1
