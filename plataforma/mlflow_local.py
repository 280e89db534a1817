"""MLflow com tracking e registro em sqlite local, ou no workspace/Unity Catalog no Databricks."""

from __future__ import annotations

from plataforma.config import Configuracao, em_databricks


def configurar_mlflow(cfg: Configuracao, experimento: str = "detector-fraudes-pix") -> str:
    """Aponta o MLflow para o lugar certo e devolve o id do experimento.

    Localmente o sqlite dispensa servidor, e os artefatos ficam ao lado do banco, em
    ``<dados>/mlflow-artefatos``, e não num ``./mlruns`` que dependeria do diretório atual.
    """
    import mlflow

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
