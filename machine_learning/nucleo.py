"""O núcleo da decisão: um lote de mensagens cruas do Kafka entra; decisões e mudanças de estado saem.

Uma implementação para todo jeito de alimentá-lo: o caminho quente (``tempo_real.py``, Kafka direto), o
micro-batch do Spark (``pontuacao.py``, a linha de base do benchmark) e a reconstrução do estado depois de uma
queda. Nenhuma cópia de lógica: o contrato e a pseudonimização são os da silver (``processamento.silver``), a
deduplicação é a do processamento, as features saem do mesmo ``MotorDeFeatures`` do processamento e do treino,
e a decisão, do mesmo modelo e das mesmas regras (``decisao.py``).

Determinístico: o mesmo estado, as mesmas mensagens, o mesmo relógio (``agora_s``, que decide a janela de
aceite) e as mesmas marcas MED dão as mesmas decisões e o mesmo estado. É o que deixa uma recuperação refazer
os lotes gravados e chegar ao estado exato de antes da queda.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from machine_learning.decisao import DECISOES, MENSAGEM_INVALIDA, REVISAR, decidir
from machine_learning.limites import Bloqueio, LimitesAprovados, LimitesDoCliente
from machine_learning.modelo_em_uso import ModeloEmUso
from plataforma.config import Configuracao
from plataforma.decisoes import ESQUEMA_DECISOES
from plataforma.kafka_opcoes import opcoes_cliente_kafka
from processamento.deduplicacao import Deduplicador
from processamento.estado import ComEstado
from processamento.features import COLUNAS_ENTRADA, MotorDeFeatures, ParametrosFeatures
from processamento.silver import interpretar_transacoes_pandas

if TYPE_CHECKING:
    from collections.abc import Iterator

    from confluent_kafka import Consumer, Message

INTERVALO_EXPIRACAO = 200  # lotes entre duas varreduras de expiração do estado (lotes aqui são curtos)

# O que o núcleo precisa de cada mensagem do Kafka (os nomes da bronze).
COLUNAS_MENSAGEM = ("valor_bruto", "topico", "particao", "offset", "timestamp_kafka")

_COLUNAS_DA_TRANSACAO = [
    "end_to_end_id", "data_hora", "timestamp_kafka", "valor", "pagador_id_conta", "recebedor_id_conta",
    "topico", "particao", "offset",
]  # fmt: skip


def id_decisao(topico: pd.Series, particao: pd.Series, offset: pd.Series) -> pd.Series:
    """``<tópico>/<partição>/<offset>`` do Pix decidido: estável entre tentativas, único por mensagem."""
    return topico.astype(str) + "/" + particao.astype(str) + "/" + offset.astype(str)


@dataclass
class ResultadoDoLote:
    """O que um lote produziu: as decisões (colunas de ``ESQUEMA_DECISOES``) e o que as explica."""

    decisoes: pd.DataFrame
    features: pd.DataFrame  # as features das transações aceitas, na ordem do motor
    score: np.ndarray  # alinhado com ``features``
    modelo: ModeloEmUso | None  # None: só estado (lote refeito numa recuperação, sem decidir)
    entrada: int
    duplicatas: int
    sem_decisao: int  # fora do contrato e sem end_to_end_id legível, ou inválida com o id de um Pix já decidido
    bloqueios: list[Bloqueio] = field(default_factory=list)  # os que não consomem os limites do BCB

    @property
    def por_decisao(self) -> dict[str, int]:
        contagem = self.decisoes["decisao"].value_counts() if len(self.decisoes) else {}
        return {d: int(contagem.get(d, 0)) for d in DECISOES}


@dataclass
class Triagem:
    """O contrato e a deduplicação de um lote, antes das features."""

    lido: pd.DataFrame  # cada mensagem interpretada (``motivos`` vazio = válida)
    aceitas: pd.DataFrame  # válidas e não repetidas: viram features e decisão
    duplicatas: pd.DataFrame  # válidas com ``end_to_end_id`` já visto
    invalidas: pd.DataFrame  # fora do contrato, com ``end_to_end_id`` legível ainda não decidido: REVISAR
    sem_decisao: int  # fora do contrato e sem id legível, ou com o id de um Pix já decidido

    @property
    def entrada(self) -> int:
        return len(self.lido)


class NucleoDeDecisao:
    """Estado da decisão (motor de features e deduplicação) e a função lote -> decisões."""

    def __init__(
        self,
        chave: bytes,
        tolerancia_futuro_s: float,
        janela_deduplicacao_h: int,
        parametros: ParametrosFeatures | None = None,
    ) -> None:
        self.chave = chave
        self.tolerancia_futuro_s = tolerancia_futuro_s
        self.janela_deduplicacao_h = janela_deduplicacao_h
        self.parametros = parametros or ParametrosFeatures()
        # Limites do próprio cliente (pagador_id_conta -> LimitesDoCliente), quando o banco os informa.
        self.limites_clientes: dict[str, LimitesDoCliente] = {}
        self.reiniciar()

    def reiniciar(self) -> None:
        self.motor = MotorDeFeatures(self.parametros)
        self.dedup = Deduplicador(self.janela_deduplicacao_h)
        self.limites = LimitesAprovados(self.parametros)

    def componentes(self) -> dict[str, ComEstado]:
        """O estado, pelos nomes com que o armazém o grava."""
        return {"features": self.motor, "dedup": self.dedup, "limites": self.limites}

    def decidir(
        self,
        mensagens: pd.DataFrame,
        lote: int,
        agora_s: float,
        marcas: pd.DataFrame | None = None,
        modelo: ModeloEmUso | None = None,
        ao_falhar: Callable[[ModeloEmUso, Exception], ModeloEmUso] | None = None,
    ) -> ResultadoDoLote:
        """Interpreta, deduplica, calcula as features e decide um lote (colunas ``COLUNAS_MENSAGEM``).

        - ``agora_s``: o relógio do lote (janela de aceite do contrato); gravado com o lote para refazê-lo igual.
        - ``marcas``: notificações MED resolvidas (``recebedor_id_conta``, ``data_hora_notificacao``).
        - ``modelo``: quem pontua; ``None`` só atualiza o estado (não pontua nem decide).
        - ``ao_falhar``: se o modelo levantar neste lote, devolve o que pontua no lugar (as regras); sem ele, a
          exceção sobe. Um lote que falha seria refeito e falharia de novo, para sempre.
        """
        triagem = self.triar(self.interpretar(mensagens, agora_s))
        extras = ["timestamp_kafka", "topico", "particao", "offset"]
        features = self.motor.processar_linha_do_tempo(triagem.aceitas[[*COLUNAS_ENTRADA, *extras]], marcas)
        if lote % INTERVALO_EXPIRACAO == 0:
            self.motor.expirar()
        return self.decidir_features(features, triagem, lote, modelo, ao_falhar)

    def interpretar(self, mensagens: pd.DataFrame, agora_s: float) -> pd.DataFrame:
        """O contrato e a pseudonimização da silver, sem estado: uma linha por mensagem (``motivos`` vazio = válida)."""
        if "data_hora_ingestao" not in mensagens:  # só a bronze tem; aqui, o relógio do lote (refeito igual)
            mensagens = mensagens.assign(data_hora_ingestao=pd.Timestamp(agora_s, unit="s", tz="UTC"))
        # A quarentena é gravada pelo processamento: aqui, nenhuma inválida paga o mascaramento do payload.
        return interpretar_transacoes_pandas(
            mensagens, self.chave, self.tolerancia_futuro_s, agora_s, mascarar_invalidas=False
        )

    def triar(self, lido: pd.DataFrame, em_ordem: bool = False) -> Triagem:
        """Deduplicação das mensagens interpretadas: quais viram features, quais vão para revisão e quais ficam sem
        decisão.

        Sem ``em_ordem``, as válidas são deduplicadas na ordem ``(tópico, partição, offset)``; com ele, na ordem de
        ``lido`` (a etapa do recebedor passa a ordem do tempo do evento, a mesma em todo processo).
        """
        validas = (lido["motivos"].str.len() == 0).to_numpy()
        candidatas = lido[validas]
        if not em_ordem:
            candidatas = candidatas.sort_values(["topico", "particao", "offset"])
        particoes = candidatas["topico"].astype(str) + "/" + candidatas["particao"].astype(str)
        duplicata, _antigo = self.dedup.classificar(candidatas["end_to_end_id"], particoes)
        # Fora do contrato com end_to_end_id legível: não dá para aprovar às cegas, vai para revisão. Mas nunca
        # uma segunda decisão para um Pix válido já decidido (ou decidido neste lote): essa fica sem decisão.
        invalidas = lido[~validas & lido["end_to_end_id"].notna().to_numpy()]
        ids = invalidas["end_to_end_id"]
        invalidas = invalidas[~ids.duplicated().to_numpy() & ~self.dedup.ja_vistos(ids)]
        sem_decisao = int((~validas).sum()) - len(invalidas)
        return Triagem(lido, candidatas[~duplicata], candidatas[duplicata], invalidas, sem_decisao)

    def decidir_features(
        self,
        features: pd.DataFrame,
        triagem: Triagem,
        lote: int,
        modelo: ModeloEmUso | None,
        ao_falhar: Callable[[ModeloEmUso, Exception], ModeloEmUso] | None = None,
    ) -> ResultadoDoLote:
        """Score, limites do BCB e regras sobre as features do lote; as inválidas legíveis vão para revisão."""
        invalidas, sem_decisao = triagem.invalidas, triagem.sem_decisao
        entrada, duplicatas = triagem.entrada, len(triagem.duplicatas)
        if modelo is None:
            vazio = pd.DataFrame(columns=ESQUEMA_DECISOES.fieldNames())
            return ResultadoDoLote(vazio, features, np.zeros(0), None, entrada, duplicatas, sem_decisao)

        score, modelo = self._pontuar(modelo, features, ao_falhar)
        bloqueios: list[Bloqueio] = []
        if len(features):  # os limites do BCB contam só o que passou (machine_learning.limites)
            ajustadas, score, bloqueios = self.limites.ajustar(
                features, score, modelo.so_regras, modelo.limiares, self.limites_clientes
            )
            decididas = decidir(ajustadas, score, modelo.limiares)
        else:
            decididas = pd.DataFrame()
        saida = features[_COLUNAS_DA_TRANSACAO].assign(
            decisao=decididas.get("decisao"), motivos=decididas.get("motivos"), score=score,
            versao_modelo=modelo.versao,
        )  # fmt: skip
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
        saida["id_decisao"] = id_decisao(saida["topico"], saida["particao"], saida["offset"])
        saida["data_hora_decisao"] = pd.Timestamp.now(tz="UTC")
        saida["lote"] = lote
        saida = saida.reindex(columns=ESQUEMA_DECISOES.fieldNames())
        return ResultadoDoLote(saida, features, score, modelo, entrada, duplicatas, sem_decisao, bloqueios)

    @staticmethod
    def _pontuar(
        modelo: ModeloEmUso,
        features: pd.DataFrame,
        ao_falhar: Callable[[ModeloEmUso, Exception], ModeloEmUso] | None,
    ) -> tuple[np.ndarray, ModeloEmUso]:
        if not len(features):
            return np.zeros(0), modelo
        try:
            return modelo.pontuar(features), modelo
        except Exception as erro:
            if modelo.so_regras or ao_falhar is None:
                raise  # as regras são código do projeto: falha nelas é defeito, não entrada
            substituto = ao_falhar(modelo, erro)
            return substituto.pontuar(features), substituto


def mensagens_para_df(mensagens: list[Message]) -> pd.DataFrame:
    """As mensagens do Kafka com os nomes da bronze: o que o núcleo recebe de qualquer alimentador."""
    return pd.DataFrame(
        {
            "valor_bruto": [m.value() for m in mensagens],
            "topico": [m.topic() for m in mensagens],
            "particao": np.fromiter((m.partition() for m in mensagens), np.int32, len(mensagens)),
            "offset": np.fromiter((m.offset() for m in mensagens), np.int64, len(mensagens)),
            "timestamp_kafka": pd.to_datetime([m.timestamp()[1] for m in mensagens], unit="ms", utc=True),
        }
    )


class ErroDeRecuperacao(RuntimeError):
    """O estado não pode ser reconstruído de forma exata: parar é melhor que decidir com estado errado."""


def faixas_para_json(faixas: dict[int, tuple[int, int]]) -> dict[str, list[int]]:
    """``partição -> [início, fim)`` como vai no registro de um lote (JSON só tem chaves de texto)."""
    return {str(p): [a, b] for p, (a, b) in faixas.items()}


def faixas_de_json(d: dict[str, list[int]]) -> dict[int, tuple[int, int]]:
    return {int(p): (int(f[0]), int(f[1])) for p, f in d.items()}


def leitor_de_recuperacao(cfg: Configuracao, grupo: str) -> Consumer:
    """Consumidor sem commit, só transações confirmadas, com aviso de fim de partição: relê faixas conhecidas."""
    from confluent_kafka import Consumer

    return Consumer(
        {**opcoes_cliente_kafka(cfg), "group.id": f"{grupo}:recuperacao", "enable.auto.commit": "false",
         "isolation.level": "read_committed", "enable.partition.eof": "true", "auto.offset.reset": "earliest"}
    )  # fmt: skip


def reler_faixas(
    leitor: Consumer, topico: str, faixas_por_lote: list[dict[int, tuple[int, int]]]
) -> Iterator[list[Message]]:
    """As mensagens de cada lote registrado (``partição -> [início, fim)``), lote a lote, numa leitura só do tópico.

    ``leitor``: um consumidor sem commit, ``read_committed``, com aviso de fim de partição (o que a recuperação usa).
    Uma faixa além do fim atual do tópico termina no fim (o que existe); o fechamento do leitor fica com quem chama.
    """
    from confluent_kafka import KafkaError, TopicPartition

    inicios: dict[int, int] = {}
    for faixas in faixas_por_lote:
        for p, (a, b) in faixas.items():
            if b > a:
                inicios.setdefault(p, a)
    guardadas: dict[int, list[Message]] = {p: [] for p in inicios}
    vistos = {p: a - 1 for p, a in inicios.items()}
    no_fim: set[int] = set()
    if inicios:
        leitor.assign([TopicPartition(topico, p, a) for p, a in inicios.items()])
    for faixas in faixas_por_lote:
        while [p for p, (a, b) in faixas.items() if b > a and vistos[p] < b - 1 and p not in no_fim]:
            for m in leitor.consume(10_000, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        no_fim.add(m.partition())
                        continue
                    raise ErroDeRecuperacao(f"Kafka: erro relendo {topico}: {m.error()}")
                guardadas[m.partition()].append(m)
                vistos[m.partition()] = m.offset()
                no_fim.discard(m.partition())
        do_lote: list[Message] = []
        for p, (a, b) in faixas.items():
            if b <= a:
                continue
            deste = guardadas[p]
            corte = next((i for i, m in enumerate(deste) if m.offset() >= b), len(deste))
            do_lote += [m for m in deste[:corte] if m.offset() >= a]
            guardadas[p] = deste[corte:]
        yield do_lote


def marcas_para_registro(marcas: pd.DataFrame | None) -> list[tuple[str, int]]:
    if marcas is None or marcas.empty:
        return []
    instantes = pd.to_datetime(marcas["data_hora_notificacao"], utc=True).astype("int64") // 1_000_000
    return list(zip(marcas["recebedor_id_conta"].tolist(), instantes.tolist(), strict=True))


def marcas_de_registro(marcas: list) -> pd.DataFrame | None:
    """O inverso de ``marcas_para_registro``: as marcas MED de um registro de lote, como o motor as recebe."""
    if not marcas:
        return None
    recebedores, instantes = zip(*marcas, strict=True)
    return pd.DataFrame(
        {
            "recebedor_id_conta": list(recebedores),
            "data_hora_notificacao": pd.to_datetime(list(instantes), unit="ms", utc=True),
        }
    )


# O tópico das decisões ----------------------------------------------------------------------------
def _iso(coluna: pd.Series) -> list[str | None]:
    """``2026-11-27T23:41:07.412Z`` (milissegundos truncados, como no contrato); nulo vira None.

    Em numpy: o ``strftime`` do pandas custava ~1 ms por coluna num lote de cem, três vezes por lote.
    """
    instantes = coluna.dt.tz_convert(None).to_numpy(dtype="datetime64[ms]")
    return [None if t == "NaT" else t + "Z" for t in np.datetime_as_string(instantes, unit="ms").tolist()]


def mensagens_kafka(saida: pd.DataFrame) -> list[str]:
    """JSON de cada decisão em ``pix.decisoes`` (contrato em docs/contrato_de_dados.md)."""
    colunas = {
        "id_decisao": saida["id_decisao"].tolist(),
        "end_to_end_id": saida["end_to_end_id"].tolist(),
        "decisao": saida["decisao"].tolist(),
        "score": [None if s != s else round(s, 6) for s in saida["score"].to_numpy(np.float64).tolist()],
        "motivos": [list(m) for m in saida["motivos"]],
        "versao_modelo": saida["versao_modelo"].tolist(),
        "data_hora": _iso(pd.to_datetime(saida["data_hora"], utc=True)),
        "timestamp_kafka": _iso(saida["timestamp_kafka"]),
        "data_hora_decisao": _iso(saida["data_hora_decisao"]),
        "valor": [None if v != v else v for v in saida["valor"].to_numpy(np.float64).tolist()],
        "pagador_id_conta": saida["pagador_id_conta"].tolist(),
        "recebedor_id_conta": saida["recebedor_id_conta"].tolist(),
        "topico": saida["topico"].tolist(),
        # Listas do Python antes de iterar: percorrer uma Series do pandas custa microssegundos por valor.
        "particao": saida["particao"].to_numpy(np.int64).tolist(),
        "offset": saida["offset"].to_numpy(np.int64).tolist(),
        "lote": saida["lote"].to_numpy(np.int64).tolist(),
    }
    nomes = list(colunas)
    return [
        json.dumps(dict(zip(nomes, valores, strict=True)), ensure_ascii=False)
        for valores in zip(*colunas.values(), strict=True)
    ]


def ler_decisoes_kafka(cfg: Configuracao, espera_s: float = 60.0) -> pd.DataFrame:
    """Todas as decisões de ``topico_decisoes`` até o fim atual, com a chave e o timestamp do Kafka.

    ``latencia_s``: do timestamp do Pix no Kafka até o da decisão (com o tópico em ``LogAppendTime``, como o
    broker local o cria, é o instante em que a decisão ficou disponível para quem consome).
    """
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    topico = cfg.topico_decisoes
    opcoes = {
        **opcoes_cliente_kafka(cfg),
        "group.id": f"detector-pix-leitura-{os.getpid()}-{time.time_ns()}",
        "isolation.level": "read_committed",  # só decisões de transações confirmadas: o que um consumidor vê
        # O fim é o aviso de fim de partição: num tópico transacional o último offset é um marcador de commit,
        # que nunca chega como mensagem.
        "enable.partition.eof": "true",
        "auto.offset.reset": "earliest",  # retenção já apagou o começo: lê do que existe
    }
    consumidor = Consumer({**opcoes, "enable.auto.commit": "false"})
    try:
        particoes = consumidor.list_topics(topico, timeout=10).topics[topico].partitions
        vazias = {
            p for p in particoes if consumidor.get_watermark_offsets(TopicPartition(topico, p), timeout=10)[1] == 0
        }
        consumidor.assign([TopicPartition(topico, p, 0) for p in particoes if p not in vazias])
        linhas, no_fim, limite = [], set(vazias), time.monotonic() + espera_s
        while len(no_fim) < len(particoes) and time.monotonic() < limite:
            for m in consumidor.consume(10_000, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        no_fim.add(m.partition())
                    continue
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
