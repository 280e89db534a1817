"""A decisão em duas etapas, para dividir a carga entre processos sem perder a exatidão das features.

Por que duas: o tópico de transações tem chave no pagador, então um processo com as partições ``A`` vê todos os
Pix dos seus pagadores, mas só uma parte dos Pix que cada recebedor recebe. As features do recebedor feitas com
essa parte seriam outras a cada número de processos. Então:

- **etapa do recebedor**: cada processo lê **todas** as partições, interpreta e deduplica tudo, e calcula as
  features do recebedor só para os recebedores dos seus baldes (``hash(recebedor) % partições``). Publica um
  registro por mensagem dos seus baldes em ``topico_features_recebedor``, na mesma partição de onde o Pix veio;
- **etapa do pagador**: o processo com a partição ``p`` junta os Pix de ``p`` aos registros da etapa do
  recebedor pela coordenada ``(partição, offset)``, calcula as features do pagador, pontua e decide.

Por que o resultado não depende de quantos processos: o estado do pagador só vê a própria partição, em ordem de
offset; o do recebedor vê os Pix na ordem do tempo do evento (``OrdemDoEvento``), que não depende de quando cada
mensagem chegou nem de quem leu. A deduplicação e o contrato são decididos na etapa do recebedor, que todo
processo roda sobre tudo na mesma ordem: todos concordam.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from machine_learning.modelo_em_uso import ModeloEmUso
from machine_learning.nucleo import NucleoDeDecisao, ResultadoDoLote, Triagem
from processamento.features import COLUNAS_ENTRADA, COLUNAS_FEATURES, COLUNAS_RECEBEDOR, MotorDeFeatures, hash_id

_EXTRAS = ["timestamp_kafka", "topico", "particao", "offset"]

# Situação de cada mensagem no registro da etapa do recebedor.
ACEITA, DUPLICATA, REVISAR, SEM_DECISAO = "a", "d", "r", "n"


def baldes(recebedores: pd.Series, particoes: int) -> np.ndarray:
    """O balde de cada recebedor: a partição cuja dona calcula as features dele."""
    return (hash_id(recebedores).view(np.uint64) % np.uint64(particoes)).astype(np.int64)


def processar_em_ordem(
    motor: MotorDeFeatures, linhas: pd.DataFrame, conta: str, marcas: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Features de ``linhas`` como se cada conta visse os seus Pix na ordem em que estão em ``linhas``.

    O motor ordena cada chamada por ``(data_hora, end_to_end_id)``. Para a ordem que as etapas fixaram (offset
    no pagador, a do evento no recebedor) valer mesmo com um Pix atrasado, a chamada é cortada antes de cada Pix
    que venha antes do anterior da mesma ``conta`` nessa ordem: o motor dá o mesmo com qualquer corte de uma
    sequência em ordem, e o resultado deixa de depender de como os lotes foram cortados.
    """
    if len(linhas) < 2:
        return motor.processar_linha_do_tempo(linhas, marcas)
    t = pd.to_datetime(linhas["data_hora"], utc=True).astype("int64").to_numpy()
    e = linhas["end_to_end_id"].to_numpy(object)
    grupos = linhas.groupby(conta, sort=False).cumcount().to_numpy()
    anterior = pd.Series(np.arange(len(linhas))).groupby(linhas[conta].to_numpy()).shift(1).to_numpy()
    tem = grupos > 0
    atras = np.zeros(len(linhas), bool)
    i, j = np.flatnonzero(tem), anterior[tem].astype(np.int64)
    atras[i] = (t[i] < t[j]) | ((t[i] == t[j]) & (e[i] < e[j]))
    cortes = [0, *np.flatnonzero(atras).tolist(), len(linhas)]
    partes = [
        motor.processar_linha_do_tempo(linhas.iloc[a:b], marcas if k == 0 else None)
        for k, (a, b) in enumerate(itertools.pairwise(cortes))
        if b > a
    ]
    return pd.concat(partes, ignore_index=True) if len(partes) > 1 else partes[0]


