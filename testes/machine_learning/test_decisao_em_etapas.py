"""Decisão em etapas com o broker real: 2 processos de verdade num tópico de 4 partições = 1 processo.

Os dois processos são o notebook do modelo (``modo=pontuar``) rodando como dois jobs, cada um com o seu
``processo_decisao``; um deles leva SIGKILL com a transação de um lote aberta e é reiniciado. A referência é um
processo só sobre o mesmo tópico de transações, noutra implantação. As decisões que um consumidor
``read_committed`` vê (cada uma uma vez) e as features do recebedor publicadas têm de ser as mesmas.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from machine_learning.nucleo import ErroDeRecuperacao, ler_decisoes_kafka
from machine_learning.tempo_real_etapas import DecisorEmEtapas
from plataforma.config import Configuracao
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.kafka_opcoes import opcoes_cliente_kafka
from plataforma.mlflow_local import configurar_mlflow
from simulador import Parametros, gerar_tudo, produzir_mensagens
from testes.processos import executar_em_processo
from testes.util import CHAVE, cfg_isolada, conferir_decisoes_iguais

pytestmark = pytest.mark.integracao

PARTICOES = 4


def _registros_do_recebedor(cfg: Configuracao) -> pd.DataFrame:
    """Cada registro publicado pela etapa do recebedor (transações confirmadas), por partição e offset do Pix."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    topico = cfg.topico_features_recebedor
    consumidor = Consumer(
        {**opcoes_cliente_kafka(cfg), "group.id": f"leitura-{os.getpid()}-{time.time_ns()}",
         "isolation.level": "read_committed", "enable.partition.eof": "true", "enable.auto.commit": "false"}
    )  # fmt: skip
    linhas, no_fim = [], set()
    try:
        consumidor.assign([TopicPartition(topico, p, 0) for p in range(PARTICOES)])
        limite = time.monotonic() + 60
        while len(no_fim) < PARTICOES and time.monotonic() < limite:
            for m in consumidor.consume(10_000, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        no_fim.add(m.partition())
                    continue
                registro = json.loads(m.value())
                linhas.append({"particao": m.partition(), "offset": registro["o"], "situacao": registro["s"],
                               "features": json.dumps(registro.get("f"))})  # fmt: skip
    finally:
        consumidor.close()
    return pd.DataFrame(linhas).set_index(["particao", "offset"]).sort_index()


def test_dois_processos_num_topico_de_quatro_particoes_decidem_como_um_mesmo_com_uma_queda(
    cfg_teste: Configuracao, broker_kafka: BrokerKafkaLocal, tmp_path: Path
) -> None:
    cfg = cfg_isolada(cfg_teste, broker_kafka, "etapas", particoes=PARTICOES).com(
        estado_inicial_decisao="vazio", max_mensagens_lote_decisao=50, processos_decisao=2,
        intervalo_snapshot_decisao_s=1,
    )  # fmt: skip
    tudo = gerar_tudo(Parametros(semente=17, clientes=400, dias=2.0, taxa_fraude=0.03, taxa_invalidas=0.05))
    enviadas = produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)

    # Dois jobs, cada um com o seu número; os dois leem tudo e decidem a metade das partições.
    log = tmp_path / "etapas.log"
    campos = ("max_mensagens_lote_decisao", "estado_inicial_decisao", "processos_decisao", "processo_decisao",
              "pushgateway_url", "intervalo_snapshot_decisao_s")  # fmt: skip
    argumentos = ["modelo", "--modo", "pontuar", "--disponivel"]
    configurar_mlflow(cfg)
    mlflow.MlflowClient().search_registered_models()  # o registro já existe: os dois não o criam ao mesmo tempo

    def processo(i: int, extras: dict[str, str] | None = None) -> subprocess.Popen:
        return executar_em_processo(cfg.com(processo_decisao=i, pushgateway_url=""), log, argumentos, campos, CHAVE,
                                    extras)  # fmt: skip

    # O processo 1 morre com a transação do seu 3º lote do pagador aberta (decisões já no broker, sem commit).
    zero, um_que_cai = processo(0), processo(1, {"DETECTOR_PIX_PONTO_DE_FALHA": "etapas_antes_do_commit:2"})
    assert um_que_cai.wait(400) == -signal.SIGKILL, log.read_text(errors="replace")[-4000:]
    # Reiniciado, reconstrói o estado (snapshot + lotes registrados) e termina; o processo 0 esperava por ele.
    de_volta = processo(1)
    for p in (zero, de_volta):
        assert p.wait(400) == 0, log.read_text(errors="replace")[-4000:]
    assert "lotes refeitos" in log.read_text(errors="replace")

    # Referência: um processo só, noutra implantação, sobre o mesmo tópico de transações.
    um = cfg.com(
        dados_dir=f"{cfg.dados_dir}-um", topico_decisoes=f"{cfg.topico_decisoes}.um",
        topico_features_recebedor=f"{cfg.topico_features_recebedor}.um", processos_decisao=1, processo_decisao=0,
        max_mensagens_lote_decisao=1_000,  # outros cortes de lote: a ordem não pode depender deles
    )  # fmt: skip
    broker_kafka.criar_topicos((um.topico_decisoes,), 1)
    referencia = DecisorEmEtapas(um, CHAVE)
    referencia.iniciar()
    referencia.executar(disponivel=True)
    referencia.encerrar()

    dois_d = conferir_decisoes_iguais(cfg, um, enviadas)
    assert set(dois_d.index.str.split("/").str[1]) == {str(p) for p in range(PARTICOES)}

    # As features do recebedor: um registro por mensagem, o mesmo com 2 processos e com 1.
    dois_r, um_r = _registros_do_recebedor(cfg), _registros_do_recebedor(um)
    assert dois_r.index.is_unique and len(dois_r) == enviadas
    pd.testing.assert_frame_equal(dois_r, um_r)

    # Uma partida depois do fim retoma do snapshot do encerramento e não decide nada de novo.
    de_novo = DecisorEmEtapas(cfg.com(processo_decisao=1), CHAVE)
    de_novo.iniciar()
    de_novo.executar(disponivel=True)
    de_novo.encerrar()
    assert len(ler_decisoes_kafka(cfg)) == len(dois_d)

    # Sem snapshot, o estado sai só dos lotes registrados; sem eles (outro tópico de lotes), a partida para e diz o que
    # fazer, em vez de decidir com estado errado.
    for arquivo in Path(de_novo.armazem.pasta).glob("*"):
        arquivo.unlink()
    so_do_log = DecisorEmEtapas(cfg.com(processo_decisao=1), CHAVE)
    so_do_log.iniciar()
    assert so_do_log.lotes_refeitos > 0
    so_do_log.encerrar()
    for arquivo in Path(de_novo.armazem.pasta).glob("*"):
        arquivo.unlink()
    sem_estado = DecisorEmEtapas(
        cfg.com(processo_decisao=1, topico_lotes_decisao=f"{cfg.topico_lotes_decisao}.outro"), CHAVE
    )
    with pytest.raises(ErroDeRecuperacao, match=r"uso_operacional\.md"):
        sem_estado.iniciar()
    sem_estado.encerrar()
