# Databricks notebook source
# MAGIC %md
# MAGIC # Modelo: treinar com rótulos tardios (MED), registrar no MLflow, decidir cada Pix no stream
# MAGIC
# MAGIC - `modo=status`: prepara o MLflow (sqlite local ou Unity Catalog no Databricks) e mostra o `champion`.
# MAGIC - `modo=treinar`: lê `silver_transacoes` e `silver_med`, calcula as features com o motor do stream,
# MAGIC   treina com divisão temporal honesta (treino | atraso dos rótulos | teste), registra o modelo com o alias
# MAGIC   `challenger` e o promove a `champion` só se vencer o atual no mesmo teste
# MAGIC   ([docs/modelo.md](../docs/modelo.md)). O widget `gabarito` (opcional) aponta o `gabarito.csv` do
# MAGIC   simulador para avaliar contra a verdade; sem ele, a avaliação usa toda a MED conhecida. Os limiares de
# MAGIC   `REVISAR` e `BLOQUEAR` saem dos orçamentos de alertas (`orcamento_revisar`, padrão 1% dos Pix;
# MAGIC   `orcamento_bloquear`, padrão 0,1%).
# MAGIC - `modo=pontuar`: a consulta de decisão. Lê o tópico de transações direto do Kafka, calcula as features
# MAGIC   com o mesmo motor, aplica o `champion` (ou só as regras, se não houver) e as regras duras do BCB, e publica
# MAGIC   cada decisão (`APROVAR`/`REVISAR`/`BLOQUEAR`, score, motivos, versão do modelo) em `pix.decisoes` e na
# MAGIC   `gold_decisoes`. Um champion novo vale sem reiniciar (o alias é conferido a cada `intervalo_modelo_s`).
# MAGIC   Com `disponivel=sim`, decide o que já está no tópico e para.

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
modo = ctx.parametro("modo", "status", ("status", "treinar", "pontuar"), rotulo="Modo")
disponivel = ctx.sim_ou_nao("disponivel", padrao=False, rotulo="Pontuar só o disponível e parar")
caminho_gabarito = ctx.parametro("gabarito", "", rotulo="gabarito.csv do simulador (opcional)")
orcamento_revisar = ctx.fracao("orcamento_revisar", 0.01, rotulo="Fração de Pix para REVISAR (limiar do treino)")
orcamento_bloquear = ctx.fracao("orcamento_bloquear", 0.001, rotulo="Fração de Pix para BLOQUEAR (limiar do treino)")
if orcamento_bloquear >= orcamento_revisar:
    raise ValueError(
        f"orcamento_bloquear ({orcamento_bloquear}) deve ser menor que orcamento_revisar ({orcamento_revisar})."
    )
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
    resultado = treinar_das_tabelas(
        ctx.spark,
        ctx.cfg,
        gabarito=gabarito,
        orcamento_revisar=orcamento_revisar,
        orcamento_bloquear=orcamento_bloquear,
    )
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

# COMMAND ----------

# MAGIC %md
# MAGIC ## Decisão no stream (`modo=pontuar`)
# MAGIC O caminho quente (Kafka -> features -> score -> `pix.decisoes`) não passa pelo Delta; a `gold_decisoes`
# MAGIC recebe as decisões em segundo plano, sem perder nenhuma numa queda
# MAGIC ([docs/arquitetura.md](../docs/arquitetura.md)). As métricas vão para o Pushgateway
# MAGIC ([docs/monitoramento.md](../docs/monitoramento.md)).

# COMMAND ----------

if modo == "pontuar":
    from machine_learning.pontuacao import iniciar_pontuacao, resumir_decisoes
    from monitoramento.metricas import MetricasDaPontuacao
    from processamento.pseudonimizacao import obter_chave

    consulta, pontuador = iniciar_pontuacao(
        ctx.spark, ctx.cfg, obter_chave(ctx.cfg), disponivel, metricas=MetricasDaPontuacao(ctx.cfg)
    )
    try:
        consulta.awaitTermination()
    finally:
        if consulta.isActive:
            consulta.stop()
        pontuador.encerrar()
    print(resumir_decisoes(pontuador))
