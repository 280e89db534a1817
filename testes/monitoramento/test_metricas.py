"""As métricas chegam ao Pushgateway real com os valores certos; falhas de envio não derrubam o stream."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable

import pytest

from monitoramento.local import PushgatewayLocal, porta_sorteada
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from plataforma.config import Configuracao
from plataforma.erros import ErroDeAmbiente
from processamento.pipeline import ResumoDoLote
from testes.util import job_de_teste

pytestmark = pytest.mark.integracao


def _serie(nome: str, **rotulos: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (nome, frozenset(rotulos.items()))


def test_pontuacao_publica_decisoes_latencias_e_modo(
    metricas_pontuacao: MetricasDaPontuacao, ler_job: Callable
) -> None:
    metricas, job = metricas_pontuacao, metricas_pontuacao.job
    metricas.modelo(None)
    metricas.lote({"APROVAR": 7, "REVISAR": 2, "BLOQUEAR": 1}, [0.02, 0.3, 0.3, 3.0], 0.8, sem_decisao=2, duplicatas=1)
    metricas.lote({"APROVAR": 3}, [-0.01], 0.4, sem_decisao=0, duplicatas=0)
    metricas.pendencias_de_decisao(4)
    antes = time.time()
    assert metricas.publicar() is True

    series = ler_job(job)
    assert series[_serie("detector_pix_pendencias_decisao")] == 4
    assert series[_serie("detector_pix_decisoes_total", decisao="APROVAR")] == 10
    assert series[_serie("detector_pix_decisoes_total", decisao="REVISAR")] == 2
    assert series[_serie("detector_pix_decisoes_total", decisao="BLOQUEAR")] == 1
    assert series[_serie("detector_pix_pontuacao_so_regras")] == 1
    assert series[_serie("detector_pix_modelo_versao")] == 0
    assert series[_serie("detector_pix_latencia_decisao_segundos_count")] == 5
    # A latência negativa (relógio do produtor adiantado) conta como zero, no primeiro balde.
    assert series[_serie("detector_pix_latencia_decisao_segundos_bucket", le="0.05")] == 2
    assert series[_serie("detector_pix_latencia_decisao_segundos_bucket", le="1")] == 4
    assert series[_serie("detector_pix_latencia_decisao_segundos_bucket", le="+Inf")] == 5
    assert series[_serie("detector_pix_sem_decisao_total")] == 2
    assert series[_serie("detector_pix_duplicatas_total")] == 1
    assert series[_serie("detector_pix_lote_duracao_segundos", consulta="pontuacao")] == 0.4
    assert antes - 5 < series[_serie("detector_pix_ultimo_lote_timestamp_segundos", consulta="pontuacao")] <= antes

    metricas.modelo("3")
    assert metricas.publicar() is True
    series = ler_job(job)
    assert series[_serie("detector_pix_pontuacao_so_regras")] == 0
    assert series[_serie("detector_pix_modelo_versao")] == 3
    assert series[_serie("detector_pix_decisoes_total", decisao="APROVAR")] == 10  # o push substitui, não soma


def test_processamento_publica_destinos_e_estado(
    metricas_processamento: MetricasDoProcessamento, ler_job: Callable
) -> None:
    metricas, job = metricas_processamento, metricas_processamento.job
    resumo = ResumoDoLote(
        lote=4, entrada=15, silver=10, quarentena=3, duplicatas=2, atrasadas=1, segundos=2.5,
        contas_no_estado=120, gold_confirmado_em=1_700_000_000.0,
    )  # fmt: skip
    metricas.lote(resumo)
    assert metricas.publicar() is True

    series = ler_job(job)
    assert series[_serie("detector_pix_mensagens_total", destino="silver")] == 10
    assert series[_serie("detector_pix_mensagens_total", destino="quarentena")] == 3
    assert series[_serie("detector_pix_mensagens_total", destino="duplicata")] == 2
    assert series[_serie("detector_pix_atrasadas_total")] == 1
    assert series[_serie("detector_pix_contas_no_estado")] == 120
    assert series[_serie("detector_pix_lote_duracao_segundos", consulta="processamento")] == 2.5
    assert series[_serie("detector_pix_ultimo_lote_timestamp_segundos", consulta="processamento")] == 1_700_000_000


def test_lote_e_publicar_em_threads_diferentes(metricas_pontuacao: MetricasDaPontuacao, ler_job: Callable) -> None:
    """O stream registra lotes enquanto outra thread publica: nenhum erro e nada perdido no fim."""
    metricas, job = metricas_pontuacao, metricas_pontuacao.job
    terminou = threading.Event()
    resultados: list[bool] = []

    def publicar_sem_parar() -> None:
        while not terminou.is_set():
            resultados.append(metricas.publicar())

    publicador = threading.Thread(target=publicar_sem_parar)
    publicador.start()
    for _ in range(300):
        metricas.lote({"APROVAR": 1, "BLOQUEAR": 1}, [0.1, 0.2], 0.01, sem_decisao=0, duplicatas=0)
    terminou.set()
    publicador.join()
    assert resultados and all(resultados)
    assert metricas.publicar() is True
    series = ler_job(job)
    assert series[_serie("detector_pix_decisoes_total", decisao="BLOQUEAR")] == 300
    assert series[_serie("detector_pix_latencia_decisao_segundos_count")] == 600


def test_publicar_sem_pushgateway_devolve_falso_sem_excecao(
    cfg_sem_pushgateway: Configuracao, pushgateway: PushgatewayLocal, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="monitoramento.metricas"):
        desligado = MetricasDaPontuacao(cfg_sem_pushgateway)
        desligado.lote({"APROVAR": 1}, [0.1], 0.1, 0, 0)
        assert desligado.publicar() is False
        assert desligado.publicar() is False
    avisos = [r.getMessage() for r in caplog.records]
    assert len(avisos) == 1 and "DESLIGADAS" in avisos[0], "desligado: um aviso na partida, nenhum por lote"
    caplog.clear()

    inalcancavel = f"http://127.0.0.1:{porta_sorteada()}"  # ninguém escuta: conexão recusada na hora
    metricas = MetricasDoProcessamento(Configuracao().com(pushgateway_url=inalcancavel), job=job_de_teste())
    with caplog.at_level(logging.WARNING, logger="monitoramento.metricas"):
        assert metricas.publicar() is False
        assert metricas.publicar() is False
        avisos = [r.getMessage() for r in caplog.records]
        assert len(avisos) == 1, "um aviso por sequência de falhas, não um por lote"
        assert inalcancavel in avisos[0]

        metricas.url = pushgateway.url  # o Pushgateway "volta"
        assert metricas.publicar() is True
        assert len(caplog.records) == 2 and "voltaram" in caplog.records[1].getMessage()


def test_lancador_explica_binario_ausente_e_porta_ocupada() -> None:
    with pytest.raises(ErroDeAmbiente, match="sudo apt-get install prometheus-pushgateway"):
        PushgatewayLocal(binario="prometheus-pushgateway-que-nao-existe").iniciar()

    with socket.socket() as ocupante:
        ocupante.bind(("127.0.0.1", 0))
        ocupante.listen()
        porta = ocupante.getsockname()[1]
        with pytest.raises(ErroDeAmbiente, match=f"Porta {porta} .* já está em uso"):
            PushgatewayLocal(porta=porta).iniciar()


def test_reinicio_substitui_o_grupo_da_implantacao_e_implantacoes_nao_se_misturam(
    pushgateway: PushgatewayLocal, cfg_monitoramento: Configuracao
) -> None:
    job = job_de_teste()
    prod = cfg_monitoramento.com(catalogo="pix", esquema="fraudes")
    dev = cfg_monitoramento.com(catalogo="pix_dev", esquema="fraudes")
    antes = MetricasDaPontuacao(prod, job=job)
    antes.modelo(None)
    assert antes.publicar()
    # O driver reinicia (outro processo, talvez outra máquina): a mesma implantação, um registro novo.
    depois = MetricasDaPontuacao(prod, job=job)
    depois.modelo("7")
    assert depois.publicar()
    outra = MetricasDaPontuacao(dev, job=job)
    outra.modelo(None)
    assert outra.publicar()

    with urllib.request.urlopen(f"{pushgateway.url}/api/v1/metrics", timeout=5) as resposta:
        grupos = [g for g in json.load(resposta)["data"] if g["labels"].get("job") == job]
    por_implantacao = {g["labels"]["implantacao"]: g for g in grupos}
    assert len(grupos) == 2 and set(por_implantacao) == {"pix.fraudes", "pix_dev.fraudes"}
    assert all("instance" not in g["labels"] for g in grupos)  # nada que dependa da máquina
    so_regras = por_implantacao["pix.fraudes"]["detector_pix_pontuacao_so_regras"]["metrics"][0]["value"]
    assert float(so_regras) == 0  # o grupo antigo (só regras) foi substituído pelo do reinício
    assert float(por_implantacao["pix_dev.fraudes"]["detector_pix_pontuacao_so_regras"]["metrics"][0]["value"]) == 1


def test_partida_publica_contadores_zerados_e_a_hora_da_partida(
    cfg_monitoramento: Configuracao, ler_job: Callable
) -> None:
    job = job_de_teste()
    antes = time.time()
    assert MetricasDoProcessamento(cfg_monitoramento, job=job).partida()
    series = ler_job(job)
    for destino in ("silver", "quarentena", "duplicata"):  # o rate() do primeiro lote precisa deste zero
        assert series[_serie("detector_pix_mensagens_total", destino=destino)] == 0
    partida = series[_serie("detector_pix_ultimo_lote_timestamp_segundos", consulta="processamento")]
    assert antes <= partida <= time.time()
