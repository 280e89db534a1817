"""Serviços comuns da decisão e o alimentador micro-batch (Spark) do núcleo: a linha de base do benchmark.

O caminho de produção é o ``tempo_real.py`` (Kafka direto, transações). Este módulo guarda:

- ``ServicosDaDecisao``: o que qualquer alimentador do núcleo faz fora do caminho quente (troca do champion
  sem reiniciar, marcas MED novas da ``silver_med``, deriva, precisão tardia, métricas);
- ``ProcessadorDeDecisoes``: o desenho anterior, um ``foreachBatch`` do Spark que passa o micro-batch ao mesmo
  ``NucleoDeDecisao``. Fica como segundo jeito de alimentar o núcleo e como linha de base medida lado a lado em
  ``detector-pix bench pontuacao``: paga o custo fixo de cada micro-batch (ler o lote do Kafka pelo Spark e
  trazê-lo ao pandas), e o tópico ``pix.decisoes`` sai pelo menos uma vez (um lote refeito publica de novo, com o
  mesmo ``id_decisao``). A ``gold_decisoes`` recebe as decisões por arquivos de pendência (write-ahead) gravados
  num commit Delta idempotente (``txnAppId``/``txnVersion``) em segundo plano.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingestao.bronze import ler_topico, para_bronze
from ingestao.decisoes import preparar_gold_decisoes
from machine_learning.decisao import DECISOES, VERSAO_SO_REGRAS
from machine_learning.deriva import JanelaDeDeriva, colunas_de_deriva, horas_do_evento
from machine_learning.limites import LimitesDoCliente, ler_limites_clientes
from machine_learning.modelo_em_uso import ModeloEmUso, VigiaDoChampion
from machine_learning.nucleo import NucleoDeDecisao, ResultadoDoLote, mensagens_kafka
from machine_learning.rotulos import JANELA_PRECISAO_TARDIA_DIAS, precisao_tardia
from plataforma.config import Configuracao
from plataforma.decisoes import ESQUEMA_DECISOES
from plataforma.kafka_cliente import produzir
from plataforma.kafka_opcoes import opcoes_cliente_kafka
from plataforma.memoria import congelar_objetos_da_partida
from plataforma.mlflow_local import configurar_mlflow
from plataforma.tabelas import checkpoint, tabela
from processamento.estado import ArmazemDeEstado, gravar_sequencial
from processamento.features import ParametrosFeatures
from processamento.pipeline import marcas_depois_de
from processamento.retomada import id_de_escrita

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery

    from monitoramento.metricas import MetricasDaPontuacao

CONSULTA = "pontuacao"
ID_APP = f"detector-pix:{CONSULTA}"
INTERVALO_PRECISAO_S = 300  # a precisão tardia muda no ritmo das MED (horas), não no dos lotes
log = logging.getLogger("detector_pix.pontuacao")


# Pendências -> gold_decisoes -----------------------------------------------------------------------
class EscritorDeDecisoes:
    """Grava as decisões na ``gold_decisoes`` em segundo plano, sem perder nenhuma numa queda.

    Cada lote vira um arquivo de pendência (parquet montado na memória e escrito de uma vez com
    ``processamento.estado.gravar_sequencial``, que serve num volume) antes de o lote terminar;
    ``descarregar`` junta as pendências num só commit Delta com ``txnVersion`` = maior lote, anota esse lote em
    ``gravado_ate`` e só então apaga os arquivos. Um lote refeito depois de gravado (o Spark refaz o último lote
    não confirmado no checkpoint) tem número <= ``gravado_ate``: a pendência é descartada, não regravada. Sem
    essa anotação, um lote refeito que viesse junto com um lote novo entraria de novo, porque a versão do
    commit seria a do lote novo. Uma queda entre o commit e a anotação deixa os mesmos arquivos, e o mesmo
    ``txnVersion`` o Delta ignora.
    """

    def __init__(self, spark: SparkSession, cfg: Configuracao) -> None:
        self.spark = spark
        self.cfg = cfg
        self.destino = tabela(cfg, "gold_decisoes")
        self.checkpoint = Path(checkpoint(cfg, CONSULTA))
        self.pasta = self.checkpoint / "pendentes"
        self.pasta.mkdir(parents=True, exist_ok=True)
        self.marca = self.pasta / "gravado_ate"
        self._trava = threading.Lock()
        self.linhas_gravadas = 0

    @property
    def id_app(self) -> str:
        """``txnAppId`` com a implantação e o id da consulta (``processamento.retomada.id_de_escrita``): um
        checkpoint novo recomeça os lotes do zero, e com o mesmo ``txnAppId`` o Delta descartaria em silêncio as
        decisões até passar a versão antiga."""
        return id_de_escrita(self.cfg, CONSULTA)

    def preparar_tabela(self) -> None:
        preparar_gold_decisoes(self.spark, self.cfg, ID_APP)

    def guardar_pendencia(self, lote: int, decisoes: pd.DataFrame) -> None:
        """Montada na memória e escrita de uma vez (a pasta pode ser um volume, sem escrita aleatória)."""
        memoria = io.BytesIO()
        decisoes.to_parquet(memoria, index=False)
        gravar_sequencial(self.pasta / f"{lote:012d}.parquet", memoria.getvalue())

    def pendentes(self) -> list[Path]:
        return sorted(self.pasta.glob("*.parquet"))

    def descarregar(self) -> int:
        """Grava todas as pendências num commit; devolve as linhas gravadas (0 se nada havia ou já estava lá)."""
        with self._trava:
            gravado_ate = int(self.marca.read_text()) if self.marca.exists() else -1
            arquivos = []
            for arquivo in self.pendentes():
                if int(arquivo.stem) <= gravado_ate:
                    arquivo.unlink()  # lote refeito que já está na tabela
                else:
                    arquivos.append(arquivo)
            if not arquivos:
                return 0
            partes = [pd.read_parquet(a) for a in arquivos]
            juntas = (
                pd.concat([p for p in partes if len(p)], ignore_index=True) if any(len(p) for p in partes) else None
            )
            versao = int(arquivos[-1].stem)
            if juntas is not None:
                for coluna in ("data_hora", "timestamp_kafka", "data_hora_decisao"):
                    juntas[coluna] = pd.to_datetime(juntas[coluna], utc=True)
                df = self.spark.createDataFrame(juntas[ESQUEMA_DECISOES.fieldNames()], ESQUEMA_DECISOES)
                self.destino.anexar(df.withColumn("data", F.to_date("data_hora")), self.id_app, versao, "data")
            gravar_sequencial(self.marca, str(versao).encode())
            for arquivo in arquivos:
                arquivo.unlink()
            gravadas = 0 if juntas is None else len(juntas)
            self.linhas_gravadas += gravadas
            return gravadas


# Contagens com memória fixa ------------------------------------------------------------------------
@dataclass
class TotaisDaVersao:
    lotes: int = 0
    entrada: int = 0
    duplicatas: int = 0
    sem_decisao: int = 0
    por_decisao: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISOES, 0))


class ResumoDaDecisao:
    """O que entrou e o que se decidiu, somado por versão do modelo, e as durações dos lotes recentes.

    Memória fixa: um stream contínuo roda meses, e uma lista por lote cresceria sem limite.
    """

    def __init__(self, max_duracoes: int = 10_000) -> None:
        self.por_versao: dict[str, TotaisDaVersao] = {}
        self.duracoes: deque[float] = deque(maxlen=max_duracoes)

    def somar(self, resultado: ResultadoDoLote, segundos: float) -> None:
        versao = resultado.modelo.versao if resultado.modelo else VERSAO_SO_REGRAS
        totais = self.por_versao.setdefault(versao, TotaisDaVersao())
        totais.lotes += 1
        totais.entrada += resultado.entrada
        totais.duplicatas += resultado.duplicatas
        totais.sem_decisao += resultado.sem_decisao
        for decisao, n in resultado.por_decisao.items():
            totais.por_decisao[decisao] += n
        self.duracoes.append(segundos)

    def total(self, campo: str) -> int:
        return sum(getattr(t, campo) for t in self.por_versao.values())

    @property
    def decididas(self) -> int:
        return sum(sum(t.por_decisao.values()) for t in self.por_versao.values())

    def texto(self, linhas_gravadas: int | None = None) -> str:
        """Uma linha por versão do modelo usada: o que entrou e o que se decidiu."""
        linhas = []
        for versao, t in self.por_versao.items():
            nome = "só regras" if versao == VERSAO_SO_REGRAS else f"modelo v{versao}"
            linhas.append(
                f"{nome}: {t.lotes} lotes, {t.entrada} mensagens -> "
                + ", ".join(f"{d} {n}" for d, n in t.por_decisao.items())
                + f"; duplicatas {t.duplicatas}, sem decisão {t.sem_decisao}"
            )
        if linhas_gravadas is not None:
            linhas.append(f"gold_decisoes: {linhas_gravadas} linhas gravadas nesta execução")
        return "\n".join(linhas)


# Serviços comuns, fora do caminho quente -------------------------------------------------------------
class ServicosDaDecisao:
    """O que todo alimentador do núcleo precisa e que não pode atrasar um Pix: troca do champion, marcas MED
    novas, deriva, precisão tardia e métricas. Uma linha de tarefas em segundo plano; falhas viram aviso.
    """

    def __init__(
        self,
        spark: SparkSession | None,
        cfg: Configuracao,
        metricas: MetricasDaPontuacao | None,
        chave: bytes | None = None,
    ) -> None:
        self.spark = spark
        self.cfg = cfg
        self.chave = chave  # para pseudonimizar a tabela de limites dos clientes como a silver
        self.limites_clientes: dict[str, LimitesDoCliente] = {}  # trocado inteiro a cada leitura
        self.metricas = metricas
        self.vigia = VigiaDoChampion(cfg)
        self.silver_med = tabela(cfg, "silver_med")
        self.gold_decisoes = tabela(cfg, "gold_decisoes")
        self.resumo = ResumoDaDecisao()
        self.med_ate = -1  # último lote da silver_med já aplicado como marca
        self._marcas: list[pd.DataFrame] = []
        self._trava_marcas = threading.Lock()
        self.janela_deriva: JanelaDeDeriva | None = None
        self._versao_deriva: str | None = None
        self._parar = threading.Event()
        self._tarefas: threading.Thread | None = None
        self._extras: dict[str, tuple[float, Callable[[], object]]] = {}

    # Marcas MED ----------------------------------------------------------------------------------
    def buscar_marcas(self) -> int:
        """Marcas MED novas da ``silver_med`` (notificações que acharam o Pix, até depois dele) para o próximo lote."""
        if self.spark is None or not self.silver_med.existe(self.spark):
            return 0
        with self._trava_marcas:
            ja_buscado = max([self.med_ate, *[int(m["lote"].max()) for m in self._marcas if len(m)]])
        novas = marcas_depois_de(self.silver_med.ler(self.spark), ja_buscado).toPandas()
        if len(novas):
            novas["data_hora_notificacao"] = pd.to_datetime(novas["data_hora_notificacao"], utc=True)
            with self._trava_marcas:
                self._marcas.append(novas)
        return len(novas)

    def buscar_limites_clientes(self) -> int:
        """Relê a ``tabela_limites_clientes`` (se configurada); o núcleo passa a usá-la no lote seguinte."""
        if self.spark is None or self.chave is None or not self.cfg.tabela_limites_clientes:
            return 0
        self.limites_clientes = ler_limites_clientes(self.spark, self.cfg, self.chave)
        return len(self.limites_clientes)

    def tomar_marcas(self) -> pd.DataFrame | None:
        """As marcas buscadas e ainda não aplicadas, para o lote que começa (``med_ate`` avança com elas)."""
        with self._trava_marcas:
            marcas, self._marcas = self._marcas, []
        juntas = pd.concat(marcas, ignore_index=True) if marcas else None
        if juntas is None or juntas.empty:
            return None
        self.med_ate = max(self.med_ate, int(juntas["lote"].max()))
        return juntas

    def recomecar_marcas(self, med_ate: int) -> None:
        """Depois de restaurar o estado: as marcas até ``med_ate`` já estão nele; as demais serão buscadas."""
        with self._trava_marcas:
            self.med_ate = med_ate
            self._marcas = [m[m["lote"] > med_ate] for m in self._marcas]

    # Modelo --------------------------------------------------------------------------------------
    def recusar(self, modelo: ModeloEmUso, erro: Exception) -> ModeloEmUso:
        """O ``ao_falhar`` do núcleo: o modelo falhou num lote; este e os seguintes decidem só com as regras."""
        self.vigia.recusar(modelo.versao, erro)
        self._publicar_modelo()
        return self.vigia.atual

    def _verificar_modelo(self) -> None:
        if self.vigia.verificar():
            congelar_objetos_da_partida(coletar=False)  # o modelo novo vive tanto quanto a partida
        self._publicar_modelo()

    def _publicar_modelo(self) -> None:
        if self.metricas:
            self.metricas.modelo(None if self.vigia.atual.so_regras else self.vigia.atual.versao, self.vigia.recusada)

    # Depois de cada lote ---------------------------------------------------------------------------
    def registrar(self, resultado: ResultadoDoLote, segundos: float) -> None:
        """Soma o lote às contagens, à janela da deriva e às métricas."""
        self.resumo.somar(resultado, segundos)
        if resultado.modelo is not None:
            self._observar_deriva(resultado.modelo, resultado.features, resultado.score)
        if resultado.sem_decisao:  # contadas na métrica detector_pix_sem_decisao (alerta MensagensSemDecisao)
            log.info("%s mensagens fora do contrato ficaram sem decisão (sem end_to_end_id legível ou de um "
                     "Pix já decidido).", resultado.sem_decisao)  # fmt: skip
        if self.metricas:
            decisoes = resultado.decisoes
            latencias = (decisoes["data_hora_decisao"] - decisoes["timestamp_kafka"]).dt.total_seconds().to_numpy()
            self.metricas.lote(
                resultado.por_decisao, latencias, segundos, resultado.sem_decisao, resultado.duplicatas
            )  # fmt: skip

    def _observar_deriva(self, modelo: ModeloEmUso, features: pd.DataFrame, score: np.ndarray) -> None:
        """Soma o lote à janela da deriva; um champion novo traz referência nova e recomeça a janela."""
        if self._versao_deriva != modelo.versao:
            referencia = modelo.referencia_deriva
            self.janela_deriva = None if referencia is None else JanelaDeDeriva(referencia)
            self._versao_deriva = modelo.versao
        janela = self.janela_deriva
        if janela is not None and len(score):
            janela.observar(colunas_de_deriva(features, score), horas_do_evento(features["data_hora"]))

    def _publicar_deriva(self) -> None:
        janela = self.janela_deriva
        if self.metricas:
            if janela is None:
                self.metricas.deriva({}, 0, 0)
            else:
                self.metricas.deriva(janela.psi(), janela.amostras, janela.horas_cobertas)

    def medir_precisao_tardia(self) -> dict[str, tuple[int, int]]:
        """Decisões dos últimos dias confirmadas pela MED, por tipo: ``{decisao: (avaliadas, confirmadas)}``."""
        destino = self.gold_decisoes
        if self.spark is None or not (self.silver_med.existe(self.spark) and destino.existe(self.spark)):
            return {}
        desde = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=JANELA_PRECISAO_TARDIA_DIAS)
        linhas = precisao_tardia(destino.ler(self.spark), self.silver_med.ler(self.spark), desde).collect()
        resultado = {r["decisao"]: (int(r["avaliadas"]), int(r["confirmadas"])) for r in linhas}
        if self.metricas:
            self.metricas.precisao_tardia(
                {d: a for d, (a, _) in resultado.items()}, {d: c for d, (_, c) in resultado.items()}
            )
        return resultado

    # A linha de tarefas ----------------------------------------------------------------------------
    def tarefas_periodicas(self, agora: float, proximas: dict[str, float]) -> None:
        """Uma rodada: cada tarefa roda quando chega a sua hora. Falhas viram aviso; o stream segue."""
        cfg = self.cfg
        tarefas = {
            "modelo": (cfg.intervalo_modelo_s, self._verificar_modelo),
            "marcas": (cfg.intervalo_modelo_s, self.buscar_marcas),
            "limites": (cfg.intervalo_modelo_s, self.buscar_limites_clientes),
            "precisao": (INTERVALO_PRECISAO_S, self.medir_precisao_tardia),
            "metricas": (10, self.publicar_metricas),
            **self._extras,
        }
        for nome, (intervalo, funcao) in tarefas.items():
            if agora < proximas.get(nome, 0.0):
                continue
            proximas[nome] = agora + intervalo
            try:
                funcao()
            except Exception as erro:
                log.warning("Tarefa '%s' da decisão falhou (%s); tento de novo em %s s.", nome, erro, intervalo)

    def publicar_metricas(self) -> None:
        if self.metricas:
            self._publicar_deriva()
            for nome, (_, funcao) in self._extras.items():
                if nome.startswith("metrica:"):
                    funcao()
            self.metricas.publicar()

    def iniciar(self, extras: dict[str, tuple[float, Callable[[], object]]] | None = None) -> None:
        """Antes do primeiro lote: carrega o champion, busca as marcas e liga a linha de tarefas.

        ``extras``: tarefas do alimentador (nome -> (intervalo em s, função)), na mesma linha.
        """
        self._extras = dict(extras or {})
        self._verificar_modelo()
        if self.metricas:
            self.metricas.partida()
        self.buscar_marcas()
        self.buscar_limites_clientes()
        proximas = {n: time.monotonic() + 1 for n in ("modelo", "marcas", "limites", "metricas", *self._extras)}
        proximas["precisao"] = time.monotonic()  # na partida, fora do caminho quente (a linha de tarefas)

        def laco() -> None:
            while not self._parar.wait(0.5):
                self.tarefas_periodicas(time.monotonic(), proximas)

        self._tarefas = threading.Thread(target=laco, name="detector-pix-decisao-tarefas", daemon=True)
        self._tarefas.start()

    def encerrar(self) -> None:
        self._parar.set()
        if self._tarefas is not None:
            self._tarefas.join(timeout=60)
        self.publicar_metricas()


# O alimentador micro-batch (Spark) -------------------------------------------------------------------
@dataclass
class ProcessadorDeDecisoes:
    """O ``foreachBatch`` da pontuação em micro-batch: o lote do Spark vai ao núcleo; o Kafka recebe as decisões
    (pelo menos uma vez) e a ``gold_decisoes`` as recebe das pendências. É a linha de base do benchmark."""

    spark: SparkSession
    cfg: Configuracao
    chave: bytes
    metricas: MetricasDaPontuacao | None = None
    parametros: ParametrosFeatures = field(default_factory=ParametrosFeatures)
    intervalo_snapshot: int = 200
    escrita_sincrona: bool = False  # só para o benchmark: o commit Delta dentro do lote

    def __post_init__(self) -> None:
        from confluent_kafka import Producer
        from threadpoolctl import threadpool_limits

        # Um lote tem centenas de linhas: o paralelismo OpenMP do predict do GBM não ganha nada e, com os núcleos
        # disputados (Spark, broker, produtor), a espera das threads vira cauda (medição em docs/benchmarks.md).
        self._limite_threads = threadpool_limits(limits=1, user_api="openmp")  # até encerrar()
        self.servicos = ServicosDaDecisao(self.spark, self.cfg, self.metricas, self.chave)
        self.nucleo = NucleoDeDecisao(
            self.chave, self.cfg.tolerancia_futuro_s, self.cfg.janela_deduplicacao_h, self.parametros
        )
        self.escritor = EscritorDeDecisoes(self.spark, self.cfg)
        self.armazem = ArmazemDeEstado(f"{checkpoint(self.cfg, CONSULTA)}/estado", self.intervalo_snapshot)
        opcoes = {"linger.ms": "2", "acks": "all", "enable.idempotence": "true", "compression.type": "lz4"}
        self.produtor = Producer({**opcoes_cliente_kafka(self.cfg), **opcoes})
        self.lote_em_memoria: int | None = None
        self._erros_entrega: list[str] = []

    @property
    def vigia(self) -> VigiaDoChampion:
        return self.servicos.vigia

    @property
    def resumo(self) -> ResumoDaDecisao:
        return self.servicos.resumo

    def _sincronizar(self, lote: int) -> None:
        if self.lote_em_memoria == lote - 1:
            return
        self.nucleo.reiniciar()
        med_ate = -1
        for extras in self.armazem.restaurar(lote - 1, self.nucleo.componentes()):
            med_ate = max(med_ate, int(extras["pontuacao.med_ate"][0]))
        self.servicos.recomecar_marcas(med_ate)
        self.lote_em_memoria = lote - 1

    def iniciar_tarefas(self) -> None:
        """Antes da consulta: grava pendências de uma execução anterior, carrega o champion, liga a linha."""
        self.escritor.preparar_tabela()
        self.escritor.descarregar()
        self.servicos.iniciar(
            {
                "escrita": (self.cfg.intervalo_escrita_decisoes_s, self.escritor.descarregar),
                "metrica:pendencias": (10, self._publicar_pendencias),
            }
        )

    def _publicar_pendencias(self) -> None:
        if self.metricas:
            self.metricas.pendencias_de_decisao(len(self.escritor.pendentes()))

    def encerrar(self) -> None:
        """Depois da consulta: para a linha de tarefas e grava o que estiver pendente."""
        self.escritor.descarregar()
        self.servicos.encerrar()
        self.produtor.flush(30)
        self._limite_threads.restore_original_limits()

    def _confirmar_entrega(self, erro, _mensagem) -> None:
        if erro is not None:
            self._erros_entrega.append(str(erro))

    def __call__(self, lote_df: DataFrame, lote: int) -> None:
        inicio = time.perf_counter()
        agora_s = time.time()
        self._sincronizar(lote)
        bronze = lote_df.toPandas()
        if bronze.empty:  # nada novo: o estado não muda (o armazém aceita lotes sem log)
            self.lote_em_memoria = lote
            return
        bronze["timestamp_kafka"] = pd.to_datetime(bronze["timestamp_kafka"]).dt.tz_localize("UTC")
        marcas = self.servicos.tomar_marcas()
        self.nucleo.limites_clientes = self.servicos.limites_clientes
        resultado = self.nucleo.decidir(
            bronze, lote, agora_s, marcas, self.vigia.atual, ao_falhar=self.servicos.recusar
        )  # fmt: skip
        self._publicar(resultado.decisoes)
        self.escritor.guardar_pendencia(lote, resultado.decisoes)
        if self.escrita_sincrona:
            self.escritor.descarregar()
        self.armazem.salvar(
            lote, self.nucleo.componentes(), {"pontuacao.med_ate": np.array([self.servicos.med_ate], np.int64)}
        )
        self.lote_em_memoria = lote
        self.servicos.registrar(resultado, time.perf_counter() - inicio)

    def _publicar(self, saida: pd.DataFrame) -> None:
        """Produz as decisões e espera o broker confirmar: o lote só termina com as decisões no Kafka."""
        if saida.empty:
            return
        topico = self.cfg.topico_decisoes
        produzir(self.produtor, topico, mensagens_kafka(saida), saida["end_to_end_id"], self._confirmar_entrega)
        restantes = self.produtor.flush(60)
        if restantes or self._erros_entrega:
            erros, self._erros_entrega = self._erros_entrega, []
            raise RuntimeError(
                f"Kafka {self.cfg.kafka_bootstrap}, tópico {topico}: {restantes} decisões não confirmadas e "
                f"{len(erros)} com erro ({erros[:1]}). O lote será refeito no reinício."
            )


def iniciar_pontuacao(
    spark: SparkSession,
    cfg: Configuracao,
    chave: bytes,
    disponivel: bool = False,
    metricas: MetricasDaPontuacao | None = None,
    escrita_sincrona: bool = False,
) -> tuple[StreamingQuery, ProcessadorDeDecisoes]:
    """Inicia a consulta de decisão sobre ``topico_transacoes``. Depois de parar, chame ``encerrar()``."""
    configurar_mlflow(cfg)  # o alias champion vem do registro da configuração, nunca de um ./mlflow.db implícito
    processador = ProcessadorDeDecisoes(spark, cfg, chave, metricas, escrita_sincrona=escrita_sincrona)
    processador.iniciar_tarefas()
    escritor = (
        para_bronze(ler_topico(spark, cfg, cfg.topico_transacoes))
        .writeStream.queryName(CONSULTA)
        .option("checkpointLocation", checkpoint(cfg, CONSULTA))
        .foreachBatch(processador)
    )
    if disponivel:
        escritor = escritor.trigger(availableNow=True)
    else:
        escritor = escritor.trigger(processingTime=cfg.intervalo_trigger_decisao)
    return escritor.start(), processador
