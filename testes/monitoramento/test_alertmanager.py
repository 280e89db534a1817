"""O alerta que dispara no Prometheus chega, pelo Alertmanager real, a quem o alertmanager.yml manda avisar.

Cadeia inteira com binários reais: métricas empurradas ao Pushgateway -> Prometheus com as regras de
``alertas.yml`` (``for: 0s``) -> Alertmanager com o roteamento do projeto (só URL do webhook e tempos trocados)
-> POST num receptor HTTP do teste. Também valida o arquivo de exemplo com ``amtool``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoramento.local import (
    ARQUIVO_ALERTAS,
    ARQUIVO_ALERTMANAGER,
    AlertmanagerLocal,
    PrometheusLocal,
    configuracao_prometheus,
)
from monitoramento.metricas import MetricasDaPontuacao
from plataforma.config import Configuracao
from testes.util import ReceptorWebhook, esperar, publicar_a_cada_volta

ESPERA_S = 30.0
Aviso = dict[str, Any]


def _amtool(*argumentos: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("amtool") is None:
        pytest.fail("amtool não encontrado: instale o pacote Debian: sudo apt-get install prometheus-alertmanager")
    return subprocess.run(["amtool", *argumentos], capture_output=True, text=True, check=False)


def _exemplo() -> dict[str, Any]:
    return yaml.safe_load(ARQUIVO_ALERTMANAGER.read_text(encoding="utf-8"))


def _regras() -> list[dict[str, Any]]:
    regras = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    return [r for g in regras["groups"] for r in g["rules"]]


def _receptor_da_severidade(severidade: str) -> str | None:
    """O receptor da sub-rota com ``matchers: ['severity="<severidade>"']`` no exemplo, se houver."""
    for rota in _exemplo()["route"].get("routes", []):
        if f'severity="{severidade}"' in rota.get("matchers", []):
            return rota["receiver"]
    return None


def _receptor_da_rota(labels: dict[str, str]) -> str:
    """O receptor que o roteamento do exemplo escolhe para estes rótulos, segundo o próprio amtool."""
    pares = [f"{k}={v}" for k, v in labels.items()]
    saida = _amtool("config", "routes", "test", f"--config.file={ARQUIVO_ALERTMANAGER}", *pares)
    assert saida.returncode == 0, saida.stdout + saida.stderr
    return saida.stdout.strip()


# Arquivo de exemplo ------------------------------------------------------------------------------------------
def test_amtool_aceita_a_configuracao_de_exemplo() -> None:
    saida = _amtool("check-config", str(ARQUIVO_ALERTMANAGER))
    assert saida.returncode == 0, saida.stdout + saida.stderr


def test_exemplo_comentado_de_email_e_configuracao_valida(tmp_path: Path) -> None:
    """Quem descomenta o receptor de e-mail recebe um arquivo que o Alertmanager aceita."""
    texto = ARQUIVO_ALERTMANAGER.read_text(encoding="utf-8")
    bloco = re.search(r"# --- exemplo de e-mail ---\n(.*?)\n\s*# --- fim do exemplo de e-mail ---", texto, re.S)
    assert bloco, "alertmanager.yml sem o bloco '# --- exemplo de e-mail ---' ... '# --- fim do exemplo de e-mail ---'"
    # Descomentar como uma pessoa faria: só as linhas de YAML ("# - ..." e "#   ..."), não as explicações.
    linhas = [
        re.sub(r"^(\s*)# ", r"\1", linha) for linha in bloco.group(1).splitlines() if re.match(r"^\s*# (- |  )", linha)
    ]
    receptor = yaml.safe_load("\n".join(linhas))
    assert isinstance(receptor, list) and receptor[0].get("email_configs"), f"bloco de e-mail inesperado: {linhas}"
    email = receptor[0]["email_configs"][0]
    assert {"to", "from", "smarthost"} <= email.keys()
    assert "auth_password" not in email, "senha no arquivo: use auth_password_file"
    configuracao = _exemplo()
    configuracao["receivers"].extend(receptor)
    destino = tmp_path / "alertmanager-com-email.yml"
    destino.write_text(yaml.safe_dump(configuracao, allow_unicode=True), encoding="utf-8")
    saida = _amtool("check-config", str(destino))
    assert saida.returncode == 0, saida.stdout + saida.stderr


def test_configuracao_gerada_com_alertmanager_passa_no_promtool(tmp_path: Path) -> None:
    """O ``prometheus.yml`` que ``PrometheusLocal`` escreve com ``alvo_alertmanager`` é válido e aponta para ele."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool não encontrado: instale o pacote Debian prometheus: sudo apt-get install prometheus")
    configuracao = configuracao_prometheus("127.0.0.1:9091", [ARQUIVO_ALERTAS], alvo_alertmanager="127.0.0.1:9093")
    alvos = [a for am in configuracao["alerting"]["alertmanagers"] for s in am["static_configs"] for a in s["targets"]]
    assert alvos == ["127.0.0.1:9093"]
    assert "alerting" not in configuracao_prometheus("127.0.0.1:9091", [ARQUIVO_ALERTAS])  # padrão de antes
    arquivo = tmp_path / "prometheus.yml"
    arquivo.write_text(yaml.safe_dump(configuracao), encoding="utf-8")
    saida = subprocess.run(["promtool", "check", "config", str(arquivo)], capture_output=True, text=True, check=False)
    assert saida.returncode == 0, saida.stdout + saida.stderr


