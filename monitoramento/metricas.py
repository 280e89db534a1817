"""Métricas dos streams empurradas para o Prometheus Pushgateway.

Por que Pushgateway e não um endpoint ``/metrics``: no Databricks o driver não expõe porta para o
Prometheus raspar, e o cluster pode mudar de máquina a cada reinício. O stream empurra o estado ao fim
de cada micro-batch; o Prometheus raspa o Pushgateway (``honor_labels: true``) e avalia os alertas de
``monitoramento/prometheus/alertas.yml``. O painel do Grafana lê as mesmas séries.

Cada instância tem o próprio ``CollectorRegistry``: as duas consultas podem rodar no mesmo processo
sem misturar séries, e ``publicar`` substitui (PUT) exatamente o grupo ``job`` + ``implantacao`` desta
consulta. A chave do grupo vem da implantação (catálogo.esquema no Databricks), nunca do nome da máquina:
um driver que reinicia em outra máquina substitui o próprio grupo em vez de deixar um grupo velho para trás.
``lote`` e ``publicar`` podem ser chamados de threads diferentes: uma trava garante que o envio leve um retrato
consistente (o histograma não sai com ``_count`` de um lote e ``_bucket`` de outro).

Monitoramento nunca derruba o stream: ``publicar`` não levanta exceção; devolve ``False`` e avisa no log
uma vez por sequência de falhas (e de novo quando volta a funcionar). ``pushgateway_url`` vazio desliga as métricas
com um aviso na partida; um endereço que só existe no laptop é recusado no Databricks (``plataforma.config``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, push_to_gateway
from prometheus_client.metrics_core import Metric

from plataforma.config import Configuracao
from plataforma.decisoes import DECISOES

log = logging.getLogger(__name__)

DESTINOS = ("silver", "quarentena", "duplicata")
# A meta é decidir em menos de 1 s (alerta LatenciaDecisaoAlta); baldes densos em volta dela.
BALDES_LATENCIA_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0)
TIMEOUT_ENVIO_S = 5.0  # um Pushgateway fora do ar não pode segurar o micro-batch por 30 s (padrão do cliente)


class ResumoDoProcessamento(Protocol):
    """O que as métricas leem de um lote do processamento (``processamento.pipeline.ResumoDoLote`` o cumpre).

    Um protocolo, e não o tipo do processamento: o monitoramento fica abaixo das etapas e não importa nenhuma.
    """

    silver: int
    quarentena: int
    duplicatas: int
    atrasadas: int
    contas_no_estado: int
    segundos: float
    gold_confirmado_em: float | None


class _Retrato:
    """As famílias de métricas coletadas sob a trava; ``push_to_gateway`` só precisa de ``collect()``."""

    def __init__(self, familias: Iterable[Metric]) -> None:
        self._familias = list(familias)

    def collect(self) -> Iterable[Metric]:
        return self._familias


class _Publicador:
    """Registro próprio, trava e envio ao Pushgateway que nunca levanta exceção."""

    consulta: str

    def __init__(self, cfg: Configuracao, job: str) -> None:
        self.url = cfg.pushgateway_url.strip()
        self.job = job
        self.implantacao = cfg.implantacao
        self.registro = CollectorRegistry()
        self._trava = threading.Lock()
        self._falhando = False
        if not self.url:
            # Dito uma vez, na partida: sem isso um job sem métricas parece saudável no Grafana (nenhuma série, nenhum
            # alerta de stream parado).
            log.warning(
                "Métricas de '%s' DESLIGADAS: pushgateway_url vazio. Nada vai para o Prometheus, o painel do Grafana "
                "nem os alertas de monitoramento/prometheus/alertas.yml; no Databricks, passe a variável "
                "pushgateway_url do bundle (docs/databricks.md).",
                job,
            )
        self.duracao_lote = Gauge(
            "detector_pix_lote_duracao_segundos",
            "Duração do último micro-batch, em segundos.",
            ["consulta"],
            registry=self.registro,
        )
        self.ultimo_lote = Gauge(
            "detector_pix_ultimo_lote_timestamp_segundos",
            "Epoch (s) do fim do último micro-batch: base dos alertas de stream parado.",
            ["consulta"],
            registry=self.registro,
        )

    @property
    def grupo(self) -> dict[str, str]:
        """Chave de agrupamento: ``job`` (no caminho) + ``implantacao``; um push substitui só este grupo."""
        return {"implantacao": self.implantacao}

    def partida(self) -> bool:
        """Publica os contadores zerados ao iniciar a consulta, com a partida como "último lote".

        Zerados: sem uma raspagem com o contador em zero, o ``rate()`` não vê o primeiro lote (num lote único, o de
        um reprocessamento, não veria nada). A partida como último lote: um job que reinicia e trava antes do
        primeiro lote ainda dispara o alerta de parada.
        """
        with self._trava:
            self.ultimo_lote.labels(consulta=self.consulta).set(time.time())
        return self.publicar()

    def publicar(self) -> bool:
        """Empurra o retrato atual (PUT). Verdadeiro se o Pushgateway aceitou; nunca levanta exceção."""
        if not self.url:
            return False
        try:
            with self._trava:
                retrato = _Retrato(self.registro.collect())
            push_to_gateway(self.url, job=self.job, registry=retrato, grouping_key=self.grupo, timeout=TIMEOUT_ENVIO_S)
        except Exception as erro:
            if not self._falhando:
                log.warning(
                    "Não consegui publicar as métricas de '%s' no Pushgateway %s: %s. O stream segue; "
                    "aviso de novo só quando voltar a funcionar.",
                    self.job,
                    self.url,
                    erro,
                )
            self._falhando = True
            return False
        if self._falhando:
            log.warning("Métricas de '%s' voltaram a ser publicadas no Pushgateway %s.", self.job, self.url)
        self._falhando = False
        return True


def _numero_da_versao(versao: str) -> float:
    try:
        return float(versao)
    except ValueError:
        return math.nan


class MetricasDaPontuacao(_Publicador):
    """Métricas da consulta de decisão (modo pontuar)."""

    consulta = "pontuacao"

    def __init__(self, cfg: Configuracao, job: str = "detector_pix_pontuacao") -> None:
        super().__init__(cfg, job)
        r = self.registro
        self.decisoes = Counter(
            "detector_pix_decisoes", "Decisões emitidas, por tipo.", ["decisao"], registry=r
        )  # fmt: skip
        for decisao in DECISOES:  # séries com zero desde o início: rate() funciona antes do primeiro BLOQUEAR
            self.decisoes.labels(decisao=decisao)
        self.so_regras = Gauge(
            "detector_pix_pontuacao_so_regras",
            "1 quando a pontuação roda só com as regras (sem modelo carregado), 0 com modelo.",
            registry=r,
        )
        self.versao_modelo = Gauge(
            "detector_pix_modelo_versao",
            "Versão do modelo registrado em uso (0 = nenhum; NaN = versão não numérica).",
            registry=r,
        )
        self.pendencias = Gauge(
            "detector_pix_pendencias_decisao",
            "Lotes de decisões já no Kafka e ainda não gravados na gold_decisoes (arquivos de pendência).",
            registry=r,
        )
        self.champion_recusado = Gauge(
            "detector_pix_champion_recusado",
            "Versão com o alias champion que não pôde ser usada (não carrega ou não serve ao motor); 0 = nenhuma.",
            registry=r,
        )
        self.latencia = Histogram(
            "detector_pix_latencia_decisao_segundos",
            "Do timestamp da mensagem no Kafka até a decisão, por Pix.",
            buckets=BALDES_LATENCIA_S,
            registry=r,
        )
        self.sem_decisao = Counter(
            "detector_pix_sem_decisao", "Mensagens malformadas que ficaram sem decisão.", registry=r
        )
        self.duplicatas = Counter(
            "detector_pix_duplicatas", "Pix com end_to_end_id repetido (não decididos de novo).", registry=r
        )
        self.deriva_psi = Gauge(
            "detector_pix_deriva_psi",
            "PSI da janela recente de decisões contra a referência do treino, por variável (score ou feature).",
            ["variavel"],
            registry=r,
        )
        self.deriva_amostras = Gauge(
            "detector_pix_deriva_amostras", "Pix das últimas 24 h que o PSI compara com a referência.", registry=r
        )
        self.deriva_horas = Gauge(
            "detector_pix_deriva_horas_na_janela",
            "Horas de Pix que a janela da deriva cobre (o ciclo diário só se cancela com 24).",
            registry=r,
        )
        self.decisoes_avaliadas = Gauge(
            "detector_pix_decisoes_avaliadas",
            "Decisões da janela da precisão tardia (últimos dias), por tipo: o denominador da precisão.",
            ["decisao"],
            registry=r,
        )
        self.decisoes_confirmadas_med = Gauge(
            "detector_pix_decisoes_confirmadas_med",
            "Decisões da mesma janela cujo Pix já recebeu notificação MED, por tipo: o numerador da precisão.",
            ["decisao"],
            registry=r,
        )

    def modelo(self, versao: str | None, recusada: str | None = None) -> None:
        """``None``: só regras (alerta DecisaoSoComRegras). Senão, a versão do modelo carregado.

        ``recusada``: a versão com o alias champion que não pôde ser usada (não carrega ou não serve ao motor).
        """
        with self._trava:
            self.champion_recusado.set(_numero_da_versao(recusada) if recusada else 0)
            if versao is None:
                self.so_regras.set(1)
                self.versao_modelo.set(0)
                return
            self.so_regras.set(0)
            self.versao_modelo.set(_numero_da_versao(versao))

    def pendencias_de_decisao(self, lotes: int) -> None:
        """Quantos lotes esperam a gravação na gold_decisoes; crescendo, a gravação em segundo plano está falhando."""
        with self._trava:
            self.pendencias.set(max(0, lotes))

    def deriva(self, psi: Mapping[str, float], amostras: int, horas_cobertas: int) -> None:
        """PSI por variável da janela recente; sem referência (só regras), as séries somem no próximo push."""
        with self._trava:
            self.deriva_psi.clear()
            for variavel, valor in psi.items():
                if math.isfinite(valor):
                    self.deriva_psi.labels(variavel=variavel).set(valor)
            self.deriva_amostras.set(max(0, amostras))
            self.deriva_horas.set(max(0, horas_cobertas))

    def precisao_tardia(self, avaliadas: Mapping[str, int], confirmadas: Mapping[str, int]) -> None:
        """Quantas decisões de cada tipo a MED já confirmou como fraude (numerador e denominador)."""
        with self._trava:
            for decisao in DECISOES:
                self.decisoes_avaliadas.labels(decisao=decisao).set(int(avaliadas.get(decisao, 0)))
                self.decisoes_confirmadas_med.labels(decisao=decisao).set(int(confirmadas.get(decisao, 0)))

    def lote(
        self,
        decisoes: Mapping[str, int],
        latencias_s: Sequence[float],
        duracao_s: float,
        sem_decisao: int,
        duplicatas: int,
    ) -> None:
        """Registra um micro-batch de decisões. Valores negativos são ignorados, não derrubam o stream."""
        with self._trava:
            for decisao, quantidade in decisoes.items():
                if quantidade > 0:
                    self.decisoes.labels(decisao=decisao).inc(quantidade)
            for latencia in latencias_s:
                # Relógio do produtor adiantado daria latência negativa: conta como "instantânea".
                self.latencia.observe(max(0.0, float(latencia)))
            if sem_decisao > 0:
                self.sem_decisao.inc(sem_decisao)
            if duplicatas > 0:
                self.duplicatas.inc(duplicatas)
            self.duracao_lote.labels(consulta=self.consulta).set(max(0.0, duracao_s))
            self.ultimo_lote.labels(consulta=self.consulta).set(time.time())


class MetricasDoProcessamento(_Publicador):
    """Métricas do processamento bronze -> silver/quarentena -> gold."""

    consulta = "processamento"

    def __init__(self, cfg: Configuracao, job: str = "detector_pix_processamento") -> None:
        super().__init__(cfg, job)
        r = self.registro
        self.mensagens = Counter(
            "detector_pix_mensagens",
            "Mensagens da bronze por destino: silver, quarentena (malformadas) ou duplicata (descartadas).",
            ["destino"],
            registry=r,
        )
        for destino in DESTINOS:  # o alerta QuarentenaAlta divide por todas: as três séries existem desde já
            self.mensagens.labels(destino=destino)
        self.atrasadas = Counter(
            "detector_pix_atrasadas", "Transações aceitas, mas além do atraso tolerado.", registry=r
        )
        self.contas = Gauge(
            "detector_pix_contas_no_estado", "Contas com histórico na memória do motor de features.", registry=r
        )

    def lote(self, resumo: ResumoDoProcessamento) -> None:
        """Registra um micro-batch; o horário do lote é o do commit da gold (quando a feature ficou visível)."""
        with self._trava:
            for destino, quantidade in (
                ("silver", resumo.silver),
                ("quarentena", resumo.quarentena),
                ("duplicata", resumo.duplicatas),
            ):
                if quantidade > 0:
                    self.mensagens.labels(destino=destino).inc(quantidade)
            if resumo.atrasadas > 0:
                self.atrasadas.inc(resumo.atrasadas)
            self.contas.set(resumo.contas_no_estado)
            self.duracao_lote.labels(consulta=self.consulta).set(max(0.0, resumo.segundos))
            self.ultimo_lote.labels(consulta=self.consulta).set(resumo.gold_confirmado_em or time.time())
