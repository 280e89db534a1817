# Databricks notebook source
# MAGIC %md
# MAGIC # Processamento: bronze → silver, quarentena e gold (features por conta)
# MAGIC
# MAGIC Duas consultas de streaming, cada uma com seu checkpoint:
# MAGIC
# MAGIC | consulta | de | para |
# MAGIC | --- | --- | --- |
# MAGIC | `processamento_transacoes` | `bronze_transacoes` | `silver_transacoes`, `silver_quarentena`, `gold_features` |
# MAGIC | `processamento_med` | `bronze_med` | `silver_med`, `silver_quarentena` |
# MAGIC
# MAGIC - **Validação**: cada mensagem é conferida contra o contrato (`docs/contrato_de_dados.md`); a que falha vai
# MAGIC   para a quarentena com o payload mascarado (sem dados pessoais; o intocado fica na bronze), **todos** os
# MAGIC   motivos e as coordenadas no Kafka. Nada é descartado.
# MAGIC - **Deduplicação** por `end_to_end_id` (único no SPI): repetidas vão para a quarentena com motivo `DUPLICATA`.
# MAGIC - **Atrasadas** (tempo do evento mais velho que o relógio menos `atraso_tolerado_min`) ficam, marcadas.
# MAGIC - **LGPD**: documentos, nomes, chaves e dispositivos saem pseudonimizados (HMAC com a chave do secret scope);
# MAGIC   dados em claro só na bronze.
# MAGIC - **Features** no tempo do evento, só com o que veio antes de cada Pix (`docs/features.md`).
# MAGIC
# MAGIC Exatamente uma vez: cada tabela recebe cada lote com `txnAppId`/`txnVersion`, e o estado das features é
# MAGIC gravado por lote; um reinício refaz o lote interrompido a partir do estado anterior.
# MAGIC
# MAGIC Parâmetros (widgets no Databricks, `DETECTOR_PIX_<NOME>` localmente): os da configuração que o processamento
# MAGIC lê, e só eles viram widgets (`PARAMETROS_PROCESSAMENTO` em `processamento/pipeline.py`; descrições em
# MAGIC [docs/configuracao.md](../docs/configuracao.md)), e `disponivel` (`sim` processa a bronze até o fim e para).
# MAGIC A chave da pseudonimização vem do secret scope `escopo_segredos` (chave `chave-pseudonimizacao`).

# COMMAND ----------

import importlib.util

# O pacote instalado: a wheel que o bundle instala no cluster, o `pip install -e` do make localmente. Só num checkout
# sem ele a raiz do projeto entra no sys.path (no Databricks, o diretório atual é a pasta do notebook).
if importlib.util.find_spec("plataforma") is None:
    import os
    import sys

    _notebook = os.path.abspath(__file__) if "__file__" in globals() else os.path.join(os.getcwd(), "notebook")
    sys.path.insert(0, os.path.dirname(os.path.dirname(_notebook)))

from plataforma.notebook import iniciar_notebook
from processamento.conciliacao import conciliar, descrever
from processamento.pipeline import PARAMETROS_PROCESSAMENTO, iniciar_processamento
from processamento.pseudonimizacao import obter_chave

ctx = iniciar_notebook(globals(), nome_app="detector-pix-processamento", parametros=PARAMETROS_PROCESSAMENTO)
disponivel = ctx.sim_ou_nao("disponivel", padrao=False, rotulo="Processar só o disponível e parar")
chave = obter_chave(ctx.cfg)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Iniciar as consultas
# MAGIC Com `disponivel=sim`, as transações são processadas até o fim da bronze e só depois as notificações MED
# MAGIC (assim cada notificação encontra na silver o Pix que contesta).

# COMMAND ----------

from monitoramento.metricas import MetricasDoProcessamento

metricas = MetricasDoProcessamento(ctx.cfg)  # Pushgateway em cfg.pushgateway_url (vazio = desligado)
transacoes, med, processador = iniciar_processamento(ctx.spark, ctx.cfg, chave, disponivel, metricas)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Acompanhar e conciliar
# MAGIC O balanço confere, pelas coordenadas no Kafka, que cada mensagem da bronze está em exatamente um lugar.

# COMMAND ----------

if disponivel:
    med.awaitTermination()
    for resumo in processador.resumos:
        print(
            f"lote {resumo.lote}: {resumo.entrada} mensagens -> silver {resumo.silver}, quarentena "
            f"{resumo.quarentena}, duplicatas {resumo.duplicatas}, atrasadas {resumo.atrasadas} "
            f"em {resumo.segundos:.2f}s ({resumo.contas_no_estado} contas no estado)"
        )
    print(descrever(conciliar(ctx.spark, ctx.cfg)))
else:
    ctx.spark.streams.awaitAnyTermination()
