"""Os limites do BCB (noturno entre pessoas físicas, dispositivo não cadastrado) contando só o que passou.

Por que fora do motor de features: o motor soma todo Pix tentado, e é isso que o modelo vê, igual no treino e no
stream. A norma limita o que foi *transferido*: um Pix bloqueado não consome o limite. Depois de um R$ 1.500
bloqueado às 21h30, um R$ 10 tem de passar. Aqui fica quanto cada pagador teve bloqueado no período (a noite, ou
o dia do dispositivo), e as regras duras comparam o acumulado menos o bloqueado. ``REVISAR`` consome o limite: o
analista pode liberar o Pix, e o limite não pode estourar depois.

O limite do próprio cliente, quando o banco o informa (``tabela_limites_clientes``), vale no lugar do padrão:
o BCB deixa o cliente pedir um limite noturno menor (na hora) ou maior (depois de 24 a 48 horas), e quem sabe o
limite vigente é o sistema do banco. Ver docs/features.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from machine_learning.decisao import (
    BLOQUEAR,
    PESO_LIMITE_DISPOSITIVO,
    PESO_LIMITE_NOTURNO,
    PONTOS_MAXIMOS,
    marca_confirmada,
    pontos_das_regras,
)
from plataforma.config import Configuracao
from processamento.features import ParametrosFeatures
from processamento.pseudonimizacao import id_conta, pseudonimizar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NOITE, DISPOSITIVO = "noite", "dispositivo"
COLUNAS_LIMITES_CLIENTES = (
    "ispb", "agencia", "conta", "limite_noturno", "limite_dispositivo_transacao", "limite_dispositivo_dia",
)  # fmt: skip


@dataclass(frozen=True)
class LimitesDoCliente:
    """Os limites de um pagador; ``None`` num campo = o padrão do BCB (``ParametrosFeatures``)."""

    noturno: float | None = None
    dispositivo_transacao: float | None = None
    dispositivo_dia: float | None = None


@dataclass
class Bloqueio:
    """Um Pix bloqueado que, por isso, não consome o limite: gravado com o lote para refazê-lo numa recuperação."""

    pagador_id_conta: str
    limite: str  # NOITE ou DISPOSITIVO
    periodo: int  # a noite (dias deslocados de 6 h) ou o dia, no horário de Brasília
    valor: float

    def como_lista(self) -> list:
        return [self.pagador_id_conta, self.limite, self.periodo, self.valor]


@dataclass
class LimitesAprovados:
    """Quanto cada pagador teve bloqueado na noite e no dia correntes; o resto do acumulado é o que passou."""

    parametros: ParametrosFeatures = field(default_factory=ParametrosFeatures)
    bloqueado: dict[str, dict[str, tuple[int, float]]] = field(default_factory=lambda: {NOITE: {}, DISPOSITIVO: {}})

    def _bloqueado(self, limite: str, pagador: str, periodo: int) -> float:
        atual = self.bloqueado[limite].get(pagador)
        return atual[1] if atual is not None and atual[0] == periodo else 0.0

    def registrar(self, bloqueios: list[Bloqueio]) -> None:
        """Soma bloqueios ao estado (no lote, ou refazendo um lote registrado)."""
        for b in bloqueios:
            anterior = self._bloqueado(b.limite, b.pagador_id_conta, b.periodo)
            self.bloqueado[b.limite][b.pagador_id_conta] = (b.periodo, round(anterior + b.valor, 2))

    def ajustar(
        self,
        features: pd.DataFrame,
        score: np.ndarray,
        so_regras: bool,
        limiares: dict[str, float],
        clientes: dict[str, LimitesDoCliente] | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray, list[Bloqueio]]:
        """As features com ``excede_limite_*`` pelo que passou, o score (só regras: com esses sinais) e os bloqueios.

        Em ordem de tempo (a do motor): um Pix bloqueado no lote já não conta para o seguinte do mesmo pagador.
        O modelo pontua com as features do motor (as do treino); só as regras duras e o score das regras usam o
        limite pelo que passou. Sem nenhum Pix sob os limites, devolve tudo como veio.
        """
        p, clientes = self.parametros, clientes or {}
        noturno = features["noturno"].to_numpy(bool)
        pf_pf = (features["pagador_tipo_pessoa"].to_numpy() == "PF") & (
            features["recebedor_tipo_pessoa"].to_numpy() == "PF"
        )
        conta_noite = noturno & pf_pf
        nao_cadastrado = features["dispositivo_nao_cadastrado"].to_numpy(bool)
        relevantes = np.flatnonzero(conta_noite | nao_cadastrado)
        if not len(relevantes):
            return features, score, []
        segundos = pd.to_datetime(features["data_hora"], utc=True).dt.tz_convert(None).to_numpy("datetime64[s]")
        local = segundos.astype(np.int64) + p.fuso_horas * 3_600
        noite = (local - 6 * 3_600) // 86_400  # a noite de D (20h) a D+1 (6h) é um período só
        dia = local // 86_400
        valor = features["valor"].to_numpy(np.float64)
        acumulado_noite = features["noturno_acumulado"].to_numpy(np.float64)
        acumulado_dia = features["nao_cadastrado_acumulado_dia"].to_numpy(np.float64)
        pagador = features["pagador_id_conta"].to_numpy(object)
        original_noite = features["excede_limite_noturno"].to_numpy(bool)
        original_disp = features["excede_limite_dispositivo"].to_numpy(bool)
        excede_noite, excede_disp = original_noite.copy(), original_disp.copy()
        marcado = marca_confirmada(features).to_numpy(bool)
        score = np.array(score, dtype=np.float64, copy=True)
        pontos, desempate = pontos_das_regras(features) if so_regras else (None, None)
        bloqueios: list[Bloqueio] = []
        for i in relevantes.tolist():
            quem = pagador[i]
            proprio = clientes.get(quem, LimitesDoCliente())
            if conta_noite[i]:
                limite = p.limite_noturno if proprio.noturno is None else proprio.noturno
                passou = round(acumulado_noite[i] - self._bloqueado(NOITE, quem, int(noite[i])), 2)
                excede_noite[i] = passou > limite
            if nao_cadastrado[i]:
                por_pix = p.limite_dispositivo_transacao if proprio.dispositivo_transacao is None else (
                    proprio.dispositivo_transacao
                )  # fmt: skip
                por_dia = p.limite_dispositivo_dia if proprio.dispositivo_dia is None else proprio.dispositivo_dia
                passou = round(acumulado_dia[i] - self._bloqueado(DISPOSITIVO, quem, int(dia[i])), 2)
                excede_disp[i] = valor[i] > por_pix or passou > por_dia
            if so_regras:  # o score das regras é linear nos sinais: troca só a parte dos limites (soma exata)
                pontos[i] += (int(excede_noite[i]) - int(original_noite[i])) * PESO_LIMITE_NOTURNO + (
                    int(excede_disp[i]) - int(original_disp[i])
                ) * PESO_LIMITE_DISPOSITIVO
                score[i] = (pontos[i] + desempate[i]) / PONTOS_MAXIMOS  # = pontuar_regras das ajustadas
            if marcado[i] or excede_noite[i] or excede_disp[i] or score[i] >= limiares[BLOQUEAR]:
                novos = [Bloqueio(quem, NOITE, int(noite[i]), float(valor[i]))] if conta_noite[i] else []
                if nao_cadastrado[i]:
                    novos.append(Bloqueio(quem, DISPOSITIVO, int(dia[i]), float(valor[i])))
                self.registrar(novos)
                bloqueios += novos
        ajustadas = features.assign(excede_limite_noturno=excede_noite, excede_limite_dispositivo=excede_disp)
        return ajustadas, score, bloqueios

    # Estado (snapshot do caminho quente, log por lote do micro-batch) --------------------------------------
    def extrair(self, completo: bool = False) -> dict[str, np.ndarray]:
        """Tudo sempre (é pequeno: só pagadores com bloqueio); períodos antigos ficam de fora."""
        saida: dict[str, np.ndarray] = {}
        for limite, por_pagador in self.bloqueado.items():
            if por_pagador:
                recente = max(periodo for periodo, _ in por_pagador.values()) - 1
                for quem in [q for q, (periodo, _) in por_pagador.items() if periodo < recente]:
                    del por_pagador[quem]
            itens = list(por_pagador.items())
            saida[f"{limite}.pagador"] = np.array([q for q, _ in itens], dtype=str)
            saida[f"{limite}.periodo"] = np.array([v[0] for _, v in itens], dtype=np.int64)
            saida[f"{limite}.soma"] = np.array([v[1] for _, v in itens], dtype=np.float64)
        return saida

    def aplicar(self, estado: dict[str, np.ndarray]) -> None:
        """O inverso de ``extrair`` (um estado de versão anterior, sem estas chaves, não muda nada)."""
        for limite in (NOITE, DISPOSITIVO):
            if f"{limite}.pagador" not in estado:
                continue
            for quem, periodo, soma in zip(
                estado[f"{limite}.pagador"].tolist(), estado[f"{limite}.periodo"].tolist(),
                estado[f"{limite}.soma"].tolist(), strict=True,
            ):  # fmt: skip
                self.bloqueado[limite][quem] = (int(periodo), float(soma))


def ler_limites_clientes(spark: SparkSession, cfg: Configuracao, chave: bytes) -> dict[str, LimitesDoCliente]:
    """Os limites próprios da ``tabela_limites_clientes``, pela conta pseudonimizada como na silver.

    A tabela vem do sistema do banco (onde o cliente pede a mudança) com a conta em claro, como a bronze: só
    quem roda a decisão a lê, e aqui ela vira o mesmo ``pagador_id_conta`` que o motor usa. Um limite nulo vale
    o do BCB. Vazio na configuração: nenhum limite próprio.
    """
    nome = cfg.tabela_limites_clientes
    if not nome:
        return {}
    tabela_ = spark.read.format("delta").load(nome) if "/" in nome else spark.read.table(nome)
    faltam = [c for c in COLUNAS_LIMITES_CLIENTES if c not in tabela_.columns]
    if faltam:
        raise ValueError(f"a tabela de limites dos clientes {nome} não tem as colunas {faltam}")
    limites: dict[str, LimitesDoCliente] = {}
    for linha in tabela_.select(*COLUNAS_LIMITES_CLIENTES).toLocalIterator():
        conta = pseudonimizar(chave, id_conta(linha.asDict()))
        limites[conta] = LimitesDoCliente(
            linha.limite_noturno, linha.limite_dispositivo_transacao, linha.limite_dispositivo_dia
        )
    return limites
