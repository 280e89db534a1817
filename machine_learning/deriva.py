"""Deriva do modelo: a distribuição recente do score e das features contra a do treino (PSI).

Por que vigiar a distribuição e não só a precisão: o rótulo de fraude (a notificação MED) chega dias ou semanas
depois do Pix. Um modelo que envelhece, ou uma entrada que muda (produtor novo, campanha de golpe, estado frio
depois de um reinício), aparece primeiro na forma das distribuições, muito antes de aparecer na precisão.

Medida: o PSI (population stability index), ``Σ (p_atual − p_ref) · ln(p_atual / p_ref)`` sobre baldes fixos.
Escolhido por ser o padrão de risco de crédito e de fraude, com limiares conhecidos pelos times de modelo
(< 0,1 estável; 0,1 a 0,25 moderado; > 0,25 mudança grande), simétrico, e barato no caminho quente: os baldes
saem dos quantis da referência, e a janela guarda só contagens por balde, nunca as amostras. Um teste KS daria
p-valores minúsculos com milhares de amostras, o que não ajuda a decidir; a divergência de Jensen-Shannon
seria equivalente, com limiares menos conhecidos.

A referência é o período de teste do treino (o mais recente, fora da amostra), pontuado pelo modelo escolhido:
é o que o modelo deve ver em produção. Ela viaja dentro do modelo registrado (e como artefato
``deriva/referencia.json`` do run), então a troca do champion troca a referência junto.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# As features que mais pesam no modelo e que denunciam defeito a montante (valor, ritmo, idade das contas, hora,
# dispositivo). Todas saem do motor de features, igual no treino e no stream.
VARIAVEIS_DE_DERIVA = (
    "valor",
    "pag_valor_zscore",
    "pag_qtd_24h",
    "pag_segundos_desde_anterior",
    "pag_idade_conta_s",
    "primeiro_pagamento_ao_recebedor",
    "rec_pagadores_distintos_24h",
    "rec_valor_zscore",
    "rec_idade_conta_s",
    "hora_local",
    "dispositivo_nao_cadastrado",
)
SCORE = "score"
BALDES = 10  # decis da referência; variáveis discretas (booleanos, contagens pequenas) ficam com menos
PISO = 1e-4  # proporção mínima de um balde: um balde vazio num dos lados não dá PSI infinito
TAMANHO_JANELA = 20_000  # Pix recentes comparados com a referência
BLOCOS_JANELA = 20  # a janela anda de bloco em bloco (5% dela): memória fixa, qualquer que seja o tamanho dos lotes
VERSAO_FORMATO = 1


@dataclass(frozen=True)
class BaldesDeUmaVariavel:
    """Bordas dos baldes de uma variável e a proporção da referência em cada um (o último balde é o dos NaN)."""

    bordas: tuple[float, ...]
    proporcoes: tuple[float, ...]

    def contar(self, valores: np.ndarray) -> np.ndarray:
        """Quantas amostras caem em cada balde (``len(bordas) + 1`` baldes de valor e um de NaN)."""
        x = np.asarray(valores, dtype=np.float64)
        finito = np.isfinite(x)
        indices = np.searchsorted(np.asarray(self.bordas), x[finito], side="right")
        contagem = np.bincount(indices, minlength=len(self.bordas) + 1)
        return np.append(contagem, np.count_nonzero(~finito)).astype(np.int64)


def baldes_de(valores: np.ndarray, baldes: int = BALDES) -> BaldesDeUmaVariavel:
    """Bordas nos quantis internos da referência (sem repetidas: variável discreta tem menos baldes)."""
    x = np.asarray(valores, dtype=np.float64)
    finitos = x[np.isfinite(x)]
    if len(finitos):
        # Quantis que são valores observados: variável discreta tem bordas nos próprios valores, não entre eles.
        bordas = np.unique(np.quantile(finitos, np.linspace(0, 1, baldes + 1)[1:-1], method="inverted_cdf"))
    else:
        bordas = np.array([], dtype=np.float64)
    sem_proporcoes = BaldesDeUmaVariavel(tuple(float(b) for b in bordas), ())
    contagem = sem_proporcoes.contar(x)
    proporcoes = contagem / max(int(contagem.sum()), 1)
    return BaldesDeUmaVariavel(sem_proporcoes.bordas, tuple(float(p) for p in proporcoes))


def psi(referencia: np.ndarray | tuple[float, ...], contagem: np.ndarray) -> float:
    """PSI entre as proporções da referência e as contagens atuais; NaN se não há contagem."""
    total = int(np.sum(contagem))
    if total == 0:
        return math.nan
    q = np.maximum(np.asarray(referencia, dtype=np.float64), PISO)
    p = np.maximum(np.asarray(contagem, dtype=np.float64) / total, PISO)
    return float(np.sum((p - q) * np.log(p / q)))


@dataclass(frozen=True)
class ReferenciaDeDeriva:
    """As distribuições de referência, por variável (``score`` e as de ``VARIAVEIS_DE_DERIVA``)."""

    variaveis: Mapping[str, BaldesDeUmaVariavel]
    amostras: int

    def como_dict(self) -> dict:
        """Forma JSON (artefato do MLflow e atributo do modelo registrado)."""
        return {
            "formato": VERSAO_FORMATO,
            "medida": "psi",
            "amostras": self.amostras,
            "variaveis": {
                nome: {"bordas": list(b.bordas), "proporcoes": list(b.proporcoes)} for nome, b in self.variaveis.items()
            },
        }

    @classmethod
    def de_dict(cls, dados: Mapping) -> ReferenciaDeDeriva:
        if dados.get("formato") != VERSAO_FORMATO:
            raise ValueError(
                f"Referência de deriva em formato {dados.get('formato')!r}; este código lê {VERSAO_FORMATO}."
            )
        variaveis = {
            nome: BaldesDeUmaVariavel(tuple(v["bordas"]), tuple(v["proporcoes"]))
            for nome, v in dados["variaveis"].items()
        }
        return cls(variaveis, int(dados["amostras"]))


def colunas_de_deriva(features: pd.DataFrame, score: np.ndarray) -> dict[str, np.ndarray]:
    """As colunas que a deriva compara, do mesmo jeito no treino e no stream (booleanos viram 0/1)."""
    colunas = {nome: features[nome].to_numpy(np.float64) for nome in VARIAVEIS_DE_DERIVA if nome in features}
    colunas[SCORE] = np.asarray(score, dtype=np.float64)
    return colunas


def referencia_de(features: pd.DataFrame, score: np.ndarray, baldes: int = BALDES) -> ReferenciaDeDeriva:
    """A referência do treino: baldes e proporções de cada variável no período de teste."""
    colunas = colunas_de_deriva(features, score)
    return ReferenciaDeDeriva({nome: baldes_de(v, baldes) for nome, v in colunas.items()}, len(score))


@dataclass
class JanelaDeDeriva:
    """Contagens por balde dos últimos ~``tamanho`` Pix, em blocos: o bloco mais velho sai quando a janela enche.

    Guarda ``BLOCOS_JANELA`` + 1 blocos de contagens, nunca as amostras: memória fixa, seja o lote de 1 ou de
    10.000 Pix. A janela tem entre ``tamanho`` e ``tamanho`` + um bloco de Pix depois de cheia.
    """

    referencia: ReferenciaDeDeriva
    tamanho: int = TAMANHO_JANELA
    _blocos: deque = field(default_factory=deque, init=False, repr=False)
    _aberto: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _no_aberto: int = field(default=0, init=False, repr=False)
    _soma: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    amostras: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._aberto = self._zeros()
        self._soma = self._zeros()

    def _zeros(self) -> dict[str, np.ndarray]:
        return {nome: np.zeros(len(b.proporcoes), np.int64) for nome, b in self.referencia.variaveis.items()}

    def observar(self, colunas: Mapping[str, np.ndarray]) -> None:
        """Soma um lote (as colunas de ``colunas_de_deriva``); variáveis que a referência não tem são ignoradas."""
        n = len(colunas[SCORE]) if SCORE in colunas else 0
        if n == 0:
            return
        for nome, baldes in self.referencia.variaveis.items():
            if nome in colunas:
                contagem = baldes.contar(colunas[nome])
                self._aberto[nome] += contagem
                self._soma[nome] += contagem
        self._no_aberto += n
        self.amostras += n
        if self._no_aberto >= max(self.tamanho // BLOCOS_JANELA, 1):
            self._blocos.append((self._no_aberto, self._aberto))
            self._aberto, self._no_aberto = self._zeros(), 0
        while self._blocos and self.amostras - self._blocos[0][0] >= self.tamanho:
            velho_n, velho = self._blocos.popleft()
            self.amostras -= velho_n
            for nome, contagem in velho.items():
                self._soma[nome] -= contagem

    def psi(self) -> dict[str, float]:
        """PSI de cada variável da janela contra a referência."""
        return {nome: psi(b.proporcoes, self._soma[nome]) for nome, b in self.referencia.variaveis.items()}
