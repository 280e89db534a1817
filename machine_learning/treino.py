"""Treino do detector: features do motor do stream, rótulos tardios, candidatos, MLflow e promoção.

Ponto de entrada: ``treinar(transacoes, med=..., gabarito=..., cfg=...)``. ``transacoes`` é qualquer tabela
com as colunas mínimas (``end_to_end_id``, ``pagador_id_conta``, ``recebedor_id_conta``, ``valor``,
``data_hora``) e, se não houver MED, um ``rotulo`` (com ``data_hora_rotulo`` opcional). As features saem do
mesmo ``MotorDeFeatures`` que o stream usa, na mesma ordem (um dia por vez), então o modelo aprende no mundo
em que vai decidir.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from machine_learning.decisao import DECISOES
from machine_learning.deriva import referencia_de

# O modelo servido e a matriz moram em modelo_servido (vão no code/ do modelo registrado); reexportados aqui, também
# para os modelos já registrados, cujo pickle aponta para machine_learning.treino.
from machine_learning.modelo_servido import (
    ENTRADA_DO_MODELO,
    EstimadorRegras,
    ModeloFraudePix,
    _log_com_sinal,
    copiar_codigo_do_modelo,
    matriz,
    requisitos_do_modelo,
)
from machine_learning.rotulos import DivisaoTemporal, dividir_no_tempo, rotulos_no_corte
from plataforma.config import Configuracao
from plataforma.mlflow_local import configurar_mlflow, versao_por_alias
from processamento.features import COLUNAS_ENTRADA, ParametrosFeatures
from processamento.historico import features_de_pandas

COLUNAS_MINIMAS = ("end_to_end_id", "pagador_id_conta", "recebedor_id_conta", "valor", "data_hora")
# Colunas opcionais e o valor assumido quando faltam: o pior caso comum (PF->PF, sem chave, app cadastrado).
PADROES_OPCIONAIS: dict[str, Any] = {
    "pagador_tipo_pessoa": "PF",
    "recebedor_tipo_pessoa": "PF",
    "chave_hash": None,
    "dispositivo_cadastrado": True,
    "forma_iniciacao": None,
}
CANDIDATOS = ("regras", "logistica", "gbm")
TAXA_ALERTA = 0.01  # a taxa de alerta das métricas de recall (1% das transações)
ESCOLHAS = ("auto", "prequencial", "validacao")  # como o candidato é escolhido (ajustar_candidatos)
DIAS_DOBRA = 7.0  # semana de teste de cada dobra prequencial: pega o ciclo semanal do Pix inteiro


# Entrada e features -------------------------------------------------------------------------------
def preparar_entrada(transacoes: pd.DataFrame) -> pd.DataFrame:
    """Confere as colunas mínimas e completa as opcionais com os padrões documentados."""
    faltam = [c for c in COLUNAS_MINIMAS if c not in transacoes.columns]
    if faltam:
        raise ValueError(
            f"Faltam colunas na tabela de treino: {', '.join(faltam)}. Mínimas: {', '.join(COLUNAS_MINIMAS)}; "
            f"opcionais (com padrão): {', '.join(PADROES_OPCIONAIS)}."
        )
    df = transacoes.copy()
    for coluna, padrao in PADROES_OPCIONAIS.items():
        if coluna not in df.columns:
            df[coluna] = padrao
    df["data_hora"] = pd.to_datetime(df["data_hora"], utc=True)
    df["valor"] = df["valor"].astype("float64")
    for coluna in ("end_to_end_id", "pagador_id_conta", "recebedor_id_conta"):
        df[coluna] = df[coluna].astype(str)
    return df.drop_duplicates("end_to_end_id").reset_index(drop=True)


def calcular_features(
    transacoes: pd.DataFrame, marcas: pd.DataFrame | None = None, parametros: ParametrosFeatures | None = None
) -> pd.DataFrame:
    """As features de ``processamento.historico``: mesmo motor, mesmo laço por dia que o backfill em Spark.

    As colunas além de ``COLUNAS_ENTRADA`` (rótulo, tipologia) seguem junto com cada linha.
    """
    return features_de_pandas(transacoes, marcas, parametros)


# Candidatos --------------------------------------------------------------------------------------
def _candidato(nome: str, semente: int) -> BaseEstimator:
    if nome == "regras":
        return EstimadorRegras()
    if nome == "logistica":
        return Pipeline(
            [
                ("imputar", SimpleImputer(strategy="constant", fill_value=-1.0)),
                ("log", FunctionTransformer(_log_com_sinal)),
                ("escala", StandardScaler()),
                ("modelo", LogisticRegression(class_weight="balanced", max_iter=2_000, C=1.0)),
            ]
        )
    if nome == "gbm":
        # Sem early stopping: o padrão do scikit-learn separa 10% aleatórios como validação e para cedo demais.
        # Peso 10 para a fraude, e não "balanced" (a fraude rotulada é ~0,3% do treino: ~300 vezes o peso de uma
        # legítima), que embaralhava o topo do ranking; e 100 iterações, não 300, que decoravam os rótulos ruidosos
        # da MED. Escolhidos nas sementes 7 e 2026, sem olhar a 42 (docs/modelo.md, "Candidatos").
        return HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.05,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            class_weight={0: 1.0, 1: 10.0},
            random_state=semente,
        )
    raise ValueError(f"Candidato desconhecido '{nome}'; aceitos: {', '.join(CANDIDATOS)}.")


def ajustar_calibrado(
    nome: str,
    x_ajuste: pd.DataFrame,
    y_ajuste: np.ndarray,
    x_calib: pd.DataFrame,
    y_calib: np.ndarray,
    semente: int = 42,
) -> CalibratedClassifierCV:
    """Ajusta no início do treino e calibra (Platt) no fim dele, em ordem de tempo.

    Platt e não isotônica: a sigmoide é estritamente crescente, então preserva a ordem (AP e limiares do
    orçamento não mudam) e não cria patamares em que 1% de alertas viraria 5%.
    """
    estimador = _candidato(nome, semente).fit(x_ajuste, y_ajuste)
    return CalibratedClassifierCV(FrozenEstimator(estimador), method="sigmoid").fit(x_calib, y_calib)


# Métricas ----------------------------------------------------------------------------------------
def limiar_por_orcamento(score: np.ndarray, fracao: float) -> float:
    """O menor score entre os ``fracao`` mais altos: alerta quem tiver score >= limiar."""
    k = max(1, int(np.ceil(fracao * len(score))))
    return float(np.sort(score)[::-1][k - 1])


def avaliar(score: np.ndarray, verdade: pd.DataFrame, taxa_alerta: float = TAXA_ALERTA) -> dict[str, float]:
    """Métricas no teste. ``verdade``: ``fraude``, ``valor``, ``pagador_id_conta``, ``data_hora``, ``tipologia``."""
    y = verdade["fraude"].to_numpy()
    valor = verdade["valor"].to_numpy()
    alerta = score >= limiar_por_orcamento(score, taxa_alerta)
    m = {
        "roc_auc": float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan"),
        "average_precision": float(average_precision_score(y, score)) if y.sum() else float("nan"),
        "recall_alerta_1pct": float(alerta[y == 1].mean()) if y.sum() else float("nan"),
        "recall_valor_alerta_1pct": float(valor[alerta & (y == 1)].sum() / max(valor[y == 1].sum(), 1e-9)),
        "precisao_alerta_1pct": float(y[alerta].mean()) if alerta.any() else float("nan"),
        "taxa_alerta_real": float(alerta.mean()),
        "precisao_top100_pagadores_dia": precisao_top_pagadores(score, verdade),
        "fraudes_teste": float(y.sum()),
        "transacoes_teste": float(len(y)),
    }
    if "tipologia" in verdade:
        for tipologia, grupo in pd.Series(alerta[y == 1]).groupby(verdade["tipologia"].to_numpy()[y == 1]):
            m[f"recall_alerta_1pct_{tipologia}"] = float(grupo.mean())
    return m


def precisao_top_pagadores(score: np.ndarray, verdade: pd.DataFrame, k: int = 100) -> float:
    """Por dia: os ``k`` pagadores de maior score; fração deles com ao menos uma fraude real naquele dia."""
    df = pd.DataFrame(
        {
            "dia": pd.to_datetime(verdade["data_hora"], utc=True).dt.floor("D").to_numpy(),
            "pagador": verdade["pagador_id_conta"].to_numpy(),
            "score": score,
            "fraude": verdade["fraude"].to_numpy(),
        }
    )
    por_pagador = df.groupby(["dia", "pagador"]).agg(score=("score", "max"), fraude=("fraude", "max")).reset_index()
    top = por_pagador.sort_values("score", ascending=False).groupby("dia").head(k)
    return float(top.groupby("dia")["fraude"].mean().mean())


# Resultado ---------------------------------------------------------------------------------------
@dataclass
class ResultadoTreino:
    run_id: str
    escolhido: str
    versao: str | None
    promovido: bool
    limiares: dict[str, float]
    metricas: dict[str, dict[str, float]] = field(default_factory=dict)  # candidato -> métricas no teste
    divisao: DivisaoTemporal | None = None

    @property
    def metricas_escolhido(self) -> dict[str, float]:
        return self.metricas[self.escolhido]


def treinar(
    transacoes: pd.DataFrame,
    cfg: Configuracao,
    med: pd.DataFrame | None = None,
    gabarito: pd.DataFrame | None = None,
    candidatos: Sequence[str] = CANDIDATOS,
    dias_aquecimento: float | None = None,
    dias_atraso: float | None = None,
    dias_teste: float | None = None,
    orcamento_revisar: float = 0.01,
    orcamento_bloquear: float = 0.001,
    origem: dict[str, str] | None = None,
    semente: int = 42,
    registrar: bool = True,
    importancia_max_linhas: int = 20_000,
    escolha: str = "auto",
    dias_dobra: float = DIAS_DOBRA,
) -> ResultadoTreino:
    """Treina, avalia no teste, registra no MLflow e promove a ``champion`` se vencer o atual.

    Rótulos de treino: MED notificada antes do início do teste (``med``), ou a coluna ``rotulo`` da tabela
    (valendo só se ``data_hora_rotulo``, quando existir, for anterior ao corte). Verdade do teste: o
    ``gabarito`` se houver; senão, toda a MED conhecida (ou ``rotulo``), o que subestima o recall.
    ``origem``: linhagem (ex.: ``{"tabela": ..., "versao_delta": ...}``) gravada como parâmetros. ``escolha`` e
    ``dias_dobra``: como o candidato é escolhido (``ajustar_candidatos``; padrão: dobras semanais se couberem 2).

    Etapas, cada uma com entrada e saída tipadas: ``preparar_treino`` -> ``ajustar_candidatos`` ->
    ``avaliar_no_teste`` -> ``_logar_run`` e ``_logar_modelo`` (no MLflow) -> ``_promover``.
    """
    dados = preparar_treino(transacoes, med, gabarito, dias_aquecimento, dias_atraso, dias_teste)
    ajuste = ajustar_candidatos(dados, candidatos, semente, escolha, dias_dobra)
    avaliacao = avaliar_no_teste(dados, ajuste, orcamento_revisar, orcamento_bloquear)
    opcoes = {
        "orcamento_revisar": orcamento_revisar,
        "orcamento_bloquear": orcamento_bloquear,
        "semente": semente,
        **({"prequencial_dias_dobra": dias_dobra} if ajuste.escolha_modelo == "prequencial" else {}),
        **{f"origem_{k}": v for k, v in (origem or {}).items()},
    }
    configurar_mlflow(cfg)
    with mlflow.start_run(run_name=f"treino-{ajuste.escolhido}") as run:
        _logar_run(dados, ajuste, avaliacao, opcoes, importancia_max_linhas)
        versao = _logar_modelo(dados.teste, avaliacao.modelo, cfg.nome_modelo_registrado if registrar else None)
        promovido = versao is not None and _promover(cfg, versao, dados, avaliacao)
    return ResultadoTreino(
        run.info.run_id, ajuste.escolhido, versao, promovido, avaliacao.limiares, avaliacao.metricas, dados.divisao
    )


# Preparação: entrada, features, divisão no tempo, rótulos ------------------------------------------
@dataclass(frozen=True)
class DadosTreino:
    """As features já divididas no tempo, com os rótulos que o treino pode ver e a verdade do teste."""

    divisao: DivisaoTemporal
    transacoes: int  # todas as que tiveram features (aquecimento, treino, atraso e teste)
    treino: pd.DataFrame
    y_treino: np.ndarray  # rótulos conhecidos no corte: o que o banco saberia no dia do treino
    rotulado_em: np.ndarray  # quando cada linha do treino virou rótulo (NaT: nunca): os rótulos de outro corte
    teste: pd.DataFrame
    verdade_teste: pd.DataFrame  # colunas de ``avaliar``
    fonte_verdade: str  # "gabarito" ou "rotulos_finais" (parâmetro do run: diz o quanto o recall é confiável)


def preparar_treino(
    transacoes: pd.DataFrame,
    med: pd.DataFrame | None,
    gabarito: pd.DataFrame | None,
    dias_aquecimento: float | None = None,
    dias_atraso: float | None = None,
    dias_teste: float | None = None,
) -> DadosTreino:
    """Features do motor do stream, divisão honesta no tempo e rótulos no corte (ver ``treinar``)."""
    feats = features_do_treino(transacoes, med)
    return dividir_treino(feats, med, gabarito, dias_aquecimento, dias_atraso, dias_teste)


def features_do_treino(transacoes: pd.DataFrame, med: pd.DataFrame | None) -> pd.DataFrame:
    """Entrada conferida e features do motor; à parte de ``dividir_treino`` para calcular uma vez e dividir mais de
    uma vez (``machine_learning.prequencial``)."""
    entrada = preparar_entrada(transacoes)
    if med is None and "rotulo" not in entrada.columns:
        raise ValueError("Sem rótulos: passe a MED (end_to_end_id, data_hora_notificacao) ou uma coluna 'rotulo'.")
    marcas = med if med is not None and "recebedor_id_conta" in med.columns else None
    return calcular_features(entrada, marcas)


def dividir_treino(
    feats: pd.DataFrame,
    med: pd.DataFrame | None,
    gabarito: pd.DataFrame | None,
    dias_aquecimento: float | None = None,
    dias_atraso: float | None = None,
    dias_teste: float | None = None,
) -> DadosTreino:
    """As features de ``features_do_treino`` divididas no tempo, com os rótulos do corte e a verdade do teste."""
    divisao = dividir_no_tempo(feats["data_hora"], dias_aquecimento, dias_atraso, dias_teste)
    no_treino, no_teste = (mascara.to_numpy() for mascara in divisao.mascaras(feats["data_hora"]))

    rotulado_em = momento_do_rotulo(feats, med)[no_treino]
    y_treino = rotulos_ate(rotulado_em, divisao.corte_rotulos)
    verdade = verdade_de(feats, med, gabarito)
    if y_treino.sum() < 2:
        raise ValueError(f"Só {int(y_treino.sum())} fraude(s) rotulada(s) na janela de treino: dados insuficientes.")
    return DadosTreino(
        divisao=divisao,
        transacoes=len(feats),
        treino=feats[no_treino].reset_index(drop=True),
        y_treino=y_treino,
        rotulado_em=rotulado_em,
        teste=feats[no_teste].reset_index(drop=True),
        verdade_teste=verdade[no_teste].reset_index(drop=True),
        fonte_verdade="gabarito" if gabarito is not None else "rotulos_finais",
    )


def momento_do_rotulo(feats: pd.DataFrame, med: pd.DataFrame | None) -> np.ndarray:
    """Quando cada transação virou fraude para o banco (datetime64 UTC sem fuso); NaT se nunca virou.

    Guardar o momento, e não o rótulo de um corte, dá os rótulos de qualquer corte (``rotulos_ate``): o da divisão e
    o de cada dobra prequencial. Com a MED, a primeira notificação (o mesmo que ``rotulos_no_corte``). Com a coluna
    ``rotulo``, ``data_hora_rotulo`` se houver; sem ela, o instante da própria transação (vale em qualquer corte
    posterior, como sempre valeu no corte do treino).
    """
    if med is not None:
        notificacao = pd.to_datetime(med["data_hora_notificacao"], utc=True)
        primeira = notificacao.groupby(med["end_to_end_id"].astype(str).to_numpy()).min()
        momento = feats["end_to_end_id"].map(primeira)
    else:
        rotulo = feats["rotulo"].fillna(0).astype(int).to_numpy() == 1
        quando = feats["data_hora_rotulo"] if "data_hora_rotulo" in feats.columns else feats["data_hora"]
        momento = pd.to_datetime(quando, utc=True).where(rotulo)
    return pd.to_datetime(momento, utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")


def rotulos_ate(rotulado_em: np.ndarray, corte: pd.Timestamp) -> np.ndarray:
    """1 se o rótulo chegou estritamente antes de ``corte`` (como ``rotulos_no_corte``); NaT nunca chega."""
    limite = pd.Timestamp(corte).tz_convert("UTC").tz_localize(None).to_datetime64()
    return (rotulado_em < limite).astype(int)


def verdade_de(feats: pd.DataFrame, med: pd.DataFrame | None, gabarito: pd.DataFrame | None) -> pd.DataFrame:
    """As colunas de ``avaliar``: o gabarito, se houver; senão toda a MED conhecida (ou ``rotulo``)."""
    base = feats[["end_to_end_id", "valor", "pagador_id_conta", "data_hora"]]
    if gabarito is not None:
        g = gabarito[["end_to_end_id", "fraude", "tipologia"]]
        verdade = base.merge(g, on="end_to_end_id", how="left")
        verdade["fraude"] = verdade["fraude"].fillna(0).astype(int)
        verdade["tipologia"] = verdade["tipologia"].fillna("nenhuma")
        return verdade
    if med is not None:
        fraude = rotulos_no_corte(feats, med, pd.Timestamp.max.tz_localize("UTC"))
    else:
        fraude = feats["rotulo"].fillna(0).astype(int)
    return base.assign(fraude=fraude.to_numpy().astype(int))


# Ajuste: candidatos calibrados, escolha prequencial ou na validação ----------------------------------------
@dataclass(frozen=True)
class Ajuste:
    """Os candidatos calibrados e o escolhido; a validação são os 20% finais do treino, em ordem de tempo."""

    candidatos: tuple[str, ...]
    modelos: dict[str, CalibratedClassifierCV]
    score_validacao: dict[str, np.ndarray]  # de onde saem os limiares do escolhido
    ap_validacao: dict[str, float]
    escolhido: str
    escolha_modelo: str = "validacao"  # "prequencial" (dobras semanais na janela de treino) ou "validacao"
    dobras: pd.DataFrame | None = None  # com a escolha prequencial: uma linha por dobra e candidato


def ajustar_candidatos(
    dados: DadosTreino,
    candidatos: Sequence[str],
    semente: int,
    escolha: str = "auto",
    dias_dobra: float = DIAS_DOBRA,
) -> Ajuste:
    """Ajusta nos 80% iniciais do treino, calibra nos 20% finais e escolhe sem olhar o teste.

    A escolha: com ``escolha="auto"`` e mais de um candidato, pela AP média em dobras semanais dentro da janela de
    treino (``machine_learning.prequencial``), se couberem ao menos 2; senão pela AP nos 20% finais. As dobras medem
    contra os rótulos do corte (um banco não tem gabarito), e cada uma treina só com os rótulos conhecidos no seu
    próprio corte. ``"prequencial"`` exige as dobras; ``"validacao"`` não as usa.
    """
    if escolha not in ESCOLHAS:
        raise ValueError(f"escolha '{escolha}' desconhecida; aceitas: {', '.join(ESCOLHAS)}.")
    x, y = matriz(dados.treino), dados.y_treino
    # Antes dos ajustes calibrados: com escolha="prequencial" sem dobras, o erro vem sem esperar por eles.
    tenta = escolha == "prequencial" or (escolha == "auto" and len(candidatos) > 1)  # com um só, nada a escolher
    dobras, motivo = _dobras_do_treino(dados, x, candidatos, semente, dias_dobra) if tenta else (None, "")
    if dobras is None and escolha == "prequencial":
        raise ValueError(f"escolha='prequencial' sem dobras: {motivo}. Use mais dias, dobras menores ou 'validacao'.")
    if motivo:
        print(f"Escolha na validação (fim do treino): {motivo}.")
    n_ajuste = int(0.8 * len(dados.treino))
    x_aj, y_aj, x_cal, y_cal = x[:n_ajuste], y[:n_ajuste], x[n_ajuste:], y[n_ajuste:]
    modelos, score_validacao, ap_validacao = {}, {}, {}
    for nome in candidatos:
        modelos[nome] = ajustar_calibrado(nome, x_aj, y_aj, x_cal, y_cal, semente)
        score_validacao[nome] = modelos[nome].predict_proba(x_cal)[:, 1]
        ap_validacao[nome] = float(average_precision_score(y_cal, score_validacao[nome])) if y_cal.sum() else 0.0
    if dobras is None:
        escolhido = max(candidatos, key=lambda c: ap_validacao[c])
        return Ajuste(tuple(candidatos), modelos, score_validacao, ap_validacao, escolhido)
    escolhido = escolher(resumir(dobras))
    return Ajuste(tuple(candidatos), modelos, score_validacao, ap_validacao, escolhido, "prequencial", dobras)


# Avaliação prequencial (dobras semanais): escolhe o modelo; o relatório é machine_learning.prequencial.
DIAS_TREINO_MIN = 3.0  # dobra com menos treino que isso não entra (poucos rótulos, modelo sem o que aprender)


def dobras_semanais(
    inicio: pd.Timestamp,
    fim: pd.Timestamp,
    dias_dobra: float = DIAS_DOBRA,
    dias_intervalo: float = 0.0,
    dias_treino_min: float = DIAS_TREINO_MIN,
) -> list[DivisaoTemporal]:
    """Semanas de teste ``[c, c + dias_dobra)`` contadas de ``fim`` para trás, a mais antiga primeiro.

    Cada dobra treina em ``[inicio, c − dias_intervalo)`` (``inicio`` já é depois do aquecimento) e usa ``c`` como
    corte dos rótulos (``DivisaoTemporal.corte_rotulos``). Para quando o treino ficaria menor que ``dias_treino_min``.
    """
    if dias_dobra <= 0 or dias_intervalo < 0:
        raise ValueError(f"dias_dobra precisa ser > 0 e dias_intervalo >= 0; recebido {dias_dobra}, {dias_intervalo}")
    dobra, intervalo = pd.Timedelta(days=dias_dobra), pd.Timedelta(days=dias_intervalo)
    dobras, fim_teste = [], fim
    while (fim_teste - dobra - intervalo) - inicio >= pd.Timedelta(days=dias_treino_min):
        corte = fim_teste - dobra
        dobras.append(DivisaoTemporal(inicio, corte - intervalo, corte, fim_teste))
        fim_teste = corte
    return dobras[::-1]


def avaliar_dobras(
    x: pd.DataFrame,
    rotulado_em: np.ndarray,
    verdade: pd.DataFrame,
    dobras: Sequence[DivisaoTemporal],
    candidatos: Sequence[str] = CANDIDATOS,
    semente: int = 42,
    avisar: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Uma linha por dobra e candidato: treino só com os rótulos conhecidos no corte, métricas de ``avaliar``.

    ``x`` (a matriz do modelo), ``rotulado_em`` (``momento_do_rotulo``) e ``verdade`` (colunas de ``avaliar``, com
    ``data_hora``) estão alinhados linha a linha. Uma dobra sem 2 fraudes rotuladas no treino ou sem fraude no teste
    fica de fora (dito em ``avisar``): não há o que aprender ou o que medir.
    """
    data_hora = pd.to_datetime(verdade["data_hora"], utc=True)
    fraude = verdade["fraude"].to_numpy()
    linhas = []
    for numero, dobra in enumerate(dobras, 1):
        no_treino, no_teste = (m.to_numpy() for m in dobra.mascaras(data_hora))
        y_treino = rotulos_ate(rotulado_em[no_treino], dobra.corte_rotulos)
        verdade_teste = verdade[no_teste].reset_index(drop=True)
        if y_treino.sum() < 2 or not fraude[no_teste].any():
            avisar(
                f"dobra {numero} ({dobra.corte_rotulos:%Y-%m-%d}) fora: {int(y_treino.sum())} fraude(s) rotulada(s) no "
                f"treino, {int(fraude[no_teste].sum())} no teste"
            )
            continue
        x_treino, x_teste = x[no_treino], x[no_teste]
        for nome in candidatos:
            inicio = time.monotonic()
            score = _candidato(nome, semente).fit(x_treino, y_treino).predict_proba(x_teste)[:, 1]
            m = avaliar(score, verdade_teste)
            linhas.append(
                {
                    "dobra": numero,
                    "inicio_treino": dobra.inicio_treino,
                    "fim_treino": dobra.fim_treino,
                    "corte": dobra.corte_rotulos,
                    "fim_teste": dobra.fim_teste,
                    "candidato": nome,
                    "transacoes_treino": int(no_treino.sum()),
                    "fraudes_rotuladas_treino": int(y_treino.sum()),  # com MED antes do corte
                    "fraudes_treino": int(fraude[no_treino].sum()),  # pela verdade: o que o atraso esconde
                    "transacoes_teste": int(no_teste.sum()),
                    "fraudes_teste": int(m["fraudes_teste"]),
                    "average_precision": m["average_precision"],
                    "recall_alerta_1pct": m["recall_alerta_1pct"],
                    "roc_auc": m["roc_auc"],
                    "segundos": time.monotonic() - inicio,
                }
            )
            avisar(
                f"dobra {numero} {nome}: AP {m['average_precision']:.3f}, recall a 1% {m['recall_alerta_1pct']:.1%} "
                f"({time.monotonic() - inicio:.0f} s)"
            )
    return pd.DataFrame(linhas)


