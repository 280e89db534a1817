"""Prometheus real raspando o Pushgateway real: os alertas de alertas.yml disparam e se resolvem.

As regras são as do projeto com ``for: 0s`` (fixture ``regras_sem_espera``); a expressão é a mesma.
"""

from __future__ import annotations

import time

import pytest

from monitoramento.local import PrometheusLocal
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from processamento.pipeline import ResumoDoLote
from testes.util import esperar, expressoes_do_painel, publicar_a_cada_volta

pytestmark = pytest.mark.integracao

ESPERA_S = 15.0


def _alertas(prometheus: PrometheusLocal, job: str) -> dict[str, str]:
    """{alerta: estado} dos alertas ativos (pending/firing) deste job."""
    return {
        a["labels"]["alertname"]: a["state"]
        for a in prometheus.api("/api/v1/alerts")["alerts"]
        if a["labels"].get("job") == job
    }


def _valor(prometheus: PrometheusLocal, consulta: str) -> float | None:
    resultado = prometheus.api("/api/v1/query", query=consulta)["result"]
    return float(resultado[0]["value"][1]) if resultado else None


def test_so_regras_dispara_e_resolve_decisao_so_com_regras(
    prometheus_local: PrometheusLocal, metricas_pontuacao: MetricasDaPontuacao
) -> None:
    metricas, job = metricas_pontuacao, metricas_pontuacao.job
    metricas.modelo("3")
    assert metricas.publicar()
    serie = f'detector_pix_pontuacao_so_regras{{job="{job}"}}'
    esperar(lambda: _valor(prometheus_local, serie) == 0, ESPERA_S, "Prometheus raspar so_regras=0")
    assert "DecisaoSoComRegras" not in _alertas(prometheus_local, job)

    metricas.modelo(None)
    assert metricas.publicar()
    esperar(
        lambda: _alertas(prometheus_local, job).get("DecisaoSoComRegras") == "firing", ESPERA_S, "DecisaoSoComRegras"
    )

    metricas.modelo("4")
    assert metricas.publicar()
    esperar(
        lambda: "DecisaoSoComRegras" not in _alertas(prometheus_local, job), ESPERA_S, "DecisaoSoComRegras resolver"
    )
    assert _valor(prometheus_local, f'detector_pix_modelo_versao{{job="{job}"}}') == 4


def test_latencia_alta_dispara_latencia_decisao_alta(
    prometheus_local: PrometheusLocal, metricas_pontuacao: MetricasDaPontuacao
) -> None:
    metricas, job = metricas_pontuacao, metricas_pontuacao.job
    metricas.modelo("1")

    lote_lento = publicar_a_cada_volta(metricas, {"APROVAR": 10}, [3.0] * 10, 0.5, sem_decisao=0, duplicatas=0)
    esperar(
        lambda: _alertas(prometheus_local, job).get("LatenciaDecisaoAlta") == "firing",
        ESPERA_S,
        "LatenciaDecisaoAlta",
        acao=lote_lento,
    )
    assert "PontuacaoParada" not in _alertas(prometheus_local, job)  # lotes recentes: não está parada


def test_quarentena_alta_e_gold_velha_disparam_alertas_do_processamento(
    prometheus_local: PrometheusLocal, metricas_processamento: MetricasDoProcessamento
) -> None:
    metricas, job = metricas_processamento, metricas_processamento.job
    gold_velha = time.time() - 3600  # o último commit da gold foi há uma hora
    metade_na_quarentena = ResumoDoLote(1, 20, 10, 10, 0, 0, 0.3, 50, gold_velha)
    lote_ruim = publicar_a_cada_volta(metricas, metade_na_quarentena)

    def disparados() -> bool:
        return {"QuarentenaAlta", "ProcessamentoParado"} <= {
            nome for nome, estado in _alertas(prometheus_local, job).items() if estado == "firing"
        }

    esperar(disparados, ESPERA_S, "QuarentenaAlta e ProcessamentoParado", acao=lote_ruim)


def test_expressoes_do_painel_sao_promql_valido(prometheus_local: PrometheusLocal) -> None:
    for expr in expressoes_do_painel():
        # O Grafana troca $__rate_interval por uma janela; o Prometheus recusa a expressão se ela não for válida.
        prometheus_local.api("/api/v1/query", query=expr.replace("$__rate_interval", "1m"))
