"""``detector-pix demo`` (o que ``make demo`` chama): o pipeline de ponta a ponta, contado no fim.

Simulador -> Kafka -> notebook de ingestão -> notebook de processamento -> conciliação, com tráfego novo a
cada execução (tópicos e pasta próprios), e um resumo que compara fraudes e transações legítimas pelo
gabarito do simulador: é a prova de que as features carregam o sinal que o modelo vai usar.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime

from plataforma.cli import executar_notebook
from plataforma.config import PREFIXO_AMBIENTE, Configuracao
from plataforma.kafka_local import BrokerKafkaLocal

FEATURES_DO_RESUMO = (
    ("pag_qtd_1h", "Pix do pagador na última hora"),
    ("primeiro_pagamento_ao_recebedor", "primeiro Pix a este recebedor"),
    ("rec_pagadores_distintos_24h", "pagadores distintos do recebedor em 24 h"),
    ("chave_idade_s", "idade da chave do recebedor (h)"),
    ("dispositivo_nao_cadastrado", "dispositivo não cadastrado"),
    ("noturno", "Pix noturno"),
)


def _etapa(numero: int, texto: str) -> None:
    print(f"\n=== [{numero}/5] {texto} ===", flush=True)


def executar_demo(cfg: Configuracao, clientes: int, dias: float, semente: int, taxa_invalidas: float) -> int:
    from simulador import Parametros, gerar_tudo, produzir_mensagens

    inicio = time.perf_counter()
    execucao = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    pasta = cfg.pasta_dados / "demo"
    shutil.rmtree(pasta, ignore_errors=True)  # cada demo começa do zero (o broker e o MLflow ficam)
    demo = cfg.com(
        dados_dir=str(pasta),
        topico_transacoes=f"demo.{execucao}.transacoes",
        topico_med=f"demo.{execucao}.med",
        topico_decisoes=f"demo.{execucao}.decisoes",
    )

    _etapa(1, f"broker Kafka local em {demo.kafka_bootstrap}")
    broker = BrokerKafkaLocal(demo, pasta=cfg.pasta_dados / "kafka")
    ja_estava = broker.status().vivo
    print(broker.iniciar().descrever() if not ja_estava else "Broker já estava rodando; usando-o.")
    broker.criar_topicos(demo.topicos)
    try:
        _etapa(2, f"simulador: {clientes} clientes, {dias:g} dias, {taxa_invalidas:.0%} de entrada ruim de propósito")
        parametros = Parametros(semente=semente, clientes=clientes, dias=dias, taxa_invalidas=taxa_invalidas)
        tudo = gerar_tudo(parametros)
        transacoes, med, gabarito = tudo.transacoes, tudo.med, tudo.gabarito
        produzir_mensagens(demo.kafka_bootstrap, demo.topico_transacoes, transacoes, tudo.chaves)
        produzir_mensagens(demo.kafka_bootstrap, demo.topico_med, med, tudo.chaves_med)
        print(f"{len(transacoes)} mensagens em {demo.topico_transacoes} ({len(tudo.defeitos)} ruins de propósito, "
              f"{tudo.fraudes} fraudes no gabarito) e {len(med)} notificações MED em {demo.topico_med}.")  # fmt: skip

        for campo in ("dados_dir", "kafka_bootstrap", "topico_transacoes", "topico_med", "topico_decisoes"):
            os.environ[PREFIXO_AMBIENTE + campo.upper()] = str(getattr(demo, campo))
        _etapa(3, "notebook de ingestão (Kafka -> bronze), modo disponível")
        executar_notebook("ingestao", {"disponivel": "sim"})
        _etapa(4, "notebook de processamento (bronze -> silver, quarentena, gold), modo disponível")
        executar_notebook("processamento", {"disponivel": "sim"})

        _etapa(5, "resumo")
        _resumir(demo, gabarito)
    finally:
        if not ja_estava:
            broker.parar()
    print(f"\nDemo concluída em {time.perf_counter() - inicio:.0f} s.")
    return 0


def _resumir(cfg: Configuracao, gabarito: list[str]) -> None:
    import pandas as pd

    from plataforma.mlflow_local import comando_ui
    from plataforma.spark import obter_spark
    from plataforma.tabelas import TABELAS, tabela

    spark = obter_spark(cfg)
    rotulos = pd.DataFrame([linha.split(",") for linha in gabarito], columns=["end_to_end_id", "fraude", "tipologia"])
    colunas = [c for c, _ in FEATURES_DO_RESUMO]
    gold = tabela(cfg, "gold_features").ler(spark).select("end_to_end_id", *colunas).toPandas()
    juntos = gold.merge(rotulos, on="end_to_end_id", how="left")
    juntos["chave_idade_s"] = juntos["chave_idade_s"] / 3600
    fraude = juntos["fraude"] == "1"
    print(f"gold_features: {len(gold)} transações, {int(fraude.sum())} fraudes (gabarito).")
    print(f"{'feature (média)':<44}{'legítimas':>12}{'fraudes':>12}")
    for coluna, descricao in FEATURES_DO_RESUMO:
        legitimas, fraudes = juntos.loc[~fraude, coluna].astype(float), juntos.loc[fraude, coluna].astype(float)
        print(f"{descricao:<44}{legitimas.mean():>12.2f}{fraudes.mean():>12.2f}")
    print("\nOnde ficaram as tabelas:")
    for nome in TABELAS:
        t = tabela(cfg, nome)
        if t.existe(spark):
            print(f"  {nome:<20} {t.ler(spark).count():>8} linhas  {t.nome_uc or t.caminho}")
    print("\nTreino, registro no MLflow e decisão no stream chegam com a etapa de machine learning.")
    print(f"MLflow local: {comando_ui(cfg)}")