def resumir(por_dobra: pd.DataFrame) -> pd.DataFrame:
    """Por candidato (na ordem em que aparecem): dobras, média e desvio-padrão amostral de AP e recall a 1%."""
    g = por_dobra.groupby("candidato", sort=False)
    return pd.DataFrame(
        {
            "dobras": g.size(),
            "ap_media": g["average_precision"].mean(),
            "ap_desvio": g["average_precision"].std(ddof=1),
            "recall_media": g["recall_alerta_1pct"].mean(),
            "recall_desvio": g["recall_alerta_1pct"].std(ddof=1),
        }
    )


def escolher(resumo: pd.DataFrame) -> str:
    """O candidato de maior AP média nas dobras (no empate, o primeiro)."""
    return str(resumo["ap_media"].idxmax())


def _dobras_do_treino(
    dados: DadosTreino, x: pd.DataFrame, candidatos: Sequence[str], semente: int, dias_dobra: float
) -> tuple[pd.DataFrame | None, str]:
    """As dobras semanais dentro da janela de treino, ou None e o motivo se não houver 2 com o que medir."""
    janelas = dobras_semanais(dados.divisao.inicio_treino, dados.divisao.fim_treino, dias_dobra)
    if len(janelas) < 2:
        dias = (dados.divisao.fim_treino - dados.divisao.inicio_treino) / pd.Timedelta(days=1)
        return None, f"só {len(janelas)} dobra(s) de {dias_dobra:g} dias cabem nos {dias:.1f} dias da janela de treino"
    # A verdade das dobras são os rótulos do corte do treino: o que o banco sabe hoje, sem gabarito.
    verdade = dados.treino[["valor", "pagador_id_conta", "data_hora"]].assign(fraude=dados.y_treino)
    dobras = avaliar_dobras(x, dados.rotulado_em, verdade, janelas, candidatos, semente)
    if dobras.empty or dobras["dobra"].nunique() < 2:
        return None, "menos de 2 dobras com fraudes rotuladas no treino e no teste"
    return dobras, ""


