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

Recuperação, como no caminho de um processo: cada transação leva também um registro do lote ao
``topico_lotes_decisao`` (o que refaz o lote: faixas de offsets, relógio, marcas MED, bloqueios); o estado vira
snapshot a cada ``intervalo_snapshot_decisao_s``, escrito inteiro. Na partida, o último snapshot mais os lotes
registrados depois dele, refeitos pelas mesmas etapas sem publicar nada, dão o estado exato dos offsets confirmados
dos dois grupos; se não derem, a partida para com erro claro (docs/uso_operacional.md).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from machine_learning.etapas import EtapaDoPagador, EtapaDoRecebedor, OrdemDoEvento, RegistroDoRecebedor
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
    from confluent_kafka import Consumer, Message
    from pyspark.sql import SparkSession

    from monitoramento.metricas import MetricasDaPontuacao

CONSULTA = "decisao"
INTERVALO_EXPIRACAO = 200  # lotes do pagador entre duas varreduras de expiração do estado
log = logging.getLogger("detector_pix.tempo_real_etapas")

# Ponto de falha dos testes de queda: "etapas_antes_do_commit:<lote>" mata o processo (SIGKILL) com a transação do
# lote do pagador aberta. Vazio em produção.
_PONTO_DE_FALHA = os.environ.get("DETECTOR_PIX_PONTO_DE_FALHA", "")


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
        self.lote_recebedor = 0
        self.proximo_registro = 0  # offset, no tópico de lotes, depois do último registro deste processo
        self.lotes_refeitos = 0
        self.snapshots = SnapshotsEmSegundoPlano(
            self.armazem, cfg.intervalo_snapshot_decisao_s, "detector-pix-snapshot-etapas"
        )
        self._iniciado = False  # só um processo que se recuperou inteiro grava snapshots
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
        criar_topicos(
            opcoes, [cfg.topico_lotes_decisao], 1,
            configuracoes={cfg.topico_lotes_decisao: {"retention.ms": str(7 * 24 * 3_600_000)}}, replicacao=-1,
        )  # fmt: skip
        self.minhas = [p for p in self.particoes if p % self.n == self.i]
        self.recebedor = EtapaDoRecebedor(self.nucleo, total, set(self.minhas))
        self.pagador = EtapaDoPagador(self.nucleo)

        def produtor(papel: str) -> Producer:
            p = Producer(
                {**opcoes, "transactional.id": f"{self.grupo_pagador}:{papel}:{self.i}-de-{self.n}",
                 "linger.ms": "0", "compression.type": "lz4", "transaction.timeout.ms": "60000"}
            )  # fmt: skip
            p.init_transactions(180)  # aborta a transação aberta de uma instância que caiu e a cerca
            return p

        self._prod_rec, self._prod_pag = produtor("recebedor"), produtor("pagador")
        comum = {"enable.auto.commit": "false", "isolation.level": "read_committed",
                 "auto.offset.reset": cfg.offsets_iniciais, "enable.partition.eof": "false"}  # fmt: skip
        self._cons_rec = Consumer({**opcoes, **comum, "group.id": self.grupo_recebedor})
        self._cons_pag = Consumer({**opcoes, **comum, "group.id": self.grupo_pagador, "auto.offset.reset": "earliest"})
        self.recuperar()
        if self.proximo_lote == 0 and self.lote_recebedor == 0 and cfg.estado_inicial_decisao == "silver":
            log.warning(
                "Decisão em etapas: estado_inicial_decisao=silver não vale neste modo (ainda sem aquecimento); o "
                "estado começa frio. docs/arquitetura.md, 'Escalar para vários processos'."
            )
        self._iniciado = True
        self.servicos.iniciar()
        congelar_objetos_da_partida()
        log.warning(
            "Decisão em etapas: processo %s de %s, partições %s de %s (e os baldes do recebedor de mesmo número).",
            self.i, self.n, self.minhas, cfg.topico_transacoes,
        )  # fmt: skip

    # Recuperação -----------------------------------------------------------------------------------
    def recuperar(self) -> None:
        """Estado = último snapshot + lotes registrados depois dele; confere contra os offsets dos dois grupos."""
        from confluent_kafka import OFFSET_INVALID, TopicPartition

        inicio = time.perf_counter()
        cfg = self.cfg
        tx, reg = cfg.topico_transacoes, cfg.topico_features_recebedor
        self.ordem = OrdemDoEvento(self.particoes)
        self._pendentes: pd.DataFrame | None = None  # interpretadas esperando a marca d'água (recebedor)
        self._seq = 0
        self.pos_rec: dict[int, int] = {}  # o que a etapa do recebedor já leu
        self.confirmado_rec: dict[int, int] = {}  # o que ela já confirmou (o que saiu da ordem)
        self.pos_pag: dict[tuple[str, int], int] = {}
        self._maximo_liberado: dict[int, int] = {}
        snapshot = self.armazem.ultimo_snapshot()
        if snapshot is not None:
            self.proximo_lote = snapshot[0] + 1
            resto = aplicar_estado(snapshot[1], {**self.recebedor.componentes(), **self.pagador.componentes()})
            particoes = resto["meta.particoes"].tolist()
            self.confirmado_rec = {
                p: o for p, o in zip(particoes, resto["meta.pos_rec"].tolist(), strict=True) if o >= 0
            }
            self._maximo_liberado = dict(zip(particoes, resto["meta.maximo"].tolist(), strict=True))
            minhas = resto["meta.minhas"].tolist()
            self.pos_pag = {
                (t, p): o
                for t, offsets in ((tx, "meta.pos_pag_tx"), (reg, "meta.pos_pag_reg"))
                for p, o in zip(minhas, resto[offsets].tolist(), strict=True)
                if o >= 0
            }
            self.lote_recebedor = int(resto["meta.lote_recebedor"][0])
            self.proximo_registro = int(resto["meta.proximo_registro"][0])
        self.ordem.maximo.update(self._maximo_liberado)  # as chaves relidas continuam do que já saiu da ordem
        do_recebedor, do_pagador = self._ler_registros()
        self.lotes_refeitos = len(do_recebedor) + len(do_pagador)
        if do_recebedor:
            self._refazer_recebedor(do_recebedor)
        if do_pagador:
            self._refazer_pagador(do_pagador)
        self.pos_rec = dict(self.confirmado_rec)

        conf_rec = self._confirmados(self._cons_rec, [(tx, p) for p in self.particoes])
        conf_pag = self._confirmados(self._cons_pag, [(t, p) for t in (tx, reg) for p in self.minhas])
        diferentes = {
            ("recebedor", t, p): (o, self.confirmado_rec.get(p))
            for (t, p), o in conf_rec.items()
            if self.confirmado_rec.get(p) != o
        } | {
            ("pagador", t, p): (o, self.pos_pag.get((t, p)))
            for (t, p), o in conf_pag.items()
            if self.pos_pag.get((t, p)) != o
        }
        if diferentes:
            raise ErroDeRecuperacao(
                f"Decisão em etapas, processo {self.i} de {self.n}: offsets confirmados no Kafka que o estado "
                f"reconstruído (snapshot em {self.armazem.pasta} + lotes registrados em {cfg.topico_lotes_decisao}) "
                f"não alcança ((etapa, tópico, partição): (confirmado, do estado)) {diferentes}. O tópico de lotes "
                "perdeu registros (retenção?), o número de processos mudou ou o grupo foi reposicionado à mão. "
                "Procedimento em docs/uso_operacional.md (decisão em etapas: reinício do estado)."
            )
        self.nucleo.dedup.esquecer_mudancas()
        self.recebedor.motor.esquecer_mudancas()
        self.pagador.motor.esquecer_mudancas()
        self._cons_rec.assign([TopicPartition(tx, p, self.pos_rec.get(p, OFFSET_INVALID)) for p in self.particoes])
        self._cons_pag.assign(
            [TopicPartition(t, p, self.pos_pag.get((t, p), OFFSET_INVALID)) for t in (tx, reg) for p in self.minhas]
        )
        self._ultimo_reg: dict[int, int] = {}
        self._brutas: dict[int, list[Message]] = {p: [] for p in self.minhas}
        self._registros: dict[int, dict[int, tuple[RegistroDoRecebedor, int]]] = {p: {} for p in self.minhas}
        log.warning(
            "Decisão em etapas, processo %s de %s: estado do snapshot %s + %s lotes refeitos em %.1f s.",
            self.i, self.n, "nenhum" if snapshot is None else snapshot[0], self.lotes_refeitos,
            time.perf_counter() - inicio,
        )  # fmt: skip

    @staticmethod
    def _confirmados(consumidor: Consumer, coordenadas: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        from confluent_kafka import TopicPartition

        pedidos = [TopicPartition(t, p) for t, p in coordenadas]
        confirmados = consumidor.committed(pedidos, timeout=30)
        return {(tp.topic, tp.partition): tp.offset for tp in confirmados if tp.offset >= 0}

    def _ler_registros(self) -> tuple[list[dict], list[dict]]:
        """Os registros de lote deste processo depois do snapshot: (os do recebedor, os do pagador), em ordem."""
        from confluent_kafka import KafkaError, TopicPartition

        topico = self.cfg.topico_lotes_decisao
        leitor = leitor_de_recuperacao(self.cfg, self.grupo_recebedor)
        recebedor, pagador = [], []
        try:
            leitor.assign([TopicPartition(topico, 0, self.proximo_registro)])
            while True:
                m = leitor.poll(30)
                if m is None:
                    raise ErroDeRecuperacao(f"Kafka {self.cfg.kafka_bootstrap}: tópico {topico} não respondeu em 30 s.")
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        break
                    raise ErroDeRecuperacao(f"Kafka: erro lendo {topico}: {m.error()}")
                registro = json.loads(m.value())
                if registro.get("processo") != [self.i, self.n]:
                    continue  # de outro processo (ou do modo de um processo, noutra chave)
                (recebedor if registro["etapa"] == "recebedor" else pagador).append(registro)
                self.proximo_registro = m.offset() + 1
        finally:
            leitor.close()
        return recebedor, pagador

    def _reler(self, topico: str, faixas_por_lote: list[dict[int, tuple[int, int]]]) -> Iterator[list[Message]]:
        leitor = leitor_de_recuperacao(self.cfg, self.grupo_recebedor)
        try:
            yield from reler_faixas(leitor, topico, faixas_por_lote)
        finally:
            leitor.close()

    def _refazer_recebedor(self, registros: list[dict]) -> None:
        """Cada lote do recebedor de novo, com o seu relógio e as suas marcas, sem publicar nada."""
        faixas = [faixas_de_json(r["faixas"]) for r in registros]
        for registro, deste, mensagens in zip(
            registros, faixas, self._reler(self.cfg.topico_transacoes, faixas), strict=True
        ):
            self._receber(mensagens, registro["agora_ms"] / 1000)
            for q in self.particoes:
                self.ordem.encerrar(q)  # o lote registrado é tudo o que foi lido até as faixas: sai inteiro
            self._processar_recebedor(self.ordem.liberar(), marcas_de_registro(registro["marcas"]))
            self.ordem.encerradas.clear()
            self.lote_recebedor = registro["lote"] + 1
            self.confirmado_rec.update({q: fim for q, (_, fim) in deste.items()})

    def _refazer_pagador(self, registros: list[dict]) -> None:
        """Cada lote do pagador de novo (features do pagador e os bloqueios registrados), sem decidir."""
        tx, reg = self.cfg.topico_transacoes, self.cfg.topico_features_recebedor
        faixas = [faixas_de_json(r["faixas"]) for r in registros]
        # Os registros do recebedor dessas mensagens: do que o snapshot tinha como posição até o fim das faixas.
        do_recebedor: dict[tuple[int, int], RegistroDoRecebedor] = {}
        leitor_reg = self._reler_ate(reg, {q: self.pos_pag.get((reg, q), 0) for q in self.minhas})
        for registro, deste, mensagens in zip(registros, faixas, self._reler(tx, faixas), strict=True):
            precisa = {(m.partition(), m.offset()) for m in mensagens}
            while not precisa <= do_recebedor.keys():
                lido = next(leitor_reg)
                do_recebedor.update({(m.partition(), r.offset): r for m, r in lido})
            registros_do_lote = [do_recebedor.pop((m.partition(), m.offset())) for m in mensagens]
            self.pagador.decidir(mensagens_para_df(mensagens), registros_do_lote, registro["lote"], None)
            self.nucleo.limites.registrar([Bloqueio(*b) for b in registro["bloqueios"]])
            for q, (_, fim) in deste.items():
                self.pos_pag[(tx, q)] = fim
            self.pos_pag.update({(reg, int(q)): int(o) for q, o in registro["registros"].items()})
            self.proximo_lote = registro["lote"] + 1

    def _reler_ate(self, topico: str, inicios: dict[int, int]) -> Iterator[list[tuple[Message, RegistroDoRecebedor]]]:
        """Registros do recebedor a partir das posições dadas, em pedaços, até o fim atual do tópico."""
        from confluent_kafka import KafkaError, TopicPartition

        leitor = leitor_de_recuperacao(self.cfg, self.grupo_recebedor)
        try:
            leitor.assign([TopicPartition(topico, q, ini) for q, ini in inicios.items()])
            no_fim: set[int] = set()
            while len(no_fim) < len(inicios):
                pedaco = []
                for m in leitor.consume(10_000, timeout=1.0):
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            no_fim.add(m.partition())
                            continue
                        raise ErroDeRecuperacao(f"Kafka: erro relendo {topico}: {m.error()}")
                    no_fim.discard(m.partition())
                    pedaco.append((m, RegistroDoRecebedor.de_json(m.value())))
                yield pedaco
        finally:
            leitor.close()
        raise ErroDeRecuperacao(
            f"{topico}: faltam registros do recebedor para refazer os lotes do pagador (o processo dono do balde ainda "
            "não os publicou?). Inicie todos os processos da decisão em etapas."
        )

    # O laço ----------------------------------------------------------------------------------------
    def passo(self, espera_s: float = 0.05, fins: dict[int, int] | None = None) -> ResultadoDoLote | None:
        """Uma volta das duas etapas; ``fins`` (modo disponível): partições que não terão mais nada depois deles."""
        self._passo_recebedor(espera_s, fins)
        resultado = self._passo_pagador()
        self._talvez_snapshot()
        return resultado

    def _receber(self, mensagens: list[Message], agora_s: float) -> None:
        """Interpreta (sem estado) e põe na ordem do evento, cada partição em ordem de offset."""
        if not mensagens:
            return
        lido = self.nucleo.interpretar(mensagens_para_df(mensagens), agora_s).assign(
            _agora_ms=int(agora_s * 1000), _seq=np.arange(self._seq, self._seq + len(mensagens))
        )
        self._seq += len(mensagens)
        instantes = pd.to_datetime(lido["data_hora"], utc=True, errors="coerce")
        ms = np.where(instantes.notna(), instantes.astype("int64") // 1_000_000, -1)
        offsets = lido["offset"].to_numpy()
        for particao, linhas in lido.groupby("particao", sort=False).indices.items():
            linhas = linhas[np.argsort(offsets[linhas], kind="stable")]
            self.ordem.adicionar(int(particao), ms[linhas], lido["_seq"].to_numpy()[linhas].tolist())
            self.pos_rec[int(particao)] = int(offsets[linhas].max()) + 1
        self._pendentes = lido if self._pendentes is None else pd.concat([self._pendentes, lido], ignore_index=True)

    def _processar_recebedor(
        self, liberadas: list[tuple[int, int, object]], marcas: pd.DataFrame | None
    ) -> dict[int, list[RegistroDoRecebedor]]:
        seqs = [item for _, _, item in liberadas]
        indice = self._pendentes.set_index("_seq")
        lote = indice.loc[seqs].reset_index()
        self._pendentes = indice.drop(index=seqs).reset_index()
        for chave, particao, _ in liberadas:
            self._maximo_liberado[particao] = max(self._maximo_liberado.get(particao, chave), chave)
        registros = self.recebedor.processar(lote, lote["_agora_ms"].to_numpy(np.int64), marcas)
        if (self.lote_recebedor + 1) % INTERVALO_EXPIRACAO == 0:
            self.recebedor.motor.expirar()
        self.recebedor.motor.esquecer_mudancas()
        self.nucleo.dedup.esquecer_mudancas()
        return registros

    def _passo_recebedor(self, espera_s: float, fins: dict[int, int] | None) -> None:
        from confluent_kafka import TopicPartition

        cfg = self.cfg
        lidas = self._cons_rec.consume(cfg.max_mensagens_lote_decisao, timeout=espera_s)
        agora = time.time()
        self._receber([m for m in lidas if not m.error()], agora)
        if fins is not None:
            for q, fim in fins.items():
                if self.pos_rec.get(q, 0) >= fim:
                    self.ordem.encerrar(q)
        piso = None if fins is not None else int(time.time() * 1000) - cfg.atraso_ordem_decisao_ms
        liberadas = self.ordem.liberar(piso)
        if not liberadas:
            return
        antes = dict(self.confirmado_rec)
        primeiros = self._pendentes.groupby("particao")["offset"].min().to_dict()
        marcas = self.servicos.tomar_marcas()
        registros = self._processar_recebedor(liberadas, marcas)
        # Confirmado: o que já saiu da ordem (o que ela ainda segura volta a ser lido numa partida).
        segurando = self._pendentes.groupby("particao")["offset"].min().to_dict()
        posicoes = {q: int(segurando.get(q, self.pos_rec[q])) for q in self.pos_rec}
        faixas = {q: (int(antes.get(q, primeiros.get(q, o))), o) for q, o in posicoes.items()}
        lote = self.lote_recebedor
        registro = {"etapa": "recebedor", "processo": [self.i, self.n], "lote": lote, "agora_ms": int(agora * 1000),
                    "faixas": faixas_para_json(faixas), "marcas": marcas_para_registro(marcas)}  # fmt: skip
        produtor = self._prod_rec
        produtor.begin_transaction()
        for particao, deste in registros.items():
            for r in deste:
                produtor.produce(
                    cfg.topico_features_recebedor, r.para_json(), str(r.offset).encode(), partition=particao
                )
        offset_registro = self._registrar(produtor, registro)
        produtor.send_offsets_to_transaction(
            [TopicPartition(cfg.topico_transacoes, q, o) for q, o in posicoes.items()],
            self._cons_rec.consumer_group_metadata(), 30,
        )  # fmt: skip
        produtor.commit_transaction(60)
        self.confirmado_rec = posicoes
        self.lote_recebedor = lote + 1
        self._depois_do_commit(offset_registro)

    def _registrar(self, produtor: object, registro: dict) -> list[int]:
        """O registro do lote no tópico de lotes, na transação aberta; devolve onde ele ficou (depois do commit)."""
        offset: list[int] = []
        produtor.produce(
            self.cfg.topico_lotes_decisao, json.dumps(registro).encode(), f"{self.i}-de-{self.n}".encode(),
            on_delivery=lambda erro, m: offset.append(-1 if erro else m.offset()),
        )  # fmt: skip
        return offset

    def _depois_do_commit(self, offset_registro: list[int]) -> None:
        if offset_registro and offset_registro[0] >= 0:
            self.proximo_registro = max(self.proximo_registro, offset_registro[0] + 1)

    def _passo_pagador(self) -> ResultadoDoLote | None:
        from confluent_kafka import TopicPartition

        cfg = self.cfg
        tx, reg = cfg.topico_transacoes, cfg.topico_features_recebedor
        for m in self._cons_pag.consume(cfg.max_mensagens_lote_decisao, timeout=0):
            if m.error():
                continue
            q = m.partition()
            if m.topic() == tx:
                self._brutas[q].append(m)
            else:
                registro = RegistroDoRecebedor.de_json(m.value())
                if registro.offset >= self.pos_pag.get((tx, q), 0):  # um registro já usado, relido numa partida
                    self._registros[q][registro.offset] = (registro, m.offset())
                self._ultimo_reg[q] = m.offset()
        prontas: list[Message] = []
        registros: list[RegistroDoRecebedor] = []
        faixas: dict[int, tuple[int, int]] = {}
        for q in self.minhas:
            brutas, deste = self._brutas[q], self._registros[q]
            k = 0
            while k < len(brutas) and brutas[k].offset() in deste:
                registros.append(deste.pop(brutas[k].offset())[0])
                k += 1
            if k:
                faixas[q] = (brutas[0].offset(), brutas[k - 1].offset() + 1)
            prontas += brutas[:k]
            self._brutas[q] = brutas[k:]
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
        posicoes = dict(self.pos_pag)
        for q, (_, fim) in faixas.items():
            posicoes[(tx, q)] = fim
        for q in self.minhas:
            usados = [o for _, o in self._registros[q].values()]
            if q in self._ultimo_reg:
                posicoes[(reg, q)] = min(usados) if usados else self._ultimo_reg[q] + 1
        registro = {"etapa": "pagador", "processo": [self.i, self.n], "lote": lote, "faixas": faixas_para_json(faixas),
                    "registros": {str(q): o for (t, q), o in posicoes.items() if t == reg},
                    "bloqueios": [b.como_lista() for b in resultado.bloqueios]}  # fmt: skip
        produtor = self._prod_pag
        produtor.begin_transaction()
        decisoes = resultado.decisoes
        if len(decisoes):
            for chave, valor in zip(decisoes["end_to_end_id"].tolist(), mensagens_kafka(decisoes), strict=True):
                produtor.produce(cfg.topico_decisoes, valor.encode(), chave.encode())
        offset_registro = self._registrar(produtor, registro)
        produtor.send_offsets_to_transaction(
            [TopicPartition(t, q, o) for (t, q), o in posicoes.items()], self._cons_pag.consumer_group_metadata(), 30
        )
        if f"etapas_antes_do_commit:{lote}" == _PONTO_DE_FALHA:
            produtor.flush(30)  # as decisões chegam ao broker, dentro da transação aberta
            os.kill(os.getpid(), signal.SIGKILL)
        produtor.commit_transaction(60)
        self.pos_pag = posicoes
        self.proximo_lote = lote + 1
        self._depois_do_commit(offset_registro)
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
                q: self._cons_rec.get_watermark_offsets(TopicPartition(self.cfg.topico_transacoes, q), timeout=30)[1]
                for q in self.particoes
            }
        while not (parar is not None and parar.is_set()):
            self.passo(fins=fins)
            if fins is not None and self._terminou(fins):
                return

    def _terminou(self, fins: dict[int, int]) -> bool:
        tx = self.cfg.topico_transacoes
        recebedor = all(self.confirmado_rec.get(q, self.pos_rec.get(q, 0)) >= fim for q, fim in fins.items())
        pagador = all(self.pos_pag.get((tx, q), 0) >= fins[q] for q in self.minhas)
        return recebedor and (self._pendentes is None or not len(self._pendentes)) and pagador

    # Snapshots ---------------------------------------------------------------------------------
    def _talvez_snapshot(self, forcar: bool = False) -> None:
        if self._iniciado:
            self.snapshots.talvez(max(self.proximo_lote - 1, 0), self.estado_completo, forcar)

    def estado_completo(self) -> dict[str, np.ndarray]:
        """O estado das duas etapas e onde cada uma está nos tópicos (o que já confirmou)."""
        tx, reg = self.cfg.topico_transacoes, self.cfg.topico_features_recebedor
        estado = juntar_estado({**self.recebedor.componentes(), **self.pagador.componentes()}, completo=True)
        return estado | {
            "meta.particoes": np.array(self.particoes, np.int64),
            "meta.pos_rec": np.array([self.confirmado_rec.get(q, -1) for q in self.particoes], np.int64),
            "meta.maximo": np.array([self._maximo_liberado.get(q, -(2**62)) for q in self.particoes], np.int64),
            "meta.minhas": np.array(self.minhas, np.int64),
            "meta.pos_pag_tx": np.array([self.pos_pag.get((tx, q), -1) for q in self.minhas], np.int64),
            "meta.pos_pag_reg": np.array([self.pos_pag.get((reg, q), -1) for q in self.minhas], np.int64),
            "meta.lote_recebedor": np.array([self.lote_recebedor], np.int64),
            "meta.proximo_registro": np.array([self.proximo_registro], np.int64),
        }

    def encerrar(self) -> None:
        """Snapshot final, tarefas paradas, clientes fechados."""
        if self._iniciado:
            self._talvez_snapshot(forcar=True)
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
