"""Regras, configuração e painel são válidos e só usam métricas que o código realmente expõe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitoramento.local import ARQUIVO_ALERTAS, configuracao_prometheus
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from plataforma.config import RAIZ_PROJETO, Configuracao
from processamento.pipeline import ResumoDoLote
from testes.util import PAINEL, expressoes_do_painel

PASTA = RAIZ_PROJETO / "monitoramento"
METRICA = re.compile(r"\bdetector_pix_[a-z0-9_]+")
SELETOR = re.compile(r'(\w+)\s*=~?\s*"([^"]*)"')


def _promtool(*argumentos: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool não encontrado: instale o pacote Debian prometheus: sudo apt-get install prometheus")
    return subprocess.run(["promtool", *argumentos], capture_output=True, text=True, check=False)


def _expostas() -> tuple[set[str], set[tuple[str, str]]]:
    """Nomes de série e pares rótulo=valor que as duas classes expõem depois de um lote."""
    cfg = Configuracao()
    pontuacao = MetricasDaPontuacao(cfg)
    pontuacao.modelo("1")
    pontuacao.lote({"APROVAR": 1, "REVISAR": 1, "BLOQUEAR": 1}, [0.1], 0.2, sem_decisao=1, duplicatas=1)
    pontuacao.deriva({"score": 0.01, "valor": 0.3}, amostras=5000, horas_cobertas=24)
    pontuacao.pendencias_de_decisao(3)
    pontuacao.precisao_tardia({"BLOQUEAR": 10}, {"BLOQUEAR": 4})
    processamento = MetricasDoProcessamento(cfg)
    processamento.lote(ResumoDoLote(1, 4, 1, 1, 1, 1, 0.5, 10, 1_700_000_000.0))
    nomes: set[str] = set()
    rotulos: set[tuple[str, str]] = set()
    for metricas in (pontuacao, processamento):
        for familia in metricas.registro.collect():
            for amostra in familia.samples:
                nomes.add(amostra.name)
                rotulos.update(amostra.labels.items())
    return nomes, rotulos


def _expressoes_dos_alertas() -> dict[str, str]:
    regras = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    return {r["alert"]: r["expr"] for g in regras["groups"] for r in g["rules"]}


def test_promtool_aceita_as_regras() -> None:
    saida = _promtool("check", "rules", str(ARQUIVO_ALERTAS))
    assert saida.returncode == 0, saida.stdout + saida.stderr


def test_promtool_aceita_a_configuracao_do_compose_e_a_gerada(tmp_path: Path) -> None:
    saida = _promtool("check", "config", str(PASTA / "prometheus" / "prometheus.yml"))
    assert saida.returncode == 0, saida.stdout + saida.stderr
    assert "1 rule files found" in saida.stdout  # o prometheus.yml do compose carrega alertas.yml

    gerada = tmp_path / "prometheus.yml"
    gerada.write_text(yaml.safe_dump(configuracao_prometheus("127.0.0.1:9091", [ARQUIVO_ALERTAS])), encoding="utf-8")
    saida = _promtool("check", "config", str(gerada))
    assert saida.returncode == 0, saida.stdout + saida.stderr


def test_alertas_pedidos_existem_com_severidade_e_textos() -> None:
    regras = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    todas = {r["alert"]: r for g in regras["groups"] for r in g["rules"]}
    pedidos = {"DecisaoSoComRegras", "LatenciaDecisaoAlta", "PontuacaoParada", "QuarentenaAlta", "ProcessamentoParado"}
    assert pedidos <= set(todas)
    documentacao = (RAIZ_PROJETO / "docs" / "monitoramento.md").read_text(encoding="utf-8")
    for nome, regra in todas.items():
        assert regra["labels"]["severity"] in {"warning", "critical"}, nome
        assert regra["annotations"]["summary"] and regra["annotations"]["description"], nome
        assert f"`{nome}`" in documentacao, f"{nome}: diga em docs/monitoramento.md o que fazer quando dispara"


@pytest.mark.parametrize("origem", ["painel", "alertas"])
def test_expressoes_so_usam_metricas_e_rotulos_expostos(origem: str) -> None:
    nomes, rotulos = _expostas()
    expressoes = expressoes_do_painel() if origem == "painel" else list(_expressoes_dos_alertas().values())
    assert expressoes
    raspagem = yaml.safe_load((PASTA / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs_raspados = {c["job_name"] for c in raspagem["scrape_configs"]}
    for expr in expressoes:
        usadas = set(METRICA.findall(expr))
        if expr.startswith("up{"):  # a saúde da própria raspagem (PushgatewayFora): o job tem de ser um raspado
            assert dict(SELETOR.findall(expr))["job"] in jobs_raspados, expr
            continue
        assert usadas, f"expressão sem métrica do projeto: {expr}"
        assert usadas <= nomes, f"{expr}: métricas que ninguém expõe: {usadas - nomes}"
        for rotulo, valor in SELETOR.findall(expr):
            assert (rotulo, valor) in rotulos, f"{expr}: nenhuma série com {rotulo}={valor!r}"


def test_painel_usa_a_fonte_provisionada_e_cobre_o_pedido() -> None:
    fonte = yaml.safe_load((PASTA / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = fonte["datasources"][0]["uid"]
    provedor = yaml.safe_load((PASTA / "grafana" / "provisioning" / "dashboards" / "detector-pix.yml").read_text())
    assert provedor["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"

    painel = json.loads(PAINEL.read_text(encoding="utf-8"))
    assert painel["uid"] == "detector-pix"
    for p in painel["panels"]:
        if p["type"] == "row":  # cabeçalho de seção: sem consulta
            assert "targets" not in p, p["title"]
            continue
        assert p["datasource"]["uid"] == uid, p["title"]
        assert all(alvo["datasource"]["uid"] == uid for alvo in p["targets"]), p["title"]
    titulos = " | ".join(p["title"] for p in painel["panels"]).lower()
    for pedido in ("decisões por tipo", "latência", "só regras", "versão do modelo", "duração dos lotes",
                   "mensagens por destino", "contas no estado", "deriva: psi", "precisão tardia"):  # fmt: skip
        assert pedido in titulos, pedido
    ids = [p["id"] for p in painel["panels"]]
    assert len(ids) == len(set(ids))