# Avaliação: métricas no teste, limiares, modelo servido ---------------------------------------------
@dataclass(frozen=True)
class Avaliacao:
    """Cada candidato no teste e o modelo servido: o escolhido, os limiares e a referência da deriva."""

    x_teste: pd.DataFrame
    score_teste: dict[str, np.ndarray]
    metricas: dict[str, dict[str, float]]  # candidato -> métricas no teste
    modelo: ModeloFraudePix

    @property
    def limiares(self) -> dict[str, float]:
        return self.modelo.limiares

    @property
    def score_escolhido(self) -> np.ndarray:
        return self.score_teste[self.modelo.candidato]


def avaliar_no_teste(
    dados: DadosTreino, ajuste: Ajuste, orcamento_revisar: float, orcamento_bloquear: float
) -> Avaliacao:
    """Métricas de todos os candidatos no teste; limiares do escolhido pelo orçamento de alertas na validação.

    Os limiares saem da validação, não do teste: o teste só mede, para as métricas não serem otimistas.
    """
    x_teste = matriz(dados.teste)
    score_teste = {nome: modelo.predict_proba(x_teste)[:, 1] for nome, modelo in ajuste.modelos.items()}
    metricas = {nome: avaliar(score, dados.verdade_teste) for nome, score in score_teste.items()}
    score_validacao = ajuste.score_validacao[ajuste.escolhido]
    limiares = {
        "REVISAR": limiar_por_orcamento(score_validacao, orcamento_revisar),
        "BLOQUEAR": limiar_por_orcamento(score_validacao, orcamento_bloquear),
    }
    referencia = referencia_de(dados.teste, score_teste[ajuste.escolhido]).como_dict()
    modelo = ModeloFraudePix(ajuste.modelos[ajuste.escolhido], limiares, ajuste.escolhido, referencia)
    return Avaliacao(x_teste, score_teste, metricas, modelo)


