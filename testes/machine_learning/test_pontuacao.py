"""A consulta de decisão com Kafka, Delta e registro do MLflow reais: cada Pix decidido, uma vez, nos dois lugares."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from machine_learning.dados_simulados import simular
from machine_learning.decisao import BLOQUEAR, DECISOES, MENSAGEM_INVALIDA, VERSAO_SO_REGRAS
from machine_learning.deriva import HORAS_JANELA, horas_do_evento
from machine_learning.pontuacao import (
    CONSULTA,
    EscritorDeDecisoes,
    VigiaDoChampion,
    iniciar_pontuacao,
    ler_decisoes_kafka,
)
from machine_learning.treino import treinar
from monitoramento.metricas import MetricasDaPontuacao
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.mlflow_local import configurar_mlflow
from plataforma.tabelas import checkpoint, tabela
from processamento.silver import interpretar_transacoes_pandas
from simulador import Parametros, gerar_tudo, produzir_mensagens
from testes.processos import derrubar_depois_de, executar_em_processo
from testes.util import CHAVE, DIVISAO, PARAMETROS_TREINO, cfg_isolada, esperar

pytestmark = pytest.mark.integracao


def test_sem_champion_decide_so_com_regras_e_grava_no_delta_e_no_kafka(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, pushgateway, ler_job
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "pontuar-regras").com(pushgateway_url=pushgateway.url)
    metricas = MetricasDaPontuacao(cfg, job="teste_pontuacao_so_regras")
    configurar_mlflow(cfg)  # registro novo e vazio: nenhum champion
    tudo = gerar_tudo(Parametros(semente=3, clientes=300, dias=1.0, taxa_invalidas=0.05, taxa_fraude=0.02))
    enviadas = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)

    consulta, pontuador = iniciar_pontuacao(spark, cfg, CHAVE, disponivel=True, metricas=metricas)
    consulta.awaitTermination()
    pontuador.encerrar()

    gold = tabela(cfg, "gold_decisoes").ler(spark).toPandas()
    kafka = ler_decisoes_kafka(cfg)
    resumos = pontuador.resumos
    entrada = sum(r.entrada for r in resumos)
    duplicatas = sum(r.duplicatas for r in resumos)
    sem_decisao = sum(r.sem_decisao for r in resumos)
    # Nada se perde: cada mensagem é uma decisão, uma duplicata ou (sem end_to_end_id legível) contada.
    assert entrada == enviadas
    assert len(gold) + duplicatas + sem_decisao == enviadas
    assert duplicatas > 0 and sem_decisao > 0  # o teste exercita os dois casos
    assert gold["end_to_end_id"].is_unique
    assert len(kafka) == len(gold) and set(kafka["end_to_end_id"]) == set(gold["end_to_end_id"])
    assert (kafka["chave"] == kafka["end_to_end_id"]).all()
    # Sem champion: só regras, dito na versão do modelo; decisões válidas e motivos coerentes.
    assert set(gold["versao_modelo"]) == {VERSAO_SO_REGRAS}
    assert set(gold["decisao"]) <= set(DECISOES)
    assert (gold["data_hora_decisao"] >= gold["timestamp_kafka"]).all()
    aprovadas = gold[gold["decisao"] == "APROVAR"]
    assert aprovadas["motivos"].map(len).eq(0).all()
    alertas = gold[gold["decisao"] != "APROVAR"]
    assert len(alertas) > 0 and alertas["motivos"].map(len).gt(0).all()
    invalidas = gold[gold["motivos"].map(lambda m: MENSAGEM_INVALIDA in list(m))]
    assert len(invalidas) > 0 and (invalidas["decisao"] == "REVISAR").all()
    duras = gold[gold["motivos"].map(lambda m: "LIMITE_NOTURNO_EXCEDIDO" in list(m))]
    assert (duras["decisao"] == BLOQUEAR).all()
    # O modo só regras aparece numa métrica (Pushgateway real), com as contagens das decisões.
    series = ler_job("teste_pontuacao_so_regras")
    assert series[("detector_pix_pontuacao_so_regras", frozenset())] == 1
    assert series[("detector_pix_pendencias_decisao", frozenset())] == 0  # encerrar gravou todas
    assert not any(nome == "detector_pix_deriva_psi" for nome, _ in series)  # só regras: sem referência de deriva
    assert series[("detector_pix_deriva_amostras", frozenset())] == 0
    for decisao, n in gold["decisao"].value_counts().items():
        assert series[("detector_pix_decisoes_total", frozenset({("decisao", decisao)}))] == n


def test_champion_novo_vale_sem_reiniciar_o_stream(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, pushgateway, ler_job
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "pontuar-troca").com(
        intervalo_modelo_s=1, pushgateway_url=pushgateway.url
    )
    metricas = MetricasDaPontuacao(cfg, job="teste_pontuacao_troca")
    configurar_mlflow(cfg)
    parametros = Parametros(semente=8, clientes=300, dias=2.0, taxa_fraude=0.03, taxa_invalidas=0.0)
    tudo = gerar_tudo(parametros)
    metade = len(tudo.transacoes) // 2
    consulta, pontuador = iniciar_pontuacao(spark, cfg, CHAVE, metricas=metricas)
    try:
        produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes[:metade], tudo.chaves[:metade])
        esperar(lambda: sum(r.decididas for r in pontuador.resumos) >= metade, 120, "a 1ª metade decidida")
        assert {r.versao_modelo for r in pontuador.resumos if r.decididas} == {VERSAO_SO_REGRAS}

        dados = simular(PARAMETROS_TREINO)  # o histórico do "banco": outra população, com MED rápida
        resultado = treinar(
            dados.transacoes, cfg=cfg, med=dados.med, candidatos=("regras",), importancia_max_linhas=500, **DIVISAO
        )
        assert resultado.promovido  # primeiro modelo do registro: vira champion
        esperar(lambda: pontuador.vigia.atual.versao == resultado.versao, 30, "o champion novo carregado")

        resto = tudo.transacoes[metade:]
        produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, resto, tudo.chaves[metade:])
        esperar(lambda: sum(r.decididas for r in pontuador.resumos) >= len(tudo.transacoes), 120, "a 2ª metade")
        assert consulta.isActive and consulta.exception() is None  # a mesma consulta, sem reinício
    finally:
        consulta.stop()
        pontuador.encerrar()
    gold = tabela(cfg, "gold_decisoes").ler(spark).toPandas()
    assert set(gold["versao_modelo"]) == {VERSAO_SO_REGRAS, resultado.versao}
    assert len(gold) == len(tudo.transacoes) and gold["end_to_end_id"].is_unique
    depois = gold.sort_values("offset").groupby("particao")["versao_modelo"].last()
    assert (depois == resultado.versao).all()
    # Com o champion veio a referência de deriva: a janela conta exatamente os Pix que ele decidiu nas últimas 24 h
    # de tempo do evento, e o PSI do score e das features chega ao Pushgateway.
    series = ler_job("teste_pontuacao_troca")
    horas = horas_do_evento(gold.loc[gold["versao_modelo"] == resultado.versao, "data_hora"])
    na_janela = horas[horas > horas.max() - HORAS_JANELA]
    assert series[("detector_pix_deriva_amostras", frozenset())] == len(na_janela)
    assert series[("detector_pix_deriva_horas_na_janela", frozenset())] == horas.max() - na_janela.min() + 1
    psi = {dict(r)["variavel"]: v for (nome, r), v in series.items() if nome == "detector_pix_deriva_psi"}
    assert {"score", "valor", "pag_valor_zscore"} <= set(psi) and all(v >= 0 for v in psi.values())


def test_registro_fora_do_ar_mantem_o_modelo_em_uso(
    cfg_teste: Configuracao, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Registro que não responde não é "sem champion": o vigia avisa e segue com o que já usa, sem trocar nada."""
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # sem as novas tentativas do cliente
    cfg = cfg_teste.com(dados_dir=str(cfg_teste.pasta_dados / f"vigia-{uuid.uuid4().hex[:8]}"))  # registro vazio
    configurar_mlflow(cfg)
    vigia = VigiaDoChampion(cfg)
    anterior = mlflow.get_registry_uri()
    mlflow.set_registry_uri("http://127.0.0.1:9")  # porta fechada
    try:
        assert vigia.verificar() is False
    finally:
        mlflow.set_registry_uri(anterior)
    assert vigia.atual.so_regras
    assert "Registro do MLflow indisponível" in caplog.text and "SÓ COM AS REGRAS" not in caplog.text
    assert vigia.verificar() is False and "SÓ COM AS REGRAS" in caplog.text  # registro de volta, sem champion


