"""``promtool test rules``: as regras de alertas.yml com os ``for`` de produção, em séries sintéticas.

Os casos ficam em ``monitoramento/prometheus/testes_alertas.yml`` (o formato do próprio Prometheus, que o time de
operação já conhece). O promtool compara anotações ao pé da letra; como o texto delas (summary, description,
runbook_url) é conferido em test_arquivos e test_runbook, os casos rodam contra uma cópia sem anotações.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitoramento.local import ARQUIVO_ALERTAS

CASOS = ARQUIVO_ALERTAS.parent / "testes_alertas.yml"


def _sem_anotacoes(destino: Path) -> None:
    regras = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    for grupo in regras["groups"]:
        for regra in grupo["rules"]:
            regra.pop("annotations", None)
    destino.write_text(yaml.safe_dump(regras, allow_unicode=True), encoding="utf-8")


def test_promtool_test_rules_passa(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool não encontrado: instale o pacote Debian prometheus (o 'make preparar' instala como root)")
    casos = yaml.safe_load(CASOS.read_text(encoding="utf-8"))
    assert casos["rule_files"] == [ARQUIVO_ALERTAS.name]
    _sem_anotacoes(tmp_path / ARQUIVO_ALERTAS.name)
    shutil.copy(CASOS, tmp_path / CASOS.name)
    saida = subprocess.run(
        ["promtool", "test", "rules", CASOS.name], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert saida.returncode == 0, saida.stdout + saida.stderr


def test_casos_cobrem_os_alertas_de_deriva_e_os_que_mudaram_de_chave() -> None:
    casos = yaml.safe_load(CASOS.read_text(encoding="utf-8"))
    testados = {t["alertname"] for caso in casos["tests"] for t in caso["alert_rule_test"]}
    disparam = {t["alertname"] for caso in casos["tests"] for t in caso["alert_rule_test"] if t["exp_alerts"]}
    regras = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    existentes = {r["alert"] for g in regras["groups"] for r in g["rules"]}
    assert testados <= existentes, testados - existentes
    pedidos = {
        "DerivaDoScore",
        "DerivaDeFeature",
        "DecisaoSoComRegras",
        "PontuacaoParada",
        "QuarentenaAlta",
        "PushgatewayFora",
        "PendenciasDeDecisaoAcumuladas",
    }
    assert pedidos <= disparam, pedidos - disparam