def test_toda_severidade_dos_alertas_tem_rota_propria_e_receptor_que_avisa() -> None:
    receptores = {r["name"]: r for r in _exemplo()["receivers"]}
    for regra in _regras():
        severidade = regra["labels"]["severity"]
        esperado = _receptor_da_severidade(severidade)
        assert esperado, f'{regra["alert"]}: nenhuma rota com matchers severity="{severidade}" em alertmanager.yml'
        escolhido = _receptor_da_rota({"alertname": regra["alert"], "severity": severidade, "job": "x"})
        assert escolhido == esperado, f"{regra['alert']} ({severidade}) foi para {escolhido}, não para {esperado}"
        notificadores = [k for k, v in receptores[escolhido].items() if k.endswith("_configs") and v]
        assert notificadores, f"o receptor {escolhido} não avisa ninguém (sem *_configs)"


# Entrega de verdade -----------------------------------------------------------------------------------------
def _esperar_aviso(
    receptor: ReceptorWebhook,
    alertmanager: AlertmanagerLocal,
    procura: Callable[[Aviso, Aviso], bool],
    descricao: str,
    acao: Callable[[], object] | None = None,
) -> tuple[Aviso, Aviso]:
    """(aviso, alerta) do primeiro POST recebido com um alerta que satisfaz ``procura``; falha em ESPERA_S."""

    def recebido() -> tuple[Aviso, Aviso] | None:
        achados = [(v, a) for v in receptor.avisos() for a in v.get("alerts", []) if procura(v, a)]
        return achados[0] if achados else None

    def diagnostico() -> str:
        no_alertmanager = sorted({a["labels"].get("alertname", "?") for a in alertmanager.alertas()})
        return (
            f"Avisos recebidos: {len(receptor.avisos())}; alertas no Alertmanager: {no_alertmanager}. "
            f"Log: {alertmanager.log}"
        )

    return esperar(recebido, ESPERA_S, f"o webhook receber {descricao}", acao=acao, diagnostico=diagnostico)


def _do_job(job: str, alerta: str, status: str) -> Callable[[Aviso, Aviso], bool]:
    def procura(_: Aviso, a: Aviso) -> bool:
        return a["labels"].get("alertname") == alerta and a["labels"].get("job") == job and a["status"] == status

    return procura


@pytest.mark.integracao
def test_decisao_so_com_regras_chega_ao_plantao_disparada_e_depois_resolvida(
    prometheus_com_alertmanager: PrometheusLocal,
    alertmanager_local: AlertmanagerLocal,
    receptor_webhook: ReceptorWebhook,
    cfg_monitoramento: Configuracao,
    metricas_pontuacao: MetricasDaPontuacao,
) -> None:
    metricas, job = metricas_pontuacao, metricas_pontuacao.job
    metricas.modelo(None)
    assert metricas.publicar()

    aviso, alerta = _esperar_aviso(
        receptor_webhook, alertmanager_local, _do_job(job, "DecisaoSoComRegras", "firing"), "DecisaoSoComRegras firing"
    )
    assert {"alertname", "job", "severity"} <= alerta["labels"].keys()
    assert alerta["labels"]["severity"] == "critical"
    assert alerta["labels"]["implantacao"] == cfg_monitoramento.implantacao
    assert alerta["annotations"].get("summary"), "o aviso chega sem o resumo do alerta"
    # Roteamento do projeto: o receptor das críticas, agrupado por alertname, job e implantacao.
    assert aviso["receiver"] == _receptor_da_severidade("critical")
    assert aviso["groupLabels"] == {
        "alertname": "DecisaoSoComRegras",
        "job": job,
        "implantacao": cfg_monitoramento.implantacao,
    }
    assert set(aviso["groupLabels"]) == set(_exemplo()["route"]["group_by"])

    metricas.modelo("4")  # o modelo voltou: o alerta se resolve e o plantão recebe o aviso de resolvido
    assert metricas.publicar()
    _esperar_aviso(
        receptor_webhook,
        alertmanager_local,
        _do_job(job, "DecisaoSoComRegras", "resolved"),
        "DecisaoSoComRegras resolved (send_resolved)",
    )


@pytest.mark.integracao
def test_mensagens_sem_decisao_chega_ao_receptor_dos_warnings(
    prometheus_com_alertmanager: PrometheusLocal,
    alertmanager_local: AlertmanagerLocal,
    receptor_webhook: ReceptorWebhook,
    metricas_pontuacao: MetricasDaPontuacao,
) -> None:
    metricas, job = metricas_pontuacao, metricas_pontuacao.job
    metricas.modelo("1")

    lote_com_malformadas = publicar_a_cada_volta(metricas, {"APROVAR": 5}, [0.01] * 5, 0.1, sem_decisao=1, duplicatas=0)
    aviso, alerta = _esperar_aviso(
        receptor_webhook,
        alertmanager_local,
        _do_job(job, "MensagensSemDecisao", "firing"),
        "MensagensSemDecisao firing",
        acao=lote_com_malformadas,
    )
    assert alerta["labels"]["severity"] == "warning"
    assert aviso["receiver"] == _receptor_da_severidade("warning")
