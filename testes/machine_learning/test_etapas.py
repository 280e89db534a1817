"""A decisão em etapas sem Kafka: a ordem do evento e "N processos = 1 processo" com chegadas embaralhadas.

O teste com o broker real (``test_decisao_em_etapas.py``) roda os processos de verdade; aqui a chegada de cada
mensagem a cada processo é sorteada (lotes de tamanhos e partições ao acaso), o que o Kafka real só exercita por
acaso, e o resultado tem de ser o mesmo.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from machine_learning.decisao import BLOQUEAR, REVISAR
from machine_learning.etapas import EtapaDoPagador, EtapaDoRecebedor, OrdemDoEvento, RegistroDoRecebedor
from machine_learning.modelo_em_uso import ModeloEmUso
from machine_learning.nucleo import NucleoDeDecisao
from processamento.features import COLUNAS_FEATURES, hash_id
from simulador import Parametros, gerar_tudo
from simulador.parametros import DEFEITOS
from testes.util import CHAVE

PARTICOES = 4


@settings(max_examples=60, deadline=None)
@given(
    tempos=st.lists(st.lists(st.integers(0, 50), max_size=12), min_size=1, max_size=4),
    semente=st.integers(0, 10_000),
)
def test_ordem_do_evento_nao_depende_da_chegada(tempos: list[list[int]], semente: int) -> None:
    """Qualquer intercalação das chegadas e das liberações dá a mesma sequência: ``(chave, partição, offset)``."""
    # Cada partição com o seu "maior tempo até aqui" como chave; fora de ordem dentro da partição é permitido.
    esperado = []
    for p, deste in enumerate(tempos):
        maximo = -1
        for o, t in enumerate(deste):
            maximo = max(maximo, t)
            esperado.append((maximo, p, o))
    esperado.sort()

    sorteio = random.Random(semente)
    ordem = OrdemDoEvento(range(len(tempos)))
    faltam = {p: list(enumerate(deste)) for p, deste in enumerate(tempos)}
    for p in [p for p, f in faltam.items() if not f]:
        ordem.encerrar(p)  # vazia: como o fim conhecido de uma partição sem mensagens
    saida = []
    while any(faltam.values()):
        p = sorteio.choice([p for p, f in faltam.items() if f])
        k = sorteio.randint(1, len(faltam[p]))
        chegam, faltam[p] = faltam[p][:k], faltam[p][k:]
        ordem.adicionar(p, np.array([t for _, t in chegam]), [o for o, _ in chegam])
        if not faltam[p]:
            ordem.encerrar(p)
        saida += [(c, q, o) for c, q, o in ordem.liberar()]
    assert saida == esperado


class _ModeloDeTeste:
    """Um score que depende de todas as features (uma combinação fixa, ao acaso): qualquer feature diferente o muda."""

    def __init__(self) -> None:
        self.limiares = {REVISAR: 0.6, BLOQUEAR: 0.9}
        self.pesos = np.random.default_rng(5).normal(size=len(COLUNAS_FEATURES))

    def pontuar(self, features: pd.DataFrame) -> np.ndarray:
        x = np.ascontiguousarray(np.nan_to_num(features[list(COLUNAS_FEATURES)].to_numpy(np.float64)))
        # Soma linha a linha numa matriz contígua (não ``@``): o produto de matrizes e a soma sobre uma matriz em
        # ordem de coluna arredondam diferente conforme o tamanho do lote.
        return 1 / (1 + np.exp(-(np.tanh(x / (1 + np.abs(x))) * self.pesos).sum(axis=1)))


def _mensagens(defeitos: tuple[str, ...] = DEFEITOS) -> pd.DataFrame:
    """Tráfego simulado com defeitos, nas partições pela chave do pagador (como o produtor do Kafka faria)."""
    parametros = Parametros(semente=9, clientes=500, dias=2.0, taxa_fraude=0.03, taxa_invalidas=0.05, defeitos=defeitos)
    tudo = gerar_tudo(parametros)
    chaves = [c or "" for c in tudo.chaves]
    particao = (hash_id(np.array(chaves, object)).view(np.uint64) % np.uint64(PARTICOES)).astype(np.int32)
    df = pd.DataFrame({"valor_bruto": [t.encode() for t in tudo.transacoes], "topico": "pix.transacoes",
                       "particao": particao})  # fmt: skip
    df["offset"] = df.groupby("particao").cumcount().astype(np.int64)
    df["timestamp_kafka"] = pd.Timestamp("2026-12-01", tz="UTC") + pd.to_timedelta(np.arange(len(df)), unit="ms")
    return df


def _rodar(mensagens: pd.DataFrame, processos: int, semente: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As duas etapas de ``processos`` processos, com chegadas sorteadas; devolve (decisões, features)."""
    sorteio = random.Random(semente)
    modelo = ModeloEmUso("teste", _ModeloDeTeste())
    agora = time.time()
    por_particao = {p: d.sort_values("offset") for p, d in mensagens.groupby("particao")}
    nucleos = [NucleoDeDecisao(CHAVE, 300, 24) for _ in range(processos)]
    recebedores = [EtapaDoRecebedor(n, PARTICOES, {p for p in range(PARTICOES) if p % processos == i})
                   for i, n in enumerate(nucleos)]  # fmt: skip
    pagadores = [EtapaDoPagador(n) for n in nucleos]
    registros: dict[int, list[RegistroDoRecebedor]] = {p: [] for p in range(PARTICOES)}

    # Etapa do recebedor: cada processo lê tudo, em pedaços e intercalações próprias.
    for i, recebedor in enumerate(recebedores):
        ordem = OrdemDoEvento(range(PARTICOES))
        faltam = {p: d for p, d in por_particao.items()}
        pendentes: dict[int, pd.Series] = {}
        while any(len(f) for f in faltam.values()):
            p = sorteio.choice([p for p, f in faltam.items() if len(f)])
            k = sorteio.randint(1, 400)
            chegam, faltam[p] = faltam[p].iloc[:k], faltam[p].iloc[k:]
            lido = nucleos[i].interpretar(chegam, agora)
            ms = pd.to_datetime(lido["data_hora"], utc=True, errors="coerce")
            ms = np.where(ms.notna(), ms.astype("int64") // 1_000_000, -1)
            ordem.adicionar(p, ms, lido["offset"].tolist())
            pendentes.update({(p, o): linha for o, (_, linha) in zip(lido["offset"], lido.iterrows(), strict=True)})
            if not len(faltam[p]):
                ordem.encerrar(p)
            liberadas = ordem.liberar()
            if liberadas:
                lote = pd.DataFrame([pendentes.pop((q, o)) for _, q, o in liberadas]).reset_index(drop=True)
                lote = lote.astype({"particao": np.int32, "offset": np.int64})
                for q, deste in recebedor.processar(lote, np.full(len(lote), int(agora * 1000))).items():
                    registros[q] += deste

    # Etapa do pagador: cada partição com o seu dono, em lotes de tamanhos sorteados.
    decisoes, features = [], []
    for p, deste in por_particao.items():
        dono = pagadores[p % processos]
        do_recebedor = {r.offset: r for r in registros[p]}
        assert sorted(do_recebedor) == deste["offset"].tolist()  # um registro por mensagem, de um só processo
        inicio, lote = 0, 0
        while inicio < len(deste):
            fim = inicio + sorteio.randint(1, 300)
            parte = deste.iloc[inicio:fim]
            resultado = dono.decidir(parte, [do_recebedor[o] for o in parte["offset"]], lote, modelo)
            decisoes.append(resultado.decisoes)
            features.append(resultado.features)
            inicio, lote = fim, lote + 1
    decisoes_df = pd.concat(decisoes).set_index("id_decisao").sort_index()
    features_df = pd.concat(features).set_index(["particao", "offset"]).sort_index()
    return decisoes_df, features_df[list(COLUNAS_FEATURES)]


def test_dois_processos_decidem_e_calculam_o_mesmo_que_um_com_chegadas_quaisquer() -> None:
    """Com todos os defeitos do simulador (duplicatas, inválidas, Pix atrasados): 1, 2 e 3 processos, iguais."""
    mensagens = _mensagens()
    assert "atrasada" in DEFEITOS
    um_d, um_f = _rodar(mensagens, 1, semente=1)
    dois_d, dois_f = _rodar(mensagens, 2, semente=2)
    tres_d, tres_f = _rodar(mensagens, 3, semente=3)
    assert len(um_d) > 0.9 * len(mensagens) and um_d["decisao"].nunique() > 1
    for d, f in ((dois_d, dois_f), (tres_d, tres_f)):
        pd.testing.assert_frame_equal(f, um_f, check_exact=True)
        assert d.index.equals(um_d.index)
        for coluna in ("end_to_end_id", "decisao", "versao_modelo"):
            assert (d[coluna] == um_d[coluna]).all(), coluna
        assert (d["score"].fillna(-1) == um_d["score"].fillna(-1)).all()
        assert (d["motivos"].map(tuple) == um_d["motivos"].map(tuple)).all()


def test_sem_atrasados_as_etapas_calculam_o_que_o_nucleo_calcula_com_o_trafego_inteiro_num_lote() -> None:
    """Com cada partição em ordem de tempo, a ordem do evento das etapas é a ordem do treino: o núcleo de um
    processo com tudo num lote (ordenado por tempo) dá as mesmas features. Um Pix atrasado é o que as separa: o
    treino o põe no seu instante, a decisão o vê quando chega."""
    mensagens = _mensagens(tuple(d for d in DEFEITOS if d != "atrasada"))
    um_d, um_f = _rodar(mensagens, 2, semente=4)
    nucleo = NucleoDeDecisao(CHAVE, 300, 24)
    inteiro = nucleo.decidir(mensagens, 0, time.time(), modelo=ModeloEmUso("teste", _ModeloDeTeste()))
    referencia = inteiro.features.set_index(["particao", "offset"]).sort_index()[list(COLUNAS_FEATURES)]
    pd.testing.assert_frame_equal(um_f, referencia, check_index_type=False, check_exact=True)
    decisoes = inteiro.decisoes.set_index("id_decisao").sort_index()
    assert um_d.index.equals(decisoes.index)
    assert (um_d["decisao"] == decisoes["decisao"]).all()
    assert (um_d["score"].fillna(-1) == decisoes["score"].fillna(-1)).all()