class OrdemDoEvento:
    """Junta as partições de um tópico numa ordem que não depende de quando cada mensagem chegou.

    A chave de cada mensagem é o maior tempo do evento já visto na partição dela até ali (uma partição em ordem
    de tempo tem chave = o próprio tempo); a ordem é ``(chave, partição, offset)``. Uma mensagem só sai quando toda
    partição ainda aberta já passou da chave dela (a marca d'água): nada que chegue depois pode vir antes. Cada
    saída é uma faixa de chaves ``[marca anterior, marca)``; as empatadas saem juntas.
    """

    def __init__(self, particoes: Iterable[int]) -> None:
        self.filas: dict[int, deque] = {p: deque() for p in particoes}
        self.maximo: dict[int, int] = dict.fromkeys(self.filas, -(2**62))
        self.encerradas: set[int] = set()

    def adicionar(self, particao: int, instantes_ms: np.ndarray, itens: Iterable) -> None:
        """Mensagens de uma partição, em ordem de offset; ``instantes_ms`` negativo = sem tempo legível."""
        fila, maximo = self.filas[particao], self.maximo[particao]
        for instante, item in zip(instantes_ms.tolist(), itens, strict=True):
            maximo = max(maximo, instante)
            fila.append((maximo, item))
        self.maximo[particao] = maximo

    def encerrar(self, particao: int) -> None:
        """A partição não terá mais mensagens (fim conhecido): não segura as outras."""
        self.encerradas.add(particao)

    def marca_dagua(self, piso_ms: int | None = None) -> int:
        """O menor ``maximo`` das partições abertas; ``piso_ms`` (relógio menos o atraso tolerado) a adianta."""
        abertas = [m for p, m in self.maximo.items() if p not in self.encerradas]
        if not abertas:
            return 2**62
        marca = min(abertas)
        return marca if piso_ms is None else max(marca, piso_ms)

    def liberar(self, piso_ms: int | None = None) -> list[tuple[int, int, object]]:
        """``(chave, partição, item)`` de tudo abaixo da marca d'água, na ordem ``(chave, partição, offset)``."""
        marca = self.marca_dagua(piso_ms)
        saida = []
        for particao, fila in self.filas.items():
            while fila and fila[0][0] < marca:
                chave, item = fila.popleft()
                saida.append((chave, particao, item))
        saida.sort(key=lambda x: (x[0], x[1]))  # estável: dentro da partição, a ordem de offset
        return saida

    def pendentes(self) -> dict[int, int]:
        """Quantas mensagens cada partição segura."""
        return {p: len(f) for p, f in self.filas.items()}


@dataclass
class RegistroDoRecebedor:
    """O que a etapa do recebedor diz de uma mensagem: situação, relógio do contrato e features (se aceita)."""

    offset: int
    situacao: str
    agora_ms: int
    features: list | None = None  # COLUNAS_RECEBEDOR, na ordem
    end_to_end_id: str | None = None  # só das inválidas que vão para revisão
    motivos: list[str] | None = None

    def para_json(self) -> bytes:
        d: dict = {"o": self.offset, "s": self.situacao, "a": self.agora_ms}
        if self.features is not None:
            d["f"] = self.features
        if self.end_to_end_id is not None:
            d["e"], d["m"] = self.end_to_end_id, self.motivos
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def de_json(cls, bruto: bytes) -> RegistroDoRecebedor:
        d = json.loads(bruto)
        return cls(int(d["o"]), d["s"], int(d["a"]), d.get("f"), d.get("e"), d.get("m"))


class EtapaDoRecebedor:
    """Contrato, deduplicação e features do recebedor, sobre tudo o que entra, na ordem do tempo do evento."""

    def __init__(self, nucleo: NucleoDeDecisao, particoes: int, meus_baldes: set[int]) -> None:
        self.nucleo = nucleo  # o contrato e a deduplicação são os do núcleo
        self.motor = MotorDeFeatures(nucleo.parametros, papeis=("recebedor",))
        self.particoes = particoes
        self.meus_baldes = meus_baldes

    def componentes(self) -> dict:
        return {"recebedor": self.motor, "dedup": self.nucleo.dedup}

    def processar(
        self, lido: pd.DataFrame, agora_ms: np.ndarray, marcas: pd.DataFrame | None = None
    ) -> dict[int, list[RegistroDoRecebedor]]:
        """Mensagens interpretadas, já na ordem do evento -> registros dos meus baldes, por partição de origem.

        ``agora_ms``: o relógio com que cada mensagem foi interpretada (vai no registro: a etapa do pagador
        interpreta de novo com ele e acha os mesmos campos).
        """
        lido = lido.assign(_agora_ms=agora_ms)
        triagem = self.nucleo.triar(lido, em_ordem=True)
        aceitas = triagem.aceitas[[*COLUNAS_ENTRADA, *_EXTRAS]]
        features = processar_em_ordem(self.motor, aceitas, "recebedor_id_conta", marcas)
        saida: dict[int, list[RegistroDoRecebedor]] = {}
        if len(features):
            balde = baldes(features["recebedor_id_conta"], self.particoes)
            minhas = features[np.isin(balde, list(self.meus_baldes))]
            coordenadas = zip(lido["particao"].tolist(), lido["offset"].tolist(), strict=True)
            agora = dict(zip(coordenadas, agora_ms.tolist(), strict=True))
            valores = minhas[COLUNAS_RECEBEDOR].to_numpy(object).tolist()
            for p, o, f in zip(minhas["particao"].tolist(), minhas["offset"].tolist(), valores, strict=True):
                saida.setdefault(p, []).append(RegistroDoRecebedor(o, ACEITA, agora[p, o], _nativos(f)))
        # O resto fica com o balde da própria partição (a dona dela é quem decide).
        for quadro, situacao in ((triagem.duplicatas, DUPLICATA), (triagem.invalidas, REVISAR)):
            do_meu = quadro[quadro["particao"].isin(self.meus_baldes)]
            for p, o, a, e, m in zip(
                do_meu["particao"].tolist(), do_meu["offset"].tolist(), do_meu["_agora_ms"].tolist(),
                do_meu["end_to_end_id"].tolist(), do_meu["motivos"].tolist(), strict=True,
            ):  # fmt: skip
                revisar = situacao == REVISAR
                saida.setdefault(p, []).append(
                    RegistroDoRecebedor(o, situacao, a, None, e if revisar else None, list(m) if revisar else None)
                )
        classificadas = {*_coordenadas(triagem.aceitas), *_coordenadas(triagem.duplicatas),
                         *_coordenadas(triagem.invalidas)}  # fmt: skip
        resto = lido[lido["particao"].isin(self.meus_baldes)]
        for p, o, a in zip(
            resto["particao"].tolist(), resto["offset"].tolist(), resto["_agora_ms"].tolist(), strict=True
        ):
            if (p, o) not in classificadas:
                saida.setdefault(p, []).append(RegistroDoRecebedor(o, SEM_DECISAO, a))
        return saida


