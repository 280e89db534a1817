"""Deriva do modelo: a distribuição recente do score e das features contra a do treino (PSI).

Por que vigiar a distribuição e não só a precisão: o rótulo de fraude (a notificação MED) chega dias ou semanas
depois do Pix. Um modelo que envelhece, ou uma entrada que muda (produtor novo, campanha de golpe, estado frio
depois de um reinício), aparece primeiro na forma das distribuições, muito antes de aparecer na precisão.

Medida: o PSI (population stability index), ``Σ (p_atual − p_ref) · ln(p_atual / p_ref)`` sobre baldes fixos.
Escolhido por ser o padrão de risco de crédito e de fraude, com limiares conhecidos pelos times de modelo
(< 0,1 estável; 0,1 a 0,25 moderado; > 0,25 mudança grande), simétrico, e barato no caminho quente: os baldes
saem dos quantis da referência, e a janela (as últimas 24 horas) guarda só contagens por balde e por hora. Um
teste KS daria p-valores minúsculos com milhares de amostras, o que não ajuda a decidir; a divergência de Jensen-Shannon
seria equivalente, com limiares menos conhecidos.

A referência é o período de teste do treino (o mais recente, fora da amostra), pontuado pelo modelo escolhido:
é o que o modelo deve ver em produção. Ela viaja dentro do modelo registrado (e como artefato
``deriva/referencia.json`` do run), então a troca do champion troca a referência junto.
"""

from __future__ import annotations

import math
import time
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
HORAS_JANELA = 24  # um dia inteiro de Pix (tempo do evento) contra a referência: o ciclo diário se cancela
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


def horas_do_evento(data_hora: pd.Series) -> np.ndarray:
    """Hora de cada Pix (horas desde a época, UTC): a chave dos blocos da janela."""
    instantes = pd.to_datetime(data_hora, utc=True)
    return ((instantes - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(hours=1)).to_numpy(np.int64)


@dataclass
class JanelaDeDeriva:
    """Contagens por balde das últimas ``horas`` horas de Pix (tempo do evento), em blocos de uma hora.

    Por que 24 horas de tempo do evento, e não os últimos N Pix: quase toda feature tem ciclo diário (hora, valor,
    ritmo), e uma janela de minutos compararia "meio-dia" com "o dia inteiro" do treino e acusaria deriva todo
    dia. Com um dia inteiro na janela o ciclo se cancela, e o alerta só vale com a janela coberta
    (``horas_cobertas``). Tempo do evento, e não do relógio, para que um reprocessamento do histórico meça o
    histórico. Memória fixa: no máximo ``horas`` blocos de contagens, nunca as amostras.
    """

    referencia: ReferenciaDeDeriva
    horas: int = HORAS_JANELA
    _blocos: dict[int, dict[str, np.ndarray]] = field(default_factory=dict, init=False, repr=False)
    _por_hora: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    def _zeros(self) -> dict[str, np.ndarray]:
        return {nome: np.zeros(len(b.proporcoes), np.int64) for nome, b in self.referencia.variaveis.items()}

    @property
    def amostras(self) -> int:
        return sum(self._por_hora.values())

    @property
    def horas_cobertas(self) -> int:
        """Do bloco mais velho ao mais novo, em horas (a janela só compara um dia inteiro quando chega a ``horas``)."""
        return max(self._blocos) - min(self._blocos) + 1 if self._blocos else 0

    def observar(self, colunas: Mapping[str, np.ndarray], horas: np.ndarray, agora_s: float | None = None) -> None:
        """Soma um lote (as colunas de ``colunas_de_deriva`` e a hora de cada Pix, de ``horas_do_evento``).

        Pix de mais de uma hora no futuro do relógio não entram: um horário absurdo não empurra a janela para
        frente (o que esvaziaria a janela). Pix mais velhos que a janela também não.
        """
        horas = np.asarray(horas, dtype=np.int64)
        if len(horas) == 0:
            return
        limite = int((time.time() if agora_s is None else agora_s) // 3600) + 1
        mais_nova = max([*self._blocos, int(horas[horas <= limite].max(initial=-1))])
        for hora in np.unique(horas[(horas <= limite) & (horas > mais_nova - self.horas)]):
            linhas = horas == hora
            bloco = self._blocos.setdefault(int(hora), self._zeros())
            for nome, baldes in self.referencia.variaveis.items():
                if nome in colunas:
                    bloco[nome] += baldes.contar(np.asarray(colunas[nome])[linhas])
            self._por_hora[int(hora)] = self._por_hora.get(int(hora), 0) + int(linhas.sum())
        for hora in [h for h in self._blocos if h <= mais_nova - self.horas]:
            del self._blocos[hora], self._por_hora[hora]

    def psi(self) -> dict[str, float]:
        """PSI de cada variável da janela contra a referência."""
        soma = self._zeros()
        for bloco in self._blocos.values():
            for nome, contagem in bloco.items():
                soma[nome] += contagem
        return {nome: psi(b.proporcoes, soma[nome]) for nome, b in self.referencia.variaveis.items()}