def test_pendencias_de_uma_queda_vao_para_a_gold_uma_vez(spark: SparkSession, cfg_teste: Configuracao) -> None:
    cfg = cfg_teste.com(dados_dir=str(cfg_teste.pasta_dados / f"pendencias-{uuid.uuid4().hex[:8]}"))
    agora = pd.Timestamp.now(tz="UTC")

    def decisoes(lote: int, n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "end_to_end_id": [f"E{lote:03d}{i:05d}" for i in range(n)], "decisao": "APROVAR", "score": 0.1,
                "motivos": [[] for _ in range(n)], "versao_modelo": "1", "data_hora": agora, "timestamp_kafka": agora,
                "data_hora_decisao": agora, "valor": 10.0, "pagador_id_conta": "p", "recebedor_id_conta": "r",
                "topico": "t", "particao": 0, "offset": range(n), "lote": lote,
            }
        )  # fmt: skip

    escritor = EscritorDeDecisoes(spark, cfg)
    escritor.preparar_tabela()
    escritor.guardar_pendencia(0, decisoes(0, 3))
    escritor.guardar_pendencia(1, decisoes(1, 4))
    # "Queda": o processo some antes de descarregar. Um escritor novo (o reinício) grava o que ficou.
    reinicio = EscritorDeDecisoes(spark, cfg)
    assert reinicio.descarregar() == 7
    assert not reinicio.pendentes()
    # O Spark refaz o lote 1 (gravado na tabela, mas não confirmado no checkpoint) e segue para o lote 2; os dois
    # descarregam juntos, com a versão do lote 2: o lote 1 refeito não pode entrar de novo.
    reinicio.guardar_pendencia(1, decisoes(1, 4))
    reinicio.guardar_pendencia(2, decisoes(2, 5))
    assert reinicio.descarregar() == 5
    gold = tabela(cfg, "gold_decisoes").ler(spark)
    assert gold.count() == 12 and gold.select("end_to_end_id").distinct().count() == 12
    assert str(checkpoint(cfg, CONSULTA)) in str(reinicio.pasta)


