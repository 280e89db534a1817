"""Pushgateway e Prometheus reais, dos pacotes Debian, iniciados pelo próprio projeto.

Por que os binários e não um fake: os testes precisam provar que o Pushgateway aceita o que o cliente
empurra, que o Prometheus raspa com ``honor_labels`` e que as regras de ``alertas.yml`` disparam de
verdade — nada disso se prova com um servidor HTTP de mentira. Sem Docker na máquina, os pacotes
``prometheus`` e ``prometheus-pushgateway`` do Debian bastam.

Cada processo roda no loopback, numa porta livre (ou na pedida), com dados numa pasta temporária, e é
encerrado por ``parar()``. Para ver as métricas de uma demo sem Docker::

    python -m monitoramento.local   # Pushgateway na porta de pushgateway_url, Prometheus em :9090
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
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
from plataforma.kafka_local import porta_livre

ARQUIVO_ALERTAS = RAIZ_PROJETO / "monitoramento" / "prometheus" / "alertas.yml"
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
    def log(self) -> Path:
        return self.pasta / f"{self.nome}.log"

    def _argumentos(self) -> list[str]:
        raise NotImplementedError

    def _pronto(self) -> bool:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resposta:
            return resposta.status == 200
        return False

    def _ultimas_linhas(self, n: int = 20) -> str:
        if self.log.exists() and self.log.stat().st_size:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return "(sem log)"

    def iniciar(self, espera_s: float = 30.0) -> _ProcessoLocal:
        """Sobe o processo e espera ``/-/ready``; erro claro se o binário falta ou a porta está ocupada."""
        if self.processo is not None and self.processo.poll() is None:
            return self
        executavel = localizar_binario(self.binario, self.pacote)
        if not porta_livre(self.host, self.porta):
            raise ErroDeAmbiente(
                f"Porta {self.porta} ({self.nome}) em {self.host} já está em uso por outro processo. "
                f"Pare esse processo (veja 'ss -ltnp | grep :{self.porta}') ou escolha outra porta."
            )
        self.pasta.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as saida:
            self.processo = subprocess.Popen(
                [executavel, *self._argumentos()], stdout=saida, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.pasta,
            )  # fmt: skip
        limite = time.monotonic() + espera_s
        while not self._pronto():
            if self.processo.poll() is not None:
                codigo = self.processo.returncode
                self.processo = None
                raise ErroDeAmbiente(
                    f"O {self.nome} terminou durante a partida (código {codigo}). "
                    f"Últimas linhas de {self.log}:\n{self._ultimas_linhas()}"
                )
            if time.monotonic() > limite:
                self.parar()
                raise ErroDeAmbiente(f"O {self.nome} não respondeu em {espera_s:.0f}s em {self.url}. Veja {self.log}.")
            time.sleep(0.1)
        return self

    def parar(self, espera_s: float = 10.0) -> bool:
        """SIGTERM, espera, SIGKILL se preciso; apaga a pasta se ela foi criada aqui."""
        processo, self.processo = self.processo, None
        if processo is None:
            return False
        if processo.poll() is None:
            processo.send_signal(signal.SIGTERM)
            try:
                processo.wait(espera_s)
            except subprocess.TimeoutExpired:
                processo.kill()
                processo.wait(5)
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
    alvo_pushgateway: str, arquivos_regras: list[Path], intervalo: str = "1s"
) -> dict[str, Any]:
    """O mesmo ``prometheus.yml`` do docker-compose, apontado para um Pushgateway local e com intervalo curto."""
    return {
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
    ) -> None:
        super().__init__(porta, pasta, binario)
        self.alvo_pushgateway = alvo_pushgateway
        self.arquivos_regras = [ARQUIVO_ALERTAS] if arquivos_regras is None else list(arquivos_regras)
        self.intervalo = intervalo

    @property
    def arquivo_configuracao(self) -> Path:
        return self.pasta / "prometheus.yml"

    def _argumentos(self) -> list[str]:
        self.arquivo_configuracao.write_text(
            yaml.safe_dump(configuracao_prometheus(self.alvo_pushgateway, self.arquivos_regras, self.intervalo)),
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


def main() -> int:
    """Pushgateway (na porta de ``pushgateway_url``) e Prometheus em :9090 até Ctrl+C: monitorar uma demo sem Docker."""
    from plataforma.config import carregar_configuracao

    cfg = carregar_configuracao()
    porta = urlparse(cfg.pushgateway_url).port or 9091
    pasta = cfg.pasta_dados / "monitoramento"
    pushgateway = PushgatewayLocal(porta=porta, pasta=pasta / "pushgateway").iniciar()
    try:
        prometheus = PrometheusLocal(
            f"{pushgateway.host}:{pushgateway.porta}", intervalo="5s", porta=9090, pasta=pasta / "prometheus"
        ).iniciar()
    except ErroDeAmbiente:
        pushgateway.parar()
        raise
    print(f"Pushgateway: {pushgateway.url}  Prometheus: {prometheus.url} (alertas: {prometheus.url}/alerts)")
    print("Ctrl+C para parar.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        prometheus.parar()
        pushgateway.parar()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
