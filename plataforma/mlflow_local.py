"""MLflow com tracking e registro em sqlite local, ou no workspace/Unity Catalog no Databricks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plataforma.config import Configuracao, em_databricks

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

CODIGOS_DE_AUSENCIA = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"})


EXPERIMENTO_PADRAO = "detector-fraudes-pix"


def configurar_mlflow(cfg: Configuracao, experimento: str | None = None) -> str:
    """Aponta o MLflow para o lugar certo e devolve o id do experimento.

    Localmente o sqlite dispensa servidor, e os artefatos ficam ao lado do banco, em
    ``<dados>/mlflow-artefatos``, e não num ``./mlruns`` que dependeria do diretório atual. No Databricks o bundle
    passa um caminho na pasta do alvo (``experimento_mlflow``): dev e prod não dividem experimento, e a pasta não é
    a ``/Shared``, onde todo usuário escreve.
    """
    import mlflow

    experimento = experimento or cfg.experimento_mlflow or EXPERIMENTO_PADRAO

    mlflow.set_tracking_uri(cfg.uri_tracking)
    mlflow.set_registry_uri(cfg.uri_registro)
    if em_databricks():  # pragma: no cover - só no Databricks
        nome = experimento if experimento.startswith("/") else f"/Shared/{experimento}"
        return mlflow.set_experiment(nome).experiment_id
    cfg.pasta_dados.mkdir(parents=True, exist_ok=True)
    existente = mlflow.get_experiment_by_name(experimento)
    if existente is None:
        artefatos = (cfg.pasta_dados / "mlflow-artefatos").as_uri()
        id_experimento = mlflow.create_experiment(experimento, artifact_location=artefatos)
    else:
        id_experimento = existente.experiment_id
    mlflow.set_experiment(experiment_id=id_experimento)
    return id_experimento


def comando_ui(cfg: Configuracao) -> str:
    """O comando que abre a interface do MLflow sobre os dados locais (mostrado no README e na CLI)."""
    return (
        f"mlflow ui --backend-store-uri {cfg.uri_tracking} "
        f"--default-artifact-root {(cfg.pasta_dados / 'mlflow-artefatos').as_uri()} --port 5000"
    )


def versao_por_alias(nome_modelo: str, alias: str = "champion") -> ModelVersion | None:
    """A versão registrada com ``alias`` ou ``None`` se o alias (ou o modelo) não existe.

    O único lugar que pergunta ao registro "quem é o champion": a ausência vem pelo código de erro do MLflow
    (``RESOURCE_DOES_NOT_EXIST``; no Unity Catalog também ``NOT_FOUND``), nunca pelo texto da mensagem. Qualquer
    outro erro (registro fora do ar, permissão) sobe, para quem chama decidir.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(nome_modelo, alias)
    except MlflowException as erro:
        if erro.error_code in CODIGOS_DE_AUSENCIA:
            return None
        raise
