# Databricks notebook source
# MAGIC %md
# MAGIC # Modelo: treinar com rótulos tardios (MED), registrar no MLflow, decidir cada Pix no stream
# MAGIC
# MAGIC - `modo=status`: prepara o MLflow (sqlite local ou Unity Catalog no Databricks) e mostra o `champion`.
# MAGIC - `modo=treinar`: lê `silver_transacoes` e `silver_med`, calcula as features com o motor do stream,
# MAGIC   treina com divisão temporal honesta (treino | atraso dos rótulos | teste), registra o modelo com o alias
# MAGIC   `challenger` e o promove a `champion` só se vencer o atual no mesmo teste
# MAGIC   ([docs/modelo.md](../docs/modelo.md)). O widget `gabarito` (opcional) aponta o `gabarito.csv` do
# MAGIC   simulador para avaliar contra a verdade; sem ele, a avaliação usa toda a MED conhecida.
# MAGIC
# MAGIC A pontuação no stream (`modo=pontuar`) chega numa próxima etapa.

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
modo = ctx.parametro("modo", "status", ("status", "treinar"), rotulo="Modo")
caminho_gabarito = ctx.parametro("gabarito", "", rotulo="gabarito.csv do simulador (opcional)")
id_experimento = configurar_mlflow(ctx.cfg)
print(f"MLflow: {ctx.cfg.uri_tracking} | experimento {id_experimento} | modelo {ctx.cfg.nome_modelo_registrado}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Treino (`modo=treinar`)

# COMMAND ----------

if modo == "treinar":
    from machine_learning.rotulos import ler_gabarito
    from machine_learning.treino import treinar_das_tabelas

    gabarito = ler_gabarito(caminho_gabarito) if caminho_gabarito else None
    resultado = treinar_das_tabelas(ctx.spark, ctx.cfg, gabarito=gabarito)
    m = resultado.metricas_escolhido
    ap_regras = resultado.metricas.get("regras", {}).get("average_precision", float("nan"))
    print(
        f"Escolhido: {resultado.escolhido} | run {resultado.run_id} | versão {resultado.versao} "
        f"({'champion' if resultado.promovido else 'challenger'})\n"
        f"Teste: AP {m['average_precision']:.3f} | ROC-AUC {m['roc_auc']:.3f} | recall a 1% de alertas "
        f"{m['recall_alerta_1pct']:.1%} | AP só regras {ap_regras:.3f}\n"
        f"Limiares: REVISAR >= {resultado.limiares['REVISAR']:.4f}, BLOQUEAR >= {resultado.limiares['BLOQUEAR']:.4f}"
    )

# COMMAND ----------

# MAGIC %md
# MAGIC ## Modelo em produção (alias `champion`)

# COMMAND ----------

try:
    versao = MlflowClient().get_model_version_by_alias(ctx.cfg.nome_modelo_registrado, "champion")
    print(f"champion: versão {versao.version} (run {versao.run_id})")
except MlflowException:
    print("Nenhum champion registrado ainda: a pontuação rodaria só com as regras.")
