"""Simulador de tráfego Pix com fraudes, contestações MED tardias e entrada ruim de propósito.

API para o resto do projeto (demo, testes do pipeline, benchmarks)::

    from simulador import Parametros, gerar, gerar_tudo, escrever_arquivos, produzir_kafka, produzir_mensagens
"""

from simulador.parametros import DEFEITOS, TIPOLOGIAS, Parametros
from simulador.saida import (
    Resumo,
    escrever_arquivos,
    gerar,
    gerar_tudo,
    parametros_ao_vivo,
    produzir_kafka,
    produzir_mensagens,
)

__all__ = [
    "DEFEITOS",
    "TIPOLOGIAS",
    "Parametros",
    "Resumo",
    "escrever_arquivos",
    "gerar",
    "gerar_tudo",
    "parametros_ao_vivo",
    "produzir_kafka",
    "produzir_mensagens",
]