# MLflow: o run e o modelo ---------------------------------------------------------------------------
def _logar_run(
    dados: DadosTreino, ajuste: Ajuste, avaliacao: Avaliacao, opcoes: dict[str, Any], importancia_max_linhas: int
) -> None:
    """No run ativo: parâmetros, métricas de cada candidato, artefatos de avaliação e a referência da deriva."""
    escolhido, limiares = ajuste.escolhido, avaliacao.limiares
    mlflow.log_params(
        {
            "candidatos": ",".join(ajuste.candidatos),
            "escolhido": escolhido,
            "escolha_modelo": ajuste.escolha_modelo,
            "criterio_escolha": (
                "average_precision média nas dobras semanais da janela de treino (rótulos do corte)"
                if ajuste.escolha_modelo == "prequencial"
                else "average_precision na validação (fim do treino, rótulos do corte)"
            ),
            "calibracao": "sigmoid (Platt) nos 20% finais do treino",
            "limiar_revisar": limiares["REVISAR"],
            "limiar_bloquear": limiares["BLOQUEAR"],
            "corte_rotulos": dados.divisao.corte_rotulos.isoformat(),
            "verdade_teste": dados.fonte_verdade,
            "transacoes": dados.transacoes,
            "transacoes_treino": len(dados.treino),
            "fraudes_rotuladas_treino": int(dados.y_treino.sum()),
            **{f"divisao_{k}": v for k, v in dados.divisao.como_parametros().items()},
            **opcoes,
        }
    )
    if "gbm" in ajuste.modelos:
        gbm = ajuste.modelos["gbm"].estimator.estimator
        mlflow.log_params({f"gbm_{k}": v for k, v in gbm.get_params().items() if k != "class_weight"})
    if ajuste.dobras is not None:
        mlflow.log_metric("prequencial_dobras", float(ajuste.dobras["dobra"].nunique()))
        for nome, r in resumir(ajuste.dobras).iterrows():
            mlflow.log_metrics(
                {
                    f"{nome}_prequencial_ap_media": r["ap_media"],
                    f"{nome}_prequencial_ap_desvio": r["ap_desvio"],
                    f"{nome}_prequencial_recall_1pct_media": r["recall_media"],
                    f"{nome}_prequencial_recall_1pct_desvio": r["recall_desvio"],
                }
            )
    metricas = avaliacao.metricas
    for nome, m in metricas.items():
        mlflow.log_metrics({f"{nome}_{k}": v for k, v in m.items() if np.isfinite(v)})
        mlflow.log_metric(f"{nome}_ap_validacao", ajuste.ap_validacao[nome])
    mlflow.log_metrics({k: v for k, v in metricas[escolhido].items() if np.isfinite(v)})
    if "regras" in metricas and escolhido != "regras":
        ap_regras = metricas["regras"]["average_precision"]
        mlflow.log_metric("razao_ap_sobre_regras", metricas[escolhido]["average_precision"] / max(ap_regras, 1e-9))
    with tempfile.TemporaryDirectory() as pasta:
        _artefatos(Path(pasta), ajuste, avaliacao, dados.verdade_teste["fraude"].to_numpy(), importancia_max_linhas)
        mlflow.log_artifacts(pasta, "avaliacao")
    mlflow.log_dict(avaliacao.modelo.referencia_deriva, "deriva/referencia.json")


