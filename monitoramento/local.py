"""Pushgateway, Prometheus e Alertmanager reais, dos pacotes Debian, iniciados pelo próprio projeto.

Por que os binários e não um fake: os testes precisam provar que o Pushgateway aceita o que o cliente
empurra, que o Prometheus raspa com ``honor_labels``, que as regras de ``alertas.yml`` disparam de
verdade e que o Alertmanager entrega o aviso ao receptor — nada disso se prova com um servidor HTTP de
mentira. Sem Docker na máquina, os pacotes ``prometheus``, ``prometheus-pushgateway`` e
``prometheus-alertmanager`` do Debian bastam.

Cada processo roda no loopback, numa porta livre (ou na pedida), com dados numa pasta temporária, e é
encerrado por ``parar()``. Para ver as métricas e os alertas de uma demo sem Docker::

    python -m monitoramento.local   # Pushgateway na porta de pushgateway_url, Prometheus :9090, Alertmanager :9093
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import yaml

from plataforma.config import RAIZ_PROJETO
from plataforma.erros import ErroDeAmbiente
from plataforma.processos import exigir_porta_livre, iniciar_processo, parar_processo

ARQUIVO_ALERTAS = RAIZ_PROJETO / "monitoramento" / "prometheus" / "alertas.yml"
ARQUIVO_ALERTMANAGER = RAIZ_PROJETO / "monitoramento" / "alertmanager" / "alertmanager.yml"
HOST = "127.0.0.1"


def porta_sorteada(host: str = HOST) -> int:
    """Uma porta que o sistema acabou de declarar livre (para processos temporários: testes, demo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def localizar_binario(nome: str, pacote: str) -> str:
    """Caminho do binário ou um erro que diz qual pacote instalar.

    O Debian prefixa ``prometheus-`` (``prometheus-pushgateway``); o Homebrew não (``pushgateway``): vale qualquer um.
    """
    alternativo = nome.removeprefix("prometheus-")
    caminho = shutil.which(nome) or shutil.which(alternativo)
    if caminho is None:
        raise ErroDeAmbiente(
            f"Binário '{nome}' não encontrado no PATH. Debian/Ubuntu: sudo apt-get install {pacote}; "
            f"macOS: brew install {alternativo}. O 'make preparar' instala os pacotes Debian quando roda como root."
        )
    return caminho


class _ProcessoLocal:
    """Um binário do ecossistema Prometheus no loopback, pronto quando ``/-/ready`` responde 200."""

    nome = ""
    binario = ""
    pacote = ""

    def __init__(self, porta: int | None = None, pasta: Path | None = None, binario: str | None = None) -> None:
        self.host = HOST
        self.porta = porta or porta_sorteada()
        self._pasta_temporaria = pasta is None
        self.pasta = Path(pasta) if pasta is not None else Path(tempfile.mkdtemp(prefix=f"detector-pix-{self.nome}-"))
        self.binario = binario or self.binario
        self.processo: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.porta}"

    @property
    def alvo(self) -> str:
        """``host:porta``, como o Prometheus escreve alvos (``static_configs``, ``alerting.alertmanagers``)."""
        return f"{self.host}:{self.porta}"

    @property
    def log(self) -> Path:
        return self.pasta / f"{self.nome}.log"

    def _argumentos(self) -> list[str]:
        raise NotImplementedError

    def _pronto(self) -> bool:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resposta:
            return resposta.status == 200
        return False

    def iniciar(self, espera_s: float = 30.0) -> _ProcessoLocal:
        """Sobe o processo e espera ``/-/ready``; erro claro se o binário falta ou a porta está ocupada."""
        if self.processo is not None and self.processo.poll() is None:
            return self
        executavel = localizar_binario(self.binario, self.pacote)
        exigir_porta_livre(self.host, self.porta, self.nome)
        self.pasta.mkdir(parents=True, exist_ok=True)
        comando = [executavel, *self._argumentos()]  # os argumentos escrevem a configuração na pasta
        self.processo = iniciar_processo(
            self.nome, comando, self.pasta, self.log, self._pronto, espera_s, onde=self.url
        )
        return self

    def parar(self, espera_s: float = 10.0) -> bool:
        """SIGTERM, espera, SIGKILL se preciso; apaga a pasta se ela foi criada aqui."""
        processo, self.processo = self.processo, None
        if processo is None:
            return False
        parar_processo(processo.pid, lambda: processo.poll() is None, espera_s)
        if self._pasta_temporaria:
            shutil.rmtree(self.pasta, ignore_errors=True)
        return True

    def __enter__(self) -> _ProcessoLocal:
        return self.iniciar()

    def __exit__(self, *_: object) -> None:
        self.parar()


