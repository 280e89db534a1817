"""O modelo registrado: o que o MLflow carrega por ``models:/<nome>@champion``, sem o resto do projeto.

Por que um módulo à parte: o modelo leva consigo (``code_paths``) só este módulo e os poucos de que ele depende
(``MODULOS_DO_MODELO``: regras, nomes das decisões, colunas do motor e formas de iniciação), todos sem Spark, Kafka
nem configuração. Assim ele carrega num processo novo, num ambiente com só os seus requisitos (``requisitos.txt``
do modelo), sem este repositório no ``sys.path`` (testes/machine_learning/test_modelo_autocontido.py). Limiares,
colunas e candidato ficam também no ``model_config`` do modelo (e os limiares nas tags da versão).
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel
from sklearn.base import BaseEstimator, ClassifierMixin

from machine_learning.decisao import pontuar_regras, por_limiares
from processamento.contrato import FORMAS_INICIACAO
from processamento.features import COLUNAS_FEATURES

# O fecho de importação deste módulo dentro do projeto: o que vai no code/ do modelo, com o pacote de cada um.
MODULOS_DO_MODELO = (
    "machine_learning.modelo_servido",
    "machine_learning.decisao",
    "plataforma.faixas",
    "processamento.contrato",
    "processamento.features",
)
# O que carregar e pontuar exige, fixado nas versões do ambiente do treino (no Databricks, as do runtime). O
# pyfunc está no mlflow-skinny; o servidor e o SQL do mlflow completo não servem ao modelo.
PACOTES_DO_MODELO = ("mlflow-skinny", "scikit-learn", "pandas", "numpy", "cloudpickle")


# Razões calculadas das features do motor, só no modelo: a entrada recente do recebedor contra o ritmo habitual
# da própria conta (uma conta "alugada" é antiga, mas recebe num surto, e de pagadores novos, o que nunca recebeu).
DERIVADAS = (
    "rec_taxa_dia",
    "rec_surto_1h",
    "rec_surto_24h",
    "rec_fracao_med",
    "pag_taxa_dia",
    "pag_surto_1h",
    "rec_fracao_pagadores_novos",
    "rec_surto_novos_24h",
)

# Contexto da própria transação (sem estado): como foi iniciada e quem são as partes. Falso QR code é QR pago a uma
# pessoa física; falsa central e falso parente pagam pessoa física por chave.
CONTEXTO = ("pagador_pj", "recebedor_pj", *(f"forma_{f.lower()}" for f in FORMAS_INICIACAO))

COLUNAS_MODELO = (*COLUNAS_FEATURES, *CONTEXTO, *DERIVADAS)
# O que o modelo servido recebe (assinatura no MLflow): as features do motor e as colunas da transação de onde
# saem o contexto e as razões. A gold_features e o stream de decisão têm todas.
ENTRADA_DO_MODELO = (
    *COLUNAS_FEATURES, "valor", "pagador_tipo_pessoa", "recebedor_tipo_pessoa", "forma_iniciacao",
)  # fmt: skip


def matriz(features: pd.DataFrame, colunas: Sequence[str] | None = None) -> pd.DataFrame:
    """As colunas do modelo (padrão: ``COLUNAS_MODELO``) em float64 (booleanos viram 0/1).

    Em numpy, coluna a coluna, e um só DataFrame no fim: no stream roda a cada lote, dentro da latência.
    """
    colunas = list(colunas or COLUNAS_MODELO)
    valores = {c: features[c].to_numpy(np.float64) for c in colunas if c not in DERIVADAS and c not in CONTEXTO}
    if any(c in CONTEXTO for c in colunas):
        valores.update(_contexto(features))
    if any(c in DERIVADAS for c in colunas):
        valores.update(_derivadas(features))
    return pd.DataFrame({c: valores[c] for c in colunas}, index=features.index)


def _derivadas(f: pd.DataFrame) -> dict[str, np.ndarray]:
    def col(nome: str) -> np.ndarray:
        return f[nome].to_numpy(np.float64)

    n_rec = col("rec_qtd_historico")
    taxa_rec = n_rec / np.maximum(col("rec_idade_conta_s") / 86_400, 1.0)
    taxa_pag = col("pag_qtd_historico") / np.maximum(col("pag_idade_conta_s") / 86_400, 1.0)
    fracao_novos = col("rec_qtd_pagadores_novos") / np.maximum(n_rec, 1)
    return {
        "rec_taxa_dia": taxa_rec,
        "rec_surto_1h": col("rec_pagadores_distintos_1h") / (taxa_rec / 24 + 0.1),
        "rec_surto_24h": col("rec_pagadores_distintos_24h") / (taxa_rec + 0.5),
        "rec_fracao_med": col("rec_qtd_med") / np.maximum(n_rec, 1),
        "pag_taxa_dia": taxa_pag,
        "pag_surto_1h": col("pag_qtd_1h") / (taxa_pag / 24 + 0.1),
        "rec_fracao_pagadores_novos": fracao_novos,
        "rec_surto_novos_24h": col("rec_pagadores_novos_24h") / (fracao_novos * taxa_rec + 0.5),
    }


def _contexto(f: pd.DataFrame) -> dict[str, np.ndarray]:
    """Colunas de ``CONTEXTO``; ``forma_iniciacao`` ausente (tabela de treino sem ela) zera as formas."""
    forma = f["forma_iniciacao"].to_numpy() if "forma_iniciacao" in f else np.full(len(f), None, object)
    colunas = {
        "pagador_pj": (f["pagador_tipo_pessoa"].to_numpy() == "PJ").astype(np.float64),
        "recebedor_pj": (f["recebedor_tipo_pessoa"].to_numpy() == "PJ").astype(np.float64),
    }
    for nome in FORMAS_INICIACAO:
        colunas[f"forma_{nome.lower()}"] = (forma == nome).astype(np.float64)
    return colunas


def _log_com_sinal(x: np.ndarray) -> np.ndarray:
    """Comprime somas, idades e contagens de cauda longa para a regressão logística."""
    return np.sign(x) * np.log1p(np.abs(x))


# Estimador das regras e o modelo servido ------------------------------------------------------
class EstimadorRegras(ClassifierMixin, BaseEstimator):
    """As regras com a interface de um classificador do scikit-learn (não aprende nada; ``fit`` só marca)."""

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> EstimadorRegras:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        s = pontuar_regras(x)
        return np.column_stack([1 - s, s])

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return (pontuar_regras(x) >= 0.5).astype(int)


class ModeloFraudePix(PythonModel):
    """O que o stream carrega por ``models:/<nome>@champion``: features -> ``score`` e ``decisao``."""

    def __init__(
        self, estimador: Any, limiares: dict[str, float], candidato: str, referencia_deriva: dict | None = None
    ) -> None:
        self.estimador = estimador
        self.limiares = limiares
        self.candidato = candidato
        self.colunas = COLUNAS_MODELO  # as do treino: feature nova não quebra modelo antigo
        # Distribuições do teste (machine_learning.deriva): o stream compara a janela recente com elas.
        self.referencia_deriva = referencia_deriva

    def configuracao(self) -> dict[str, Any]:
        """O ``model_config`` registrado: o que decide além do estimador, legível no registro sem desserializar."""
        return {"candidato": self.candidato, "limiares": dict(self.limiares), "colunas": list(self.colunas)}

    def load_context(self, context: Any) -> None:
        """Ao carregar, limiares e colunas vêm do ``model_config`` (um modelo sem ele fica com os do pickle)."""
        config = getattr(context, "model_config", None) or {}
        self.candidato = config.get("candidato", self.candidato)
        self.limiares = {nome: float(v) for nome, v in config.get("limiares", self.limiares).items()}
        self.colunas = tuple(config.get("colunas", self.colunas))

    def pontuar(self, features: pd.DataFrame) -> np.ndarray:
        return self.estimador.predict_proba(matriz(features, self.colunas))[:, 1]

    def decidir(self, score: np.ndarray) -> np.ndarray:
        return por_limiares(score, self.limiares)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        score = self.pontuar(model_input)
        return pd.DataFrame({"score": score, "decisao": self.decidir(score)})


# Empacotamento no MLflow ------------------------------------------------------------------------------
# O MLflow põe o code/ do modelo na frente do sys.path ao carregá-lo. Num processo que ainda não importou o projeto,
# o pacote parcial do code/ taparia o instalado (``import plataforma.config`` falharia): o ``__init__`` o estende
# com as outras pastas do sys.path que têm o mesmo pacote (o site-packages da wheel, um checkout).
INIT_DO_PACOTE_PARCIAL = '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n'


def copiar_codigo_do_modelo(destino: Path) -> list[str]:
    """Copia ``MODULOS_DO_MODELO`` para ``destino/<pacote>/`` e devolve as pastas dos pacotes (os ``code_paths``).

    Com o pacote, e não só o arquivo: o pickle do modelo referencia ``machine_learning.modelo_servido``, e o MLflow
    copia cada code_path com o nome da pasta (``code/machine_learning/...``), que põe no ``sys.path`` ao carregar.
    """
    pastas: dict[str, Path] = {}
    for nome in MODULOS_DO_MODELO:
        arquivo = Path(importlib.import_module(nome).__file__ or "")
        pasta = pastas.setdefault(nome.split(".")[0], destino / nome.split(".")[0])
        pasta.mkdir(parents=True, exist_ok=True)
        (pasta / "__init__.py").write_text(INIT_DO_PACOTE_PARCIAL)
        shutil.copy2(arquivo, pasta / arquivo.name)
    return [str(p) for p in pastas.values()]


def requisitos_do_modelo() -> list[str]:
    """``PACOTES_DO_MODELO`` com as versões instaladas aqui: o treino fixa o que o modelo precisa para carregar."""
    requisitos = []
    for pacote in PACOTES_DO_MODELO:
        try:
            requisitos.append(f"{pacote}=={version(pacote)}")
        except PackageNotFoundError as erro:
            raise RuntimeError(f"{pacote} não está instalado: o modelo não teria como fixar a versão.") from erro
    return requisitos
