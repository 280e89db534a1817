"""Kafka -> bronze -> silver/quarentena/gold com tráfego simulado e 5% de entrada ruim: nada se perde."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import tabela
from processamento.conciliacao import conciliar
from processamento.contrato import ler_json
from processamento.pipeline import iniciar_processamento
from simulador import Parametros
from testes.util import CHAVE, cfg_isolada, ingerir, produzir_simulacao

pytestmark = pytest.mark.integracao


def test_trafego_com_entrada_ruim_fecha_a_conciliacao(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "pipeline")
    parametros = Parametros(semente=5, clientes=300, dias=2.0, taxa_invalidas=0.05, fracao_med=1.0, taxa_fraude=0.02)
    defeitos, total_tx, total_med = produzir_simulacao(cfg, parametros)
    assert sum(defeitos.values()) > 0.03 * total_tx  # o teste exercita entrada ruim de verdade

    ingerir(spark, cfg)
    _, med, processador = iniciar_processamento(spark, cfg, CHAVE, disponivel=True)
    med.awaitTermination()

    transacoes, notificacoes = conciliar(spark, cfg)
    assert transacoes.equilibrado() and notificacoes.equilibrado(), (transacoes, notificacoes)
    assert transacoes.bronze == total_tx
    assert notificacoes.bronze == total_med
    invalidas_esperadas = sum(q for tipo, q in defeitos.items() if tipo not in ("duplicada", "atrasada"))
    assert transacoes.quarentena - transacoes.duplicatas == invalidas_esperadas
    assert transacoes.duplicatas == defeitos["duplicada"]
    assert defeitos["atrasada"] > 0
    assert transacoes.atrasadas >= defeitos["atrasada"]

    quarentena = tabela(cfg, "silver_quarentena").ler(spark)
    assert quarentena.where(F.size("motivos") == 0).count() == 0  # toda linha tem motivo
    assert quarentena.where("origem = 'transacoes' and offset is null").count() == 0
    # LGPD: nenhum documento nem nome das mensagens recusadas chega à quarentena; o payload intocado fica na bronze.
    coordenadas = ["topico", "particao", "offset"]
    recusadas = tabela(cfg, "bronze_transacoes").ler(spark).join(quarentena, coordenadas, "left_semi")
    dados_pessoais = {
        valor
        for linha in recusadas.select("valor_bruto").collect()
        if isinstance(obj := ler_json(linha.valor_bruto), dict)
        for papel in ("pagador", "recebedor")
        if isinstance(parte := obj.get(papel), dict)
        for valor in (parte.get("documento"), parte.get("nome"))
        if isinstance(valor, str) and len(valor) >= 5
    }
    assert len(dados_pessoais) > 20
    texto = "\n".join(str(linha) for linha in quarentena.collect())
    assert quarentena.where("origem = 'transacoes' and valor_mascarado is not null").count() == invalidas_esperadas
    assert not [dado for dado in dados_pessoais if dado in texto]

    silver = tabela(cfg, "silver_transacoes").ler(spark)
    gold = tabela(cfg, "gold_features").ler(spark)
    assert silver.count() == gold.count() == transacoes.silver
    assert silver.select("end_to_end_id").distinct().count() == transacoes.silver  # sem duplicatas
    assert silver.join(gold, "end_to_end_id", "left_anti").count() == 0
    # LGPD: nenhum documento em claro na silver.
    assert "pagador_documento" not in silver.columns
    assert silver.where(F.length("pagador_documento_hash") != 32).count() == 0
    # MED: notificações achadas na silver viram marcas com a conta recebedora.
    assert tabela(cfg, "silver_med").ler(spark).where("recebedor_id_conta is not null").count() > 0
    assert sum(r.silver for r in processador.resumos) == transacoes.silver

    # Uma linha some da silver: a conciliação aponta a pendência e a CLI sai com erro.
    from delta.tables import DeltaTable

    from aplicacao.cli import main

    perdida = silver.select("end_to_end_id").first().end_to_end_id
    DeltaTable.forPath(spark, tabela(cfg, "silver_transacoes").caminho).delete(F.col("end_to_end_id") == perdida)
    depois, _ = conciliar(spark, cfg)
    assert not depois.equilibrado()
    assert depois.pendentes == 1
    argumentos = [f"-D{campo}={getattr(cfg, campo)}" for campo in ("dados_dir", "topico_transacoes", "topico_med")]
    assert main([*argumentos, "conciliar"]) == 1
    assert main([*argumentos, "conciliar", "--json", "--permitir-pendentes"]) == 0
