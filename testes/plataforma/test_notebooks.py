"""Os notebooks estão no formato Databricks e rodam localmente como arquivos Python."""

from __future__ import annotations

import uuid

import pytest
from pyspark.sql import SparkSession

from aplicacao.notebooks import NOTEBOOKS, executar_notebook
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import tabela
from simulador import Parametros, gerar_tudo, produzir_mensagens


@pytest.mark.parametrize("nome", sorted(NOTEBOOKS))
def test_formato_de_notebook_databricks(nome: str) -> None:
    linhas = NOTEBOOKS[nome].read_text(encoding="utf-8").splitlines()
    assert linhas[0] == "# Databricks notebook source"
    assert "# COMMAND ----------" in linhas
    assert any(linha.startswith("# MAGIC %md") for linha in linhas)


@pytest.mark.integracao
def test_notebooks_rodam_localmente_contra_a_pilha_local(
    spark: SparkSession,
    cfg_teste: Configuracao,
    broker_kafka: BrokerKafkaLocal,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sufixo = uuid.uuid4().hex[:8]
    cfg = cfg_teste.com(
        dados_dir=str(cfg_teste.pasta_dados / f"notebooks-{sufixo}"),
        topico_transacoes=f"nb.transacoes.{sufixo}",
        topico_med=f"nb.med.{sufixo}",
        topico_decisoes=f"nb.decisoes.{sufixo}",
    )
    broker_kafka.criar_topicos(cfg.topicos)
    tudo = gerar_tudo(Parametros(semente=21, clientes=60, dias=1.0, taxa_invalidas=0.1))
    transacoes = tudo.transacoes
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, transacoes, tudo.chaves)
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_med, ['{"tipo": "SCAM"}'], ["m"])  # inválida
    for campo in ("dados_dir", "kafka_bootstrap", "topico_transacoes", "topico_med", "topico_decisoes"):
        monkeypatch.setenv(f"DETECTOR_PIX_{campo.upper()}", str(getattr(cfg, campo)))

    executar_notebook("ingestao", {"disponivel": "sim"})
    assert tabela(cfg, "bronze_transacoes").ler(spark).count() == len(transacoes)
    assert tabela(cfg, "bronze_med").ler(spark).count() == 1

    executar_notebook("processamento", {"disponivel": "sim"})
    saida = capsys.readouterr().out
    assert f"[transacoes] FECHA: bronze {len(transacoes)} = silver" in saida
    assert "[med] FECHA: bronze 1 = silver 0 + quarentena 1" in saida
    assert tabela(cfg, "gold_features").ler(spark).count() == tabela(cfg, "silver_transacoes").ler(spark).count() > 0

    executar_notebook("modelo", {"modo": "status"})
    assert "Nenhum champion registrado ainda" in capsys.readouterr().out
