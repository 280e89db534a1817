"""A decisão em tempo real com Kafka, Delta e registro do MLflow reais: cada Pix decidido uma vez, nos dois lugares.

O caminho quente (``tempo_real``) é o de produção; o micro-batch (``pontuacao``) alimenta o mesmo núcleo e precisa
decidir igual.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from ingestao.decisoes import gravar_decisoes_do_topico
from machine_learning.dados_simulados import simular
from machine_learning.decisao import BLOQUEAR, DECISOES, MENSAGEM_INVALIDA, VERSAO_SO_REGRAS
from machine_learning.deriva import HORAS_JANELA, horas_do_evento
from machine_learning.modelo_em_uso import VigiaDoChampion
from machine_learning.nucleo import ler_decisoes_kafka
from machine_learning.pontuacao import CONSULTA, EscritorDeDecisoes, iniciar_pontuacao
from machine_learning.tempo_real import DecisorEmTempoReal
from machine_learning.treino import treinar
from monitoramento.metricas import MetricasDaPontuacao
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.mlflow_local import configurar_mlflow
from plataforma.tabelas import checkpoint, tabela
from simulador import Parametros, gerar_tudo, produzir_mensagens
from simulador.parametros import DEFEITOS
from testes.processos import executar_em_processo
from testes.util import CHAVE, DIVISAO, PARAMETROS_TREINO, cfg_isolada, conferir_decisoes_iguais, esperar

pytestmark = pytest.mark.integracao

EM_ORDEM = tuple(d for d in DEFEITOS if d != "atrasada")  # defeitos que não tiram o tráfego da ordem do tempo


@contextmanager
def decisor_em_execucao(
    cfg: Configuracao, spark: SparkSession | None = None, metricas: MetricasDaPontuacao | None = None
) -> Iterator[DecisorEmTempoReal]:
    """O laço de decisão numa linha própria, como no job contínuo; parado e encerrado na saída."""
    decisor = DecisorEmTempoReal(cfg, CHAVE, spark, metricas)
    decisor.iniciar()
    parar, erros = threading.Event(), []

    def laco() -> None:
        try:
            decisor.executar(parar=parar)
        except BaseException as erro:  # o teste falha dizendo o quê
            erros.append(erro)

    linha = threading.Thread(target=laco, daemon=True)
    linha.start()
    try:
        yield decisor
        assert linha.is_alive() and not erros, erros  # o mesmo laço o tempo todo, sem reinício
    finally:
        parar.set()
        linha.join(60)
        decisor.encerrar()


def test_sem_champion_decide_so_com_regras_e_grava_no_delta_e_no_kafka(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, pushgateway, ler_job
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "pontuar-regras").com(pushgateway_url=pushgateway.url)
    metricas = MetricasDaPontuacao(cfg, job="teste_pontuacao_so_regras")
    configurar_mlflow(cfg)  # registro novo e vazio: nenhum champion
    tudo = gerar_tudo(Parametros(semente=3, clientes=300, dias=1.0, taxa_invalidas=0.05, taxa_fraude=0.02))
    enviadas = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)

    decisor = DecisorEmTempoReal(cfg, CHAVE, spark, metricas)
    decisor.iniciar()
    decisor.executar(disponivel=True)
    decisor.encerrar()
    gravar_decisoes_do_topico(spark, cfg)  # o que a ingestão faz continuamente

    gold = tabela(cfg, "gold_decisoes").ler(spark).toPandas()
    kafka = ler_decisoes_kafka(cfg)
    resumo = decisor.servicos.resumo
    entrada, duplicatas, sem_decisao = resumo.total("entrada"), resumo.total("duplicatas"), resumo.total("sem_decisao")
    # Nada se perde: cada mensagem é uma decisão, uma duplicata ou (sem end_to_end_id legível) contada.
    assert entrada == enviadas
    assert len(gold) + duplicatas + sem_decisao == enviadas
    assert duplicatas > 0 and sem_decisao > 0  # o teste exercita os dois casos
    assert gold["id_decisao"].is_unique
    assert len(kafka) == len(gold) and set(kafka["id_decisao"]) == set(gold["id_decisao"])
    assert (
        gold["id_decisao"] == gold["topico"] + "/" + gold["particao"].astype(str) + "/" + gold["offset"].astype(str)
    ).all()
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
    with decisor_em_execucao(cfg, spark, metricas) as decisor:
        resumo = decisor.servicos.resumo
        produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes[:metade], tudo.chaves[:metade])
        esperar(lambda: resumo.decididas >= metade, 120, "a 1ª metade decidida")
        assert set(resumo.por_versao) == {VERSAO_SO_REGRAS}

        dados = simular(PARAMETROS_TREINO)  # o histórico do "banco": outra população, com MED rápida
        resultado = treinar(
            dados.transacoes, cfg=cfg, med=dados.med, candidatos=("regras",), importancia_max_linhas=500, **DIVISAO
        )
        assert resultado.promovido  # primeiro modelo do registro: vira champion
        esperar(lambda: decisor.servicos.vigia.atual.versao == resultado.versao, 30, "o champion novo carregado")

        resto = tudo.transacoes[metade:]
        produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, resto, tudo.chaves[metade:])
        esperar(lambda: resumo.decididas >= len(tudo.transacoes), 120, "a 2ª metade")
    gravar_decisoes_do_topico(spark, cfg)
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
                "id_decisao": [f"t/0/{lote}{i:05d}" for i in range(n)],
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


def test_sigkill_no_meio_da_transacao_e_nas_quedas_cada_pix_decidido_uma_vez_como_sem_queda(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, tmp_path: Path
) -> None:
    """Exatamente uma vez: SIGKILL com a transação aberta, SIGKILL num ponto qualquer, reinício até o fim.

    Quem lê ``read_committed`` vê cada Pix válido decidido uma vez, com a mesma decisão de uma execução sem queda
    sobre o mesmo tópico; a ``gold_decisoes`` tem as mesmas decisões, uma vez cada.
    """
    cfg = cfg_isolada(cfg_teste, broker_kafka, "decisao-queda", particoes=1).com(
        max_mensagens_lote_decisao=15, intervalo_snapshot_decisao_s=1
    )
    tudo = gerar_tudo(Parametros(semente=4, clientes=250, dias=2.0, taxa_invalidas=0.05, defeitos=EM_ORDEM))
    enviadas = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)
    log = tmp_path / "decisao.log"

    # 1) Morre com a transação do lote 6 aberta: as decisões dele chegaram ao broker, sem commit.
    primeira = _processo_do_notebook(cfg, log, extras={"DETECTOR_PIX_PONTO_DE_FALHA": "antes_do_commit:6"})
    assert primeira.wait(300) == -signal.SIGKILL, log.read_text(errors="replace")[-3000:]
    # 2) Reinicia (recupera, cerca a transação aberta) e cai de novo num ponto qualquer, depois de alguns lotes.
    segunda = _processo_do_notebook(cfg, log)
    esperar(
        lambda: _lotes_registrados(cfg) >= 30,
        240,
        "a segunda execução registrar 30 lotes",
        diagnostico=lambda: log.read_text(errors="replace")[-3000:],
    )
    os.killpg(segunda.pid, signal.SIGKILL)
    segunda.wait(30)
    # 3) Reinicia e decide até o fim do tópico.
    terceira = _processo_do_notebook(cfg, log, "--disponivel")
    assert terceira.wait(300) == 0, log.read_text(errors="replace")[-3000:]
    assert "lotes refeitos" in log.read_text(errors="replace")

    # Execução sem queda, no mesmo tópico de transações (outra implantação: outro grupo, outras saídas).
    sem_queda = cfg.com(
        dados_dir=f"{cfg.dados_dir}-sem-queda", topico_decisoes=f"{cfg.topico_decisoes}.sem-queda",
        topico_lotes_decisao=f"{cfg.topico_lotes_decisao}.sem-queda", max_mensagens_lote_decisao=5_000,
    )  # fmt: skip
    broker_kafka.criar_topicos((sem_queda.topico_decisoes,), 1)
    referencia = DecisorEmTempoReal(sem_queda, CHAVE)
    referencia.iniciar()
    referencia.executar(disponivel=True)
    referencia.encerrar()

    kafka = conferir_decisoes_iguais(cfg, sem_queda, enviadas)
    # A transação abortada deixou decisões no log do tópico; read_committed não as vê.
    assert _mensagens_no_topico(cfg.topico_decisoes, cfg) > len(kafka)

    gravar_decisoes_do_topico(spark, cfg)  # a ingestão grava a gold_decisoes só com as transações confirmadas
    gold = tabela(cfg, "gold_decisoes").ler(spark).toPandas()
    assert gold["id_decisao"].is_unique and set(gold["id_decisao"]) == set(kafka.index)


def test_microlote_do_spark_alimenta_o_mesmo_nucleo_e_decide_igual(
    spark: SparkSession, cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal
) -> None:
    """Sem segunda cópia da lógica: o micro-batch (linha de base) e o caminho quente decidem o mesmo tráfego igual."""
    # Uma partição: a ordem de chegada é a mesma para os dois, qualquer que seja o corte dos lotes. Com várias, um
    # atraso entre partições muda a ordem em que o estado do recebedor vê os Pix (docs/arquitetura.md).
    cfg = cfg_isolada(cfg_teste, broker_kafka, "decisao-microlote", particoes=1)
    configurar_mlflow(cfg)
    tudo = gerar_tudo(Parametros(semente=9, clientes=250, dias=1.5, taxa_invalidas=0.05, defeitos=EM_ORDEM))
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)
    consulta, pontuador = iniciar_pontuacao(spark, cfg, CHAVE, disponivel=True)
    consulta.awaitTermination()
    pontuador.encerrar()
    quente = cfg.com(topico_decisoes=f"{cfg.topico_decisoes}.quente", topico_lotes_decisao=f"{cfg.topico_decisoes}.l")
    broker_kafka.criar_topicos((quente.topico_decisoes,), 1)
    decisor = DecisorEmTempoReal(quente, CHAVE)
    decisor.iniciar()
    decisor.executar(disponivel=True)
    decisor.encerrar()

    microlote = ler_decisoes_kafka(cfg).drop_duplicates("id_decisao").set_index("id_decisao").sort_index()
    tempo_real = ler_decisoes_kafka(quente).set_index("id_decisao").sort_index()
    assert len(tempo_real) > 500 and microlote.index.equals(tempo_real.index)
    for coluna in ("decisao", "versao_modelo", "end_to_end_id"):
        assert (microlote[coluna] == tempo_real[coluna]).all(), coluna
    assert (microlote["score"].fillna(-1) == tempo_real["score"].fillna(-1)).all()
    assert pontuador.resumo.total("entrada") == decisor.servicos.resumo.total("entrada") == len(tudo.transacoes)


def _lotes_registrados(cfg: Configuracao) -> int:
    return _mensagens_no_topico(cfg.topico_lotes_decisao, cfg)


def _mensagens_no_topico(topico: str, cfg: Configuracao) -> int:
    """Mensagens no log do tópico (inclusive de transações abortadas), pelos offsets: o que read_uncommitted veria."""
    from confluent_kafka import Consumer, TopicPartition

    leitor = Consumer({"bootstrap.servers": cfg.kafka_bootstrap, "group.id": f"contagem-{uuid.uuid4().hex}"})
    try:
        metadados = leitor.list_topics(topico, timeout=10).topics[topico]
        if metadados.error is not None:
            return 0
        total = 0
        for p in metadados.partitions:
            inicio, fim = leitor.get_watermark_offsets(TopicPartition(topico, p), timeout=10)
            total += fim - inicio
        return total
    finally:
        leitor.close()


def _processo_do_notebook(
    cfg: Configuracao, saida: Path, *argumentos: str, extras: dict[str, str] | None = None
) -> subprocess.Popen:
    campos = ("max_mensagens_lote_decisao", "intervalo_snapshot_decisao_s", "pushgateway_url")
    return executar_em_processo(
        cfg.com(pushgateway_url=""), saida, ["modelo", "--modo", "pontuar", *argumentos], campos, CHAVE, extras
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
    with decisor_em_execucao(cfg, spark, metricas) as decisor:  # parte, mesmo sem champion usável
        vigia, resumo = decisor.servicos.vigia, decisor.servicos.resumo
        for i, (versao, o_que) in enumerate(
            [(versoes["corrompido"], "corrompido"), (versoes["incompativel"], "incompativel"), (bom.versao, "rollback")]
        ):
            cliente.set_registered_model_alias(nome, "champion", versao)
            if o_que == "rollback":
                esperar(lambda: vigia.atual.versao == bom.versao, 30, "o rollback para a versão boa")
            else:
                esperar(lambda v=versao: vigia.recusada == v, 30, f"o champion {o_que} recusado")
            parte = slice(tercos[i], tercos[i + 1])
            produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes[parte], tudo.chaves[parte])
            esperar(lambda n=tercos[i + 1]: resumo.decididas >= n, 120, f"o terço {i + 1}")
            if o_que != "rollback":
                metricas.publicar()
                series = ler_job("teste_pontuacao_recusa")
                assert series[("detector_pix_pontuacao_so_regras", frozenset())] == 1
                assert series[("detector_pix_champion_recusado", frozenset())] == float(versao)
        cliente.delete_registered_model_alias(nome, "champion")  # sem alias: de volta às regras
        esperar(lambda: vigia.atual.so_regras, 30, "a volta às regras sem o alias")
    gravar_decisoes_do_topico(spark, cfg)
    gold = tabela(cfg, "gold_decisoes").ler(spark).toPandas().sort_values(["particao", "offset"])
    assert len(gold) == len(tudo.transacoes) and gold["end_to_end_id"].is_unique
    assert set(gold["versao_modelo"]) == {VERSAO_SO_REGRAS, bom.versao}  # nunca o corrompido nem o incompatível
    assert (gold.groupby("particao")["versao_modelo"].last() == bom.versao).all()


def test_mlflow_e_pushgateway_fora_do_ar_nao_param_a_decisao(
    cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Degradar, nunca parar: registro do MLflow e Pushgateway fora do ar com o laço rodando; a decisão segue com o
    champion que já tinha, e cada Pix é decidido."""
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # sem as novas tentativas do cliente
    cfg = cfg_isolada(cfg_teste, broker_kafka, "decisao-fora-do-ar").com(
        intervalo_modelo_s=1,
        pushgateway_url="http://127.0.0.1:9",  # porta fechada: Pushgateway fora desde o início
    )
    configurar_mlflow(cfg)
    dados = simular(PARAMETROS_TREINO)
    champion = treinar(
        dados.transacoes, cfg=cfg, med=dados.med, candidatos=("regras",), importancia_max_linhas=500, **DIVISAO
    )
    assert champion.promovido
    tudo = gerar_tudo(Parametros(semente=13, clientes=200, dias=1.0, taxa_invalidas=0.0))
    anterior = mlflow.get_registry_uri()
    try:
        with decisor_em_execucao(cfg, None, MetricasDaPontuacao(cfg, job="teste_decisao_fora_do_ar")) as decisor:
            esperar(lambda: decisor.servicos.vigia.atual.versao == champion.versao, 30, "o champion carregado")
            mlflow.set_registry_uri("http://127.0.0.1:9")  # o registro cai com o laço rodando
            time.sleep(2 * cfg.intervalo_modelo_s + 1)  # o vigia tenta e não consegue
            produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)
            esperar(lambda: decisor.servicos.resumo.total("entrada") >= len(tudo.transacoes), 120, "tudo decidido")
            assert decisor.servicos.vigia.atual.versao == champion.versao
    finally:
        mlflow.set_registry_uri(anterior)
    decisoes = ler_decisoes_kafka(cfg)
    assert len(decisoes) == len(tudo.transacoes) - decisor.servicos.resumo.total("duplicatas")
    assert set(decisoes["versao_modelo"]) == {champion.versao}  # nunca caiu para só regras por causa da queda
