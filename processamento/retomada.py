"""Identidade das escritas do processamento e a retomada depois de um checkpoint reiniciado.

Por que: cada lote grava silver, quarentena e gold com ``txnAppId``/``txnVersion``, e o Delta ignora sem erro
uma versão já vista para o mesmo ``txnAppId``. Com um ``txnAppId`` fixo, um checkpoint novo (lotes de novo a
partir do 0) teria as escritas descartadas em silêncio até passar o número antigo, e dev e prod dividiriam os
mesmos ids. Aqui:

- o ``txnAppId`` leva a implantação (``catalogo.esquema`` ou a pasta local), a consulta e o id da consulta, que
  o Spark guarda no checkpoint: um checkpoint novo é uma identidade nova;
- um checkpoint reiniciado (os arquivos do Spark movidos para o lado, ``reiniciar_checkpoint``) continua a
  numeração dos lotes de onde as tabelas pararam e pula as mensagens da bronze que elas já têm (pelas
  coordenadas no Kafka). A fonte Delta recomeça do início da bronze; nada é gravado duas vezes, nada falta.

O estado das features (``<checkpoint>/estado``) fica onde está: é ele que continua do último lote.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from plataforma.tabelas import checkpoint

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from plataforma.tabelas import Tabela

CONSULTA_TRANSACOES = "processamento_transacoes"
CONSULTA_MED = "processamento_med"

# O que o Spark grava no checkpoint de uma consulta; o resto (``estado/``) é do projeto.
ARQUIVOS_DO_SPARK = ("metadata", ".metadata.crc", "offsets", "commits", "sources")  # .crc: soma do Hadoop local
ARQUIVO_RETOMADA = "retomada.json"


def id_da_consulta(pasta_checkpoint: str | Path) -> str | None:
    """O id que o Spark dá à consulta na primeira partida e guarda em ``<checkpoint>/metadata``."""
    metadados = Path(pasta_checkpoint) / "metadata"
    if not metadados.exists():
        return None
    return json.loads(metadados.read_text().splitlines()[0])["id"]


def id_de_escrita(cfg: Configuracao, consulta: str) -> str:
    """``txnAppId`` das escritas de ``consulta``: único por implantação e por checkpoint.

    Dentro do ``foreachBatch`` o Spark já gravou o ``metadata`` com o id. Sem ele (o processador chamado direto,
    fora de uma consulta de streaming), o id fica só com a implantação e a consulta.
    """
    identificador = id_da_consulta(checkpoint(cfg, consulta))
    if identificador is None:
        return f"detector-pix:{cfg.implantacao}:{consulta}"
    return f"detector-pix:{cfg.implantacao}:{consulta}:{identificador}"


@dataclass(frozen=True)
class Retomada:
    """De onde um checkpoint reiniciado continua: o próximo número de lote e o que as tabelas já têm."""

    base_lote: int = 0
    posicoes: dict[str, int] = field(default_factory=dict)  # "topico/particao" -> maior offset já gravado

    def lote(self, id_do_lote_no_spark: int) -> int:
        return self.base_lote + id_do_lote_no_spark

    def filtrar(self, bronze: DataFrame) -> DataFrame:
        """As mensagens da bronze que as tabelas ainda não têm (todas, sem retomada)."""
        from pyspark.sql import functions as F

        if not self.posicoes:
            return bronze
        ja_gravada = F.lit(False)
        for chave, offset in self.posicoes.items():
            topico, particao = chave.rsplit("/", 1)
            ja_gravada = ja_gravada | (
                (F.col("topico") == topico) & (F.col("particao") == int(particao)) & (F.col("offset") <= offset)
            )
        return bronze.where(~ja_gravada)

    def para_json(self) -> str:
        return json.dumps({"base_lote": self.base_lote, "posicoes": self.posicoes}, indent=2)

    @classmethod
    def de_json(cls, texto: str) -> Retomada:
        dados = json.loads(texto)
        return cls(int(dados["base_lote"]), {str(k): int(v) for k, v in dados["posicoes"].items()})


def _checkpoint_em_uso(pasta: Path) -> bool:
    offsets = pasta / "offsets"
    return offsets.is_dir() and any(offsets.iterdir())


def preparar_retomada(
    spark: SparkSession,
    cfg: Configuracao,
    consulta: str,
    escritas: list[DataFrame | None],
    ultimo_lote_do_estado: int | None,
) -> Retomada:
    """A retomada de ``consulta`` (nenhuma, num checkpoint em uso ou numa implantação nova).

    ``escritas``: as linhas que a consulta já gravou (com ``topico``, ``particao``, ``offset`` e ``lote``; None
    para uma tabela que não existe).
    ``ultimo_lote_do_estado``: o último lote do estado das features (None se a consulta não tem estado); um
    checkpoint reiniciado só continua se as tabelas não passaram do estado (a última execução terminou limpa).
    """
    from pyspark.sql import functions as F

    pasta = Path(checkpoint(cfg, consulta))
    arquivo = pasta / ARQUIVO_RETOMADA
    if arquivo.exists():  # reinício depois de uma retomada já preparada: a mesma
        return Retomada.de_json(arquivo.read_text())
    if _checkpoint_em_uso(pasta):
        return Retomada()
    existentes = [df for df in escritas if df is not None]
    if not existentes:
        return Retomada()
    todas = existentes[0]
    for outra in existentes[1:]:
        todas = todas.unionByName(outra)
    linhas = (
        todas.groupBy("topico", "particao").agg(F.max("offset").alias("offset"), F.max("lote").alias("lote")).collect()
    )
    if not linhas:
        return Retomada()
    ultimo = max(int(r["lote"]) for r in linhas)
    if ultimo_lote_do_estado is not None:
        if ultimo_lote_do_estado < ultimo:
            raise ErroDeAmbiente(
                f"Checkpoint de {consulta} reiniciado, mas o estado das features ({pasta / 'estado'}) está no lote "
                f"{ultimo_lote_do_estado} e as tabelas já têm o lote {ultimo}: a última execução não terminou limpa. "
                f"Volte o checkpoint antigo (de {cfg.pasta_checkpoints}/_antigos), rode o processamento até ele "
                "parar sozinho (--disponivel) e só então reinicie o checkpoint (docs/uso_operacional.md, Reiniciar "
                "um checkpoint)."
            )
        ultimo = ultimo_lote_do_estado  # um lote que não gravou linha nenhuma ainda conta
    retomada = Retomada(ultimo + 1, {f"{r['topico']}/{r['particao']}": int(r["offset"]) for r in linhas})
    pasta.mkdir(parents=True, exist_ok=True)
    arquivo.write_text(retomada.para_json())  # escrita sequencial de um arquivo pequeno: serve num volume
    return retomada


def linhas_gravadas(spark: SparkSession, tabela_: Tabela, origem: str | None = None) -> DataFrame | None:
    """Coordenadas e lote das linhas de uma tabela (da ``origem``, na quarentena); None se a tabela não existe."""
    from pyspark.sql import functions as F

    if not tabela_.existe(spark):
        return None
    df = tabela_.ler(spark)
    if origem is not None:
        df = df.where(F.col("origem") == origem)
    return df.select("topico", "particao", "offset", "lote")


def reiniciar_checkpoint(cfg: Configuracao, consulta: str) -> Path:
    """Move os arquivos do Spark do checkpoint de ``consulta`` para ``<checkpoints>/_antigos``; o estado fica.

    Devolve a pasta para onde foram (para voltar atrás: mover de volta). Pare a consulta antes.
    """
    pasta = Path(checkpoint(cfg, consulta))
    movidos = [pasta / nome for nome in (*ARQUIVOS_DO_SPARK, ARQUIVO_RETOMADA) if (pasta / nome).exists()]
    if not movidos:
        raise ErroDeAmbiente(f"Nada a reiniciar: {pasta} não tem arquivos de checkpoint do Spark.")
    destino = Path(cfg.pasta_checkpoints) / "_antigos" / f"{consulta}-{time.strftime('%Y%m%dT%H%M%S')}"
    destino.mkdir(parents=True)
    for caminho in movidos:
        shutil.move(str(caminho), destino / caminho.name)
    return destino
