"""Registro MLflow real em sqlite: registrar, dar o alias champion e carregar por alias."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from plataforma.config import Configuracao
from plataforma.mlflow_local import comando_ui, configurar_mlflow

pytestmark = pytest.mark.integracao


def test_registro_alias_champion_e_carga_por_alias(cfg_teste: Configuracao) -> None:
    configurar_mlflow(cfg_teste, experimento="teste-registro")
    assert mlflow.get_tracking_uri().startswith("sqlite:///")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    modelo = LogisticRegression().fit(x, y)
    nome = "modelo_teste_registro"

    with mlflow.start_run() as run:
        mlflow.log_param("c", modelo.C)
        info = mlflow.sklearn.log_model(
            modelo, name="modelo", signature=infer_signature(x, modelo.predict_proba(x)[:, 1]), input_example=x[:2]
        )
    versao = mlflow.register_model(info.model_uri, nome)
    cliente = MlflowClient()
    cliente.set_registered_model_alias(nome, "champion", versao.version)

    assert cliente.get_model_version_by_alias(nome, "champion").run_id == run.info.run_id
    carregado = mlflow.sklearn.load_model(f"models:/{nome}@champion")
    np.testing.assert_allclose(carregado.predict_proba(x), modelo.predict_proba(x))
    artefatos = cfg_teste.pasta_dados / "mlflow-artefatos"
    assert any(artefatos.rglob("MLmodel")), "os artefatos devem ficar na pasta de dados, não em ./mlruns"
    assert str(cfg_teste.pasta_dados) in comando_ui(cfg_teste)