def _logar_modelo(teste: pd.DataFrame, modelo: ModeloFraudePix, registrar_como: str | None) -> str | None:
    """O pyfunc no run, autocontido; registrado como ``registrar_como``, se dado: devolve a versão.

    Autocontido: leva o código de que precisa (``code_paths``), os requisitos fixados, assinatura e exemplo, e no
    ``model_config`` os limiares e as colunas; carrega num processo sem este repositório (``modelo_servido``).
    """
    exemplo = teste[list(ENTRADA_DO_MODELO)].dropna().head(5)
    if exemplo.empty:
        exemplo = teste[list(ENTRADA_DO_MODELO)].head(5)
    with tempfile.TemporaryDirectory() as pasta:
        info = mlflow.pyfunc.log_model(
            name="modelo",
            python_model=modelo,
            code_paths=copiar_codigo_do_modelo(Path(pasta)),
            pip_requirements=requisitos_do_modelo(),
            model_config=modelo.configuracao(),
            signature=mlflow.models.infer_signature(exemplo, modelo.predict(None, exemplo)),
            input_example=exemplo,
            registered_model_name=registrar_como,
        )
    if not registrar_como:
        return None
    versao = str(info.registered_model_version)
    tags = {"candidato": modelo.candidato, **{f"limiar_{k.lower()}": str(v) for k, v in modelo.limiares.items()}}
    cliente = MlflowClient()
    for chave, valor in tags.items():
        cliente.set_model_version_tag(registrar_como, versao, chave, valor)
    return versao


