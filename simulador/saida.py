"""Saídas do simulador: arquivos (backfill, treino, testes) e Kafka (ao vivo ou o mais rápido possível).

Por que um resumo objeto: a CLI imprime, os testes e benchmarks conferem os mesmos números.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from plataforma.kafka_cliente import produzir
from simulador.motor import Lote, Motor
from simulador.parametros import Parametros


@dataclass
class Resumo:
    """Contagens de uma execução; ``descrever()`` dá o texto do fim da CLI."""

    transacoes: int = 0  # transações geradas (únicas, com gabarito)
    mensagens: int = 0  # mensagens enviadas em pix.transacoes (inclui defeituosas e duplicadas)
    fraudes: int = 0
    por_tipologia: Counter = field(default_factory=Counter)
    med: int = 0
    med_por_tipo: Counter = field(default_factory=Counter)
    defeitos: Counter = field(default_factory=Counter)
    segundos: float = 0.0
    inicio_ms: int | None = None
    fim_ms: int | None = None

    def somar(self, lote: Lote) -> None:
        self.transacoes += len(lote.gabarito)
        self.mensagens += len(lote.transacoes)
        self.fraudes += lote.fraudes
        self.por_tipologia.update(lote.por_tipologia)
        self.med += len(lote.med)
        self.med_por_tipo.update(lote.med_por_tipo)
        self.defeitos.update(d.tipo for d in lote.defeitos)
        self.inicio_ms = lote.inicio_ms if self.inicio_ms is None else self.inicio_ms
        self.fim_ms = lote.fim_ms

    @property
    def taxa_fraude(self) -> float:
        return self.fraudes / self.transacoes if self.transacoes else 0.0

    @property
    def por_segundo(self) -> float:
        return self.mensagens / self.segundos if self.segundos else 0.0

    def descrever(self) -> str:
        linhas = [
            f"Transações: {self.transacoes:,} ({self.mensagens:,} mensagens) em {self.segundos:.1f} s "
            f"({self.por_segundo:,.0f} mensagens/s)".replace(",", "."),
            f"Fraudes: {self.fraudes:,} ({100 * self.taxa_fraude:.3f}%)".replace(",", "."),
        ]
        for nome, qtd in sorted(self.por_tipologia.items()):
            linhas.append(f"  {nome}: {qtd}")
        linhas.append(f"Notificações MED enviadas: {self.med}")
        for nome, qtd in sorted(self.med_por_tipo.items()):
            linhas.append(f"  {nome}: {qtd}")
        linhas.append(f"Entradas ruins: {sum(self.defeitos.values())}")
        for nome, qtd in sorted(self.defeitos.items()):
            linhas.append(f"  {nome}: {qtd}")
        return "\n".join(linhas)


def gerar(parametros: Parametros) -> Iterator[Lote]:
    """O fluxo simulado, em lotes na ordem de envio. Determinístico dada a semente."""
    return Motor(parametros).lotes()


def gerar_tudo(parametros: Parametros) -> Lote:
    """O período inteiro num só ``Lote`` (demo, testes, treino): o fluxo cabe na memória e vai de uma vez."""
    tudo = Lote(0, 0, [], [], [], [], [], [], [])
    for lote in gerar(parametros):
        tudo.defeitos += [replace(d, posicao=d.posicao + len(tudo.transacoes)) for d in lote.defeitos]
        tudo.inicio_ms = tudo.inicio_ms or lote.inicio_ms
        tudo.fim_ms = lote.fim_ms
        for campo in ("transacoes", "chaves", "tempos_ms", "med", "chaves_med", "gabarito"):
            getattr(tudo, campo).extend(getattr(lote, campo))
        tudo.fraudes += lote.fraudes
        tudo.por_tipologia.update(lote.por_tipologia)
        tudo.med_por_tipo.update(lote.med_por_tipo)
    return tudo


def escrever_arquivos(
    parametros: Parametros, pasta: str | Path, progresso: Callable[[Resumo], None] | None = None
) -> Resumo:
    """Escreve ``transacoes.jsonl``, ``med.jsonl`` e ``gabarito.csv`` em ``pasta``."""
    pasta = Path(pasta)
    pasta.mkdir(parents=True, exist_ok=True)
    resumo = Resumo()
    inicio = time.perf_counter()
    with (
        (pasta / "transacoes.jsonl").open("w", encoding="utf-8", newline="\n") as tx,
        (pasta / "med.jsonl").open("w", encoding="utf-8", newline="\n") as med,
        (pasta / "gabarito.csv").open("w", encoding="utf-8", newline="\n") as gab,
    ):
        gab.write("end_to_end_id,fraude,tipologia\n")
        for lote in gerar(parametros):
            if lote.transacoes:
                tx.write("\n".join(lote.transacoes))
                tx.write("\n")
            if lote.med:
                med.write("\n".join(lote.med))
                med.write("\n")
            if lote.gabarito:
                gab.write("\n".join(lote.gabarito))
                gab.write("\n")
            resumo.somar(lote)
            if progresso:
                resumo.segundos = time.perf_counter() - inicio
                progresso(resumo)
    resumo.segundos = time.perf_counter() - inicio
    return resumo


def _produtor(bootstrap_ou_opcoes: str | dict[str, str]):
    from confluent_kafka import Producer

    opcoes = (
        {"bootstrap.servers": bootstrap_ou_opcoes}
        if isinstance(bootstrap_ou_opcoes, str)
        else dict(bootstrap_ou_opcoes)
    )
    padrao = {
        "linger.ms": "25",
        "batch.size": str(1 << 20),
        "compression.type": "lz4",
        "queue.buffering.max.messages": "500000",
        "queue.buffering.max.kbytes": str(1 << 20),
        "enable.idempotence": "true",
    }
    return Producer({**padrao, **opcoes})


class _Envio:
    """Produz (com reenvio quando a fila local enche, em ``produzir``) e conta as entregas com erro."""

    def __init__(self, produtor) -> None:
        self.produtor = produtor
        self.erros = 0
        self.ultimo_erro = ""

    def _confirmar(self, erro, _mensagem) -> None:
        if erro is not None:
            self.erros += 1
            self.ultimo_erro = str(erro)

    def enviar(self, topico: str, valores: Sequence[str | bytes], chaves: Sequence[str | bytes | None]) -> None:
        produzir(self.produtor, topico, valores, chaves, self._confirmar)

    def terminar(self, espera_s: float = 120.0) -> None:
        restantes = self.produtor.flush(espera_s)
        if restantes or self.erros:
            raise RuntimeError(
                f"Kafka: {restantes} mensagens não confirmadas e {self.erros} com erro ({self.ultimo_erro})"
            )


def produzir_mensagens(
    opcoes_kafka: str | dict[str, str],
    topico: str,
    mensagens: Iterable[str | bytes],
    chaves: Iterable[str | bytes | None] | None = None,
) -> int:
    """Produz mensagens já geradas (ex.: lidas de um transacoes.jsonl) e espera a confirmação. Devolve quantas."""
    envio = _Envio(_produtor(opcoes_kafka))
    valores = list(mensagens)
    lista_chaves = list(chaves) if chaves is not None else [None] * len(valores)
    envio.enviar(topico, valores, lista_chaves)
    envio.terminar()
    return len(valores)


def produzir_kafka(
    parametros: Parametros,
    opcoes_kafka: str | dict[str, str],
    topico_transacoes: str = "pix.transacoes",
    topico_med: str = "pix.med",
    tps: float | None = None,
    duracao_s: float | None = None,
    progresso: Callable[[Resumo], None] | None = None,
) -> Resumo:
    """Gera e produz nos dois tópicos.

    Sem ``tps``: o período inteiro de ``parametros`` o mais rápido possível (backfill, benchmark).
    Com ``tps``: ao vivo, no ritmo do relógio (tempo do evento = início + relógio x aceleração) até
    ``duracao_s`` segundos (ou Ctrl+C); os parâmetros devem vir de ``parametros_ao_vivo``.
    """
    envio = _Envio(_produtor(opcoes_kafka))
    envio.produtor.list_topics(timeout=15)  # conexão pronta antes de começar a cronometrar
    motor = Motor(parametros)  # a população é montada antes do relógio começar
    resumo = Resumo()
    if tps is not None:  # o tempo do evento começa agora, não quando os parâmetros foram montados
        motor.deslocar(round(time.time() * 1000) - motor.inicio_ms)
    inicio = time.perf_counter()
    t_evento0 = motor.inicio_ms
    acel = parametros.aceleracao
    ultimo_progresso = inicio
    try:
        for lote in motor.lotes():
            if tps is None:
                envio.enviar(topico_transacoes, lote.transacoes, lote.chaves)
            else:
                _enviar_no_ritmo(envio, topico_transacoes, lote, inicio, t_evento0, acel)
            envio.enviar(topico_med, lote.med, lote.chaves_med)
            resumo.somar(lote)
            agora = time.perf_counter()
            resumo.segundos = agora - inicio
            if progresso and agora - ultimo_progresso >= 1.0:
                progresso(resumo)
                ultimo_progresso = agora
            if duracao_s is not None and agora - inicio >= duracao_s:
                break
    except KeyboardInterrupt:
        pass
    envio.terminar()
    resumo.segundos = time.perf_counter() - inicio
    return resumo


def _enviar_no_ritmo(envio: _Envio, topico: str, lote: Lote, inicio: float, t_evento0: int, acel: float) -> None:
    """Envia cada mensagem quando o relógio alcança o seu tempo de evento (em fatias de ~10 ms)."""
    n, i = len(lote.transacoes), 0
    while i < n:
        agora_ms = t_evento0 + (time.perf_counter() - inicio) * 1000 * acel
        j = i
        while j < n and lote.tempos_ms[j] <= agora_ms:
            j += 1
        if j > i:
            envio.enviar(topico, lote.transacoes[i:j], lote.chaves[i:j])
            i = j
        else:
            espera = (lote.tempos_ms[i] - agora_ms) / 1000 / acel
            envio.produtor.poll(min(max(espera, 0.0), 0.01))


def parametros_ao_vivo(base: Parametros, tps: float, inicio: datetime | None = None) -> Parametros:
    """Ajusta os parâmetros ao modo ao vivo: começa agora, ritmo constante, hábito escalado para dar ``tps``."""
    inicio = inicio or datetime.now(UTC).replace(microsecond=0)
    por_cliente_dia = tps * 86_400 / (base.aceleracao * base.clientes) * (1 - base.taxa_fraude)
    # Sem laranjas dormentes ao vivo: a população começa agora, sem semanas de história para uma conta ter
    # ficado dormente, e o estoque dimensionado para 35 dias de demanda a 1.000 Pix/s levaria minutos para
    # montar, atrasando a partida do tráfego ao vivo (docs/benchmarks.md).
    return base.com(
        inicio=inicio,
        fracao_laranja_dormente=0.0,
        dias=3650.0,
        perfil_horario=False,
        pix_por_cliente_dia=por_cliente_dia,
        alvo_por_lote=int(min(max(tps / 4, 200), 50_000)),
    )


def imprimir_progresso(resumo: Resumo) -> None:
    sys.stderr.write(
        f"\r{resumo.por_segundo:,.0f} msg/s | {resumo.mensagens:,} mensagens | {resumo.fraudes:,} fraudes | "
        f"{resumo.med:,} MED   ".replace(",", ".")
    )
    sys.stderr.flush()
