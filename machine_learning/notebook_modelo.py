# Databricks notebook source
# MAGIC %md
# MAGIC # Modelo: treinar com rótulos tardios (MED), registrar no MLflow, decidir cada Pix no stream
# MAGIC
# MAGIC **Estado atual**: o notebook prepara o MLflow (sqlite local ou Unity Catalog no Databricks) e mostra o
# MAGIC modelo `champion` registrado, se houver. O treino (`modo=treinar`) e a pontuação no stream
# MAGIC (`modo=pontuar`) chegam com a issue de machine learning.

# COMMAND ----------

import os
import sys

_raiz = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "__file__" in globals()
    else os.path.dirname(os.getcwd())
)
if _raiz not in sys.path:
    sys.path.insert(0, _raiz)

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from plataforma.mlflow_local import configurar_mlflow
from plataforma.notebook import iniciar_notebook

ctx = iniciar_notebook(globals(), nome_app="detector-pix-modelo")
modo = ctx.parametro("modo", "status", ("status",), rotulo="Modo")
id_experimento = configurar_mlflow(ctx.cfg)
print(f"MLflow: {ctx.cfg.uri_tracking} | experimento {id_experimento} | modelo {ctx.cfg.nome_modelo_registrado}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Modelo em produção (alias `champion`)

# COMMAND ----------

try:
    versao = MlflowClient().get_model_version_by_alias(ctx.cfg.nome_modelo_registrado, "champion")
    print(f"champion: versão {versao.version} (run {versao.run_id})")
except MlflowException:
    print("Nenhum champion registrado ainda: a pontuação rodaria só com as regras.")