class EtapaDoPagador:
    """Features do pagador, score, limites do BCB e regras: a decisão, com as features do recebedor recebidas."""

    def __init__(self, nucleo: NucleoDeDecisao) -> None:
        self.nucleo = nucleo  # a decisão (modelo, regras, limites) é a do núcleo
        self.motor = MotorDeFeatures(nucleo.parametros, papeis=("pagador",))

    def componentes(self) -> dict:
        return {"pagador": self.motor, "limites": self.nucleo.limites}

    def decidir(
        self,
        mensagens: pd.DataFrame,
        registros: list[RegistroDoRecebedor],
        lote: int,
        modelo: ModeloEmUso | None,
        ao_falhar: Callable[[ModeloEmUso, Exception], ModeloEmUso] | None = None,
    ) -> ResultadoDoLote:
        """Pix de uma ou mais partições (``COLUNAS_MENSAGEM``) e o registro de cada um, na mesma ordem."""
        situacao = np.array([r.situacao for r in registros])
        aceitas = mensagens[situacao == ACEITA]
        # Os campos vêm do mesmo contrato, com o relógio com que a etapa do recebedor aceitou a mensagem.
        agora = np.array([r.agora_ms for r in registros], np.int64)[situacao == ACEITA]
        partes = [
            self.nucleo.interpretar(aceitas[agora == a], a / 1000) for a in sorted(set(agora.tolist()))
        ]  # fmt: skip
        lido = pd.concat(partes, ignore_index=True) if partes else self.nucleo.interpretar(aceitas, 0)
        # Na ordem de offset de cada partição (a do Kafka), como um processo só a veria.
        ordenadas = lido.sort_values(["particao", "offset"], kind="stable")[[*COLUNAS_ENTRADA, *_EXTRAS]]
        features = processar_em_ordem(self.motor, ordenadas, "pagador_id_conta")
        do_recebedor = pd.DataFrame(
            [r.features for r in registros if r.situacao == ACEITA], columns=COLUNAS_RECEBEDOR
        ).astype({c: COLUNAS_FEATURES[c] for c in COLUNAS_RECEBEDOR})
        do_recebedor.index = pd.MultiIndex.from_arrays(
            [aceitas["particao"].to_numpy(np.int64), aceitas["offset"].to_numpy(np.int64)]
        )
        chave = pd.MultiIndex.from_arrays(
            [features["particao"].to_numpy(np.int64), features["offset"].to_numpy(np.int64)]
        )
        features = pd.concat([features, do_recebedor.loc[chave].reset_index(drop=True)], axis=1)
        revisar = situacao == REVISAR
        invalidas = mensagens[revisar][_EXTRAS].assign(
            end_to_end_id=[r.end_to_end_id for r in registros if r.situacao == REVISAR],
            motivos=[r.motivos for r in registros if r.situacao == REVISAR],
        )
        triagem = Triagem(
            lido=mensagens, aceitas=lido, duplicatas=mensagens[situacao == DUPLICATA], invalidas=invalidas,
            sem_decisao=int((situacao == SEM_DECISAO).sum()),
        )  # fmt: skip
        return self.nucleo.decidir_features(features, triagem, lote, modelo, ao_falhar)


def _nativos(valores: list) -> list:
    """Valores do numpy em tipos do JSON, sem perder precisão (o float do Python é o float64)."""
    return [v.item() if hasattr(v, "item") else v for v in valores]


def _coordenadas(quadro: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(quadro["particao"].tolist(), quadro["offset"].tolist(), strict=True))
