# Databricks notebook source
# MAGIC %md
# MAGIC # Ingestão: Kafka → Delta bronze
# MAGIC
# MAGIC Lê os tópicos `pix.transacoes` e `pix.med` e grava cada mensagem, intocada, nas tabelas
# MAGIC `bronze_transacoes` e `bronze_med`, com tópico, partição, offset, timestamp do Kafka e hora de ingestão.
# MAGIC
# MAGIC **Exatamente uma vez**: os offsets lidos ficam no checkpoint de cada consulta e o sink Delta grava cada
# MAGIC micro-batch numa transação idempotente. Um reinício depois de uma queda não perde nem duplica mensagens.
# MAGIC
# MAGIC Parâmetros (widgets no Databricks, `DETECTOR_PIX_<NOME>` localmente): os da configuração que a ingestão
# MAGIC lê, e só eles viram widgets (`PARAMETROS_INGESTAO` em `ingestao/bronze.py`: Kafka, tópicos, offsets iniciais,
# MAGIC limite por micro-batch, intervalo, tabelas e checkpoints; descrições em
# MAGIC [docs/configuracao.md](../docs/configuracao.md)), e `disponivel` (`sim` lê o que há no Kafka agora e para;
# MAGIC `nao` roda continuamente). Usuário e senha SASL vêm do secret scope `escopo_segredos` (chaves
# MAGIC `kafka-usuario`, `kafka-senha`).

# COMMAND ----------

import importlib.util

# O pacote instalado: a wheel que o bundle instala no cluster, o `pip install -e` do make localmente. Só num checkout
# sem ele a raiz do projeto entra no sys.path (no Databricks, o diretório atual é a pasta do notebook).
if importlib.util.find_spec("plataforma") is None:
    import os
    import sys

    _notebook = os.path.abspath(__file__) if "__file__" in globals() else os.path.join(os.getcwd(), "notebook")
    sys.path.insert(0, os.path.dirname(os.path.dirname(_notebook)))

from ingestao.bronze import PARAMETROS_INGESTAO, iniciar_ingestao
from ingestao.decisoes import iniciar_gravacao_decisoes
from plataforma.notebook import iniciar_notebook
from plataforma.tabelas import tabela

ctx = iniciar_notebook(globals(), nome_app="detector-pix-ingestao", parametros=PARAMETROS_INGESTAO)
disponivel = ctx.sim_ou_nao("disponivel", padrao=False, rotulo="Processar só o disponível e parar")
print(f"Kafka: {ctx.cfg.kafka_bootstrap} | checkpoints: {ctx.cfg.pasta_checkpoints} | disponivel={disponivel}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Uma consulta por tópico
# MAGIC Consultas separadas têm checkpoints separados: um problema no tópico MED não segura as transações.

# COMMAND ----------

consultas = [
    iniciar_ingestao(ctx.spark, ctx.cfg, ctx.cfg.topico_transacoes, tabela(ctx.cfg, "bronze_transacoes"), disponivel),
    iniciar_ingestao(ctx.spark, ctx.cfg, ctx.cfg.topico_med, tabela(ctx.cfg, "bronze_med"), disponivel),
    iniciar_gravacao_decisoes(ctx.spark, ctx.cfg, disponivel),
]
for consulta in consultas:
    print(f"Consulta '{consulta.name}' iniciada (id {consulta.id}).")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Aguardar
# MAGIC Com `disponivel=sim` as consultas terminam sozinhas quando alcançam o fim dos tópicos; sem ele, o job
# MAGIC roda até ser parado (uma falha em qualquer consulta derruba o job, que o Databricks Jobs reinicia).

# COMMAND ----------

if disponivel:
    for consulta in consultas:
        consulta.awaitTermination()
        progresso = consulta.lastProgress or {}
        print(f"{consulta.name}: último batch com {progresso.get('numInputRows', 0)} mensagens.")
else:
    ctx.spark.streams.awaitAnyTermination()