class PushgatewayLocal(_ProcessoLocal):
    """Pushgateway com persistência na pasta temporária (nunca em /var/lib, o padrão do Debian)."""

    nome = "pushgateway"
    binario = "prometheus-pushgateway"
    pacote = "prometheus-pushgateway"

    def _argumentos(self) -> list[str]:
        return [
            f"--web.listen-address={self.host}:{self.porta}",
            f"--persistence.file={self.pasta / 'pushgateway.data'}",
            "--web.enable-admin-api",  # PUT /api/v1/admin/wipe: zera tudo entre demonstrações
        ]


def configuracao_prometheus(
    alvo_pushgateway: str, arquivos_regras: list[Path], intervalo: str = "1s", alvo_alertmanager: str | None = None
) -> dict[str, Any]:
    """O mesmo ``prometheus.yml`` do docker-compose, apontado para um Pushgateway local e com intervalo curto.

    ``alvo_alertmanager`` (``host:porta``): para onde o Prometheus entrega os alertas; sem ele, os alertas só
    aparecem na interface do Prometheus.
    """
    configuracao: dict[str, Any] = {
        "global": {"scrape_interval": intervalo, "evaluation_interval": intervalo},
        "rule_files": [str(Path(a).resolve()) for a in arquivos_regras],
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,  # mantém job/instance de quem empurrou a métrica
                "static_configs": [{"targets": [alvo_pushgateway]}],
            }
        ],
    }
    if alvo_alertmanager:
        configuracao["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alvo_alertmanager]}]}]}
    return configuracao


class PrometheusLocal(_ProcessoLocal):
    """Prometheus que raspa um Pushgateway e avalia as regras do projeto (ou as indicadas)."""

    nome = "prometheus"
    binario = "prometheus"
    pacote = "prometheus"

    def __init__(
        self,
        alvo_pushgateway: str,
        arquivos_regras: list[Path] | None = None,
        intervalo: str = "1s",
        porta: int | None = None,
        pasta: Path | None = None,
        binario: str | None = None,
        alvo_alertmanager: str | None = None,
    ) -> None:
        super().__init__(porta, pasta, binario)
        self.alvo_pushgateway = alvo_pushgateway
        self.arquivos_regras = [ARQUIVO_ALERTAS] if arquivos_regras is None else list(arquivos_regras)
        self.intervalo = intervalo
        self.alvo_alertmanager = alvo_alertmanager

    @property
    def arquivo_configuracao(self) -> Path:
        return self.pasta / "prometheus.yml"

    def _argumentos(self) -> list[str]:
        self.arquivo_configuracao.write_text(
            yaml.safe_dump(
                configuracao_prometheus(
                    self.alvo_pushgateway, self.arquivos_regras, self.intervalo, self.alvo_alertmanager
                )
            ),
            encoding="utf-8",
        )
        return [
            f"--config.file={self.arquivo_configuracao}",
            f"--storage.tsdb.path={self.pasta / 'tsdb'}",
            f"--web.listen-address={self.host}:{self.porta}",
            "--storage.tsdb.retention.time=1d",
        ]

    def api(self, caminho: str, **parametros: str) -> Any:
        """GET na API HTTP (``/api/v1/...``) e o campo ``data`` da resposta; erro com o corpo se falhar."""
        url = f"{self.url}{caminho}" + (f"?{urlencode(parametros)}" if parametros else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as resposta:
                corpo = json.load(resposta)
        except urllib.error.HTTPError as erro:
            raise ErroDeAmbiente(f"Prometheus recusou {url}: {erro.read().decode(errors='replace')}") from None
        return corpo["data"]


def configuracao_alertmanager(
    url_webhook: str | None = None,
    tempos: dict[str, str] | None = None,
    arquivo: Path = ARQUIVO_ALERTMANAGER,
) -> dict[str, Any]:
    """O ``alertmanager.yml`` do projeto com só o destino e, se pedido, os tempos trocados.

    Por que partir do exemplo e não montar outro: quem roda local e os testes usam o mesmo roteamento
    (agrupamento, severidades, receptores) que o docker-compose. ``url_webhook`` substitui a URL de todos os
    webhooks; ``tempos`` (``group_wait``, ``group_interval``, ``repeat_interval``) vale para a rota raiz e
    para toda sub-rota que define o seu, senão o ``group_wait`` de uma sub-rota anularia o encurtamento.
    """
    configuracao = yaml.safe_load(Path(arquivo).read_text(encoding="utf-8"))
    if url_webhook:
        webhooks = [w for r in configuracao.get("receivers", []) for w in r.get("webhook_configs", [])]
        if not webhooks:
            raise ErroDeAmbiente(f"{arquivo} não tem nenhum webhook_configs para apontar para {url_webhook}.")
        for webhook in webhooks:
            webhook["url"] = url_webhook
    if tempos:
        rotas = [configuracao["route"]]
        while rotas:
            rota = rotas.pop()
            for chave, valor in tempos.items():
                if rota is configuracao["route"] or chave in rota:
                    rota[chave] = valor
            rotas.extend(rota.get("routes", []))
    return configuracao


class AlertmanagerLocal(_ProcessoLocal):
    """Alertmanager sem cluster (não abre a porta 9094 de gossip), com silêncios e avisos na pasta temporária."""

    nome = "alertmanager"
    binario = "prometheus-alertmanager"
    pacote = "prometheus-alertmanager"

    def __init__(
        self,
        url_webhook: str | None = None,
        configuracao: dict[str, Any] | None = None,
        porta: int | None = None,
        pasta: Path | None = None,
        binario: str | None = None,
    ) -> None:
        super().__init__(porta, pasta, binario)
        self.configuracao = copy.deepcopy(configuracao) if configuracao is not None else None
        self.url_webhook = url_webhook

    @property
    def arquivo_configuracao(self) -> Path:
        return self.pasta / "alertmanager.yml"

    def _argumentos(self) -> list[str]:
        configuracao = (
            self.configuracao if self.configuracao is not None else configuracao_alertmanager(self.url_webhook)
        )
        self.arquivo_configuracao.write_text(yaml.safe_dump(configuracao, allow_unicode=True), encoding="utf-8")
        return [
            f"--config.file={self.arquivo_configuracao}",
            f"--storage.path={self.pasta / 'dados'}",
            f"--web.listen-address={self.host}:{self.porta}",
            "--cluster.listen-address=",  # vazio: sem cluster; um Alertmanager só não precisa de gossip
        ]

    def alertas(self) -> list[dict[str, Any]]:
        """Os alertas que o Alertmanager recebeu (``/api/v2/alerts``): diagnóstico quando o aviso não chega."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as resposta:
            return json.load(resposta)


def main(argumentos: list[str] | None = None) -> int:
    """Pushgateway, Prometheus em :9090 e Alertmanager em :9093 até Ctrl+C: monitorar uma demo sem Docker."""
    from plataforma.config import carregar_configuracao

    leitor = argparse.ArgumentParser(prog="python -m monitoramento.local", description=main.__doc__)
    leitor.add_argument(
        "--webhook",
        help="URL que recebe os avisos do Alertmanager (padrão: a de monitoramento/alertmanager/alertmanager.yml)",
    )
    opcoes = leitor.parse_args(argumentos)

    cfg = carregar_configuracao()
    porta = urlparse(cfg.pushgateway_url).port or 9091
    pasta = cfg.pasta_dados / "monitoramento"
    iniciados: list[_ProcessoLocal] = []
    try:
        pushgateway = PushgatewayLocal(porta=porta, pasta=pasta / "pushgateway").iniciar()
        iniciados.append(pushgateway)
        alertmanager: AlertmanagerLocal | None = None
        try:
            localizar_binario(AlertmanagerLocal.binario, AlertmanagerLocal.pacote)
        except ErroDeAmbiente as erro:
            print(f"Sem Alertmanager (os alertas ficam só na interface do Prometheus): {erro}")
        else:
            configuracao = configuracao_alertmanager(opcoes.webhook)
            destinos = sorted({w["url"] for r in configuracao["receivers"] for w in r.get("webhook_configs", [])})
            alertmanager = AlertmanagerLocal(configuracao=configuracao, porta=9093, pasta=pasta / "alertmanager")
            iniciados.append(alertmanager.iniciar())
        prometheus = PrometheusLocal(
            pushgateway.alvo,
            intervalo="5s",
            porta=9090,
            pasta=pasta / "prometheus",
            alvo_alertmanager=alertmanager.alvo if alertmanager else None,
        ).iniciar()
        iniciados.append(prometheus)
    except BaseException:
        for processo in reversed(iniciados):
            processo.parar()
        raise
    print(f"Pushgateway: {pushgateway.url}  Prometheus: {prometheus.url} (alertas: {prometheus.url}/alerts)")
    if alertmanager is not None:
        print(f"Alertmanager: {alertmanager.url} (avisos por webhook para {', '.join(destinos) or 'ninguém'})")
    print("Ctrl+C para parar.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for processo in reversed(iniciados):
            processo.parar()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
