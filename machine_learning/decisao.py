"""A decisão de cada Pix: regras duras do BCB ao lado do score do modelo, com os motivos por escrito.

Por que as regras ficam fora do modelo: elas são norma, não estatística. Um Pix noturno entre pessoas
físicas acima de R$ 1.000 é recusado mesmo que o modelo o ache inofensivo, e o motivo tem de dizer qual
regra pesou. O modelo decide o resto pelos limiares de orçamento (``REVISAR`` e ``BLOQUEAR``) saídos do treino.

A mesma tabela ``REGRAS`` dá o score só de regras (candidato ``regras`` do treino e pontuação sem
champion) e os nomes que aparecem em ``motivos``: uma definição de cada regra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# De plataforma.faixas (sem PySpark): este módulo vai no code/ do modelo registrado (machine_learning.modelo_servido).
from plataforma.faixas import APROVAR, BLOQUEAR, REVISAR
from plataforma.faixas import DECISOES as DECISOES  # reexportada: quem decide a acha aqui, ao lado das regras

VERSAO_SO_REGRAS = "regras"  # versao_modelo quando não há champion
MENSAGEM_INVALIDA = "MENSAGEM_INVALIDA"


@dataclass(frozen=True)
class Regra:
    nome: str
    peso: float
    dura: bool  # dura = norma do BCB: bloqueia sozinha; senão, é um sinal comportamental
    condicao: Callable[[pd.DataFrame], pd.Series]


# Marca de fraude confirmada: no DICT, a marca vem de um relato de infração analisado e confirmado, não da
# alegação. Aqui, uma notificação MED é só alegação, e parte é abuso contra um recebedor legítimo; um comerciante
# com milhares de Pix acumula algumas por puro volume. Conta como confirmada quando há ao menos duas
# notificações e elas são uma fração relevante do que a conta recebeu (uma conta laranja tem quase todas as
# entradas contestadas). O resto vira o sinal comportamental RECEBEDOR_COM_MED.
MED_PARA_CONFIRMAR = 2
FRACAO_CONTESTADA_PARA_CONFIRMAR = 0.10


def marca_confirmada(x: pd.DataFrame) -> pd.Series:
    contestada = x["rec_qtd_med"] / np.maximum(x["rec_qtd_historico"], 1)
    return (x["rec_qtd_med"] >= MED_PARA_CONFIRMAR) & (contestada >= FRACAO_CONTESTADA_PARA_CONFIRMAR)


PESO_LIMITE_NOTURNO = PESO_LIMITE_DISPOSITIVO = 2.0  # machine_learning.limites troca só a parte dos limites

REGRAS: tuple[Regra, ...] = (
    # Duras (Res. BCB 1/2020 e alterações; ver docs/features.md)
    Regra("RECEBEDOR_MARCADO_FRAUDE", 4.0, True, marca_confirmada),
    Regra("LIMITE_NOTURNO_EXCEDIDO", PESO_LIMITE_NOTURNO, True, lambda x: x["excede_limite_noturno"] > 0),
    Regra(
        "LIMITE_DISPOSITIVO_NAO_CADASTRADO", PESO_LIMITE_DISPOSITIVO, True, lambda x: x["excede_limite_dispositivo"] > 0
    ),
    # Comportamentais
    Regra("RECEBEDOR_COM_MED", 1.0, False, lambda x: (x["rec_qtd_med"] > 0) & ~marca_confirmada(x)),
    Regra("RECEBEDOR_MUITOS_PAGADORES_1H", 1.0, False, lambda x: x["rec_pagadores_distintos_1h"] >= 3),
    Regra("RAJADA_DO_PAGADOR_10MIN", 1.0, False, lambda x: x["pag_qtd_10min"] >= 3),
    Regra("VALOR_ATIPICO_DO_PAGADOR", 1.0, False, lambda x: x["pag_valor_zscore"] > 3),
    Regra("PRIMEIRO_PIX_AO_RECEBEDOR", 0.5, False, lambda x: x["primeiro_pagamento_ao_recebedor"] > 0),
    Regra("RECEBEDOR_CONTA_NOVA", 0.5, False, lambda x: x["rec_idade_conta_s"] < 86_400),
)
PONTOS_MAXIMOS = 13.1  # soma dos pesos (13) + folga do desempate: o score fica em [0, 1)

# Sem champion: REVISAR com dois sinais comportamentais de peso 1 (ou uma regra dura), BLOQUEAR pelas duras.
LIMIARES_SO_REGRAS = {REVISAR: 2.0 / PONTOS_MAXIMOS, BLOQUEAR: 4.0 / PONTOS_MAXIMOS}


def sinais(features: pd.DataFrame) -> np.ndarray:
    """Matriz booleana linhas x ``REGRAS``: quais regras cada Pix aciona."""
    return np.column_stack([r.condicao(features).to_numpy(bool) for r in REGRAS])


def pontos_das_regras(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A soma dos pesos das regras acionadas (exata: pesos múltiplos de 0,5) e o desempate, por Pix."""
    pesos = np.array([r.peso for r in REGRAS])
    desempate = 1e-3 * np.tanh(features["pag_valor_razao_media"].to_numpy(np.float64) / 10)
    return sinais(features).astype(np.float64) @ pesos, desempate


