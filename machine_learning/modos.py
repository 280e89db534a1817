"""Os dois modos do notebook do modelo e os parâmetros da configuração que cada um lê.

O notebook escolhe o modo primeiro (widget ``modo``) e só então monta a configuração, com widgets apenas para os
parâmetros do modo: o job de treino não mostra opções do Kafka, e o de decisão não mostra nada que não use.
Módulo leve de propósito (só tuplas e texto): a CLI o importa para listar os modos sem carregar Spark nem MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plataforma.kafka_opcoes import PARAMETROS_CONEXAO_KAFKA

if TYPE_CHECKING:
    from machine_learning.treino import ResultadoTreino

TREINAR = "treinar"
PONTUAR = "pontuar"
MODOS = (TREINAR, PONTUAR)

# Lidos por todo o notebook: o MLflow (tracking, registro, pasta local) e o nome do modelo, para mostrar o champion.
_MLFLOW = (
    "catalogo", "esquema", "dados_dir", "mlflow_tracking_uri", "mlflow_registry_uri", "nome_modelo",
    "experimento_mlflow",
)  # fmt: skip

# treinar_das_tabelas: silver_transacoes e silver_med (catálogo ou pasta local), MLflow e registro do modelo.
PARAMETROS_TREINO = _MLFLOW

# tempo_real.executar_decisao: Kafka (transações -> decisões, em transações), estado em snapshots no checkpoint e o
# log de lotes no Kafka, gold_decisoes, champion e métricas. Usuário e senha do Kafka (segredos) só com SASL.
PARAMETROS_PONTUACAO = (
    *PARAMETROS_CONEXAO_KAFKA,
    "topico_transacoes",
    "topico_decisoes",
    "topico_lotes_decisao",
    "offsets_iniciais",
    "max_mensagens_lote_decisao",
    "estado_inicial_decisao",
    "processos_decisao",  # >= 1: a decisão em etapas (tempo_real_etapas.py), com os três abaixo
    "processo_decisao",
    "topico_features_recebedor",
    "atraso_ordem_decisao_ms",
    "tabela_limites_clientes",
    "intervalo_snapshot_decisao_s",
    "intervalo_modelo_s",
    "tolerancia_futuro_s",
    "janela_deduplicacao_h",
    "chave_pseudonimizacao",
    "pushgateway_url",
    "checkpoints_dir",
    *_MLFLOW,
)

PARAMETROS_POR_MODO = {TREINAR: PARAMETROS_TREINO, PONTUAR: PARAMETROS_PONTUACAO}


def resumir_treino(resultado: ResultadoTreino) -> str:
    """O que o treino escolheu, como foi no teste e os limiares, em três linhas para o log do job."""
    m = resultado.metricas_escolhido
    ap_regras = resultado.metricas.get("regras", {}).get("average_precision", float("nan"))
    return (
        f"Escolhido: {resultado.escolhido} | run {resultado.run_id} | versão {resultado.versao} "
        f"({'champion' if resultado.promovido else 'challenger'})\n"
        f"Teste: AP {m['average_precision']:.3f} | ROC-AUC {m['roc_auc']:.3f} | recall a 1% de alertas "
        f"{m['recall_alerta_1pct']:.1%} | AP só regras {ap_regras:.3f}\n"
        f"Limiares: REVISAR >= {resultado.limiares['REVISAR']:.4f}, BLOQUEAR >= {resultado.limiares['BLOQUEAR']:.4f}"
    )
