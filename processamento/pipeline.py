"""As consultas de streaming do processamento: bronze -> silver, quarentena e gold, exatamente uma vez.

Transações: um ``foreachBatch`` por micro-batch
1. interpreta e valida no Spark (``mapInPandas``, distribuído) e traz o lote ao driver;
2. separa inválidas (quarentena, com motivos) e duplicatas (quarentena, motivo ``DUPLICATA``);
3. marca atrasadas (tempo do evento mais velho que o relógio menos ``atraso_tolerado_min``);
4. calcula as features no motor vetorizado, com as notificações MED novas como marcas de fraude;
5. grava silver, quarentena e gold com ``txnAppId``/``txnVersion`` (idempotente) e, por último, o estado.

Um reinício (mesmo um SIGKILL) refaz o lote interrompido a partir do estado do lote anterior: as escritas
já feitas são ignoradas pelo Delta e o estado é regravado igual. Nada se perde, nada se duplica.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from plataforma.tabelas import Tabela, checkpoint, com_trigger, tabela
from processamento.deduplicacao import Deduplicador, minuto_do_id
from processamento.estado import ArmazemDeEstado
from processamento.features import COLUNAS_ENTRADA, COLUNAS_FEATURES, MotorDeFeatures, ParametrosFeatures
from processamento.retomada import (
    CONSULTA_MED,
    CONSULTA_TRANSACOES,
    Retomada,
    id_de_escrita,
    linhas_gravadas,
    preparar_retomada,
)
from processamento.silver import (
    COLUNAS_QUARENTENA,
    DUPLICATA,
    ESQUEMA_TRANSACAO_INTERPRETADA,
    interpretar_med,
    interpretar_transacoes,
    quarentena,
    validas,
)

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery

    from monitoramento.metricas import MetricasDoProcessamento

INTERVALO_EXPIRACAO = 20  # lotes entre duas varreduras de expiração do estado

# Os parâmetros da configuração que o notebook do processamento lê (consultas, conciliação, métricas, chave da
# pseudonimização): no Databricks, só eles viram widgets. Esquema só com Unity Catalog; intervalo_trigger só no
# modo contínuo.
PARAMETROS_PROCESSAMENTO = (
    "intervalo_trigger",
    "max_arquivos_por_trigger",
    "atraso_tolerado_min",
    "tolerancia_futuro_s",
    "janela_deduplicacao_h",
    "chave_pseudonimizacao",
    "pushgateway_url",
    "catalogo",
    "esquema",
    "dados_dir",
    "checkpoints_dir",
)

_TIPOS_SPARK = {"int32": T.IntegerType(), "float64": T.DoubleType(), "bool": T.BooleanType()}

ESQUEMA_SILVER = T.StructType(
    [c for c in ESQUEMA_TRANSACAO_INTERPRETADA.fields if c.name not in ("motivos", "valor_mascarado")]
    + [
        T.StructField("atrasado", T.BooleanType()),
        T.StructField("lote", T.LongType()),
        T.StructField("data_hora_processamento", T.TimestampType()),
    ]
)
ESQUEMA_QUARENTENA = T.StructType(
    [
        T.StructField("origem", T.StringType()),
        *[c for c in ESQUEMA_TRANSACAO_INTERPRETADA.fields if c.name in COLUNAS_QUARENTENA],
        T.StructField("lote", T.LongType()),
        T.StructField("data_hora_processamento", T.TimestampType()),
    ]
)
COLUNAS_GOLD_CHAVE = [
    "end_to_end_id",
    "data_hora",
    "valor",
    "pagador_id_conta",
    "recebedor_id_conta",
    "pagador_tipo_pessoa",
    "recebedor_tipo_pessoa",
    "forma_iniciacao",
    "canal",
    "atrasado",
    "timestamp_kafka",
]
ESQUEMA_GOLD = T.StructType(
    [ESQUEMA_SILVER[c] for c in COLUNAS_GOLD_CHAVE]
    + [T.StructField(nome, _TIPOS_SPARK[tipo]) for nome, tipo in COLUNAS_FEATURES.items()]
    + [T.StructField("lote", T.LongType()), T.StructField("data_hora_processamento", T.TimestampType())]
)


ESQUEMA_SILVER_MED = T.StructType(
    [
        T.StructField("end_to_end_id", T.StringType()),
        *[c for c in ESQUEMA_QUARENTENA.fields if c.name in ("topico", "particao", "offset", "timestamp_kafka")],
        T.StructField("data_hora_ingestao", T.TimestampType()),
        T.StructField("data_hora_notificacao", T.TimestampType()),
        T.StructField("tipo", T.StringType()),
        T.StructField("valor_contestado", T.DecimalType(17, 2)),
        T.StructField("recebedor_id_conta", T.StringType()),
        T.StructField("data_hora_pix", T.TimestampType()),
        T.StructField("lote", T.LongType()),
        T.StructField("data_hora_processamento", T.TimestampType()),
        # O lote do MED em que a notificação virou marca (achou o Pix na silver): o cursor de quem busca marcas.
        # Nulo enquanto espera o Pix; igual a ``lote`` quando o Pix já estava lá.
        T.StructField("lote_marca", T.LongType()),
    ]
)


def marcas_depois_de(silver_med: DataFrame, med_ate: int) -> DataFrame:
    """Marcas (``recebedor_id_conta``, ``data_hora_notificacao``, ``lote``) resolvidas depois do lote ``med_ate``.

    ``lote`` aqui é o ``lote_marca``: uma notificação que chegou antes do Pix vira marca no lote em que o achou.
    Uma ``silver_med`` de antes da coluna usa o ``lote`` da própria notificação.
    """
    cursor = F.coalesce("lote_marca", "lote") if "lote_marca" in silver_med.columns else F.col("lote")
    return silver_med.where((cursor > med_ate) & F.col("recebedor_id_conta").isNotNull()).select(
        "recebedor_id_conta", "data_hora_notificacao", cursor.alias("lote")
    )


def preparar_tabelas(spark: SparkSession, cfg: Configuracao) -> None:
    """Cria as tabelas vazias antes das consultas: duas consultas criando a mesma tabela ao mesmo tempo
    (a quarentena recebe de ambas) é um conflito de protocolo no Delta. Numa tabela que já existe, acrescenta as
    colunas que esta versão grava e ela não tem; as antigas ficam (nulas dali em diante)."""
    vazio = spark.createDataFrame
    contas = "end_to_end_id,data_hora,pagador_id_conta,recebedor_id_conta,lote"
    # Estatísticas de data skipping só nas colunas de busca: com todas (o padrão, 32), cada commit gasta mais
    # calculando mínimos e máximos de hashes do que escrevendo os dados.
    tabelas = {
        "silver_transacoes": (_valor_decimal(_com_data(vazio([], ESQUEMA_SILVER))), "data", contas),
        "silver_quarentena": (vazio([], ESQUEMA_QUARENTENA), None, "origem,end_to_end_id,offset,lote"),
        "gold_features": (_com_data(vazio([], ESQUEMA_GOLD)), "data", contas),
        "silver_med": (vazio([], ESQUEMA_SILVER_MED), None, "end_to_end_id,recebedor_id_conta,lote"),
    }
    for nome, (df, particao, estatisticas) in tabelas.items():
        destino = tabela(cfg, nome)
        if not destino.existe(spark):
            propriedades = {"delta.dataSkippingStatsColumns": estatisticas}
            destino.anexar(df, "detector-pix:criacao", 0, particao, propriedades)
        else:  # tabela de uma versão anterior: ganha as colunas novas (valor_mascarado, lote_marca)
            destino.acrescentar_colunas_ausentes(spark, df.schema)


def _em_utc(df: pd.DataFrame) -> pd.DataFrame:
    """O ``toPandas`` devolve datas sem fuso (no fuso da sessão, UTC); aqui elas ficam explícitas em UTC."""
    for coluna in df.columns:
        if pd.api.types.is_datetime64_dtype(df[coluna]) and df[coluna].dt.tz is None:
            df[coluna] = df[coluna].dt.tz_localize("UTC")
    return df


def _com_data(df: DataFrame, coluna: str = "data_hora") -> DataFrame:
    return df.withColumn("data", F.to_date(coluna))


def _valor_decimal(df: DataFrame, coluna: str = "valor") -> DataFrame:
    return df.withColumn(coluna, F.col(coluna).cast(T.DecimalType(17, 2)))


@dataclass
class ResumoDoLote:
    lote: int
    entrada: int
    silver: int
    quarentena: int
    duplicatas: int
    atrasadas: int
    segundos: float
    contas_no_estado: int
    gold_confirmado_em: float  # epoch (s) logo após o commit da gold: base da latência Kafka -> gold


MAX_RESUMOS = 10_000


@dataclass
class ProcessadorDeTransacoes:
    """O ``foreachBatch`` de bronze_transacoes. Guarda o estado entre lotes e sabe reconstruí-lo."""

    spark: SparkSession
    cfg: Configuracao
    chave: bytes
    parametros: ParametrosFeatures = field(default_factory=ParametrosFeatures)
    intervalo_snapshot: int = 50
    # Só os lotes recentes: um stream contínuo roda meses, e uma lista de todos cresceria sem limite.
    resumos: deque[ResumoDoLote] = field(default_factory=lambda: deque(maxlen=MAX_RESUMOS))
    metricas: MetricasDoProcessamento | None = None
    retomada: Retomada = field(default_factory=Retomada)  # checkpoint reiniciado: de onde continuar

    def __post_init__(self) -> None:
        self.silver = tabela(self.cfg, "silver_transacoes")
        self.quarentena = tabela(self.cfg, "silver_quarentena")
        self.gold = tabela(self.cfg, "gold_features")
        self.silver_med = tabela(self.cfg, "silver_med")
        self.armazem = ArmazemDeEstado(f"{checkpoint(self.cfg, CONSULTA_TRANSACOES)}/estado", self.intervalo_snapshot)
        self.lote_em_memoria: int | None = None
        self._reiniciar_estado()

    def _reiniciar_estado(self) -> None:
        self.motor = MotorDeFeatures(self.parametros)
        self.dedup = Deduplicador(self.cfg.janela_deduplicacao_h)
        self.relogios: dict[str, int] = {}  # "topico/particao" -> maior data_hora já vista (ms)
        self.med_ate = -1  # último lote da silver_med já aplicado como marca

    def _sincronizar(self, lote: int) -> None:
        """Garante na memória o estado de ``lote - 1`` (reconstruindo do armazém após um reinício)."""
        if self.lote_em_memoria == lote - 1:
            return
        self._reiniciar_estado()
        for extras in self.armazem.restaurar(lote - 1, self._componentes()):
            chaves, instantes = extras["pipeline.relogio_chave"].tolist(), extras["pipeline.relogio_ms"].tolist()
            for chave, ms in zip(chaves, instantes, strict=True):
                self.relogios[chave] = max(self.relogios.get(chave, 0), ms)
            self.med_ate = max(self.med_ate, int(extras["pipeline.med_ate"][0]))
        self.lote_em_memoria = lote - 1

    def _componentes(self) -> dict:
        return {"features": self.motor, "dedup": self.dedup}

    def _marcas_novas(self) -> pd.DataFrame:
        if not self.silver_med.existe(self.spark):
            return pd.DataFrame(columns=["recebedor_id_conta", "data_hora_notificacao", "lote"])
        novas = marcas_depois_de(self.silver_med.ler(self.spark), self.med_ate).toPandas()
        novas = _em_utc(novas)
        if len(novas):
            self.med_ate = int(novas["lote"].max())
        return novas

    def _ja_na_silver(self, ids: pd.Series, lote: int) -> np.ndarray:
        """Duplicatas mais velhas que a janela da memória: consulta pontual à silver, podada pela data."""
        if not self.silver.existe(self.spark):
            return np.zeros(len(ids), bool)
        datas = sorted({str(d.date()) for d in pd.to_datetime(minuto_do_id(ids) * 60, unit="s")})
        procurados = self.spark.createDataFrame(pd.DataFrame({"end_to_end_id": ids.unique()}))
        encontrados = {
            r.end_to_end_id
            for r in self.silver.ler(self.spark)
            .where(F.col("data").isin(datas) & (F.col("lote") < lote))
            .select("end_to_end_id")
            .join(procurados, "end_to_end_id")
            .collect()
        }
        return ids.isin(encontrados).to_numpy()

    def _atrasadas(self, aceitas: pd.DataFrame) -> pd.Series:
        """Atrasada: tempo do evento mais velho que o relógio da sua partição no Kafka (o maior já visto antes
        dela ali, neste lote ou nos anteriores) menos a tolerância. Fica na silver, marcada; nunca descartada.

        Um relógio por partição, e não um global: ao reprocessar um backlog, uma partição pode estar horas à
        frente da outra sem que nada esteja atrasado de fato.
        """
        if aceitas.empty:
            return pd.Series(False, index=aceitas.index)
        particao = aceitas["topico"] + "/" + aceitas["particao"].astype(str)
        anterior = pd.to_datetime(particao.map(self.relogios).fillna(0).astype("int64"), unit="ms", utc=True)
        maior_ate_aqui = aceitas.groupby(particao, sort=False)["data_hora"].cummax()
        relogio = maior_ate_aqui.where(maior_ate_aqui > anterior, anterior)
        maximos = aceitas.groupby(particao)["data_hora"].max()
        for chave, instante in maximos.items():
            self.relogios[chave] = max(self.relogios.get(chave, 0), instante.value // 1_000_000)
        return aceitas["data_hora"] < relogio - pd.Timedelta(minutes=self.cfg.atraso_tolerado_min)

    def __call__(self, lote_df: DataFrame, id_no_spark: int) -> None:
        inicio = time.perf_counter()
        lote, lote_df = self.retomada.lote(id_no_spark), self.retomada.filtrar(lote_df)
        self._sincronizar(lote)
        marcas = self._marcas_novas()
        lido = _em_utc(interpretar_transacoes(lote_df, self.chave, self.cfg.tolerancia_futuro_s).toPandas())
        agora = pd.Timestamp.now(tz="UTC")
        invalidas = lido[lido["motivos"].str.len() > 0]
        candidatas = lido[lido["motivos"].str.len() == 0].sort_values(["topico", "particao", "offset"])
        particoes = candidatas["topico"].astype(str) + "/" + candidatas["particao"].astype(str)
        duplicata, antigo = self.dedup.classificar(candidatas["end_to_end_id"], particoes)
        if antigo.any():
            duplicata[antigo] |= self._ja_na_silver(candidatas["end_to_end_id"][antigo], lote)
        duplicatas = candidatas[duplicata].assign(motivos=[[DUPLICATA]] * int(duplicata.sum()))
        aceitas = candidatas[~duplicata].copy()
        aceitas["atrasado"] = self._atrasadas(aceitas)
        aceitas["lote"], aceitas["data_hora_processamento"] = lote, agora

        features = self.motor.processar_linha_do_tempo(
            aceitas[[*COLUNAS_ENTRADA, *[c for c in COLUNAS_GOLD_CHAVE if c not in COLUNAS_ENTRADA]]], marcas
        )
        if lote % INTERVALO_EXPIRACAO == 0:
            self.motor.expirar()
        features["lote"], features["data_hora_processamento"] = lote, agora

        para_quarentena = pd.concat([invalidas, duplicatas], ignore_index=True).assign(
            origem="transacoes", lote=lote, data_hora_processamento=agora
        )
        id_app = id_de_escrita(self.cfg, CONSULTA_TRANSACOES)
        criar = self.spark.createDataFrame
        self.quarentena.anexar(
            criar(para_quarentena[ESQUEMA_QUARENTENA.fieldNames()], ESQUEMA_QUARENTENA), id_app, lote
        )
        silver = _valor_decimal(_com_data(criar(aceitas[ESQUEMA_SILVER.fieldNames()], ESQUEMA_SILVER)))
        self.silver.anexar(silver, id_app, lote, particao="data")
        gold = _com_data(criar(features[ESQUEMA_GOLD.fieldNames()], ESQUEMA_GOLD))
        self.gold.anexar(gold, id_app, lote, "data", acrescentar_colunas=True)  # features novas entram na gold

        gold_confirmado_em = time.time()

        self.armazem.salvar(
            lote,
            self._componentes(),
            {
                "pipeline.relogio_chave": np.array(list(self.relogios), dtype=str),
                "pipeline.relogio_ms": np.array(list(self.relogios.values()), np.int64),
                "pipeline.med_ate": np.array([self.med_ate], np.int64),
            },
        )
        self.lote_em_memoria = lote
        self.resumos.append(
            ResumoDoLote(
                lote,
                len(lido),
                len(aceitas),
                len(invalidas),
                len(duplicatas),
                int(aceitas["atrasado"].sum()),
                time.perf_counter() - inicio,
                self.motor.contas_no_estado,
                gold_confirmado_em,
            )
        )
        if self.metricas:
            self.metricas.lote(self.resumos[-1])
            self.metricas.publicar()  # depois dos commits: não atrasa a gold; sem Pushgateway, volta na hora


@dataclass
class ProcessadorDeMed:
    """O ``foreachBatch`` de bronze_med: valida, deduplica por end_to_end_id e acha a conta recebedora.

    Uma notificação que chega antes do seu Pix (backlog, primeira implantação) fica na ``silver_med`` esperando,
    sem ``recebedor_id_conta``, contada na conciliação; a cada lote do MED ela é procurada de novo na silver.
    """

    spark: SparkSession
    cfg: Configuracao
    retomada: Retomada = field(default_factory=Retomada)

    def __post_init__(self) -> None:
        self.silver_med = tabela(self.cfg, "silver_med")
        self.silver = tabela(self.cfg, "silver_transacoes")
        self.quarentena = tabela(self.cfg, "silver_quarentena")

    def __call__(self, lote_df: DataFrame, id_no_spark: int) -> None:
        lote, lote_df = self.retomada.lote(id_no_spark), self.retomada.filtrar(lote_df)
        interpretadas = interpretar_med(lote_df, self.cfg.tolerancia_futuro_s).localCheckpoint()
        agora = F.current_timestamp()
        id_app = id_de_escrita(self.cfg, CONSULTA_MED)
        ordem = Window.partitionBy("end_to_end_id").orderBy("topico", "particao", "offset")
        candidatas = validas(interpretadas).withColumn("_ordem", F.row_number().over(ordem))
        if self.silver_med.existe(self.spark):
            anteriores = (
                self.silver_med.ler(self.spark)
                .where(F.col("lote") < lote)  # num reprocessamento, as linhas deste lote não contam
                .select("end_to_end_id", F.lit(True).alias("_ja_existe"))
                .distinct()
            )
            candidatas = candidatas.join(anteriores, "end_to_end_id", "left")
        else:
            candidatas = candidatas.withColumn("_ja_existe", F.lit(None).cast("boolean"))
        repetida = (F.col("_ordem") > 1) | F.col("_ja_existe").isNotNull()
        # Duplicata é mensagem válida: nada a mascarar (o payload intocado está na bronze, pelas coordenadas).
        coordenadas_e_id = [c for c in COLUNAS_QUARENTENA[1:] if c not in ("motivos", "valor_mascarado")]
        duplicatas = candidatas.where(repetida).select(
            F.lit("med").alias("origem"), *coordenadas_e_id,
            F.array(F.lit(DUPLICATA)).alias("motivos"), F.lit(None).cast("binary").alias("valor_mascarado"),
        )  # fmt: skip
        novas = candidatas.where(~repetida).drop("_ordem", "_ja_existe")
        if self.silver.existe(self.spark):
            contestadas = self._silver_nas_datas_de(novas).select("end_to_end_id", "recebedor_id_conta", "data_hora")
            novas = novas.join(contestadas, "end_to_end_id", "left").withColumnRenamed("data_hora", "data_hora_pix")
        else:
            novas = novas.withColumn("recebedor_id_conta", F.lit(None).cast("string")).withColumn(
                "data_hora_pix", F.lit(None).cast("timestamp")
            )
        quarentena_lote = quarentena(interpretadas, "med").unionByName(duplicatas)
        extras = [F.lit(lote).cast("long").alias("lote"), agora.alias("data_hora_processamento")]
        self.quarentena.anexar(quarentena_lote.select("*", *extras), id_app, lote)
        silver_med = _valor_decimal(novas.select("*", *extras), "valor_contestado").withColumn(
            "lote_marca", F.when(F.col("recebedor_id_conta").isNotNull(), F.lit(lote)).cast("long")
        )
        self._gravar_e_resolver(silver_med, lote)

    def _gravar_e_resolver(self, novas: DataFrame, lote: int) -> None:
        """Num commit só: as notificações novas entram, e as que esperavam o Pix e agora o acham na silver viram
        marca neste lote (``lote_marca``).

        Um commit só porque quem busca marcas usa ``lote_marca`` como cursor: ler metade do lote e avançar o cursor
        perderia a outra metade. Idempotente pelo ``end_to_end_id``: refazer o lote depois de uma queda não insere
        de novo nem muda uma marca já resolvida.
        """
        colunas = ESQUEMA_SILVER_MED.fieldNames()
        fonte = novas.select(*colunas, F.lit(False).alias("_resolucao"))
        resolvidas = self._pendentes_com_pix(lote)
        if resolvidas is not None:
            fonte = fonte.unionByName(resolvidas, allowMissingColumns=True)
        (
            self.silver_med.delta(self.spark)
            .alias("m")
            .merge(fonte.alias("n"), "m.end_to_end_id = n.end_to_end_id")
            .whenMatchedUpdate(
                condition="n._resolucao AND m.recebedor_id_conta IS NULL",
                set={c: f"n.{c}" for c in ("recebedor_id_conta", "data_hora_pix", "lote_marca")},
            )
            .whenNotMatchedInsert(condition="NOT n._resolucao", values={c: f"n.{c}" for c in colunas})
            .execute()
        )

    def _silver_nas_datas_de(self, ids: DataFrame) -> DataFrame:
        """A silver podada pelas datas que os próprios ``end_to_end_id`` carregam (ela é particionada por data)."""
        datas = ids.select(F.to_date(F.substring("end_to_end_id", 10, 8), "yyyyMMdd").alias("d")).distinct()
        return self.silver.ler(self.spark).where(F.col("data").isin([r.d for r in datas.collect()]))

    def _pendentes_com_pix(self, lote: int) -> DataFrame | None:
        """As notificações que esperam o Pix e cujo Pix já está na silver (poda pela data do end_to_end_id)."""
        if not self.silver.existe(self.spark):
            return None
        pendentes = self.silver_med.ler(self.spark).where(F.col("recebedor_id_conta").isNull()).select("end_to_end_id")
        if pendentes.isEmpty():
            return None
        return pendentes.join(self._silver_nas_datas_de(pendentes), "end_to_end_id").select(
            "end_to_end_id", "recebedor_id_conta", F.col("data_hora").alias("data_hora_pix"),
            F.lit(lote).cast("long").alias("lote_marca"), F.lit(True).alias("_resolucao"),
        )  # fmt: skip


def iniciar_processamento(
    spark: SparkSession,
    cfg: Configuracao,
    chave: bytes,
    disponivel: bool = False,
    metricas: MetricasDoProcessamento | None = None,
) -> tuple[StreamingQuery, StreamingQuery, ProcessadorDeTransacoes]:
    """Inicia as duas consultas (transações e MED). Devolve também o processador, com os resumos por lote."""
    preparar_tabelas(spark, cfg)
    processador = ProcessadorDeTransacoes(spark, cfg, chave, metricas=metricas)
    processador.retomada = preparar_retomada(
        spark, cfg, CONSULTA_TRANSACOES,
        [linhas_gravadas(spark, processador.silver), linhas_gravadas(spark, processador.quarentena, "transacoes")],
        processador.armazem.ultimo_lote(),
    )  # fmt: skip
    med = ProcessadorDeMed(spark, cfg)
    med.retomada = preparar_retomada(
        spark, cfg, CONSULTA_MED,
        [linhas_gravadas(spark, med.silver_med), linhas_gravadas(spark, med.quarentena, "med")], None,
    )  # fmt: skip
    if metricas is not None:
        metricas.partida()
    consultas = []
    for origem, consulta, funcao in (
        (tabela(cfg, "bronze_transacoes"), CONSULTA_TRANSACOES, processador),
        (tabela(cfg, "bronze_med"), CONSULTA_MED, med),
    ):
        escritor = (
            _fonte(spark, cfg, origem)
            .writeStream.queryName(consulta)
            .option("checkpointLocation", checkpoint(cfg, consulta))
            .foreachBatch(funcao)
        )
        consultas.append(com_trigger(escritor, cfg, disponivel).start())
        if disponivel:  # transações antes das notificações: o MED encontra o Pix contestado na silver
            consultas[-1].awaitTermination()
    return consultas[0], consultas[1], processador


def _fonte(spark: SparkSession, cfg: Configuracao, origem: Tabela) -> DataFrame:
    if not origem.existe(spark):
        raise ErroDeAmbiente(f"A tabela {origem.nome} ainda não existe: rode a ingestão antes do processamento.")
    return origem.ler_stream(spark, {"maxFilesPerTrigger": cfg.max_arquivos_por_trigger or None})
