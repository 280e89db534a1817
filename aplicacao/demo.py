"""``detector-pix demo`` (o que ``make demo`` chama): o pipeline de ponta a ponta, contado no fim.

Simulador -> Kafka -> notebook de ingestão -> notebook de processamento -> notebook do modelo (treinar, depois
pontuar o tráfego inteiro) -> alguns segundos de tráfego ao vivo com a decisão em tempo real rodando, para medir a
latência. Tráfego novo a cada execução (tópicos e pasta próprios). O resumo compara as decisões com o gabarito
do simulador (precisão e recall), mostra a latência Kafka -> decisão, o run e a versão no MLflow e onde ficaram
as tabelas.

Sem Docker não há Grafana no laptop; por isso a demo sobe um Pushgateway e um Prometheus próprios (binários do
sistema, portas sorteadas), os streams publicam neles de verdade, e no fim o painel do Grafana é desenhado num PNG
com a mesma PromQL do ``detector-pix.json`` (``monitoramento/painel.py``).
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aplicacao.notebooks import executar_notebook
from plataforma.config import PREFIXO_AMBIENTE, Configuracao
from plataforma.erros import ErroDeAmbiente
from plataforma.kafka_local import BrokerKafkaLocal
from processamento.pseudonimizacao import criar_chave_local

if TYPE_CHECKING:
    from monitoramento.local import PrometheusLocal, PushgatewayLocal

ETAPAS = 9
TPS_AO_VIVO = 300
SEGUNDOS_AO_VIVO = 30
AQUECIMENTO_S = 8  # como no benchmark: fora os primeiros segundos (JIT do Spark e do Python)
RASPAGEM_S = 1  # o Prometheus da demo raspa a cada segundo: a demo inteira dura poucos minutos
# O que os notebooks (rodando neste processo) leem do ambiente para usar os tópicos, a pasta e o Pushgateway da demo.
CAMPOS_NO_AMBIENTE = (
    "dados_dir",
    "kafka_bootstrap",
    "topico_transacoes",
    "topico_med",
    "topico_decisoes",
    "topico_lotes_decisao",
    "pushgateway_url",
    "estado_inicial_decisao",
)


def _etapa(numero: int, texto: str) -> None:
    print(f"\n=== [{numero}/{ETAPAS}] {texto} ===", flush=True)


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
        topico_lotes_decisao=f"demo.{execucao}.decisoes.lotes",
    )

    _etapa(1, f"broker Kafka local em {demo.kafka_bootstrap} e monitoramento local (Pushgateway + Prometheus)")
    broker = BrokerKafkaLocal(demo, pasta=cfg.pasta_dados / "kafka")
    ja_estava = broker.status().vivo
    print(broker.iniciar().descrever() if not ja_estava else "Broker já estava rodando; usando-o.")
    broker.criar_topicos(demo.topicos)
    monitoramento = MonitoramentoDaDemo(pasta / "monitoramento")
    try:
        print(monitoramento.iniciar())
        demo = demo.com(pushgateway_url=monitoramento.url_pushgateway)  # vazio (sem binários) = métricas desligadas
        # A demo decide o período simulado inteiro para compará-lo ao gabarito; um banco aquece da silver (o padrão)
        # e decide só o que vem depois dela.
        demo = demo.com(estado_inicial_decisao="vazio")
        _etapa(2, f"simulador: {clientes} clientes, {dias:g} dias, {taxa_invalidas:.0%} de entrada ruim de propósito")
        parametros = Parametros(semente=semente, clientes=clientes, dias=dias, taxa_invalidas=taxa_invalidas)
        tudo = gerar_tudo(parametros)
        transacoes, med, gabarito = tudo.transacoes, tudo.med, tudo.gabarito
        produzir_mensagens(demo.kafka_bootstrap, demo.topico_transacoes, transacoes, tudo.chaves)
        produzir_mensagens(demo.kafka_bootstrap, demo.topico_med, med, tudo.chaves_med)
        print(f"{len(transacoes)} mensagens em {demo.topico_transacoes} ({len(tudo.defeitos)} ruins de propósito, "
              f"{tudo.fraudes} fraudes no gabarito) e {len(med)} notificações MED em {demo.topico_med}.")  # fmt: skip

        for campo in CAMPOS_NO_AMBIENTE:
            os.environ[PREFIXO_AMBIENTE + campo.upper()] = str(getattr(demo, campo))
        if not demo.chave_pseudonimizacao:
            print(f"Chave de pseudonimização desta demo (pasta própria): {criar_chave_local(demo)}")
        _etapa(3, "notebook de ingestão (Kafka -> bronze), modo disponível")
        executar_notebook("ingestao", {"disponivel": "sim"})
        _etapa(4, "notebook de processamento (bronze -> silver, quarentena, gold), modo disponível")
        executar_notebook("processamento", {"disponivel": "sim"})
        _etapa(5, "notebook do modelo, modo treinar (MLflow: registro, challenger -> champion)")
        arquivo_gabarito = pasta / "gabarito.csv"
        arquivo_gabarito.write_text("end_to_end_id,fraude,tipologia\n" + "\n".join(gabarito) + "\n", encoding="utf-8")
        executar_notebook("modelo", {"modo": "treinar", "gabarito": str(arquivo_gabarito)})
        _etapa(6, "notebook do modelo, modo pontuar: uma decisão para cada Pix do tópico; a ingestão grava a gold")
        executar_notebook("modelo", {"modo": "pontuar", "disponivel": "sim"})
        # A ingestão (contínua em produção) grava pix.decisoes na gold_decisoes; a decisão ao vivo mede a precisão
        # tardia sobre ela ao partir.
        executar_notebook("ingestao", {"disponivel": "sim"})
        # O lote único acima publica o total ao terminar; a consulta ao vivo, ao partir, zera o mesmo grupo no
        # Pushgateway. Três raspagens de espera para o Prometheus guardar o total antes disso.
        time.sleep(3 * RASPAGEM_S)
        _etapa(7, f"ao vivo: {TPS_AO_VIVO} Pix/s por {SEGUNDOS_AO_VIVO} s com a consulta de decisão rodando")
        inicio_ao_vivo_ms = _ao_vivo(demo)

        _etapa(8, "resumo")
        _resumir(demo, gabarito, inicio_ao_vivo_ms)
        _etapa(9, "painel do Grafana desenhado com as métricas desta demo")
        monitoramento.renderizar(pasta / "painel")
    finally:
        monitoramento.parar()
        if not ja_estava:
            broker.parar()
    print(f"\nDemo concluída em {time.perf_counter() - inicio:.0f} s.")
    return 0


class MonitoramentoDaDemo:
    """Pushgateway e Prometheus só da demo: portas sorteadas (um Pushgateway do usuário na 9091 fica intocado)."""

    def __init__(self, pasta: Path) -> None:
        self.pasta = pasta
        self.pushgateway: PushgatewayLocal | None = None
        self.prometheus: PrometheusLocal | None = None
        self.inicio = 0.0
        self.indisponivel = ""

    @property
    def url_pushgateway(self) -> str:
        return self.pushgateway.url if self.pushgateway and self.prometheus else ""

    def iniciar(self) -> str:
        """Sobe os dois; sem os binários, a demo segue sem métricas e a mensagem diz o que instalar."""
        from monitoramento.local import PrometheusLocal, PushgatewayLocal

        try:
            self.pushgateway = PushgatewayLocal(pasta=self.pasta / "pushgateway")
            self.pushgateway.iniciar()
            alvo = f"{self.pushgateway.host}:{self.pushgateway.porta}"
            self.prometheus = PrometheusLocal(alvo, intervalo=f"{RASPAGEM_S}s", pasta=self.pasta / "prometheus")
            self.prometheus.iniciar()
        except ErroDeAmbiente as erro:
            self.parar()
            self.indisponivel = str(erro)
            return f"Monitoramento desligado nesta demo (o pipeline segue, sem métricas nem painel): {erro}"
        self.inicio = time.time()
        return (
            f"Pushgateway em {self.pushgateway.url} e Prometheus em {self.prometheus.url} (raspagem a cada "
            f"{RASPAGEM_S} s, dados em {self.pasta}); os streams publicam as métricas ali."
        )

    def renderizar(self, destino: Path) -> None:
        """O painel sobre a janela da demo inteira: do Prometheus no ar até agora."""
        if self.prometheus is None:
            print(f"Painel não renderizado: {self.indisponivel}")
            return
        from monitoramento.painel import Janela, renderizar_painel

        janela = Janela.para(self.inicio, time.time(), RASPAGEM_S)
        resultado = renderizar_painel(self.prometheus.api, janela, destino, origem=self.prometheus.url)
        total = len(resultado.com_dados) + len(resultado.sem_dados)
        print(f"Painel do Grafana renderizado com a PromQL de detector-pix.json: {resultado.png}")
        print(f"Página com a imagem e a consulta de cada painel: {resultado.html}")
        print(f"{len(resultado.com_dados)} de {total} painéis com dados nesta demo.")
        if resultado.sem_dados:
            print("Sem dados: " + "; ".join(resultado.sem_dados) + ".")
        print("O Prometheus da demo para agora; para acompanhar streams ao vivo: python -m monitoramento.local")

    def parar(self) -> None:
        """Para só o que esta demo subiu; as raspagens ficam na pasta da demo."""
        for processo in (self.prometheus, self.pushgateway):
            if processo is not None:
                processo.parar()
        self.prometheus = self.pushgateway = None


def _ao_vivo(cfg: Configuracao) -> float:
    """A decisão em tempo real contínua (a mesma do notebook) com tráfego ao vivo de outro processo."""
    import threading

    from aplicacao.benchmarks import trafego_ao_vivo
    from machine_learning.tempo_real import DecisorEmTempoReal
    from monitoramento.metricas import MetricasDaPontuacao
    from plataforma.spark import obter_spark
    from processamento.pseudonimizacao import obter_chave

    spark = obter_spark(cfg)
    decisor = DecisorEmTempoReal(cfg, obter_chave(cfg), spark, MetricasDaPontuacao(cfg))
    decisor.iniciar()  # retoma do snapshot e dos offsets da etapa anterior: nada decidido de novo
    parar = threading.Event()
    laco = threading.Thread(target=decisor.executar, kwargs={"parar": parar}, daemon=True)
    laco.start()
    try:
        time.sleep(3)
        inicio_ms = time.time() * 1000
        trafego_ao_vivo(cfg, TPS_AO_VIVO, SEGUNDOS_AO_VIVO, clientes=2_000, semente=99)
        time.sleep(3)
    finally:
        parar.set()
        laco.join(60)
        decisor.encerrar()
    resumo = decisor.servicos.resumo
    print(f"{resumo.total('entrada')} mensagens ao vivo decididas em {resumo.total('lotes')} lotes (transações Kafka).")
    return inicio_ms


def _resumir(cfg: Configuracao, gabarito: list[str], inicio_ao_vivo_ms: float) -> None:
    import numpy as np
    import pandas as pd

    from ingestao.decisoes import gravar_decisoes_do_topico
    from machine_learning.decisao import APROVAR, DECISOES
    from machine_learning.nucleo import ler_decisoes_kafka
    from plataforma.mlflow_local import comando_ui, configurar_mlflow, versao_por_alias
    from plataforma.spark import obter_spark
    from plataforma.tabelas import TABELAS, tabela

    spark = obter_spark(cfg)
    gravadas = gravar_decisoes_do_topico(spark, cfg)
    print(f"gold_decisoes: {gravadas} decisões do tópico gravadas agora (o job de ingestão faz isso sem parar).")
    rotulos = pd.DataFrame([linha.split(",") for linha in gabarito], columns=["end_to_end_id", "fraude", "tipologia"])
    decisoes = tabela(cfg, "gold_decisoes").ler(spark).select("end_to_end_id", "decisao", "versao_modelo").toPandas()
    simuladas = decisoes.merge(rotulos, on="end_to_end_id")  # o período simulado (o ao vivo não tem gabarito aqui)
    fraude = simuladas["fraude"] == "1"
    alerta = simuladas["decisao"] != APROVAR
    print(f"Transações do período simulado decididas: {len(simuladas)} ({int(fraude.sum())} fraudes no gabarito).")
    print(f"{'decisão':<10}{'legítimas':>12}{'fraudes':>10}")
    for decisao in DECISOES:
        linha = simuladas["decisao"] == decisao
        print(f"{decisao:<10}{int((linha & ~fraude).sum()):>12}{int((linha & fraude).sum()):>10}")
    precisao = (alerta & fraude).sum() / max(alerta.sum(), 1)
    recall = (alerta & fraude).sum() / max(fraude.sum(), 1)
    print(f"Alertas (REVISAR + BLOQUEAR): {alerta.mean():.2%} das transações; precisão {precisao:.1%}, "
          f"recall {recall:.1%} contra o gabarito.")  # fmt: skip
    print(f"Versão do modelo nas decisões: {dict(simuladas['versao_modelo'].value_counts())}")

    kafka = ler_decisoes_kafka(cfg)
    kafka_ms = kafka["timestamp_decisao_ms"] - kafka["latencia_s"] * 1000
    ao_vivo = kafka[kafka_ms >= inicio_ao_vivo_ms + AQUECIMENTO_S * 1000]["latencia_s"].to_numpy()
    print(f"\n{cfg.topico_decisoes}: {len(kafka)} decisões publicadas.")
    if len(ao_vivo):
        p50, p99 = np.percentile(ao_vivo, [50, 99])
        print(f"Latência ao vivo, Pix no Kafka -> decisão no Kafka ({len(ao_vivo)} Pix a {TPS_AO_VIVO}/s, sem os "
              f"{AQUECIMENTO_S} s iniciais): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms. "
              "Medição completa: detector-pix bench pontuacao.")  # fmt: skip

    configurar_mlflow(cfg)
    versao = versao_por_alias(cfg.nome_modelo_registrado, "champion")
    if versao is None:
        print("\nMLflow: nenhum champion (as decisões usaram só as regras).")
    else:
        print(f"\nMLflow: champion = {cfg.nome_modelo_registrado} versão {versao.version} (run {versao.run_id}).")
    print(f"Abrir a interface: {comando_ui(cfg)}")
    print("\nOnde ficaram as tabelas:")
    for nome in TABELAS:
        t = tabela(cfg, nome)
        if t.existe(spark):
            print(f"  {nome:<20} {t.ler(spark).count():>8} linhas  {t.nome_uc or t.caminho}")
