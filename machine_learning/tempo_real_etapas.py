"""A decisão em etapas direto do Kafka: N processos dividem as partições, e o resultado é o de um processo só.

Cada processo ``i`` de ``N`` (``processo_decisao``, ``processos_decisao``) fica com as partições ``p`` em que
``p % N == i`` e roda as duas etapas de ``etapas.py`` num laço:

1. **recebedor**: lê todas as partições do tópico de transações (grupo próprio do processo), junta-as na ordem
   do tempo do evento (``OrdemDoEvento``) e publica, numa transação com os seus offsets, um registro por mensagem
   dos seus baldes em ``topico_features_recebedor``, na partição de origem do Pix;
2. **pagador**: lê as suas partições do tópico de transações e as mesmas do tópico de registros (um grupo para
   todos os processos), junta cada Pix ao seu registro por ``(partição, offset)``, decide e publica as decisões
   numa transação com os offsets dos dois tópicos. ``pix.decisoes`` fica exatamente uma vez para
   ``read_committed``, como no caminho de um processo.

O estado de cada processo (metade do recebedor dos seus baldes, metade do pagador das suas partições, a
deduplicação) vira snapshot no encerramento. Depois de uma queda, os offsets confirmados passam do snapshot e
a partida para com erro claro: este modo ainda não refaz lotes (o de um processo refaz). O procedimento está em
docs/uso_operacional.md.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from machine_learning.etapas import EtapaDoPagador, EtapaDoRecebedor, OrdemDoEvento, RegistroDoRecebedor
from machine_learning.nucleo import (
    ErroDeRecuperacao,
    NucleoDeDecisao,
    ResultadoDoLote,
    mensagens_kafka,
    mensagens_para_df,
)
from machine_learning.pontuacao import ServicosDaDecisao
from plataforma.config import Configuracao
from plataforma.kafka_cliente import criar_topicos, particoes_do_topico
from plataforma.kafka_opcoes import opcoes_cliente_kafka
from plataforma.memoria import congelar_objetos_da_partida
from plataforma.mlflow_local import configurar_mlflow
from plataforma.tabelas import checkpoint
from processamento.estado import ArmazemDeEstado, aplicar_estado, juntar_estado
from processamento.features import ParametrosFeatures

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message
    from pyspark.sql import SparkSession

    from monitoramento.metricas import MetricasDaPontuacao

CONSULTA = "decisao"
INTERVALO_EXPIRACAO = 200  # lotes do pagador entre duas varreduras de expiração do estado
log = logging.getLogger("detector_pix.tempo_real_etapas")


class DecisorEmEtapas:
    """Um dos N processos da decisão em etapas: ``iniciar()``, ``executar()`` e ``encerrar()``."""

    def __init__(
        self,
        cfg: Configuracao,
        chave: bytes,
        spark: SparkSession | None = None,
        metricas: MetricasDaPontuacao | None = None,
        parametros: ParametrosFeatures | None = None,
    ) -> None:
        if cfg.processos_decisao < 1:
            raise ValueError("DecisorEmEtapas pede processos_decisao >= 1 (0 é o caminho de um processo).")
        self.cfg = cfg
        self.spark = spark
        self.i, self.n = cfg.processo_decisao, cfg.processos_decisao
        self.nucleo = NucleoDeDecisao(chave, cfg.tolerancia_futuro_s, cfg.janela_deduplicacao_h, parametros)
        self.servicos = ServicosDaDecisao(spark, cfg, metricas, chave)
        base = f"detector-pix-decisao:{cfg.implantacao}:{cfg.topico_transacoes}"
        self.grupo_pagador = f"{base}:pagador"  # um grupo para todos os processos: o progresso das decisões
        self.grupo_recebedor = f"{base}:recebedor:{self.i}-de-{self.n}"  # cada processo lê tudo
        self.armazem = ArmazemDeEstado(f"{checkpoint(cfg, CONSULTA)}/etapas/{self.i}-de-{self.n}")
        self.proximo_lote = 0
        self._lotes_recebedor = 0
        self._iniciado = False  # só um processo que se recuperou inteiro grava o snapshot do encerramento
        self._cons_pag: Consumer | None = None
        self._cons_rec: Consumer | None = None
        self._limite_threads = None

    # Partida ---------------------------------------------------------------------------------------
    def iniciar(self) -> None:
        from confluent_kafka import Consumer, Producer
        from threadpoolctl import threadpool_limits

        self._limite_threads = threadpool_limits(limits=1, user_api="openmp")
        cfg = self.cfg
        configurar_mlflow(cfg)
        opcoes = opcoes_cliente_kafka(cfg)
        leitor = Consumer({**opcoes, "group.id": self.grupo_pagador})
        try:
            self.particoes = particoes_do_topico(leitor, cfg.topico_transacoes, cfg.kafka_bootstrap)
        finally:
            leitor.close()
        total = len(self.particoes)
        criar_topicos(opcoes, [cfg.topico_features_recebedor], total, replicacao=-1)
        self.minhas = [p for p in self.particoes if p % self.n == self.i]
        self.recebedor = EtapaDoRecebedor(self.nucleo, total, set(self.minhas))
        self.pagador = EtapaDoPagador(self.nucleo)
        self.ordem = OrdemDoEvento(self.particoes)

        def produtor(papel: str) -> Producer:
            p = Producer(
                {**opcoes, "transactional.id": f"{self.grupo_pagador}:{papel}:{self.i}-de-{self.n}",
                 "linger.ms": "0", "compression.type": "lz4", "transaction.timeout.ms": "60000"}
            )  # fmt: skip
            p.init_transactions(180)  # cerca a instância anterior deste processo
            return p

        self._prod_rec, self._prod_pag = produtor("recebedor"), produtor("pagador")
        comum = {"enable.auto.commit": "false", "isolation.level": "read_committed",
                 "auto.offset.reset": cfg.offsets_iniciais, "enable.partition.eof": "false"}  # fmt: skip
        self._cons_rec = Consumer({**opcoes, **comum, "group.id": self.grupo_recebedor})
        self._cons_pag = Consumer({**opcoes, **comum, "group.id": self.grupo_pagador, "auto.offset.reset": "earliest"})
        self._recuperar()
        if self.proximo_lote == 0 and cfg.estado_inicial_decisao == "silver":
            log.warning(
                "Decisão em etapas: estado_inicial_decisao=silver não vale neste modo (ainda sem aquecimento); o "
                "estado começa frio. docs/arquitetura.md, 'Escalar para vários processos'."
            )
        self._iniciado = True
        self.servicos.iniciar()
        congelar_objetos_da_partida()
        log.warning(
            "Decisão em etapas: processo %s de %s, partições %s de %s; baldes do recebedor %s.",
            self.i, self.n, self.minhas, cfg.topico_transacoes, self.minhas,
        )  # fmt: skip

    def _recuperar(self) -> None:
        """Estado do snapshot do encerramento, conferido contra os offsets confirmados; nada aqui é adivinhado."""
        from confluent_kafka import OFFSET_INVALID, TopicPartition

        cfg = self.cfg
        tx, reg = cfg.topico_transacoes, cfg.topico_features_recebedor
        conf_rec = self._confirmados(self._cons_rec, [(tx, p) for p in self.particoes])
        conf_pag = self._confirmados(self._cons_pag, [(t, p) for t in (tx, reg) for p in self.minhas])
        snapshot = self.armazem.ultimo_snapshot()
        self.pos_rec: dict[int, int] = {}
        self.pos_pag: dict[tuple[str, int], int] = {}
        maximos: dict[int, int] = {}
        if snapshot is not None:
            self.proximo_lote = snapshot[0] + 1
            resto = aplicar_estado(snapshot[1], {**self.recebedor.componentes(), **self.pagador.componentes()})
            self.pos_rec = dict(zip(resto["meta.particoes"].tolist(), resto["meta.pos_rec"].tolist(), strict=True))
            maximos = dict(zip(resto["meta.particoes"].tolist(), resto["meta.maximo"].tolist(), strict=True))
            self.ordem.maximo.update(maximos)
            minhas = resto["meta.minhas"].tolist()
            self.pos_pag = {
                (t, p): o
                for t, offsets in ((tx, "meta.pos_pag_tx"), (reg, "meta.pos_pag_reg"))
                for p, o in zip(minhas, resto[offsets].tolist(), strict=True)
                if o >= 0
            }
        esperado_rec = {(tx, p): o for p, o in self.pos_rec.items()}
        for confirmados, esperados, grupo in ((conf_rec, esperado_rec, self.grupo_recebedor),
                                               (conf_pag, self.pos_pag, self.grupo_pagador)):  # fmt: skip
            diferentes = {k: (v, esperados.get(k)) for k, v in confirmados.items() if esperados.get(k) != v}
            if diferentes:
                raise ErroDeRecuperacao(
                    f"Decisão em etapas, processo {self.i} de {self.n}: o grupo {grupo} tem offsets confirmados "
                    f"que o estado em {self.armazem.pasta} não cobre ((tópico, partição): (confirmado, do estado)) "
                    f"{diferentes}. Houve uma queda, e este modo ainda não refaz lotes, ou o número de processos "
                    "mudou. Procedimento em docs/uso_operacional.md (decisão em etapas: reinício do estado)."
                )
        self.nucleo.dedup.esquecer_mudancas()
        self.recebedor.motor.esquecer_mudancas()
        self.pagador.motor.esquecer_mudancas()
        self._maximo_liberado = maximos
        self._cons_rec.assign([TopicPartition(tx, p, self.pos_rec.get(p, OFFSET_INVALID)) for p in self.particoes])
        self._cons_pag.assign(
            [TopicPartition(t, p, self.pos_pag.get((t, p), OFFSET_INVALID)) for t in (tx, reg) for p in self.minhas]
        )
        # O que cada etapa segura em memória até poder seguir.
        self._pendentes: pd.DataFrame | None = None  # interpretadas esperando a marca d'água (recebedor)
        self._seq = 0
        self._confirmado_rec: dict[int, int] = dict(self.pos_rec)
        self._ultimo_reg: dict[int, int] = {}
        self._brutas: dict[int, list[Message]] = {p: [] for p in self.minhas}
        self._registros: dict[int, dict[int, tuple[RegistroDoRecebedor, int]]] = {p: {} for p in self.minhas}

    @staticmethod
    def _confirmados(consumidor: Consumer, coordenadas: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        from confluent_kafka import TopicPartition

        pedidos = [TopicPartition(t, p) for t, p in coordenadas]
        confirmados = consumidor.committed(pedidos, timeout=30)
        return {(tp.topic, tp.partition): tp.offset for tp in confirmados if tp.offset >= 0}

    # O laço ----------------------------------------------------------------------------------------
    def passo(self, espera_s: float = 0.05, fins: dict[int, int] | None = None) -> ResultadoDoLote | None:
        """Uma volta das duas etapas; ``fins`` (modo disponível): partições que não terão mais nada depois deles."""
        self._passo_recebedor(espera_s, fins)
        return self._passo_pagador()

    def _passo_recebedor(self, espera_s: float, fins: dict[int, int] | None) -> None:
        from confluent_kafka import TopicPartition

        cfg = self.cfg
        lidas = self._cons_rec.consume(cfg.max_mensagens_lote_decisao, timeout=espera_s)
        mensagens = [m for m in lidas if not m.error()]
        if mensagens:
            agora = time.time()
            lido = self.nucleo.interpretar(mensagens_para_df(mensagens), agora).assign(
                _agora_ms=int(agora * 1000), _seq=np.arange(self._seq, self._seq + len(mensagens))
            )
            self._seq += len(mensagens)
            instantes = pd.to_datetime(lido["data_hora"], utc=True, errors="coerce")
            ms = np.where(instantes.notna(), instantes.astype("int64") // 1_000_000, -1)
            for particao, linhas in lido.groupby("particao", sort=False).indices.items():
                linhas = linhas[np.argsort(lido["offset"].to_numpy()[linhas], kind="stable")]
                self.ordem.adicionar(int(particao), ms[linhas], lido["_seq"].to_numpy()[linhas].tolist())
                self.pos_rec[int(particao)] = int(lido["offset"].to_numpy()[linhas].max()) + 1
            self._pendentes = lido if self._pendentes is None else pd.concat([self._pendentes, lido], ignore_index=True)
        if fins is not None:
            for p, fim in fins.items():
                if self.pos_rec.get(p, 0) >= fim:
                    self.ordem.encerrar(p)
        piso = None if fins is not None else int(time.time() * 1000) - cfg.atraso_ordem_decisao_ms
        liberadas = self.ordem.liberar(piso)
        if not liberadas:
            return
        seqs = [item for _, _, item in liberadas]
        indice = self._pendentes.set_index("_seq")
        lote = indice.loc[seqs].reset_index()
        self._pendentes = indice.drop(index=seqs).reset_index()
        for chave, particao, _ in liberadas:
            self._maximo_liberado[particao] = max(self._maximo_liberado.get(particao, chave), chave)
        marcas = self.servicos.tomar_marcas()
        registros = self.recebedor.processar(lote, lote["_agora_ms"].to_numpy(np.int64), marcas)
        self._lotes_recebedor += 1
        if self._lotes_recebedor % INTERVALO_EXPIRACAO == 0:
            self.recebedor.motor.expirar()
        self.recebedor.motor.esquecer_mudancas()
        self.nucleo.dedup.esquecer_mudancas()
        # Confirmado: o que já saiu da ordem (o que ela ainda segura volta a ser lido numa partida).
        segurando = self._pendentes.groupby("particao")["offset"].min().to_dict()
        posicoes = {p: int(segurando.get(p, self.pos_rec[p])) for p in self.pos_rec}
        produtor = self._prod_rec
        produtor.begin_transaction()
        for particao, deste in registros.items():
            for registro in deste:
                produtor.produce(
                    cfg.topico_features_recebedor, registro.para_json(), str(registro.offset).encode(),
                    partition=particao,
                )  # fmt: skip
        produtor.send_offsets_to_transaction(
            [TopicPartition(cfg.topico_transacoes, p, o) for p, o in posicoes.items()],
            self._cons_rec.consumer_group_metadata(), 30,
        )  # fmt: skip
        produtor.commit_transaction(60)
        self._confirmado_rec = posicoes

    def _passo_pagador(self) -> ResultadoDoLote | None:
        from confluent_kafka import TopicPartition

        cfg = self.cfg
        tx, reg = cfg.topico_transacoes, cfg.topico_features_recebedor
        for m in self._cons_pag.consume(cfg.max_mensagens_lote_decisao, timeout=0):
            if m.error():
                continue
            p = m.partition()
            if m.topic() == tx:
                self._brutas[p].append(m)
            else:
                registro = RegistroDoRecebedor.de_json(m.value())
                if registro.offset >= self.pos_pag.get((tx, p), 0):  # um registro já usado, relido numa partida
                    self._registros[p][registro.offset] = (registro, m.offset())
                self._ultimo_reg[p] = m.offset()
        prontas: list[Message] = []
        registros: list[RegistroDoRecebedor] = []
        for p in self.minhas:
            brutas, deste = self._brutas[p], self._registros[p]
            k = 0
            while k < len(brutas) and brutas[k].offset() in deste:
                registros.append(deste.pop(brutas[k].offset())[0])
                k += 1
            prontas += brutas[:k]
            self._brutas[p] = brutas[k:]
        if not prontas:
            return None
        inicio = time.perf_counter()
        lote = self.proximo_lote
        self.nucleo.limites_clientes = self.servicos.limites_clientes
        resultado = self.pagador.decidir(
            mensagens_para_df(prontas), registros, lote, self.servicos.vigia.atual, ao_falhar=self.servicos.recusar
        )
        if lote % INTERVALO_EXPIRACAO == 0:
            self.pagador.motor.expirar()
        self.pagador.motor.esquecer_mudancas()
        for m in prontas:
            self.pos_pag[(tx, m.partition())] = m.offset() + 1
        for p in self.minhas:
            usados = [o for _, o in self._registros[p].values()]
            if p in self._ultimo_reg:
                self.pos_pag[(reg, p)] = min(usados) if usados else self._ultimo_reg[p] + 1
        produtor = self._prod_pag
        produtor.begin_transaction()
        decisoes = resultado.decisoes
        if len(decisoes):
            for chave, valor in zip(decisoes["end_to_end_id"].tolist(), mensagens_kafka(decisoes), strict=True):
                produtor.produce(cfg.topico_decisoes, valor.encode(), chave.encode())
        posicoes = [TopicPartition(t, p, o) for (t, p), o in self.pos_pag.items()]
        produtor.send_offsets_to_transaction(posicoes, self._cons_pag.consumer_group_metadata(), 30)
        produtor.commit_transaction(60)
        self.proximo_lote = lote + 1
        self.servicos.registrar(resultado, time.perf_counter() - inicio)
        return resultado

    def executar(self, disponivel: bool = False, parar: threading.Event | None = None) -> None:
        """Decide até ``parar`` (ou, com ``disponivel``, até o fim do que o tópico tinha na partida).

        No modo disponível, o processo só para quando as suas partições estão decididas **e** a sua etapa do
        recebedor passou do fim de todas: os outros processos esperam os registros dos baldes dele.
        """
        from confluent_kafka import TopicPartition

        fins = None
        if disponivel:
            fins = {
                p: self._cons_rec.get_watermark_offsets(TopicPartition(self.cfg.topico_transacoes, p), timeout=30)[1]
                for p in self.particoes
            }
        while not (parar is not None and parar.is_set()):
            self.passo(fins=fins)
            if fins is not None and self._terminou(fins):
                return

    def _terminou(self, fins: dict[int, int]) -> bool:
        tx = self.cfg.topico_transacoes
        recebedor = all(self._confirmado_rec.get(p, self.pos_rec.get(p, 0)) >= fim for p, fim in fins.items())
        pagador = all(self.pos_pag.get((tx, p), 0) >= fins[p] for p in self.minhas)
        return recebedor and (self._pendentes is None or not len(self._pendentes)) and pagador

    def estado_completo(self) -> dict[str, np.ndarray]:
        tx, reg = self.cfg.topico_transacoes, self.cfg.topico_features_recebedor
        estado = juntar_estado({**self.recebedor.componentes(), **self.pagador.componentes()}, completo=True)
        confirmado = self._confirmado_rec
        return estado | {
            "meta.particoes": np.array(self.particoes, np.int64),
            "meta.pos_rec": np.array([confirmado.get(p, self.pos_rec.get(p, -1)) for p in self.particoes], np.int64),
            "meta.maximo": np.array([self._maximo_liberado.get(p, -(2**62)) for p in self.particoes], np.int64),
            "meta.minhas": np.array(self.minhas, np.int64),
            "meta.pos_pag_tx": np.array([self.pos_pag.get((tx, p), -1) for p in self.minhas], np.int64),
            "meta.pos_pag_reg": np.array([self.pos_pag.get((reg, p), -1) for p in self.minhas], np.int64),
        }

    def encerrar(self) -> None:
        """Snapshot do estado (a próxima partida o confere contra os offsets); tarefas paradas, clientes fechados."""
        if self._iniciado:
            self.armazem.salvar_snapshot(max(self.proximo_lote - 1, 0), self.estado_completo())
            self._iniciado = False
        self.servicos.encerrar()
        for consumidor in (self._cons_pag, self._cons_rec):
            if consumidor is not None:
                consumidor.close()
        self._cons_pag = self._cons_rec = None
        self._prod_rec = self._prod_pag = None
        if self._limite_threads is not None:
            self._limite_threads.restore_original_limits()
            self._limite_threads = None