def test_sigkill_na_pontuacao_e_reinicio_sem_perder_nem_duplicar_decisoes(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, tmp_path: Path
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "pontuar-queda").com(
        max_offsets_por_trigger=40, intervalo_escrita_decisoes_s=3
    )
    tudo = gerar_tudo(Parametros(semente=4, clientes=150, dias=1.0, taxa_invalidas=0.05))
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)
    mensagens = pd.DataFrame({"valor_bruto": [m.encode() for m in tudo.transacoes]})
    for coluna, valor in (("topico", "t"), ("particao", 0), ("offset", 0), ("timestamp_kafka", pd.NaT)):
        mensagens[coluna] = valor
    mensagens["data_hora_ingestao"] = pd.NaT
    esperadas = interpretar_transacoes_pandas(mensagens, CHAVE)["end_to_end_id"].dropna().nunique()

    estado = Path(checkpoint(cfg, CONSULTA)) / "estado"
    log = tmp_path / "pontuacao.log"
    processo = _processo_do_notebook(cfg, log)
    lotes_na_queda = derrubar_depois_de(processo, estado, 4, log)
    assert lotes_na_queda * 40 < len(tudo.transacoes), "a queda precisa ser no meio do stream"

    reinicio = _processo_do_notebook(cfg, log, "--disponivel")
    assert reinicio.wait(300) == 0, log.read_text(errors="replace")[-3000:]

    gold = tabela(cfg, "gold_decisoes").ler(spark)
    assert gold.count() == gold.select("end_to_end_id").distinct().count() == esperadas
    kafka = ler_decisoes_kafka(cfg)  # pelo menos uma vez: pode repetir, não pode faltar
    assert set(kafka["end_to_end_id"]) == {r.end_to_end_id for r in gold.select("end_to_end_id").collect()}


