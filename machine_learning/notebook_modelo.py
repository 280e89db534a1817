# Databricks notebook source
# MAGIC %md
# MAGIC # Modelo: treinar com rótulos tardios (MED), registrar no MLflow, decidir cada Pix no stream
# MAGIC
# MAGIC Um notebook, dois modos, escolhidos no widget `modo` (lista suspensa). Cada modo é uma chamada ao seu módulo,
# MAGIC e só os parâmetros da configuração que ele lê viram widgets (`machine_learning/modos.py`; descrições em
# MAGIC [docs/configuracao.md](../docs/configuracao.md)):
# MAGIC
# MAGIC | modo | chama | job no `databricks.yml` | widgets próprios |
# MAGIC | --- | --- | --- | --- |
# MAGIC | `treinar` | `treino.treinar_das_tabelas` | `detector_pix_treino` (diário) | `gabarito`, `orcamento_*` |
# MAGIC | `pontuar` | `tempo_real.executar_decisao` | `detector_pix_decisao` (contínuo) | `disponivel` |
# MAGIC
# MAGIC Nos dois modos a célula "Modelo em produção" mostra qual versão tem o alias `champion`.

# COMMAND ----------

import importlib.util

# O pacote instalado: a wheel que o bundle instala no cluster, o `pip install -e` do make localmente. Só num checkout
# sem ele a raiz do projeto entra no sys.path (no Databricks, o diretório atual é a pasta do notebook).
if importlib.util.find_spec("plataforma") is None:
    import os
    import sys

    _notebook = os.path.abspath(__file__) if "__file__" in globals() else os.path.join(os.getcwd(), "notebook")
    sys.path.insert(0, os.path.dirname(os.path.dirname(_notebook)))

from machine_learning.modos import MODOS, PARAMETROS_POR_MODO
from plataforma.config import ErroDeConfiguracao
from plataforma.mlflow_local import configurar_mlflow, versao_por_alias
from plataforma.notebook import escolher_modo, iniciar_notebook

# O modo vem antes da configuração porque decide quais parâmetros ela lê (e quais widgets aparecem).
modo = escolher_modo(globals(), MODOS, rotulo="Modo: treinar (treino diário) ou pontuar (decisão no stream)")
ctx = iniciar_notebook(globals(), nome_app="detector-pix-modelo", parametros=PARAMETROS_POR_MODO[modo])
id_experimento = configurar_mlflow(ctx.cfg)
print(f"modo={modo} | MLflow: {ctx.cfg.uri_tracking} | experimento {id_experimento}")
print(f"modelo: {ctx.cfg.nome_modelo_registrado}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Modelo em produção (alias `champion`)
# MAGIC A pontuação decide com esta versão; sem champion, só com as regras. O job de treino a troca quando um
# MAGIC challenger vence, e a pontuação em execução passa a usá-la sem reiniciar.

# COMMAND ----------

champion = versao_por_alias(ctx.cfg.nome_modelo_registrado)
if champion is None:
    print("Nenhum champion registrado ainda: a pontuação decide só com as regras.")
else:
    print(f"champion: versão {champion.version} (run {champion.run_id})")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Treino (`modo=treinar`)
# MAGIC Lê `silver_transacoes` e `silver_med`, calcula as features com o motor do stream, treina com divisão temporal
# MAGIC honesta (treino | atraso dos rótulos | teste), registra o modelo com o alias `challenger` e o promove a
# MAGIC `champion` só se vencer o atual no mesmo teste ([docs/modelo.md](../docs/modelo.md)).
# MAGIC
# MAGIC - `gabarito` (opcional): o `gabarito.csv` do simulador, para avaliar contra a verdade; sem ele, a avaliação
# MAGIC   usa toda a MED conhecida.
# MAGIC - `orcamento_revisar` (padrão 1% dos Pix) e `orcamento_bloquear` (padrão 0,1%): de onde saem os limiares de
# MAGIC   `REVISAR` e `BLOQUEAR`.

# COMMAND ----------

if modo == "treinar":
    from machine_learning.modos import resumir_treino
    from machine_learning.rotulos import ler_gabarito
    from machine_learning.treino import treinar_das_tabelas

    caminho_gabarito = ctx.parametro("gabarito", "", rotulo="gabarito.csv do simulador (opcional)")
    orcamento_revisar = ctx.fracao("orcamento_revisar", 0.01, rotulo="Fração de Pix para REVISAR (limiar)")
    orcamento_bloquear = ctx.fracao("orcamento_bloquear", 0.001, rotulo="Fração de Pix para BLOQUEAR (limiar)")
    if orcamento_bloquear >= orcamento_revisar:
        raise ErroDeConfiguracao(
            f"orcamento_bloquear ({orcamento_bloquear}) deve ser menor que orcamento_revisar ({orcamento_revisar})."
        )
    resultado = treinar_das_tabelas(
        ctx.spark,
        ctx.cfg,
        gabarito=ler_gabarito(caminho_gabarito) if caminho_gabarito else None,
        orcamento_revisar=orcamento_revisar,
        orcamento_bloquear=orcamento_bloquear,
    )
    print(resumir_treino(resultado))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Decisão em tempo real (`modo=pontuar`)
# MAGIC Lê o tópico de transações direto do Kafka (sem micro-batch do Spark), calcula as features com o mesmo motor,
# MAGIC aplica o `champion` (ou só as regras, se não houver) e as regras duras do BCB, e publica cada decisão
# MAGIC (`APROVAR`/`REVISAR`/`BLOQUEAR`, score, motivos, versão do modelo, `id_decisao`) em `pix.decisoes` numa
# MAGIC transação Kafka com os offsets lidos: exatamente uma vez para quem lê com `read_committed`. O estado vira
# MAGIC snapshot no checkpoint (escrito inteiro, sem escrita aleatória: serve num volume) e cada lote fica registrado
# MAGIC em `pix.decisoes.lotes`; uma queda volta ao estado exato. A `gold_decisoes` é o tópico gravado pelo Spark
# MAGIC em segundo plano ([docs/arquitetura.md](../docs/arquitetura.md)). Um champion novo vale sem reiniciar (o alias
# MAGIC é conferido a cada `intervalo_modelo_s`). Rode num job cluster de um nó: o laço é um processo Python. As
# MAGIC métricas vão para o Pushgateway ([docs/monitoramento.md](../docs/monitoramento.md)).
# MAGIC
# MAGIC - `disponivel`: `sim` decide o que já está no tópico e para; `nao` (o job) roda até ser parado.

# COMMAND ----------

if modo == "pontuar":
    from machine_learning.tempo_real import executar_decisao

    disponivel = ctx.sim_ou_nao("disponivel", padrao=False, rotulo="Pontuar só o disponível e parar")
    print(executar_decisao(ctx.spark, ctx.cfg, disponivel))
