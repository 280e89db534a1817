"""A consulta de decisão: cada Pix do Kafka recebe ``APROVAR``/``REVISAR``/``BLOQUEAR`` em menos de 1 s.

Por que direto do Kafka, e não da gold: encadear Kafka -> bronze -> silver -> gold custa três commits Delta
por lote, e a latência fica em segundos, não em milissegundos (docs/benchmarks.md). Esta consulta lê o tópico
de transações e, no mesmo ``foreachBatch``, interpreta, deduplica, calcula as features com o **mesmo**
``MotorDeFeatures`` (estado próprio), pontua com o champion e publica em ``pix.decisoes``. O caminho quente não
toca o Delta:

1. Kafka (transações) -> lote no driver -> contrato + pseudonimização -> deduplicação -> features;
2. score do champion (ou só regras) + regras duras -> decisão e motivos;
3. produção em ``pix.decisoes`` (confirmada pelo broker antes de seguir);
4. o lote de decisões vai para um arquivo de pendências (write-ahead) e o estado do motor para o armazém;
5. uma linha de trabalho em segundo plano grava as pendências na ``gold_decisoes`` a cada
   ``intervalo_escrita_decisoes_s`` (``txnAppId``/``txnVersion``: idempotente), confere o alias champion e
   busca marcas MED novas a cada ``intervalo_modelo_s``, e publica as métricas.

Garantias: a ``gold_decisoes`` tem cada decisão uma vez (uma queda entre 3 e 5 deixa a pendência no disco,
gravada no reinício; um lote refeito regrava o mesmo arquivo, e o Delta ignora a versão repetida). O tópico
``pix.decisoes`` é pelo menos uma vez, como o sink Kafka do Spark: um lote refeito depois de uma queda publica
de novo as mesmas decisões, com a mesma chave (``end_to_end_id``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestao.bronze import ler_topico, para_bronze
from machine_learning.decisao import (
    DECISOES,
    LIMIARES_SO_REGRAS,
    MENSAGEM_INVALIDA,
    REVISAR,
    VERSAO_SO_REGRAS,
    decidir,
    pontuar_regras,
)
from machine_learning.deriva import JanelaDeDeriva, ReferenciaDeDeriva, colunas_de_deriva, horas_do_evento
from machine_learning.rotulos import JANELA_PRECISAO_TARDIA_DIAS, precisao_tardia
from plataforma.config import Configuracao
from plataforma.kafka_cliente import produzir
from plataforma.kafka_opcoes import opcoes_cliente_kafka
from plataforma.mlflow_local import configurar_mlflow, versao_por_alias
from plataforma.tabelas import checkpoint, tabela
from processamento.deduplicacao import Deduplicador
from processamento.estado import ArmazemDeEstado
from processamento.features import COLUNAS_ENTRADA, COLUNAS_FEATURES, MotorDeFeatures, ParametrosFeatures
from processamento.silver import interpretar_transacoes_pandas

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery

    from monitoramento.metricas import MetricasDaPontuacao

CONSULTA = "pontuacao"
ID_APP = f"detector-pix:{CONSULTA}"
INTERVALO_EXPIRACAO = 200  # lotes entre duas varreduras de expiração do estado (lotes aqui são curtos)
INTERVALO_PRECISAO_S = 300  # a precisão tardia muda no ritmo das MED (horas), não no dos lotes
log = logging.getLogger("detector_pix.pontuacao")

ESQUEMA_DECISOES = T.StructType(
    [
        T.StructField("end_to_end_id", T.StringType()),
        T.StructField("decisao", T.StringType()),
        T.StructField("score", T.DoubleType()),
        T.StructField("motivos", T.ArrayType(T.StringType())),
        T.StructField("versao_modelo", T.StringType()),
        T.StructField("data_hora", T.TimestampType()),
        T.StructField("timestamp_kafka", T.TimestampType()),
        T.StructField("data_hora_decisao", T.TimestampType()),
        T.StructField("valor", T.DoubleType()),
        T.StructField("pagador_id_conta", T.StringType()),
        T.StructField("recebedor_id_conta", T.StringType()),
        T.StructField("topico", T.StringType()),
        T.StructField("particao", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("lote", T.LongType()),
    ]
)


# Modelo em uso -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModeloEmUso:
    """O que pontua agora: a versão do champion (com limiares) ou, sem champion, só as regras."""

    versao: str  # número da versão no registro, ou VERSAO_SO_REGRAS
    modelo: object | None = None  # ModeloFraudePix (o python_model do pyfunc)

    @property
    def so_regras(self) -> bool:
        return self.modelo is None

    @property
    def limiares(self) -> dict[str, float]:
        return LIMIARES_SO_REGRAS if self.modelo is None else self.modelo.limiares

    @property
    def referencia_deriva(self) -> ReferenciaDeDeriva | None:
        """As distribuições do treino, gravadas com o modelo; só regras não tem referência."""
        dados = getattr(self.modelo, "referencia_deriva", None)  # modelo registrado antes da deriva: sem ela
        return None if dados is None else ReferenciaDeDeriva.de_dict(dados)

    def pontuar(self, features: pd.DataFrame) -> np.ndarray:
        if self.modelo is None:
            return pontuar_regras(features)
        return self.modelo.pontuar(features)  # o modelo escolhe as colunas com que foi treinado


def conferir_compatibilidade(modelo: object) -> None:
    """Pontua um Pix sintético com as colunas que o motor produz; levanta se o modelo não serve a este motor.

    Um champion treinado com uma coluna que o motor não produz (ou que devolve lixo) derrubaria cada lote, e o
    reinício cairia no mesmo lote: melhor recusá-lo aqui, fora do caminho quente, e seguir com as regras.
    """
    sonda = pd.DataFrame({nome: np.zeros(1, tipo) for nome, tipo in COLUNAS_FEATURES.items()})
    sonda = sonda.assign(valor=100.0, pagador_tipo_pessoa="PF", recebedor_tipo_pessoa="PF", forma_iniciacao="DICT")
    score = np.asarray(modelo.pontuar(sonda), dtype=np.float64)
    if score.shape != (1,) or not np.all((score >= 0) & (score <= 1)):
        raise ValueError(f"o modelo devolveu {score!r} para um Pix; esperado um score entre 0 e 1")


class VigiaDoChampion:
    """Confere o alias ``champion`` e carrega a versão nova fora do caminho quente (troca sem reiniciar).

    Degrada, nunca para: sem alias, ou com um champion que não carrega (artefato sumido, erro ao desserializar) ou
    que não serve a este motor, a decisão segue só com as regras (métrica ``so_regras`` e alerta
    DecisaoSoComRegras) e a versão é tentada de novo a cada ``intervalo_modelo_s``.
    """

    def __init__(self, cfg: Configuracao) -> None:
        self.nome = cfg.nome_modelo_registrado
        self.atual = ModeloEmUso(VERSAO_SO_REGRAS)
        self.recusada: str | None = None  # a versão com o alias que não pôde ser usada (None = nenhuma)

    def recusar(self, versao: str, erro: BaseException) -> None:
        """Volta às regras e anota a versão recusada; o aviso sai uma vez por versão."""
        if self.recusada != versao:
            log.error(
                "Champion %s versão %s recusado (%s: %s): decidindo SÓ COM AS REGRAS; tento de novo a cada "
                "intervalo_modelo_s.",
                self.nome,
                versao,
                type(erro).__name__,
                erro,
            )
        self.recusada = versao
        self.atual = ModeloEmUso(VERSAO_SO_REGRAS)

    def verificar(self) -> bool:
        """True se o modelo em uso mudou. Um registro fora do ar mantém o modelo atual (e avisa)."""
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            registrada = versao_por_alias(self.nome, "champion")  # None: sem alias ou sem modelo (código do MLflow)
        except MlflowException as erro:
            log.warning("Registro do MLflow indisponível (%s); sigo com %s.", erro, self._descrever())
            return False
        if registrada is None:
            self.recusada = None
            if not self.atual.so_regras:
                log.warning("O alias champion de %s sumiu: decidindo SÓ COM AS REGRAS até haver um.", self.nome)
                self.atual = ModeloEmUso(VERSAO_SO_REGRAS)
                return True
            if not getattr(self, "_avisado", False):
                log.warning("Nenhum champion de %s no registro: decidindo SÓ COM AS REGRAS até haver um.", self.nome)
                self._avisado = True
            return False
        versao = str(registrada.version)
        if versao == self.atual.versao:
            return False
        try:
            modelo = mlflow.pyfunc.load_model(f"models:/{self.nome}/{versao}").unwrap_python_model()
            conferir_compatibilidade(modelo)
        except Exception as erro:  # qualquer falha do modelo vira "só regras", nunca uma decisão a menos
            mudou = not self.atual.so_regras
            self.recusar(versao, erro)
            return mudou
        self.atual = ModeloEmUso(versao, modelo)
        self.recusada = None
        log.warning("Champion de %s agora é a versão %s: usado a partir do próximo lote.", self.nome, versao)
        return True

    def _descrever(self) -> str:
        return "só as regras" if self.atual.so_regras else f"a versão {self.atual.versao}"


# Pendências -> gold_decisoes -----------------------------------------------------------------------
class EscritorDeDecisoes:
    """Grava as decisões na ``gold_decisoes`` em segundo plano, sem perder nenhuma numa queda.

    Cada lote vira um arquivo de pendência (parquet, gravado e renomeado: atômico) antes de o lote terminar;
    ``descarregar`` junta as pendências num só commit Delta com ``txnVersion`` = maior lote, anota esse lote em
    ``gravado_ate`` e só então apaga os arquivos. Um lote refeito depois de gravado (o Spark refaz o último lote
    não confirmado no checkpoint) tem número <= ``gravado_ate``: a pendência é descartada, não regravada. Sem
    essa anotação, um lote refeito que viesse junto com um lote novo entraria de novo, porque a versão do
    commit seria a do lote novo. Uma queda entre o commit e a anotação deixa os mesmos arquivos, e o mesmo
    ``txnVersion`` o Delta ignora.
    """

    def __init__(self, spark: SparkSession, cfg: Configuracao) -> None:
        self.spark = spark
        self.destino = tabela(cfg, "gold_decisoes")
        self.checkpoint = Path(checkpoint(cfg, CONSULTA))
        self.pasta = self.checkpoint / "pendentes"
        self.pasta.mkdir(parents=True, exist_ok=True)
        self.marca = self.pasta / "gravado_ate"
        self._trava = threading.Lock()
        self.linhas_gravadas = 0

    @property
    def id_app(self) -> str:
        """``txnAppId`` com o id da consulta (guardado no checkpoint): um checkpoint novo recomeça os lotes do
        zero, e com o mesmo ``txnAppId`` o Delta descartaria em silêncio as decisões até passar a versão antiga."""
        metadados = self.checkpoint / "metadata"
        if metadados.exists():
            return f"{ID_APP}:{json.loads(metadados.read_text().splitlines()[0])['id']}"
        return ID_APP

    def preparar_tabela(self) -> None:
        if not self.destino.existe(self.spark):
            vazio = self.spark.createDataFrame([], ESQUEMA_DECISOES).withColumn("data", F.to_date("data_hora"))
            propriedades = {"delta.dataSkippingStatsColumns": "end_to_end_id,data_hora,decisao,lote"}
            self.destino.anexar(vazio, f"{ID_APP}:criacao", 0, "data", propriedades)

    def guardar_pendencia(self, lote: int, decisoes: pd.DataFrame) -> None:
        temporario = self.pasta / f".{lote:012d}.tmp"
        decisoes.to_parquet(temporario, index=False)
        os.replace(temporario, self.pasta / f"{lote:012d}.parquet")

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
            temporario = self.marca.with_suffix(".tmp")
            temporario.write_text(str(versao))
            os.replace(temporario, self.marca)
            for arquivo in arquivos:
                arquivo.unlink()
            gravadas = 0 if juntas is None else len(juntas)
            self.linhas_gravadas += gravadas
            return gravadas


# O foreachBatch ------------------------------------------------------------------------------------
@dataclass
class ResumoDaPontuacao:
    lote: int
    entrada: int
    decididas: int
    duplicatas: int
    sem_decisao: int
    segundos: float
    versao_modelo: str
    por_decisao: dict[str, int]


def resumir_decisoes(processador: ProcessadorDeDecisoes) -> str:
    """Uma linha por versão do modelo usada: o que entrou e o que se decidiu."""
    linhas = []
    for versao in dict.fromkeys(r.versao_modelo for r in processador.resumos):
        deste = [r for r in processador.resumos if r.versao_modelo == versao]
        total = {d: sum(r.por_decisao.get(d, 0) for r in deste) for d in DECISOES}
        nome = "só regras" if versao == VERSAO_SO_REGRAS else f"modelo v{versao}"
        linhas.append(
            f"{nome}: {len(deste)} lotes, {sum(r.entrada for r in deste)} mensagens -> "
            + ", ".join(f"{d} {n}" for d, n in total.items())
            + f"; duplicatas {sum(r.duplicatas for r in deste)}, sem decisão {sum(r.sem_decisao for r in deste)}"
        )
    gravadas = processador.escritor.linhas_gravadas
    return "\n".join([*linhas, f"gold_decisoes: {gravadas} linhas gravadas nesta execução"])


@dataclass
class ProcessadorDeDecisoes:
    """O ``foreachBatch`` da pontuação. Estado próprio (motor + deduplicação), reconstruível após uma queda."""

    spark: SparkSession
    cfg: Configuracao
    chave: bytes
    metricas: MetricasDaPontuacao | None = None
    parametros: ParametrosFeatures = field(default_factory=ParametrosFeatures)
    intervalo_snapshot: int = 200
    resumos: list[ResumoDaPontuacao] = field(default_factory=list)
    escrita_sincrona: bool = False  # só para o benchmark: o commit Delta dentro do lote (a linha de base)

    def __post_init__(self) -> None:
        from confluent_kafka import Producer
        from threadpoolctl import threadpool_limits

        # Um lote tem centenas de linhas: o paralelismo OpenMP do predict do GBM não ganha nada e, com os núcleos
        # disputados (Spark, broker, produtor), a espera das threads vira cauda (medição em docs/benchmarks.md).
        self._limite_threads = threadpool_limits(limits=1, user_api="openmp")  # até encerrar()
        self.vigia = VigiaDoChampion(self.cfg)
        self.escritor = EscritorDeDecisoes(self.spark, self.cfg)
        self.silver_med = tabela(self.cfg, "silver_med")
        self.armazem = ArmazemDeEstado(f"{checkpoint(self.cfg, CONSULTA)}/estado", self.intervalo_snapshot)
        opcoes = {"linger.ms": "2", "acks": "all", "enable.idempotence": "true", "compression.type": "lz4"}
        self.produtor = Producer({**opcoes_cliente_kafka(self.cfg), **opcoes})
        self.lote_em_memoria: int | None = None
        self._marcas: list[pd.DataFrame] = []
        self._trava_marcas = threading.Lock()
        self._parar = threading.Event()
        self._tarefas: threading.Thread | None = None
        self._erros_entrega: list[str] = []
        self.janela_deriva: JanelaDeDeriva | None = None
        self._versao_deriva: str | None = None
        self._reiniciar_estado()

    # Estado ----------------------------------------------------------------------------------
    def _reiniciar_estado(self) -> None:
        self.motor = MotorDeFeatures(self.parametros)
        self.dedup = Deduplicador(self.cfg.janela_deduplicacao_h)
        self.med_ate = -1  # último lote da silver_med já aplicado como marca

    def _sincronizar(self, lote: int) -> None:
        if self.lote_em_memoria == lote - 1:
            return
        self._reiniciar_estado()
        for extras in self.armazem.restaurar(lote - 1, {"features": self.motor, "dedup": self.dedup}):
            self.med_ate = max(self.med_ate, int(extras["pontuacao.med_ate"][0]))
        with self._trava_marcas:
            self._marcas = [m[m["lote"] > self.med_ate] for m in self._marcas]
        self.lote_em_memoria = lote - 1

    # Tarefas em segundo plano ----------------------------------------------------------------
    def buscar_marcas(self) -> int:
        """Notificações MED novas da ``silver_med`` (as que acharam a conta recebedora) para o próximo lote."""
        if not self.silver_med.existe(self.spark):
            return 0
        with self._trava_marcas:
            ja_buscado = max([self.med_ate, *[int(m["lote"].max()) for m in self._marcas if len(m)]])
        novas = (
            self.silver_med.ler(self.spark)
            .where((F.col("lote") > ja_buscado) & F.col("recebedor_id_conta").isNotNull())
            .select("recebedor_id_conta", "data_hora_notificacao", "lote")
            .toPandas()
        )
        if len(novas):
            novas["data_hora_notificacao"] = pd.to_datetime(novas["data_hora_notificacao"], utc=True)
            with self._trava_marcas:
                self._marcas.append(novas)
        return len(novas)

    def medir_precisao_tardia(self) -> dict[str, tuple[int, int]]:
        """Decisões dos últimos dias confirmadas pela MED, por tipo: ``{decisao: (avaliadas, confirmadas)}``."""
        destino = self.escritor.destino
        if not (self.silver_med.existe(self.spark) and destino.existe(self.spark)):
            return {}
        desde = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=JANELA_PRECISAO_TARDIA_DIAS)
        linhas = precisao_tardia(destino.ler(self.spark), self.silver_med.ler(self.spark), desde).collect()
        resultado = {r["decisao"]: (int(r["avaliadas"]), int(r["confirmadas"])) for r in linhas}
        if self.metricas:
            self.metricas.precisao_tardia(
                {d: a for d, (a, _) in resultado.items()}, {d: c for d, (_, c) in resultado.items()}
            )
        return resultado

    def _observar_deriva(self, modelo: ModeloEmUso, features: pd.DataFrame, score: np.ndarray) -> None:
        """Soma o lote à janela da deriva; um champion novo traz referência nova e recomeça a janela."""
        if self._versao_deriva != modelo.versao:
            referencia = modelo.referencia_deriva
            self.janela_deriva = None if referencia is None else JanelaDeDeriva(referencia)
            self._versao_deriva = modelo.versao
        janela = self.janela_deriva
        if janela is not None and len(score):
            janela.observar(colunas_de_deriva(features, score), horas_do_evento(features["data_hora"]))
        if self.metricas:
            if janela is None:
                self.metricas.deriva({}, 0, 0)
            else:
                self.metricas.deriva(janela.psi(), janela.amostras, janela.horas_cobertas)

    def tarefas_periodicas(self, agora: float, proximas: dict[str, float]) -> None:
        """Uma rodada: cada tarefa roda quando chega a sua hora. Falhas viram aviso; o stream segue."""
        cfg = self.cfg
        tarefas = {
            "modelo": (cfg.intervalo_modelo_s, self._verificar_modelo),
            "marcas": (cfg.intervalo_modelo_s, self.buscar_marcas),
            "escrita": (cfg.intervalo_escrita_decisoes_s, self.escritor.descarregar),
            "precisao": (INTERVALO_PRECISAO_S, self.medir_precisao_tardia),
            "metricas": (10, self._publicar_metricas),
        }
        for nome, (intervalo, funcao) in tarefas.items():
            if agora < proximas.get(nome, 0.0):
                continue
            proximas[nome] = agora + intervalo
            try:
                funcao()
            except Exception as erro:
                log.warning("Tarefa '%s' da pontuação falhou (%s); tento de novo em %s s.", nome, erro, intervalo)

    def _publicar_metricas(self) -> None:
        if self.metricas:
            self.metricas.pendencias_de_decisao(len(self.escritor.pendentes()))
            self.metricas.publicar()

    def _verificar_modelo(self) -> None:
        self.vigia.verificar()
        self._publicar_modelo()

    def _publicar_modelo(self) -> None:
        if self.metricas:
            self.metricas.modelo(None if self.vigia.atual.so_regras else self.vigia.atual.versao, self.vigia.recusada)

    def iniciar_tarefas(self) -> None:
        """Antes da consulta: grava pendências de uma execução anterior, carrega o champion, liga a linha."""
        self.escritor.preparar_tabela()
        self.escritor.descarregar()
        self._verificar_modelo()
        if self.metricas:
            self.metricas.partida()
        self.buscar_marcas()
        proximas = {n: time.monotonic() + 1 for n in ("modelo", "marcas", "escrita", "metricas")}
        proximas["precisao"] = time.monotonic()  # na partida, fora do caminho quente (a linha de tarefas)

        def laco() -> None:
            while not self._parar.wait(0.5):
                self.tarefas_periodicas(time.monotonic(), proximas)

        self._tarefas = threading.Thread(target=laco, name="detector-pix-pontuacao-tarefas", daemon=True)
        self._tarefas.start()

    def encerrar(self) -> None:
        """Depois da consulta: para a linha de tarefas e grava o que estiver pendente."""
        self._parar.set()
        if self._tarefas is not None:
            self._tarefas.join(timeout=60)
        self.escritor.descarregar()
        self._publicar_metricas()
        self.produtor.flush(30)
        self._limite_threads.restore_original_limits()

    # O lote ----------------------------------------------------------------------------------
    def _confirmar_entrega(self, erro, _mensagem) -> None:
        if erro is not None:
            self._erros_entrega.append(str(erro))

    def __call__(self, lote_df: DataFrame, lote: int) -> None:
        inicio = time.perf_counter()
        self._sincronizar(lote)
        modelo = self.vigia.atual  # uma referência por lote: a troca de champion vale no lote seguinte
        bronze = lote_df.toPandas()
        if bronze.empty:  # nada novo: o estado não muda (o armazém aceita lotes sem log)
            self.lote_em_memoria = lote
            return
        for coluna in ("timestamp_kafka", "data_hora_ingestao"):
            bronze[coluna] = pd.to_datetime(bronze[coluna]).dt.tz_localize("UTC")
        lido = interpretar_transacoes_pandas(bronze, self.chave, self.cfg.tolerancia_futuro_s)
        validas = lido["motivos"].str.len() == 0
        candidatas = lido[validas].sort_values(["topico", "particao", "offset"])
        duplicata, _antigo = self.dedup.classificar(candidatas["end_to_end_id"])
        aceitas = candidatas[~duplicata]
        with self._trava_marcas:
            marcas, self._marcas = self._marcas, []
        marcas_df = pd.concat(marcas, ignore_index=True) if marcas else None
        if marcas_df is not None and len(marcas_df):
            self.med_ate = max(self.med_ate, int(marcas_df["lote"].max()))
        extras = ["forma_iniciacao", "timestamp_kafka", "topico", "particao", "offset"]
        features = self.motor.processar_linha_do_tempo(aceitas[[*COLUNAS_ENTRADA, *extras]], marcas_df)
        if lote % INTERVALO_EXPIRACAO == 0:
            self.motor.expirar()

        score, modelo = self._pontuar(modelo, features)
        self._observar_deriva(modelo, features, score)
        decididas = decidir(features, score, modelo.limiares) if len(features) else pd.DataFrame()
        saida = features[["end_to_end_id", "data_hora", "timestamp_kafka", "valor", "pagador_id_conta",
                          "recebedor_id_conta", "topico", "particao", "offset"]].assign(
            decisao=decididas.get("decisao"), motivos=decididas.get("motivos"), score=score,
            versao_modelo=modelo.versao,
        )  # fmt: skip
        # Mensagem fora do contrato com end_to_end_id legível: não dá para aprovar às cegas; vai para revisão.
        invalidas = lido[~validas & lido["end_to_end_id"].notna()]
        if len(invalidas):
            saida = pd.concat(
                [
                    saida,
                    invalidas[["end_to_end_id", "timestamp_kafka", "topico", "particao", "offset"]].assign(
                        decisao=REVISAR,
                        motivos=[[MENSAGEM_INVALIDA, *m] for m in invalidas["motivos"]],
                        score=np.nan,
                        versao_modelo=modelo.versao,
                    ),
                ],
                ignore_index=True,
            )
        saida["data_hora_decisao"] = pd.Timestamp.now(tz="UTC")
        saida["lote"] = lote
        self._publicar(saida)
        self.escritor.guardar_pendencia(lote, saida[ESQUEMA_DECISOES.fieldNames()])
        if self.escrita_sincrona:
            self.escritor.descarregar()
        self.armazem.salvar(
            lote,
            {"features": self.motor, "dedup": self.dedup},
            {"pontuacao.med_ate": np.array([self.med_ate], np.int64)},
        )
        self.lote_em_memoria = lote
        segundos = time.perf_counter() - inicio
        sem_decisao = int((~validas & lido["end_to_end_id"].isna()).sum())
        if sem_decisao:
            log.warning("Lote %s: %s mensagens sem end_to_end_id legível ficaram sem decisão.", lote, sem_decisao)
        contagem = saida["decisao"].value_counts()
        por_decisao = {d: int(contagem.get(d, 0)) for d in DECISOES}
        duplicatas = int(duplicata.sum())
        self.resumos.append(
            ResumoDaPontuacao(
                lote, len(lido), len(saida), duplicatas, sem_decisao, segundos, modelo.versao, por_decisao
            )
        )
        if self.metricas:
            latencias = (saida["data_hora_decisao"] - saida["timestamp_kafka"]).dt.total_seconds().to_numpy()
            self.metricas.lote(por_decisao, latencias, segundos, sem_decisao, duplicatas)

    def _pontuar(self, modelo: ModeloEmUso, features: pd.DataFrame) -> tuple[np.ndarray, ModeloEmUso]:
        """Score do lote; se o modelo falhar aqui, este lote e os seguintes decidem só com as regras."""
        if not len(features):
            return np.zeros(0), modelo
        try:
            return modelo.pontuar(features), modelo
        except Exception as erro:  # um lote que falha seria refeito e falharia de novo, para sempre
            if modelo.so_regras:
                raise  # as regras são código do projeto: falha nelas é defeito, não entrada
            self.vigia.recusar(modelo.versao, erro)
            self._publicar_modelo()
            regras = self.vigia.atual
            return regras.pontuar(features), regras

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


def _iso(coluna: pd.Series) -> list[str | None]:
    texto = coluna.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "Z"
    return texto.where(coluna.notna(), None).tolist()


def mensagens_kafka(saida: pd.DataFrame) -> list[str]:
    """JSON de cada decisão em ``pix.decisoes`` (contrato em docs/contrato_de_dados.md)."""
    colunas = {
        "end_to_end_id": saida["end_to_end_id"].tolist(),
        "decisao": saida["decisao"].tolist(),
        "score": [None if s != s else round(float(s), 6) for s in saida["score"]],
        "motivos": [list(m) for m in saida["motivos"]],
        "versao_modelo": saida["versao_modelo"].tolist(),
        "data_hora": _iso(pd.to_datetime(saida["data_hora"], utc=True)),
        "timestamp_kafka": _iso(saida["timestamp_kafka"]),
        "data_hora_decisao": _iso(saida["data_hora_decisao"]),
    }
    nomes = list(colunas)
    return [
        json.dumps(dict(zip(nomes, valores, strict=True)), ensure_ascii=False)
        for valores in zip(*colunas.values(), strict=True)
    ]


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


def ler_decisoes_kafka(cfg: Configuracao, espera_s: float = 60.0) -> pd.DataFrame:
    """Todas as decisões de ``topico_decisoes`` até o fim atual, com a chave e o timestamp do Kafka.

    ``latencia_s``: do timestamp do Pix no Kafka até o da decisão (com o tópico em ``LogAppendTime``, como o
    broker local o cria, é o instante em que a decisão ficou disponível para quem consome).
    """
    from confluent_kafka import Consumer, TopicPartition

    topico = cfg.topico_decisoes
    opcoes = {**opcoes_cliente_kafka(cfg), "group.id": f"detector-pix-leitura-{os.getpid()}-{time.time_ns()}"}
    consumidor = Consumer({**opcoes, "enable.auto.commit": "false"})
    try:
        particoes = consumidor.list_topics(topico, timeout=10).topics[topico].partitions
        fins = {p: consumidor.get_watermark_offsets(TopicPartition(topico, p), timeout=10)[1] for p in particoes}
        consumidor.assign([TopicPartition(topico, p, 0) for p in particoes])
        linhas, lidas, limite = [], dict.fromkeys(fins, 0), time.monotonic() + espera_s
        while any(lidas[p] < fim for p, fim in fins.items()) and time.monotonic() < limite:
            for m in consumidor.consume(10_000, timeout=1.0):
                if m.error():
                    continue
                lidas[m.partition()] = m.offset() + 1
                linhas.append(
                    json.loads(m.value()) | {"chave": m.key().decode(), "timestamp_decisao_ms": m.timestamp()[1]}
                )
    finally:
        consumidor.close()
    decisoes = pd.DataFrame(linhas)
    if len(decisoes):
        kafka_ms = pd.to_datetime(decisoes["timestamp_kafka"], utc=True).astype("int64") // 1_000_000
        decisoes["latencia_s"] = (decisoes["timestamp_decisao_ms"] - kafka_ms) / 1000
    return decisoes


def executar_pontuacao(spark: SparkSession, cfg: Configuracao, disponivel: bool = False) -> str:
    """O modo ``pontuar`` do notebook do modelo numa chamada: métricas, chave, consulta, espera e encerramento.

    ``disponivel`` decide o que já está no tópico e para; sem ele, espera até a consulta parar (o job contínuo a
    reinicia numa falha). As pendências vão para a ``gold_decisoes`` antes de sair, mesmo numa exceção. Devolve o
    resumo das decisões (``resumir_decisoes``).
    """
    from monitoramento.metricas import MetricasDaPontuacao
    from processamento.pseudonimizacao import obter_chave

    metricas = MetricasDaPontuacao(cfg)  # Pushgateway em cfg.pushgateway_url (vazio = desligado)
    consulta, processador = iniciar_pontuacao(spark, cfg, obter_chave(cfg), disponivel, metricas=metricas)
    try:
        consulta.awaitTermination()
    finally:
        if consulta.isActive:
            consulta.stop()
        processador.encerrar()
    return resumir_decisoes(processador)
