"""O painel do Grafana renderizado sem Grafana: variáveis, legendas e, com Prometheus real, cada painel com dados."""

from __future__ import annotations

import itertools
import math
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from aplicacao.demo import MonitoramentoDaDemo
from monitoramento.local import PrometheusLocal, PushgatewayLocal
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from monitoramento.painel import (
    SEM_DADOS,
    Janela,
    duracao_promql,
    formatar_legenda,
    formatar_valor,
    ler_painel,
    renderizar_painel,
    segundos_da_duracao,
    substituir_variaveis,
)
from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from processamento.pipeline import ResumoDoLote
from testes.util import esperar

ESPERA_S = 20.0
PNG = b"\x89PNG\r\n\x1a\n"


# Peças puras ---------------------------------------------------------------------------------------------
def test_variaveis_do_grafana_seguem_a_raspagem_e_o_passo() -> None:
    curta = Janela.para(1000.0, 1240.0, raspagem_s=1.0)  # a demo: 4 min, raspagem de 1 s
    assert (curta.passo_s, curta.variaveis()["__rate_interval"], curta.variaveis()["__range"]) == (1, "4s", "240s")
    hora = Janela.para(0.0, 3600.0, raspagem_s=1.0)  # passo cresce com a janela: 300 pontos
    assert (hora.passo_s, hora.variaveis()["__interval"], hora.variaveis()["__rate_interval"]) == (12, "12s", "13s")
    compose = Janela.para(0.0, 3600.0, raspagem_s=15.0)  # passo nunca abaixo da raspagem; rate cobre 4 raspagens
    assert (compose.passo_s, compose.variaveis()["__rate_interval"]) == (15, "60s")


def test_substituir_variaveis_troca_as_conhecidas_e_deixa_as_outras() -> None:
    variaveis = Janela(0.0, 240.0, passo_s=1.0, raspagem_s=1.0).variaveis()
    expr = "sum(rate(x_total[$__rate_interval])) + rate(y[${__interval}]) + increase(z[$__range]) + $__interval_ms"
    assert substituir_variaveis(expr, variaveis) == "sum(rate(x_total[4s])) + rate(y[1s]) + increase(z[240s]) + 1000"
    assert substituir_variaveis("rate(x[$__desconhecida])", variaveis) == "rate(x[$__desconhecida])"
    assert substituir_variaveis("max(detector_pix_modelo_versao)", variaveis) == "max(detector_pix_modelo_versao)"


def test_duracoes_no_formato_do_promql() -> None:
    assert [duracao_promql(s) for s in (4, 1.5, 60)] == ["4s", "1500ms", "60s"]
    assert [segundos_da_duracao(d) for d in ("15s", "1m30s", "500ms")] == [15, 90, 0.5]
    with pytest.raises(ValueError):
        segundos_da_duracao("15 segundos")


def test_formatar_legenda_como_o_grafana() -> None:
    rotulos = {"decisao": "BLOQUEAR", "job": "detector_pix_pontuacao"}
    assert formatar_legenda("{{decisao}}", rotulos) == "BLOQUEAR"
    assert formatar_legenda("{{ decisao }} ({{job}})", rotulos) == "BLOQUEAR (detector_pix_pontuacao)"
    assert formatar_legenda("p99", rotulos) == "p99"
    assert formatar_legenda("{{inexistente}}x", rotulos) == "x"  # rótulo ausente vira vazio
    assert formatar_legenda("", {}, "max(detector_pix_modelo_versao)") == "max(detector_pix_modelo_versao)"
    assert formatar_legenda("", {"__name__": "m", "b": "2", "a": "1"}) == 'm{a="1", b="2"}'


def test_formatar_valor_nas_unidades_do_painel() -> None:
    casos = [
        (0.125, "percentunit", "12,5%"),
        (0.25, "s", "250 ms"),
        (1.5, "s", "1,5 s"),
        (300, "s", "5 min"),
        (2000, "short", "2 mil"),
        (3, "short", "3"),
        (12.34, "reqps", "12,3/s"),
        (math.nan, "short", "—"),
    ]
    assert [formatar_valor(v, u) for v, u, _ in casos] == [esperado for *_, esperado in casos]


def test_ler_painel_separa_linhas_de_secao_e_paineis_com_consulta() -> None:
    titulo, paineis = ler_painel()
    assert titulo == "Detector de Fraudes Pix"
    assert all(not p.alvos for p in paineis if p.tipo == "row")
    assert all(p.alvos for p in paineis if p.tipo != "row")
    psi = next(p for p in paineis if "PSI" in p.titulo)
    assert psi.linhas_de_limiar and [v for v, _ in psi.limiares] == [None, 0.1, 0.25]


def test_sem_dados_e_erro_aparecem_no_png_e_no_resultado(tmp_path: Path) -> None:
    def api(caminho: str, **parametros: str) -> Any:
        if "deriva_psi" in parametros["query"]:
            raise ErroDeAmbiente("Prometheus recusou a consulta")
        return {"result": []}

    resultado = renderizar_painel(api, Janela.para(0.0, 240.0, 1.0), tmp_path)
    assert resultado.png.read_bytes().startswith(PNG)
    assert not resultado.com_dados
    assert any("PSI" in titulo and "erro" in titulo for titulo in resultado.sem_dados)
    assert resultado.html is not None and SEM_DADOS in resultado.html.read_text(encoding="utf-8")


