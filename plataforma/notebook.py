"""O que todo notebook faz na primeira célula: achar o Spark, ler widgets e montar a configuração.

No Databricks os parâmetros chegam por ``dbutils.widgets`` (e pelos parâmetros do job), e cada notebook cria
widgets só para os parâmetros que lê: a tupla que passa a ``iniciar_notebook``, declarada ao lado do módulo que
ele chama. Localmente chegam pelas mesmas chaves em variáveis de ambiente ``DETECTOR_PIX_<NOME>``, que é como o
``detector-pix executar`` os repassa.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plataforma.config import (
    PREFIXO_AMBIENTE,
    Configuracao,
    ErroDeConfiguracao,
    carregar_configuracao,
    carregar_de_widgets,
    validar_parametros,
)


def _ler_widget(dbutils: Any | None, nome: str, padrao: str, opcoes: Sequence[str] | None, rotulo: str) -> str:
    """Um widget próprio do notebook (lista suspensa se há ``opcoes``), ou a variável de ambiente localmente."""
    if dbutils is not None:
        if opcoes:
            dbutils.widgets.dropdown(nome, padrao, list(opcoes), rotulo or nome)
        else:
            dbutils.widgets.text(nome, padrao, rotulo or nome)
        valor, origem = dbutils.widgets.get(nome), f"widget '{nome}'"
    else:
        chave = PREFIXO_AMBIENTE + nome.upper()
        valor, origem = os.environ.get(chave, padrao), f"variável de ambiente {chave}"
    if opcoes and valor not in opcoes:
        raise ErroDeConfiguracao(
            f"Valor inválido para '{nome}': {valor!r} (origem: {origem}). Valores aceitos: {', '.join(opcoes)}."
        )
    return valor


@dataclass
class Contexto:
    spark: Any
    cfg: Configuracao
    dbutils: Any | None

    @property
    def em_databricks(self) -> bool:
        return self.dbutils is not None

    def parametro(self, nome: str, padrao: str, opcoes: Sequence[str] | None = None, rotulo: str = "") -> str:
        """Um parâmetro próprio do notebook (ex.: ``gabarito``), validado contra ``opcoes``."""
        return _ler_widget(self.dbutils, nome, padrao, opcoes, rotulo)

    def fracao(self, nome: str, padrao: float, rotulo: str = "") -> float:
        """Uma fração em (0, 0,5] (ex.: orçamento de alertas); erro claro com o valor e a origem."""
        texto = self.parametro(nome, f"{padrao:g}", rotulo=rotulo)
        try:
            valor = float(texto.replace(",", "."))
        except ValueError:
            valor = float("nan")
        if not 0 < valor <= 0.5:
            raise ErroDeConfiguracao(
                f"Valor inválido para '{nome}': {texto!r}. Esperado uma fração entre 0 e 0,5 (ex.: 0.01 para 1%)."
            )
        return valor

    def sim_ou_nao(self, nome: str, padrao: bool = False, rotulo: str = "") -> bool:
        return self.parametro(nome, "sim" if padrao else "nao", ("sim", "nao"), rotulo) == "sim"


def escolher_modo(namespace: dict[str, Any], modos: Sequence[str], rotulo: str) -> str:
    """O widget ``modo`` (lista suspensa; padrão: o primeiro), lido antes da configuração porque decide o que ela lê."""
    return _ler_widget(namespace.get("dbutils"), "modo", modos[0], modos, rotulo)


def iniciar_notebook(namespace: dict[str, Any], nome_app: str, parametros: Sequence[str]) -> Contexto:
    """Recebe ``globals()`` do notebook (no Databricks lá estão ``spark`` e ``dbutils``) e os parâmetros que ele lê.

    No Databricks só ``parametros`` viram widgets; os outros ficam no padrão. Localmente a configuração vem de
    argumentos, ambiente e arquivo, como na CLI; ``parametros`` só é conferido (um nome errado falha nos dois).
    """
    dbutils = namespace.get("dbutils")
    if dbutils is not None:
        return Contexto(namespace["spark"], carregar_de_widgets(dbutils, parametros), dbutils)
    from plataforma.spark import obter_spark

    validar_parametros(parametros)
    cfg = carregar_configuracao()
    return Contexto(obter_spark(cfg, nome_app=nome_app), cfg, None)