# Promoção ----------------------------------------------------------------------------------------
def _entrada_do_campeao(campeao: Any, teste: pd.DataFrame) -> pd.DataFrame:
    """As colunas que a assinatura do champion pede (um champion antigo pede menos que o modelo de agora)."""
    esquema = campeao.metadata.get_input_schema()
    nomes = esquema.input_names() if esquema is not None else list(ENTRADA_DO_MODELO)
    return teste[[c for c in nomes if c in teste.columns]]


def _promover(cfg: Configuracao, versao: str, dados: DadosTreino, avaliacao: Avaliacao) -> bool:
    """Alias ``challenger`` sempre; ``champion`` só se a AP no mesmo teste superar a do champion atual."""
    cliente = MlflowClient()
    nome = cfg.nome_modelo_registrado
    cliente.set_registered_model_alias(nome, "challenger", versao)
    y = dados.verdade_teste["fraude"].to_numpy()
    ap_novo = float(average_precision_score(y, avaliacao.score_escolhido)) if y.sum() else 0.0
    atual = versao_por_alias(nome)
    if atual is None:
        ap_atual, promovido, motivo = float("nan"), True, "não havia champion"
    else:
        campeao = mlflow.pyfunc.load_model(f"models:/{nome}@champion")
        s_atual = campeao.predict(_entrada_do_campeao(campeao, dados.teste))["score"].to_numpy()
        ap_atual = float(average_precision_score(y, s_atual)) if y.sum() else 0.0
        promovido = ap_novo > ap_atual
        motivo = f"AP {ap_novo:.4f} {'>' if promovido else '<='} AP do champion v{atual.version} {ap_atual:.4f}"
    comparacao = {
        "versao_challenger": versao,
        "versao_champion_anterior": str(atual.version) if atual else None,
        "ap_challenger": ap_novo,
        "ap_champion_anterior": None if np.isnan(ap_atual) else ap_atual,
        "promovido": promovido,
        "motivo": motivo,
    }
    mlflow.log_metric("promocao_ap_challenger", ap_novo)
    if not np.isnan(ap_atual):
        mlflow.log_metric("promocao_ap_champion_anterior", ap_atual)
    mlflow.log_metric("promovido", float(promovido))
    mlflow.log_dict(comparacao, "promocao.json")
    mlflow.set_tag("promocao", motivo)
    if promovido:
        cliente.set_registered_model_alias(nome, "champion", versao)
    print(f"Promoção: {motivo} -> {'champion' if promovido else 'continua challenger'} (versão {versao}).")
    return promovido


