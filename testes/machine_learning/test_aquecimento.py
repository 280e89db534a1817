"""Estado quente desde a primeira partida: a decisão em tempo real vê cada conta como o treino a vê.

Sem aquecimento, a decisão começava fria: idade de conta zerada, "primeiro pagamento ao recebedor" em quase tudo,
e um recebedor com duas MED no passado bloqueado até ter ~20 recebimentos. O teste processa um dia (silver),
liga a decisão (que aquece da silver), decide o dia seguinte e compara as features servidas com as que o treino
calcula (``processamento.historico``) sobre os dois dias.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from machine_learning.tempo_real import DecisorEmTempoReal
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import tabela
from processamento.features import COLUNAS_FEATURES
from processamento.historico import features_em_lote
from processamento.pipeline import iniciar_processamento
from simulador import Parametros, gerar_tudo, produzir_mensagens
from simulador.parametros import DEFEITOS
from testes.util import CHAVE, cfg_isolada, ingerir

pytestmark = pytest.mark.integracao


def _processar(spark: SparkSession, cfg: Configuracao) -> None:
    ingerir(spark, cfg)
    transacoes, med, _ = iniciar_processamento(spark, cfg, CHAVE, disponivel=True)
    transacoes.awaitTermination()
    med.awaitTermination()


def _inicio_do_segundo_dia(mensagens: list[str]) -> int:
    """Posição da primeira mensagem 24 h depois da primeira (mensagens ilegíveis ficam com o dia anterior)."""
    instantes = []
    for mensagem in mensagens:
        try:
            instantes.append(pd.Timestamp(json.loads(mensagem)["data_hora"]))
        except (ValueError, KeyError, TypeError):
            instantes.append(None)
    primeiro = next(t for t in instantes if t is not None)
    return next(i for i, t in enumerate(instantes) if t is not None and t >= primeiro + pd.Timedelta(days=1))


def test_estado_aquecido_da_silver_serve_as_features_do_treino(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal
) -> None:
    # Uma partição e tráfego em ordem de tempo: a ordem de chegada é a do treino (docs/arquitetura.md).
    cfg = cfg_isolada(cfg_teste, broker_kafka, "aquecimento", particoes=1)
    defeitos = tuple(d for d in DEFEITOS if d != "atrasada")
    tudo = gerar_tudo(
        Parametros(semente=21, clientes=200, dias=2.0, taxa_fraude=0.03, fracao_med=0.0, taxa_invalidas=0.03,
                   defeitos=defeitos)
    )  # fmt: skip
    corte = _inicio_do_segundo_dia(tudo.transacoes)
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes[:corte], tudo.chaves[:corte])
    _processar(spark, cfg)  # o primeiro dia na silver, como num banco que já processava antes da decisão
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes[corte:], tudo.chaves[corte:])

    decisor = DecisorEmTempoReal(cfg, CHAVE, spark)
    decisor.iniciar()
    try:
        assert decisor.aquecido and decisor.posicoes == {0: corte}  # decide do offset seguinte ao fim da silver
        servidas = []
        while decisor.posicoes[0] < len(tudo.transacoes):
            resultado = decisor.passo(espera_s=1.0)
            if resultado is not None:
                servidas.append(resultado.features)
    finally:
        decisor.encerrar()
    servidas = pd.concat(servidas, ignore_index=True).set_index("end_to_end_id").sort_index()

    _processar(spark, cfg)  # o segundo dia na silver; o treino lê os dois
    silver = tabela(cfg, "silver_transacoes").ler(spark)
    treino = features_em_lote(silver).set_index("end_to_end_id")
    segundo_dia = set(silver.where(silver["offset"] >= corte).toPandas()["end_to_end_id"])
    assert set(servidas.index) == segundo_dia and len(servidas) > 200
    treino = treino.loc[servidas.index]
    assert (treino["pag_qtd_historico"] > 0).mean() > 0.5  # o estado quente tem história de verdade
    for coluna in COLUNAS_FEATURES:
        pd.testing.assert_series_equal(
            servidas[coluna].astype("float64"), treino[coluna].astype("float64"), check_names=False, obj=coluna
        )

    # A partida seguinte não aquece de novo: parte do snapshot do aquecimento e dos lotes registrados.
    reinicio = DecisorEmTempoReal(cfg, CHAVE, spark)
    reinicio.iniciar()
    try:
        assert not reinicio.aquecido and reinicio.posicoes == {0: len(tudo.transacoes)}
    finally:
        reinicio.encerrar()
