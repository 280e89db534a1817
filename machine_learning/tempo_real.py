"""Decisão em tempo real: o núcleo alimentado direto do Kafka, em transações, sem micro-batch do Spark.

Por que sem o Spark no caminho quente: o micro-batch só lia o lote do Kafka para o driver; o resto (contrato,
deduplicação, features, score) já rodava num processo Python, e cada Pix pagava o custo fixo de um lote do Spark
(docs/benchmarks.md). Aqui o laço é:

1. espera o primeiro Pix (``poll``) e junta o que já chegou, até ``max_mensagens_lote_decisao``;
2. o ``NucleoDeDecisao`` (o mesmo do micro-batch e da recuperação) interpreta, deduplica, calcula as features e
   decide;
3. numa transação Kafka: as decisões em ``topico_decisoes``, o registro do lote em ``topico_lotes_decisao`` e os
   offsets consumidos (``send_offsets_to_transaction``); commit.

Garantias:

- **Exatamente uma vez** para quem lê ``pix.decisoes`` com ``isolation.level=read_committed``: decisões,
  registro do lote e offsets entram juntos ou não entram. Uma queda no meio aborta a transação; a próxima
  instância (mesmo ``transactional.id``, que cerca a anterior) volta aos offsets confirmados.
- **Estado igual ao de uma execução sem queda**: o estado (motor de features e deduplicação) vira snapshot a cada
  ``intervalo_snapshot_decisao_s``, escrito inteiro, sem escrita aleatória (volume do Unity Catalog, S3, ADLS).
  Na partida, o último snapshot mais os lotes registrados depois dele, refeitos pelo mesmo núcleo com o mesmo
  relógio e as mesmas marcas MED, reconstroem o estado exato dos offsets confirmados.
- **Uma instância por implantação**: o ``transactional.id`` é o da implantação; uma segunda instância cerca a
  primeira, que para com erro (nunca duas decidindo o mesmo Pix).

Sem Spark no processo do laço além do que roda fora do caminho quente (marcas MED, precisão tardia, aquecimento):
a ``gold_decisoes`` é o tópico de decisões gravado pela ingestão (``ingestao/decisoes.py``), cada decisão uma vez.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from machine_learning.limites import Bloqueio
from machine_learning.nucleo import (
    ErroDeRecuperacao,
    NucleoDeDecisao,
    ResultadoDoLote,
    faixas_de_json,
    faixas_para_json,
    leitor_de_recuperacao,
    marcas_de_registro,
    marcas_para_registro,
    mensagens_kafka,
    mensagens_para_df,
    reler_faixas,
)
from machine_learning.pontuacao import ServicosDaDecisao
from plataforma.config import Configuracao
from plataforma.kafka_cliente import criar_topicos, particoes_do_topico
from plataforma.kafka_opcoes import opcoes_cliente_kafka
from plataforma.memoria import congelar_objetos_da_partida
from plataforma.mlflow_local import configurar_mlflow
from plataforma.tabelas import checkpoint
from processamento.estado import ArmazemDeEstado, SnapshotsEmSegundoPlano, aplicar_estado, juntar_estado
from processamento.features import ParametrosFeatures

if TYPE_CHECKING:
    from confluent_kafka import Consumer
    from pyspark.sql import SparkSession

    from monitoramento.metricas import MetricasDaPontuacao

CONSULTA = "decisao"
log = logging.getLogger("detector_pix.tempo_real")

# Ponto de falha para os testes de queda: "antes_do_commit:<lote>" mata o processo (SIGKILL) com a transação do
# lote aberta, decisões já enviadas ao broker e não confirmadas. Vazio em produção.
_PONTO_DE_FALHA = os.environ.get("DETECTOR_PIX_PONTO_DE_FALHA", "")


@dataclass(frozen=True)
class RegistroDeLote:
    """O que refaz um lote: as faixas de offsets lidas, o relógio, as marcas MED aplicadas e os bloqueios.

    Os bloqueios (``machine_learning.limites``) saem das decisões, que uma recuperação não refaz: vão gravados.
    """

    lote: int
    agora_ms: int
    faixas: dict[int, tuple[int, int]]  # partição -> [início, fim)
    marcas: list[tuple[str, int]]  # (recebedor_id_conta, instante em ms)
    med_ate: int
    bloqueios: list[list] = field(default_factory=list)  # Bloqueio.como_lista()

    def para_json(self) -> bytes:
        return json.dumps(
            {
                "lote": self.lote,
                "agora_ms": self.agora_ms,
                "faixas": faixas_para_json(self.faixas),
                "marcas": [list(m) for m in self.marcas],
                "med_ate": self.med_ate,
                "bloqueios": self.bloqueios,
            }
        ).encode()

    @classmethod
    def de_json(cls, bruto: bytes) -> RegistroDeLote:
        d = json.loads(bruto)
        faixas = faixas_de_json(d["faixas"])
        marcas = [(r, int(t)) for r, t in d["marcas"]]
        return cls(int(d["lote"]), int(d["agora_ms"]), faixas, marcas, d["med_ate"], d.get("bloqueios", []))

    def marcas_df(self) -> pd.DataFrame | None:
        return marcas_de_registro(self.marcas)


class DecisorEmTempoReal:
    """O caminho quente: ``iniciar()``, depois ``executar()`` (ou ``passo()`` a passo), e ``encerrar()``."""

    def __init__(
        self,
        cfg: Configuracao,
        chave: bytes,
        spark: SparkSession | None = None,
        metricas: MetricasDaPontuacao | None = None,
        parametros: ParametrosFeatures | None = None,
    ) -> None:
        self.cfg = cfg
        self.spark = spark
        self.nucleo = NucleoDeDecisao(chave, cfg.tolerancia_futuro_s, cfg.janela_deduplicacao_h, parametros)
        self.servicos = ServicosDaDecisao(spark, cfg, metricas, chave)
        self.armazem = ArmazemDeEstado(f"{checkpoint(cfg, CONSULTA)}/estado")
        # Um grupo e um transactional.id por implantação e tópico: dev e prod nunca se cercam nem se confundem.
        self.identidade = f"detector-pix-decisao:{cfg.implantacao}:{cfg.topico_transacoes}"
        self.proximo_lote = 0
        self.posicoes: dict[int, int] = {}  # partição -> próximo offset (o que a transação confirmou)
        self.proximo_registro = 0  # offset, no tópico de lotes, depois do registro do último lote
        self.snapshots = SnapshotsEmSegundoPlano(
            self.armazem, cfg.intervalo_snapshot_decisao_s, "detector-pix-snapshot"
        )
        self.lotes_refeitos = 0
        self._produtor = None
        self._consumidor: Consumer | None = None
        self._particoes: list[int] = []

    # Partida ---------------------------------------------------------------------------------------
    def iniciar(self) -> None:
        """Cerca uma instância anterior, reconstrói o estado, posiciona o consumidor e liga as tarefas."""
        from confluent_kafka import Consumer, Producer
        from threadpoolctl import threadpool_limits

        # Lotes de dezenas a milhares de linhas: o OpenMP do predict do GBM não ganha nada e vira cauda de latência.
        self._limite_threads = threadpool_limits(limits=1, user_api="openmp")
        cfg = self.cfg
        configurar_mlflow(cfg)  # o alias champion vem do registro da configuração, nunca de um ./mlflow.db implícito
        base = opcoes_cliente_kafka(cfg)
        self._criar_topico_de_lotes()
        self._produtor = Producer(
            {**base, "transactional.id": self.identidade, "linger.ms": "0", "compression.type": "lz4",
             "transaction.timeout.ms": "60000"}
        )  # fmt: skip
        # Aborta a transação aberta de uma instância que caiu. Num broker recém-criado o coordenador de transações
        # leva segundos para carregar: a espera é longa de propósito.
        self._produtor.init_transactions(180)
        self._consumidor = Consumer(
            {**base, "group.id": self.identidade, "enable.auto.commit": "false",
             "isolation.level": "read_committed", "auto.offset.reset": cfg.offsets_iniciais,
             "enable.partition.eof": "false"}
        )  # fmt: skip
        self._particoes = particoes_do_topico(self._consumidor, cfg.topico_transacoes, cfg.kafka_bootstrap)
        particoes_do_topico(self._consumidor, cfg.topico_decisoes, cfg.kafka_bootstrap)  # erro claro já na partida
        self.recuperar()
        self.servicos.iniciar()
        congelar_objetos_da_partida()
        log.warning(
            "Decisão em tempo real: %s -> %s (transações Kafka, grupo %s); champion conferido a cada %s s.",
            cfg.topico_transacoes, cfg.topico_decisoes, self.identidade, cfg.intervalo_modelo_s,
        )  # fmt: skip

    def _criar_topico_de_lotes(self) -> None:
        """Uma partição (ordem total dos lotes); retenção maior que o intervalo entre snapshots, com folga; a
        replicação é a padrão do broker (o broker local tem uma; o do banco, a dele)."""
        topico = self.cfg.topico_lotes_decisao
        criar_topicos(
            opcoes_cliente_kafka(self.cfg), [topico], 1,
            configuracoes={topico: {"retention.ms": str(7 * 24 * 3_600_000)}}, replicacao=-1,
        )  # fmt: skip

    # Recuperação -----------------------------------------------------------------------------------
    def recuperar(self) -> None:
        """Estado = último snapshot + lotes registrados depois dele; consumidor nos offsets confirmados.

        Sem snapshot nem registros (primeira partida, ou depois de um reinício do estado), o estado é aquecido da
        silver até offsets conhecidos (``aquecer``), como o treino o vê, e o consumo segue do offset seguinte.
        """
        from confluent_kafka import OFFSET_INVALID, TopicPartition

        inicio = time.perf_counter()
        self.nucleo.reiniciar()
        base_lote, med_ate, self.posicoes, self.proximo_registro = -1, -1, {}, 0
        snapshot = self.armazem.ultimo_snapshot()
        if snapshot is not None:
            base_lote, estado = snapshot
            aplicar_estado(estado, self.nucleo.componentes())
            med_ate = int(estado["meta.med_ate"][0])
            self.posicoes = dict(zip(estado["meta.particoes"].tolist(), estado["meta.posicoes"].tolist(), strict=True))
            self.proximo_registro = int(estado["meta.proximo_registro"][0])
        registros = self._ler_registros(self.proximo_registro, base_lote)
        topico = self.cfg.topico_transacoes
        confirmados = {
            tp.partition: tp.offset
            for tp in self._consumidor.committed([TopicPartition(topico, p) for p in self._particoes], timeout=30)
            if tp.offset >= 0
        }
        self.aquecido = False
        if snapshot is None and not registros and self.cfg.estado_inicial_decisao == "silver":
            aquecimento = self.aquecer(confirmados)
            if aquecimento is not None:
                base_lote, med_ate, self.aquecido = 0, aquecimento, True
        self.lotes_refeitos = len(registros)
        if registros:
            med_ate = self._refazer(registros)
        self.proximo_lote = (registros[-1].lote if registros else base_lote) + 1
        self.servicos.recomecar_marcas(med_ate)
        self.nucleo.motor.esquecer_mudancas()
        self.nucleo.dedup.esquecer_mudancas()

        for particao, offset in confirmados.items():
            esperado = self.posicoes.get(particao)
            if esperado is not None and offset != esperado:
                raise ErroDeRecuperacao(
                    f"Grupo {self.identidade}, partição {particao} de {topico}: offset confirmado {offset}, mas o "
                    f"estado reconstruído (snapshot + lotes registrados em {self.cfg.topico_lotes_decisao}) termina "
                    f"em {esperado}. O tópico de lotes perdeu registros (retenção?) ou o grupo foi reposicionado à "
                    "mão. Procedimento em docs/uso_operacional.md (reinício do estado da decisão)."
                )
            self.posicoes[particao] = offset
        # Sem offset confirmado: o do estado (aquecido ou de um snapshot); sem nenhum, offsets_iniciais.
        self._consumidor.assign(
            [TopicPartition(topico, p, self.posicoes.get(p, OFFSET_INVALID)) for p in self._particoes]
        )
        if self.aquecido:
            self._talvez_snapshot(forcar=True)  # a próxima partida não aquece de novo
        log.warning(
            "Decisão em tempo real: estado do lote %s (snapshot %s%s + %s lotes refeitos) em %.1f s; offsets %s.",
            self.proximo_lote - 1, base_lote, ", aquecido da silver" if self.aquecido else "", len(registros),
            time.perf_counter() - inicio, self.posicoes,
        )  # fmt: skip

    def aquecer(self, confirmados: dict[int, int]) -> int | None:
        """Estado da história da ``silver_transacoes`` deste tópico, pelo mesmo laço do treino; devolve o ``med_ate``.

        Corte: o que a silver tem abaixo dos offsets confirmados (se houver). Se a decisão está adiante do
        processamento (offset confirmado além do fim da silver), o trecho do Kafka entre os dois passa pelo núcleo
        sem decidir. ``None`` sem Spark ou sem história: o estado começa vazio.
        """
        if self.spark is None:
            return None
        from pyspark.sql import functions as F

        from plataforma.tabelas import tabela
        from processamento.historico import dias_da_tabela, percorrer_dias

        silver, silver_med = tabela(self.cfg, "silver_transacoes"), tabela(self.cfg, "silver_med")
        if not silver.existe(self.spark):
            return None
        historia = silver.ler(self.spark).where(F.col("topico") == self.cfg.topico_transacoes)
        for particao, offset in confirmados.items():
            historia = historia.where((F.col("particao") != particao) | (F.col("offset") < offset))
        historia = historia.cache()
        fins = {
            int(r["particao"]): int(r["ultimo"]) + 1
            for r in historia.groupBy("particao").agg(F.max("offset").alias("ultimo")).collect()
        }
        if not fins:
            historia.unpersist()
            return None
        marcas, med_ate = None, -1
        if silver_med.existe(self.spark):
            med = silver_med.ler(self.spark).where(F.col("recebedor_id_conta").isNotNull())
            marcas = med.select("recebedor_id_conta", "data_hora_notificacao", "lote").toPandas()
            med_ate = int(marcas["lote"].max()) if len(marcas) else -1
        inicio = time.perf_counter()
        linhas = 0
        for do_dia, _features in percorrer_dias(self.nucleo.motor, dias_da_tabela(historia), marcas):
            self.nucleo.dedup.classificar(do_dia.sort_values(["data_hora", "end_to_end_id"])["end_to_end_id"])
            linhas += len(do_dia)
        historia.unpersist()
        self.posicoes = dict(fins)
        adiante = {p: (fins[p], c) for p, c in confirmados.items() if p in fins and c > fins[p]}
        if adiante:
            self._refazer([RegistroDeLote(0, int(time.time() * 1000), adiante, [], med_ate)])
        log.warning(
            "Estado aquecido da silver: %s transações até os offsets %s em %.1f s.",
            linhas, fins, time.perf_counter() - inicio,
        )  # fmt: skip
        return med_ate

    def _ler_registros(self, desde: int, depois_do_lote: int) -> list[RegistroDeLote]:
        """Os registros de lote confirmados a partir do offset ``desde``, até o fim do tópico de lotes."""
        from confluent_kafka import KafkaError, TopicPartition

        topico = self.cfg.topico_lotes_decisao
        leitor = leitor_de_recuperacao(self.cfg, self.identidade)
        registros: list[RegistroDeLote] = []
        try:
            leitor.assign([TopicPartition(topico, 0, desde)])
            while True:
                m = leitor.poll(30)
                if m is None:
                    raise ErroDeRecuperacao(f"Kafka {self.cfg.kafka_bootstrap}: tópico {topico} não respondeu em 30 s.")
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        break
                    raise ErroDeRecuperacao(f"Kafka: erro lendo {topico}: {m.error()}")
                registro = RegistroDeLote.de_json(m.value())
                if registro.lote > depois_do_lote:
                    registros.append(registro)
                self.proximo_registro = m.offset() + 1
        finally:
            leitor.close()
        esperado = depois_do_lote + 1
        for registro in registros:
            if registro.lote != esperado:
                raise ErroDeRecuperacao(
                    f"{topico}: esperava o lote {esperado} e achei o {registro.lote}; o log de lotes não continua o "
                    "snapshot (retenção curta demais?). Procedimento em docs/uso_operacional.md."
                )
            esperado += 1
        return registros

    def _refazer(self, registros: list[RegistroDeLote]) -> int:
        """Passa cada lote registrado pelo núcleo de novo (sem decidir): o estado volta ao dos offsets confirmados."""
        leitor = leitor_de_recuperacao(self.cfg, self.identidade)
        med_ate = -1
        try:
            relidas = reler_faixas(leitor, self.cfg.topico_transacoes, [r.faixas for r in registros])
            for registro, do_lote in zip(registros, relidas, strict=True):
                self.posicoes.update({p: fim for p, (_, fim) in registro.faixas.items()})
                self.nucleo.decidir(
                    mensagens_para_df(do_lote), registro.lote, registro.agora_ms / 1000, registro.marcas_df()
                )
                self.nucleo.limites.registrar([Bloqueio(*b) for b in registro.bloqueios])
                med_ate = registro.med_ate
        finally:
            leitor.close()
        return med_ate

    # O laço ----------------------------------------------------------------------------------------
    def passo(self, espera_s: float = 0.1) -> ResultadoDoLote | None:
        """Um lote: espera até ``espera_s`` pelo primeiro Pix, decide e confirma tudo numa transação."""
        from confluent_kafka import TopicPartition

        consumidor, produtor, cfg = self._consumidor, self._produtor, self.cfg
        primeira = consumidor.poll(espera_s)
        if primeira is None:
            self._talvez_snapshot()
            return None
        mensagens = [primeira, *consumidor.consume(cfg.max_mensagens_lote_decisao - 1, timeout=0)]
        erros = [m for m in mensagens if m.error()]
        for m in erros:
            log.warning("Kafka: %s (o consumidor segue).", m.error())
        mensagens = [m for m in mensagens if not m.error()]
        if not mensagens:
            return None
        inicio = time.perf_counter()
        lote, agora_s = self.proximo_lote, time.time()
        marcas = self.servicos.tomar_marcas()
        self.nucleo.limites_clientes = self.servicos.limites_clientes
        resultado = self.nucleo.decidir(
            mensagens_para_df(mensagens), lote, agora_s, marcas, self.servicos.vigia.atual,
            ao_falhar=self.servicos.recusar,
        )  # fmt: skip
        faixas: dict[int, tuple[int, int]] = {}
        for m in mensagens:
            a, b = faixas.get(m.partition(), (m.offset(), m.offset() + 1))
            faixas[m.partition()] = (min(a, m.offset()), max(b, m.offset() + 1))
        med_ate = self.servicos.med_ate
        registro = RegistroDeLote(
            lote, int(agora_s * 1000), faixas, marcas_para_registro(marcas), med_ate,
            [b.como_lista() for b in resultado.bloqueios],
        )  # fmt: skip
        offset_registro: list[int] = []
        produtor.begin_transaction()
        decisoes = resultado.decisoes
        if len(decisoes):
            chaves = decisoes["end_to_end_id"].tolist()
            for chave, valor in zip(chaves, mensagens_kafka(decisoes), strict=True):
                produtor.produce(cfg.topico_decisoes, valor.encode(), chave.encode())
        produtor.produce(
            cfg.topico_lotes_decisao, registro.para_json(), str(lote).encode(),
            on_delivery=lambda erro, m: offset_registro.append(-1 if erro else m.offset()),
        )  # fmt: skip
        posicoes = [TopicPartition(cfg.topico_transacoes, p, fim) for p, (_, fim) in faixas.items()]
        produtor.send_offsets_to_transaction(posicoes, consumidor.consumer_group_metadata(), 30)
        if f"antes_do_commit:{lote}" == _PONTO_DE_FALHA:
            produtor.flush(30)  # as decisões chegam ao broker, dentro da transação aberta
            os.kill(os.getpid(), signal.SIGKILL)
        produtor.commit_transaction(60)
        for p, (_, fim) in faixas.items():
            self.posicoes[p] = fim
        if offset_registro and offset_registro[0] >= 0:
            self.proximo_registro = offset_registro[0] + 1
        self.proximo_lote = lote + 1
        self.nucleo.motor.esquecer_mudancas()
        self.nucleo.dedup.esquecer_mudancas()
        self.servicos.registrar(resultado, time.perf_counter() - inicio)
        self._talvez_snapshot()
        return resultado

    def executar(self, disponivel: bool = False, parar: threading.Event | None = None, max_falhas: int = 10) -> None:
        """Decide até ``parar`` (ou, com ``disponivel``, até o fim do que o tópico tinha na partida).

        Uma falha do Kafka no meio de um lote aborta a transação e reconstrói o estado (``recuperar``); o
        cerco por outra instância, ou ``max_falhas`` seguidas, param com erro (o job reinicia).
        """
        from confluent_kafka import KafkaException, TopicPartition

        fins = None
        if disponivel:
            fins = {}
            for p in self._particoes:
                _, fim = self._consumidor.get_watermark_offsets(
                    TopicPartition(self.cfg.topico_transacoes, p), timeout=30
                )
                fins[p] = fim
        falhas = 0
        while not (parar is not None and parar.is_set()):
            if fins is not None and all(self.posicoes.get(p, 0) >= fim for p, fim in fins.items()):
                return
            try:
                self.passo()
                falhas = 0
            except KafkaException as erro:
                falhas += 1
                kerro = erro.args[0] if erro.args else None
                if kerro is not None and getattr(kerro, "fatal", lambda: False)():
                    raise RuntimeError(
                        f"Kafka: erro fatal na transação da decisão ({kerro}); outra instância com o mesmo "
                        f"transactional.id ({self.identidade}) assumiu, ou o broker recusou o produtor."
                    ) from erro
                if falhas > max_falhas:
                    raise
                log.warning("Kafka falhou no lote %s (%s): aborto e reconstruo o estado.", self.proximo_lote, erro)
                self._abortar()
                time.sleep(min(30, 2**falhas * 0.1))
                self.recuperar()

    def _abortar(self) -> None:
        try:
            self._produtor.abort_transaction(30)
        except Exception as erro:  # nada aberto, ou o broker fora: a recuperação decide
            log.warning("abort_transaction: %s", erro)

    # Snapshots ---------------------------------------------------------------------------------
    def _talvez_snapshot(self, forcar: bool = False) -> None:
        if self.proximo_lote > 0:
            self.snapshots.talvez(self.proximo_lote - 1, self.estado_completo, forcar)

    def estado_completo(self) -> dict[str, np.ndarray]:
        """Tudo o que o snapshot guarda: o estado do núcleo e onde ele está nos tópicos."""
        estado = juntar_estado(self.nucleo.componentes(), completo=True)
        particoes = sorted(self.posicoes)
        return estado | {
            "meta.med_ate": np.array([self.servicos.med_ate], np.int64),
            "meta.particoes": np.array(particoes, np.int64),
            "meta.posicoes": np.array([self.posicoes[p] for p in particoes], np.int64),
            "meta.proximo_registro": np.array([self.proximo_registro], np.int64),
        }

    def encerrar(self) -> None:
        """Snapshot final, tarefas paradas e clientes Kafka fechados."""
        if self._consumidor is not None and self.proximo_lote > 0:
            self._talvez_snapshot(forcar=True)
        self.servicos.encerrar()
        if self._consumidor is not None:
            self._consumidor.close()
            self._consumidor = None
        self._produtor = None  # o librdkafka fecha o produtor quando o objeto sai de cena
        self._limite_threads.restore_original_limits()


def executar_decisao(spark: SparkSession | None, cfg: Configuracao, disponivel: bool = False) -> str:
    """O modo ``pontuar`` do notebook do modelo numa chamada: métricas, chave, recuperação, laço e encerramento.

    ``disponivel`` decide o que já está no tópico e para; sem ele, decide até o job ser parado (o job contínuo
    reinicia numa falha, e a partida reconstrói o estado). Devolve o resumo das decisões.
    """
    from monitoramento.metricas import MetricasDaPontuacao
    from processamento.pseudonimizacao import obter_chave

    if cfg.processos_decisao:  # N processos em duas etapas (tempo_real_etapas.py)
        from machine_learning.tempo_real_etapas import DecisorEmEtapas

        decisor: DecisorEmTempoReal | DecisorEmEtapas = DecisorEmEtapas(
            cfg, obter_chave(cfg), spark, MetricasDaPontuacao(cfg)
        )
    else:
        decisor = DecisorEmTempoReal(cfg, obter_chave(cfg), spark, MetricasDaPontuacao(cfg))
    decisor.iniciar()
    try:
        decisor.executar(disponivel=disponivel)
    finally:
        decisor.encerrar()
    return decisor.servicos.resumo.texto()
