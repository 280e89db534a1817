"""Funções e constantes que mais de um módulo de teste usa: um módulo de teste nunca importa de outro.

Por que aqui e não no ``test_*`` que as criou: importar de um módulo de teste faz o pytest coletar os testes dele
de novo sob outro nome e amarra um arquivo ao outro (apagar um teste quebra outro). Fixtures ficam em
``conftest.py``; o que é função ou constante comum fica aqui. ``testes/test_testes.py`` confere a regra.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import pytest
from mlflow.pyfunc import PythonModel

from monitoramento.local import HOST
from plataforma.config import RAIZ_PROJETO, Configuracao
from simulador import Parametros, gerar_tudo, produzir_mensagens
from simulador.parametros import MISTURA_ORIGINAL

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
    from plataforma.kafka_local import BrokerKafkaLocal

T = TypeVar("T")

CHAVE = b"chave-de-teste-com-32-caracteres!"  # chave de pseudonimização dos testes (HMAC, 32 bytes)
PAINEL = RAIZ_PROJETO / "monitoramento" / "grafana" / "dashboards" / "detector-pix.json"

# Treino pequeno e com mais fraude que o padrão; MED rápida para haver rótulos antes do corte. A mistura original (as
# seis primeiras tipologias): estes testes conferem a mecânica do treino (MLflow, portão de promoção), e com as
# mecânicas de generalização em 400 clientes x 10 dias as regras venciam o gbm na validação (poucos exemplos de cada).
# A generalização se mede no tamanho padrão (machine_learning/generalizacao.py, docs/modelo.md).
# 600 clientes: com 400, a janela de teste tinha ~60 fraudes e a AP oscilava tanto que a semente 7 punha o modelo
# abaixo das regras depois da separação do estado por papel (as sementes 8 a 10 não); 600 custam ~20 s por treino.
PARAMETROS_TREINO = Parametros(
    semente=7, clientes=600, dias=10, taxa_fraude=0.03, atraso_med_mediana_horas=12, atraso_med_max_dias=3,
    mistura=dict(MISTURA_ORIGINAL),
)  # fmt: skip
DIVISAO = {"dias_aquecimento": 1.0, "dias_atraso": 1.0, "dias_teste": 3.0}


def esperar(
    condicao: Callable[[], T],
    segundos: float,
    o_que: str,
    *,
    acao: Callable[[], object] | None = None,
    diagnostico: Callable[[], str] | None = None,
    intervalo_s: float = 0.25,
) -> T:
    """Repete ``acao`` (se houver) e ``condicao`` até a condição dar um valor verdadeiro, que devolve.

    Passado o prazo, o teste falha dizendo o que não aconteceu e em quanto tempo, mais o ``diagnostico`` (o log,
    o que chegou): com processos reais, "timeout" sozinho não diz onde procurar.
    """
    limite = time.monotonic() + segundos
    while True:
        if acao is not None:
            acao()
        resultado = condicao()
        if resultado:
            return resultado
        if time.monotonic() >= limite:
            detalhe = f"\n{diagnostico()}" if diagnostico is not None else ""
            pytest.fail(f"Em {segundos:.0f} s não aconteceu: {o_que}{detalhe}", pytrace=False)
        time.sleep(intervalo_s)


# Pipeline com Kafka e Delta reais -----------------------------------------------------------------------------
def cfg_isolada(cfg_teste: Configuracao, broker: BrokerKafkaLocal, nome: str, particoes: int = 2) -> Configuracao:
    """Pasta de dados e tópicos só deste teste."""
    sufixo = f"{nome}.{uuid.uuid4().hex[:8]}"
    cfg = cfg_teste.com(
        dados_dir=str(cfg_teste.pasta_dados / sufixo),
        topico_transacoes=f"{sufixo}.transacoes",
        topico_med=f"{sufixo}.med",
        topico_decisoes=f"{sufixo}.decisoes",
        topico_lotes_decisao=f"{sufixo}.decisoes.lotes",
        topico_features_recebedor=f"{sufixo}.decisoes.recebedor",
    )
    broker.criar_topicos(cfg.topicos, particoes)
    return cfg


def produzir_simulacao(cfg: Configuracao, parametros: Parametros) -> tuple[Counter, int, int]:
    """Produz o tráfego simulado; devolve os defeitos injetados e quantas transações e MED foram enviadas."""
    tudo = gerar_tudo(parametros)
    defeitos = Counter(d.tipo for d in tudo.defeitos)
    total_tx = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)
    total_med = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_med, tudo.med, tudo.chaves_med)
    return defeitos, total_tx, total_med


def ingerir(spark: SparkSession, cfg: Configuracao) -> None:
    """Kafka -> bronze das transações e da MED, até o fim atual dos tópicos."""
    from ingestao.bronze import iniciar_ingestao
    from plataforma.tabelas import tabela

    for topico, nome in ((cfg.topico_transacoes, "bronze_transacoes"), (cfg.topico_med, "bronze_med")):
        iniciar_ingestao(spark, cfg, topico, tabela(cfg, nome), disponivel=True).awaitTermination()


def conferir_decisoes_iguais(cfg: Configuracao, referencia: Configuracao, enviadas: int) -> pd.DataFrame:
    """As decisões ``read_committed`` de ``cfg`` são as de ``referencia`` (mesmo Pix, decisão, score e motivos), cada
    ``id_decisao`` uma vez, e cada Pix válido decidido uma vez; devolve as de ``cfg`` (índice ``id_decisao``)."""
    from machine_learning.decisao import MENSAGEM_INVALIDA
    from machine_learning.nucleo import ler_decisoes_kafka

    obtidas = ler_decisoes_kafka(cfg).set_index("id_decisao").sort_index()
    esperadas = ler_decisoes_kafka(referencia).set_index("id_decisao").sort_index()
    assert obtidas.index.is_unique and len(obtidas) > 0.9 * enviadas
    assert obtidas.index.equals(esperadas.index)
    for coluna in ("end_to_end_id", "decisao", "versao_modelo"):
        assert (obtidas[coluna] == esperadas[coluna]).all(), coluna
    assert (obtidas["score"].fillna(-1) == esperadas["score"].fillna(-1)).all()
    assert (obtidas["motivos"].map(tuple) == esperadas["motivos"].map(tuple)).all()
    validas = obtidas[~obtidas["motivos"].map(lambda m: MENSAGEM_INVALIDA in m)]
    assert validas["end_to_end_id"].is_unique  # um Pix válido, uma decisão
    return obtidas


# Monitoramento -------------------------------------------------------------------------------------------------
def job_de_teste() -> str:
    """Um ``job`` só deste teste: a sessão inteira divide o mesmo Pushgateway e o mesmo Prometheus."""
    return f"teste_{uuid.uuid4().hex[:10]}"


def publicar_a_cada_volta(
    metricas: MetricasDaPontuacao | MetricasDoProcessamento, *lote: Any, **nomeados: Any
) -> Callable[[], None]:
    """A ``acao`` de ``esperar`` que registra o mesmo lote e publica: ``rate()`` e ``increase()`` só veem o contador
    subir entre duas raspagens, então um lote publicado uma vez não dispara o alerta."""

    def acao() -> None:
        metricas.lote(*lote, **nomeados)
        metricas.publicar()

    return acao


def expressoes_do_painel() -> list[str]:
    """A PromQL de cada alvo do painel do Grafana."""
    painel = json.loads(PAINEL.read_text(encoding="utf-8"))
    return [alvo["expr"] for p in painel["panels"] for alvo in p.get("targets", [])]


class ReceptorWebhook:
    """Um receptor de webhook de verdade (``http.server`` numa thread): guarda o JSON de cada POST recebido.

    Por que um servidor e não olhar a API do Alertmanager: o que se quer provar é que o aviso *sai* e chega a
    quem foi configurado, no formato que um receptor recebe.
    """

    caminho = "/alertas"

    def __init__(self, host: str = HOST) -> None:
        self._trava = threading.Lock()
        self._avisos: list[dict[str, Any]] = []
        receptor = self

        class Tratador(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # nome exigido por BaseHTTPRequestHandler
                corpo = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == receptor.caminho:
                    with receptor._trava:
                        receptor._avisos.append(json.loads(corpo))
                self.send_response(200 if self.path == receptor.caminho else 404)
                self.end_headers()

            def log_message(self, *_: object) -> None:  # sem linhas de acesso no meio da saída do pytest
                pass

        self._servidor = ThreadingHTTPServer((host, 0), Tratador)
        self._thread = threading.Thread(target=self._servidor.serve_forever, name="receptor-webhook", daemon=True)

    @property
    def url(self) -> str:
        host, porta = self._servidor.server_address[:2]
        return f"http://{host}:{porta}{self.caminho}"

    def avisos(self) -> list[dict[str, Any]]:
        """Cópia dos avisos recebidos até agora, na ordem de chegada."""
        with self._trava:
            return list(self._avisos)

    def iniciar(self) -> ReceptorWebhook:
        self._thread.start()
        return self

    def parar(self) -> None:
        self._servidor.shutdown()
        self._servidor.server_close()
        self._thread.join(5)


class ModeloQueNaoDesserializa(PythonModel):
    """Um ``python_model`` cujo artefato existe mas não volta à memória: como um pickle corrompido ou de outra versão.

    Fica aqui (importável) para o cloudpickle gravá-lo por referência; ``__setstate__`` falha ao carregar.
    """

    def predict(self, context: object, model_input: list[str], params: dict | None = None) -> list[str]:
        return model_input

    def __getstate__(self) -> dict:
        return {"quebrado": True}

    def __setstate__(self, estado: dict) -> None:
        raise RuntimeError("artefato do modelo corrompido")
