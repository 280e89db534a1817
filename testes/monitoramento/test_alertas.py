"""Prometheus real raspando o Pushgateway real: os alertas de alertas.yml disparam e se resolvem.

As regras são as do projeto com ``for: 0s`` (fixture ``regras_sem_espera``); a expressão é a mesma.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from monitoramento.local import PrometheusLocal
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from plataforma.config import Configuracao
from processamento.pipeline import ResumoDoLote

from .test_arquivos import _expressoes_do_painel

pytestmark = pytest.mark.integracao

ESPERA_S = 15.0


def _alertas(prometheus: PrometheusLocal, job: str) -> dict[str, str]:
    """{alerta: estado} dos alertas ativos (pending/firing) deste job."""
    return {
        a["labels"]["alertname"]: a["state"]
        for a in prometheus.api("/api/v1/alerts")["alerts"]
        if a["labels"].get("job") == job
    }


def _esperar(condicao: Callable[[], bool], descricao: str, acao: Callable[[], object] | None = None) -> None:
    limite = time.monotonic() + ESPERA_S
    while time.monotonic() < limite:
        if acao is not None:
            acao()
        if condicao():
            return
        time.sleep(0.25)
    pytest.fail(f"Em {ESPERA_S:.0f}s não aconteceu: {descricao}")


def _valor(prometheus: PrometheusLocal, consulta: str) -> float | None:
    resultado = prometheus.api("/api/v1/query", query=consulta)["result"]
    return float(resultado[0]["value"][1]) if resultado else None


def test_so_regras_dispara_e_resolve_decisao_so_com_regras(
    prometheus_local: PrometheusLocal, cfg_monitoramento: Configuracao
) -> None:
    job = f"teste_{uuid.uuid4().hex[:10]}"
    metricas = MetricasDaPontuacao(cfg_monitoramento, job=job)
    metricas.modelo("3")
    assert metricas.publicar()
    serie = f'detector_pix_pontuacao_so_regras{{job="{job}"}}'
    _esperar(lambda: _valor(prometheus_local, serie) == 0, "Prometheus raspar so_regras=0")
    assert "DecisaoSoComRegras" not in _alertas(prometheus_local, job)

    metricas.modelo(None)
    assert metricas.publicar()
    _esperar(lambda: _alertas(prometheus_local, job).get("DecisaoSoComRegras") == "firing", "DecisaoSoComRegras")

    metricas.modelo("4")
    assert metricas.publicar()
    _esperar(lambda: "DecisaoSoComRegras" not in _alertas(prometheus_local, job), "DecisaoSoComRegras resolver")
    assert _valor(prometheus_local, f'detector_pix_modelo_versao{{job="{job}"}}') == 4


def test_latencia_alta_dispara_latencia_decisao_alta(
    prometheus_local: PrometheusLocal, cfg_monitoramento: Configuracao
) -> None:
    job = f"teste_{uuid.uuid4().hex[:10]}"
    metricas = MetricasDaPontuacao(cfg_monitoramento, job=job)
    metricas.modelo("1")

    def lote_lento() -> None:  # rate() precisa de duas raspagens com o contador subindo
        metricas.lote({"APROVAR": 10}, [3.0] * 10, 0.5, sem_decisao=0, duplicatas=0)
        metricas.publicar()

    _esperar(lambda: _alertas(prometheus_local, job).get("LatenciaDecisaoAlta") == "firing", "LatenciaDecisaoAlta",
             acao=lote_lento)  # fmt: skip
    assert "PontuacaoParada" not in _alertas(prometheus_local, job)  # lotes recentes: não está parada


def test_quarentena_alta_e_gold_velha_disparam_alertas_do_processamento(
    prometheus_local: PrometheusLocal, cfg_monitoramento: Configuracao
) -> None:
    job = f"teste_{uuid.uuid4().hex[:10]}"
    metricas = MetricasDoProcessamento(cfg_monitoramento, job=job)
    gold_velha = time.time() - 3600  # o último commit da gold foi há uma hora

    def lote_ruim() -> None:  # metade das mensagens na quarentena
        metricas.lote(ResumoDoLote(1, 20, 10, 10, 0, 0, 0.3, 50, gold_velha))
        metricas.publicar()

    def disparados() -> bool:
        return {"QuarentenaAlta", "ProcessamentoParado"} <= {
            nome for nome, estado in _alertas(prometheus_local, job).items() if estado == "firing"
        }

    _esperar(disparados, "QuarentenaAlta e ProcessamentoParado", acao=lote_ruim)


def test_expressoes_do_painel_sao_promql_valido(prometheus_local: PrometheusLocal) -> None:
    for expr in _expressoes_do_painel():
        # O Grafana troca $__rate_interval por uma janela; o Prometheus recusa a expressão se ela não for válida.
        prometheus_local.api("/api/v1/query", query=expr.replace("$__rate_interval", "1m"))
