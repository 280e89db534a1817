"""Registro MLflow real em sqlite: registrar, dar o alias champion e carregar por alias."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from plataforma.config import Configuracao
from plataforma.mlflow_local import comando_ui, configurar_mlflow, versao_por_alias

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
    assert versao_por_alias(nome).version == versao.version
    assert versao_por_alias(nome, "challenger") is None  # modelo existe, alias não
    assert versao_por_alias("modelo_que_nao_existe") is None
    carregado = mlflow.sklearn.load_model(f"models:/{nome}@champion")
    np.testing.assert_allclose(carregado.predict_proba(x), modelo.predict_proba(x))
    artefatos = cfg_teste.pasta_dados / "mlflow-artefatos"
    assert any(artefatos.rglob("MLmodel")), "os artefatos devem ficar na pasta de dados, não em ./mlruns"
    assert str(cfg_teste.pasta_dados) in comando_ui(cfg_teste)


def test_registro_fora_do_ar_nao_vira_sem_champion(cfg_teste: Configuracao, monkeypatch: pytest.MonkeyPatch) -> None:
    """Só a ausência do alias é "sem champion"; um registro que não responde é erro, e sobe."""
    from mlflow.exceptions import MlflowException

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # sem as ~4 min de novas tentativas do cliente
    configurar_mlflow(cfg_teste, experimento="teste-registro")
    anterior = mlflow.get_registry_uri()
    mlflow.set_registry_uri("http://127.0.0.1:9")  # porta fechada
    try:
        with pytest.raises(MlflowException):
            versao_por_alias("qualquer")
    finally:
        mlflow.set_registry_uri(anterior)