# Com Pushgateway e Prometheus reais ------------------------------------------------------------------------
def _so_do_teste(expr: str, prefixo: str) -> str:
    """A expressão do painel restrita aos jobs deste teste: outros testes da sessão empurram as mesmas métricas."""
    filtro = f'job=~"{prefixo}.*"'
    return re.sub(
        r"\b(detector_pix_\w+)(\{)?", lambda m: m.group(1) + "{" + filtro + ("," if m.group(2) else "}"), expr
    )


def _tem_valor(prometheus: PrometheusLocal, expr: str, janela: Janela) -> bool:
    resultado = prometheus.api(
        "/api/v1/query_range", query=expr, start=str(janela.inicio), end=str(janela.fim), step=f"{janela.passo_s:g}"
    )["result"]
    return any(math.isfinite(float(v)) for serie in resultado for _, v in serie["values"])


@pytest.mark.integracao
def test_cada_painel_tem_dados_com_as_metricas_reais_e_vira_png(
    prometheus_local: PrometheusLocal, cfg_monitoramento: Configuracao, tmp_path: Path
) -> None:
    prefixo = f"teste_painel_{uuid.uuid4().hex[:8]}"
    pontuacao = MetricasDaPontuacao(cfg_monitoramento, job=f"{prefixo}_pontuacao")
    processamento = MetricasDoProcessamento(cfg_monitoramento, job=f"{prefixo}_processamento")
    pontuacao.modelo("3")
    pontuacao.deriva({"score": 0.04, "valor": 0.31}, amostras=2500, horas_cobertas=24)
    pontuacao.precisao_tardia({"APROVAR": 900, "REVISAR": 80, "BLOQUEAR": 20}, {"REVISAR": 12, "BLOQUEAR": 15})
    inicio = time.time()
    _, paineis = ler_painel()
    faltando = [alvo.expr for p in paineis for alvo in p.alvos]
    lotes = itertools.count(1)

    def publicar_lote() -> None:  # contadores subindo entre raspagens: rate() e histogram_quantile() precisam de duas
        lote = next(lotes)
        pontuacao.lote({"APROVAR": 90, "REVISAR": 8, "BLOQUEAR": 2}, [0.08, 0.3, 0.8] * 10, 0.4, 1, 1)
        processamento.lote(ResumoDoLote(lote, 100, 90, 6, 4, 2, 0.5, 1000 + lote, time.time()))
        assert pontuacao.publicar() and processamento.publicar()

    def todas_com_dados() -> bool:
        janela = Janela.para(inicio, time.time(), raspagem_s=1.0)
        faltando[:] = [
            e for e in faltando if not _tem_valor(prometheus_local, _so_do_teste(substituir_variaveis(
                e, janela.variaveis()), prefixo), janela)
        ]  # fmt: skip
        return not faltando

    esperar(
        todas_com_dados, ESPERA_S, "cada consulta do painel devolver dados", acao=publicar_lote, intervalo_s=0.7,
        diagnostico=lambda: f"Consultas sem dados: {faltando}",
    )  # fmt: skip

    janela = Janela.para(inicio, time.time(), raspagem_s=1.0)
    resultado = renderizar_painel(prometheus_local.api, janela, tmp_path / "painel", origem=prometheus_local.url)
    assert resultado.png.read_bytes().startswith(PNG)
    assert not resultado.sem_dados
    assert set(resultado.com_dados) == {p.titulo for p in paineis if p.alvos}
    assert resultado.html is not None
    assert "rate(detector_pix_decisoes_total[4s])" in resultado.html.read_text(encoding="utf-8")


@pytest.mark.integracao
def test_monitoramento_da_demo_usa_portas_proprias_e_para_o_que_subiu(
    pushgateway: PushgatewayLocal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monitoramento = MonitoramentoDaDemo(tmp_path / "monitoramento")
    try:
        assert "Prometheus em" in monitoramento.iniciar()
        # Portas sorteadas: nem a 9091 padrão nem o Pushgateway que já roda (o da sessão faz o papel do usuário).
        assert monitoramento.url_pushgateway not in ("", "http://127.0.0.1:9091", pushgateway.url)
        processos = [monitoramento.pushgateway.processo, monitoramento.prometheus.processo]
        monitoramento.renderizar(tmp_path / "painel")
    finally:
        monitoramento.parar()
    assert all(processo.poll() is not None for processo in processos)
    assert (tmp_path / "painel" / "painel.png").read_bytes().startswith(PNG)
    saida = capsys.readouterr().out
    assert "Painel do Grafana renderizado" in saida and "Sem dados:" in saida  # nada publicado nesta janela
    assert pushgateway.processo.poll() is None  # o Pushgateway "do usuário" segue de pé


def test_monitoramento_da_demo_sem_binarios_diz_o_que_instalar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nenhum binário do Prometheus à vista
    monitoramento = MonitoramentoDaDemo(tmp_path / "monitoramento")
    mensagem = monitoramento.iniciar()
    assert "apt-get install prometheus-pushgateway" in mensagem and monitoramento.url_pushgateway == ""
    monitoramento.renderizar(tmp_path / "painel")
    monitoramento.parar()
    assert "Painel não renderizado" in capsys.readouterr().out
    assert not (tmp_path / "painel").exists()
