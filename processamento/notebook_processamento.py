# Databricks notebook source
# MAGIC %md
# MAGIC # Processamento: bronze → silver (validada, deduplicada, pseudonimizada) → gold (features)
# MAGIC
# MAGIC **Estado atual**: esta etapa ainda não transforma dados. Por ora o notebook só confere o que a
# MAGIC ingestão já gravou na bronze. A silver (validação do contrato, quarentena com motivo, deduplicação por
# MAGIC `end_to_end_id`, pseudonimização LGPD) e a gold (features por conta em tempo real) chegam com a issue
# MAGIC de processamento; o plano está em `docs/arquitetura.md`.

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

from plataforma.notebook import iniciar_notebook
from plataforma.tabelas import tabela

ctx = iniciar_notebook(globals(), nome_app="detector-pix-processamento")
disponivel = ctx.sim_ou_nao("disponivel", padrao=False, rotulo="Processar só o disponível e parar")

# COMMAND ----------

# MAGIC %md
# MAGIC ## O que há na bronze

# COMMAND ----------

for nome in ("bronze_transacoes", "bronze_med"):
    t = tabela(ctx.cfg, nome)
    total = t.ler(ctx.spark).count() if t.existe(ctx.spark) else 0
    print(f"{nome}: {total} mensagens ({t.nome_uc or t.caminho})")