def _processo_do_notebook(cfg: Configuracao, saida: Path, *extras: str) -> subprocess.Popen:
    campos = ("max_offsets_por_trigger", "intervalo_escrita_decisoes_s", "pushgateway_url")
    return executar_em_processo(
        cfg.com(pushgateway_url=""), saida, ["modelo", "--modo", "pontuar", *extras], campos, CHAVE
    )


def test_champion_que_nao_carrega_ou_nao_serve_decide_so_com_regras_e_volta_no_rollback(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, pushgateway, ler_job
) -> None:
    """Degradar, nunca parar: champion corrompido ou incompatível vira só regras, com métrica; o rollback volta."""
    import copy

    import mlflow
    from mlflow import MlflowClient

    from testes.util import ModeloQueNaoDesserializa

    cfg = cfg_isolada(cfg_teste, broker_kafka, "pontuar-recusa").com(
        intervalo_modelo_s=1, pushgateway_url=pushgateway.url
    )
    configurar_mlflow(cfg)
    nome, cliente = cfg.nome_modelo_registrado, MlflowClient()
    dados = simular(PARAMETROS_TREINO)
    bom = treinar(
        dados.transacoes, cfg=cfg, med=dados.med, candidatos=("regras",), importancia_max_linhas=500, **DIVISAO
    )
    assert bom.promovido
    modelo_bom = mlflow.pyfunc.load_model(f"models:/{nome}/{bom.versao}").unwrap_python_model()
    incompativel = copy.copy(modelo_bom)
    incompativel.colunas = (*modelo_bom.colunas, "coluna_que_o_motor_nao_produz")
    versoes = {}
    for rotulo, python_model in (("corrompido", ModeloQueNaoDesserializa()), ("incompativel", incompativel)):
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(name="modelo", python_model=python_model, registered_model_name=nome)
        versoes[rotulo] = str(info.registered_model_version)
    cliente.set_registered_model_alias(nome, "champion", versoes["corrompido"])

    metricas = MetricasDaPontuacao(cfg, job="teste_pontuacao_recusa")
    tudo = gerar_tudo(Parametros(semente=12, clientes=300, dias=1.5, taxa_fraude=0.03, taxa_invalidas=0.0))
    tercos = [len(tudo.transacoes) * i // 3 for i in range(4)]
    consulta, pontuador = iniciar_pontuacao(spark, cfg, CHAVE, metricas=metricas)  # parte, mesmo sem champion usável
    try:
        for i, (versao, o_que) in enumerate(
            [(versoes["corrompido"], "corrompido"), (versoes["incompativel"], "incompativel"), (bom.versao, "rollback")]
        ):
            cliente.set_registered_model_alias(nome, "champion", versao)
            if o_que == "rollback":
                esperar(lambda: pontuador.vigia.atual.versao == bom.versao, 30, "o rollback para a versão boa")
            else:
                esperar(lambda v=versao: pontuador.vigia.recusada == v, 30, f"o champion {o_que} recusado")
            parte = slice(tercos[i], tercos[i + 1])
            produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes[parte], tudo.chaves[parte])
            esperar(lambda n=tercos[i + 1]: sum(r.decididas for r in pontuador.resumos) >= n, 120, f"o terço {i + 1}")
            if o_que != "rollback":
                metricas.publicar()
                series = ler_job("teste_pontuacao_recusa")
                assert series[("detector_pix_pontuacao_so_regras", frozenset())] == 1
                assert series[("detector_pix_champion_recusado", frozenset())] == float(versao)
        assert consulta.isActive and consulta.exception() is None  # a mesma consulta o tempo todo
        cliente.delete_registered_model_alias(nome, "champion")  # sem alias: de volta às regras
        esperar(lambda: pontuador.vigia.atual.so_regras, 30, "a volta às regras sem o alias")
    finally:
        consulta.stop()
        pontuador.encerrar()
    gold = tabela(cfg, "gold_decisoes").ler(spark).toPandas().sort_values(["particao", "offset"])
    assert len(gold) == len(tudo.transacoes) and gold["end_to_end_id"].is_unique
    assert set(gold["versao_modelo"]) == {VERSAO_SO_REGRAS, bom.versao}  # nunca o corrompido nem o incompatível
    assert (gold.groupby("particao")["versao_modelo"].last() == bom.versao).all()