# Artefatos de avaliação ----------------------------------------------------------------------------
def _artefatos(pasta: Path, ajuste: Ajuste, avaliacao: Avaliacao, y: np.ndarray, max_linhas: int) -> None:
    """Curvas PR, ROC e de calibração, matriz de confusão nos limiares, tabela de limiares, importância por
    permutação e, com a escolha prequencial, as métricas de cada dobra."""
    import matplotlib

    matplotlib.use("Agg")  # só arquivos, sem janela: o treino roda em job
    score = avaliacao.score_escolhido
    _curvas(pasta, avaliacao.score_teste, y)
    _calibracao(pasta, score, y, ajuste.escolhido)
    if ajuste.dobras is not None:
        ajuste.dobras.to_csv(pasta / "prequencial.csv", index=False)
    _matriz_de_confusao(pasta, avaliacao.modelo.decidir(score), y)
    _tabela_de_limiares(pasta, ajuste.score_validacao[ajuste.escolhido], score, y, avaliacao.limiares)
    _importancia(pasta, avaliacao.modelo, avaliacao.x_teste, y, max_linhas)


def _curvas(pasta: Path, score_teste: dict[str, np.ndarray], y: np.ndarray) -> None:
    """Precisão x recall e ROC de todos os candidatos no mesmo gráfico: a escolha à vista."""
    import matplotlib.pyplot as plt

    fig_pr, ax_pr = plt.subplots(figsize=(6, 5))
    fig_roc, ax_roc = plt.subplots(figsize=(6, 5))
    curvas = []
    for nome, s in score_teste.items():
        p, r, _ = precision_recall_curve(y, s)
        ax_pr.plot(r, p, label=f"{nome} (AP {average_precision_score(y, s):.3f})")
        fpr, tpr, _ = roc_curve(y, s)
        ax_roc.plot(fpr, tpr, label=f"{nome} (AUC {roc_auc_score(y, s):.3f})")
        curvas.append(pd.DataFrame({"candidato": nome, "recall": r, "precisao": p}))
    ax_pr.set(xlabel="recall", ylabel="precisão", title="Precisão x recall (teste)")
    ax_roc.set(xlabel="taxa de falsos positivos", ylabel="recall", title="ROC (teste)")
    for fig, ax, arquivo in ((fig_pr, ax_pr, "curva_pr.png"), (fig_roc, ax_roc, "curva_roc.png")):
        ax.legend()
        fig.tight_layout()
        fig.savefig(pasta / arquivo, dpi=100)
        plt.close(fig)
    pd.concat(curvas).to_csv(pasta / "curva_pr.csv", index=False)


# Faixas de score da calibração: quantis, mais finos no topo, onde moram REVISAR (1%) e BLOQUEAR (0,1%).
QUANTIS_CALIBRACAO = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0)