def pontuar_regras(features: pd.DataFrame) -> np.ndarray:
    """Score só de regras, em [0, 1): as duras pesam mais; a razão ao valor médio só desempata."""
    pontos, desempate = pontos_das_regras(features)
    return (pontos + desempate) / PONTOS_MAXIMOS


def por_limiares(score: np.ndarray, limiares: dict[str, float]) -> np.ndarray:
    """A faixa do score: ``BLOQUEAR`` >= limiar de bloqueio > ``REVISAR`` >= limiar de revisão > ``APROVAR``."""
    return np.select([score >= limiares[BLOQUEAR], score >= limiares[REVISAR]], [BLOQUEAR, REVISAR], APROVAR)


def decidir(features: pd.DataFrame, score: np.ndarray, limiares: dict[str, float]) -> pd.DataFrame:
    """``decisao`` e ``motivos`` por Pix.

    - Uma regra dura acionada dá ``BLOQUEAR``, qualquer que seja o score.
    - Senão, vale a faixa do score.
    - ``motivos`` (vazio para ``APROVAR``): as regras duras acionadas, a faixa do score
      (``SCORE_BLOQUEAR>=0.58``) e os sinais comportamentais que ajudam o analista a entender o alerta.
    """
    matriz = sinais(features)
    duras = np.array([r.dura for r in REGRAS])
    faixa = por_limiares(score, limiares)
    decisao = np.where(matriz[:, duras].any(axis=1), BLOQUEAR, faixa)
    nomes = [r.nome for r in REGRAS]
    rotulo_faixa = {f: f"SCORE_{f}>={limiares[f]:.4g}" for f in (REVISAR, BLOQUEAR)}
    # Os motivos dependem só do padrão de sinais e da faixa: montados uma vez por padrão distinto (poucos por
    # lote), a partir da primeira linha que o tem, não Pix a Pix (uma lista e duas buscas por alerta).
    padrao = matriz.astype(np.int64) @ (np.int64(1) << np.arange(len(REGRAS), dtype=np.int64))
    padrao = np.where(decisao == APROVAR, -1, padrao * 3 + (faixa == REVISAR) + 2 * (faixa == BLOQUEAR))
    _, primeiras, posicao = np.unique(padrao, return_index=True, return_inverse=True)
    por_padrao: list[list[str]] = []
    for i in primeiras.tolist():
        if decisao[i] == APROVAR:
            por_padrao.append([])
            continue
        acionadas = [nomes[j] for j in np.flatnonzero(matriz[i] & duras)]
        if faixa[i] != APROVAR:
            acionadas.append(rotulo_faixa[faixa[i]])
        acionadas += [nomes[j] for j in np.flatnonzero(matriz[i] & ~duras)]
        por_padrao.append(acionadas)
    motivos = [list(por_padrao[k]) for k in posicao.tolist()]  # uma lista por Pix: quem recebe pode alterá-la
    return pd.DataFrame({"decisao": decisao, "motivos": motivos}, index=features.index)