def tabela_de_calibracao(score: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Por faixa de score (``QUANTIS_CALIBRACAO``): score médio contra a taxa de fraude observada.

    Faixas por quantil e não de largura fixa: com 0,5% de fraude quase todo score fica perto de zero, e faixas de
    0,1 deixariam uma faixa com tudo e as outras quase vazias.
    """
    bordas = np.unique(np.quantile(score, QUANTIS_CALIBRACAO))
    faixa = np.clip(np.searchsorted(bordas, score, side="right") - 1, 0, max(len(bordas) - 2, 0))
    df = pd.DataFrame({"faixa": faixa, "score": score, "fraude": y})
    t = df.groupby("faixa").agg(
        score_min=("score", "min"),
        score_max=("score", "max"),
        score_medio=("score", "mean"),
        taxa_fraude=("fraude", "mean"),
        transacoes=("fraude", "size"),
        fraudes=("fraude", "sum"),
    )
    return t.reset_index(drop=True)


def _calibracao(pasta: Path, score: np.ndarray, y: np.ndarray, candidato: str) -> None:
    """Diagrama de confiabilidade do escolhido no teste (CSV e figura, em escala log: quase tudo é perto de zero)."""
    import matplotlib.pyplot as plt

    t = tabela_de_calibracao(score, y)
    t.to_csv(pasta / "calibracao.csv", index=False)
    fig, ax = plt.subplots(figsize=(6, 5))
    com_fraude = t[t["taxa_fraude"] > 0]
    ax.plot(com_fraude["score_medio"], com_fraude["taxa_fraude"], "o-", label=f"{candidato} (faixas por quantil)")
    menor_taxa = float(com_fraude["taxa_fraude"].min()) if len(com_fraude) else 1.0
    limites = [max(min(float(t["score_medio"].min()), menor_taxa), 1e-5), 1.0]
    ax.plot(limites, limites, "--", color="gray", label="calibração perfeita")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="score médio da faixa",
        ylabel="fração de fraudes na faixa",
        title="Calibração (teste)",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(pasta / "calibracao.png", dpi=100)
    plt.close(fig)


def _matriz_de_confusao(pasta: Path, decisao: np.ndarray, y: np.ndarray) -> None:
    """Decisões do modelo servido no teste contra a verdade (CSV e figura)."""
    import matplotlib.pyplot as plt

    matriz_confusao = pd.crosstab(
        pd.Categorical(decisao, categories=DECISOES), pd.Series(np.where(y == 1, "fraude", "legitima")), dropna=False
    ).reindex(columns=["legitima", "fraude"], fill_value=0)
    matriz_confusao.index.name, matriz_confusao.columns.name = "decisao", "verdade"
    matriz_confusao.to_csv(pasta / "matriz_confusao.csv")
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.imshow(np.log1p(matriz_confusao.to_numpy()), cmap="Blues")
    for (i, j), v in np.ndenumerate(matriz_confusao.to_numpy()):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set(xticks=[0, 1], xticklabels=matriz_confusao.columns, yticks=range(3), yticklabels=matriz_confusao.index)
    ax.set_title("Decisões no teste (limiares do orçamento)")
    fig.tight_layout()
    fig.savefig(pasta / "matriz_confusao.png", dpi=100)
    plt.close(fig)


def _tabela_de_limiares(
    pasta: Path, score_validacao: np.ndarray, score: np.ndarray, y: np.ndarray, limiares: dict[str, float]
) -> None:
    """Outros orçamentos de alerta: o limiar que dariam na validação e o que ele faz no teste."""
    linhas = []
    for orcamento in (0.001, 0.005, 0.01, 0.02, 0.05):
        limiar = limiar_por_orcamento(score_validacao, orcamento)
        alerta = score >= limiar
        linhas.append(
            {
                "orcamento_validacao": orcamento,
                "limiar": limiar,
                "taxa_alerta_teste": alerta.mean(),
                "precisao_teste": y[alerta].mean() if alerta.any() else np.nan,
                "recall_teste": alerta[y == 1].mean() if y.sum() else np.nan,
            }
        )
    pd.DataFrame(linhas).to_csv(pasta / "limiares.csv", index=False)
    (pasta / "limiares.json").write_text(json.dumps(limiares, indent=2))


def _importancia(pasta: Path, modelo: ModeloFraudePix, x_teste: pd.DataFrame, y: np.ndarray, max_linhas: int) -> None:
    """Importância por permutação: todas as fraudes do teste e uma amostra das legítimas (o custo cabe no job)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    idx_fraude = np.flatnonzero(y == 1)
    idx_legit = np.flatnonzero(y == 0)
    idx_legit = rng.choice(idx_legit, min(len(idx_legit), max(max_linhas - len(idx_fraude), 0)), replace=False)
    idx = np.sort(np.concatenate([idx_fraude, idx_legit]))
    if not len(idx_fraude):
        return
    imp = permutation_importance(
        modelo.estimador, x_teste.iloc[idx], y[idx], scoring="average_precision", n_repeats=3, random_state=0
    )
    tabela = pd.DataFrame(
        {"feature": x_teste.columns, "queda_ap_media": imp.importances_mean, "desvio": imp.importances_std}
    ).sort_values("queda_ap_media", ascending=False)
    tabela.to_csv(pasta / "importancia_permutacao.csv", index=False)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.barh(tabela["feature"][::-1], tabela["queda_ap_media"][::-1], xerr=tabela["desvio"][::-1])
    ax.set(xlabel="queda da AP ao embaralhar", title=f"Importância por permutação ({modelo.candidato})")
    fig.tight_layout()
    fig.savefig(pasta / "importancia_permutacao.png", dpi=100)
    plt.close(fig)


def versao_delta(spark: Any, identificador_sql: str) -> str:
    """A versão atual de uma tabela Delta (linhagem do treino)."""
    linha = spark.sql(f"DESCRIBE HISTORY {identificador_sql} LIMIT 1").select("version").first()
    return str(linha["version"]) if linha else ""


COLUNAS_MED = ("end_to_end_id", "data_hora_notificacao", "recebedor_id_conta")


def treinar_das_tabelas(
    spark: Any, cfg: Configuracao, gabarito: pd.DataFrame | None = None, **opcoes: Any
) -> ResultadoTreino:
    """Treina com ``silver_transacoes`` + ``silver_med``, gravando tabela e versão Delta como linhagem."""
    from plataforma.tabelas import tabela

    tx, med = tabela(cfg, "silver_transacoes"), tabela(cfg, "silver_med")
    for t in (tx, med):
        if not t.existe(spark):
            raise ValueError(
                f"Tabela {t.nome} não encontrada ({t.nome_uc or t.caminho}): rode a ingestão e o processamento antes "
                "(detector-pix executar processamento --disponivel)."
            )
    origem = {
        "tabela_transacoes": tx.nome_uc or str(tx.caminho),
        "versao_delta_transacoes": versao_delta(spark, tx.identificador_sql),
        "tabela_med": med.nome_uc or str(med.caminho),
        "versao_delta_med": versao_delta(spark, med.identificador_sql),
    }
    transacoes = tx.ler(spark).select(*COLUNAS_ENTRADA).toPandas()
    notificacoes = med.ler(spark).select(*COLUNAS_MED).toPandas()
    print(f"Treino com {len(transacoes)} transações e {len(notificacoes)} notificações MED ({origem}).")
    return treinar(transacoes, cfg, med=notificacoes, gabarito=gabarito, origem=origem, **opcoes)


__all__ = [
    "COLUNAS_ENTRADA",
    "COLUNAS_MINIMAS",
    "PADROES_OPCIONAIS",
    "Ajuste",
    "Avaliacao",
    "DadosTreino",
    "ModeloFraudePix",
    "ResultadoTreino",
    "ajustar_candidatos",
    "avaliar_no_teste",
    "calcular_features",
    "preparar_treino",
    "treinar",
]
