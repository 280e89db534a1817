"""O motor: avança o relógio simulado em lotes e devolve mensagens prontas (JSON), MED e gabarito.

Cada lote cobre uma fatia de tempo dentro de uma mesma hora local: o tráfego legítimo é sorteado de
uma vez (numpy), as fraudes entram como eventos, o que passa do fim da fatia espera o próximo lote, e
as contestações MED esperam a sua hora numa fila. Tudo sai de um único gerador com semente: a mesma
semente dá os mesmos bytes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from simulador import identificadores as ids
from simulador.colunas import (
    APDN,
    API,
    AUTO,
    CADASTRADO,
    CANAIS,
    DICT,
    FINALIDADES,
    FORMAS,
    INIC,
    NAO_CADASTRADO,
    QRDN,
    QRES,
    SEM_DISPOSITIVO,
    Acumulador,
    Colunas,
)
from simulador.defeitos import Defeito, FilaDeAtrasadas, injetar_defeitos
from simulador.nomes import INFO_PAGADOR
from simulador.parametros import ABUSO_MED, LEGITIMA, TIPOLOGIAS, Parametros
from simulador.populacao import Populacao
from simulador.tipologias import CODIGO, PESO_HORA, Golpes, tamanho_medio

HORA = 3_600_000
DIA = 24 * HORA
FUSO_MS = -3 * HORA  # Brasília (sem horário de verão desde 2019): hora local = UTC - 3 h

# Curva do dia (hora local): picos no almoço e no início da noite, madrugada quieta.
CURVA_HORA = np.array(
    [0.25, 0.15, 0.10, 0.08, 0.10, 0.25, 0.50, 0.80, 1.10, 1.30, 1.40, 1.50,
     1.70, 1.50, 1.30, 1.30, 1.30, 1.40, 1.60, 1.80, 1.70, 1.40, 1.00, 0.60]
)  # fmt: skip
CURVA_HORA = CURVA_HORA / CURVA_HORA.mean()
FATOR_SEMANA = np.array([1.0, 1.0, 1.0, 1.02, 1.08, 0.95, 0.8])  # segunda..domingo
P_SESSAO, EXTRAS_SESSAO = 0.12, 1.5  # chance de um Pix puxar 1-2 outros em minutos (racha, contas)
FATOR_SESSAO = 1 + P_SESSAO * EXTRAS_SESSAO
CONTAS_NOVAS_POR_FRAUDE = 0.28  # ver Motor._dormentes_iniciais

# Destinos de um Pix de pessoa física e de empresa
CONTATO, NOVO, COMERCIO, AUTONOMO_QR, CONTA_PJ, FORNECEDOR, FOLHA = range(7)
_DESTINO_PF = np.cumsum([0.56, 0.07, 0.30, 0.03, 0.04])
# Forma de iniciação por destino (colunas: MANU DICT QRES QRDN INIC APDN AUTO)
_FORMA_POR_DESTINO = np.cumsum(
    np.array(
        [
            [0.14, 0.82, 0.00, 0.00, 0.04, 0.00, 0.00],
            [0.14, 0.82, 0.00, 0.00, 0.04, 0.00, 0.00],
            [0.00, 0.00, 0.40, 0.45, 0.05, 0.10, 0.00],
            [0.00, 0.40, 0.60, 0.00, 0.00, 0.00, 0.00],
            [0.15, 0.40, 0.00, 0.10, 0.00, 0.00, 0.35],
            [0.50, 0.40, 0.00, 0.00, 0.10, 0.00, 0.00],
            [0.70, 0.30, 0.00, 0.00, 0.00, 0.00, 0.00],
        ]
    ),
    axis=1,
)
_MED_TIPOS = ("SCAM", "ACCOUNT_TAKEOVER", "COERCION", "FRAUDULENT_ACCESS", "OTHER")
# Tipo de contestação MED por tipologia (probabilidades sobre _MED_TIPOS); índice 0 = abuso do MED.
_MED_POR_TIPOLOGIA = np.cumsum(
    np.array(
        [
            [0.60, 0.00, 0.00, 0.15, 0.25],  # abuso_med
            [1.00, 0.00, 0.00, 0.00, 0.00],  # falso_parente
            [0.80, 0.00, 0.00, 0.20, 0.00],  # falsa_central
            [0.00, 0.00, 1.00, 0.00, 0.00],  # sequestro_relampago
            [0.00, 0.70, 0.00, 0.30, 0.00],  # account_takeover
            [1.00, 0.00, 0.00, 0.00, 0.00],  # conta_laranja
            [0.85, 0.00, 0.00, 0.00, 0.15],  # falso_qrcode
            [0.90, 0.00, 0.00, 0.00, 0.10],  # valor_alto
            [0.85, 0.00, 0.00, 0.00, 0.15],  # recebedor_comprometido
            [0.00, 0.50, 0.00, 0.50, 0.00],  # pagador_comprometido
            [0.20, 0.20, 0.00, 0.60, 0.00],  # mao_fantasma
        ]
    ),
    axis=1,
)
NOMES_TIPOLOGIA = (LEGITIMA, *TIPOLOGIAS)


def ms_de(data: datetime) -> int:
    return round(data.timestamp() * 1000)


def _arredondar(reais: np.ndarray, r: np.ndarray, destino: np.ndarray, p2p: np.ndarray) -> np.ndarray:
    """Valores redondos como as pessoas digitam: reais inteiros, dezenas e centenas no P2P; folha em reais inteiros.

    ``r`` é um sorteio uniforme por transação: a faixa em que cai escolhe o arredondamento.
    """
    reais = np.where(p2p & (r < 0.35), np.maximum(np.round(reais), 1.0), reais)
    # Centenas redondas também no legítimo (R$ 100, 300, 1.500): sem isso, "valor redondo" vira quase um
    # marcador de falso parente, o que superestima o sinal (docs/simulador.md).
    centena = p2p & (r >= 0.35) & (r < 0.43) & (reais >= 100)
    reais = np.where(centena, np.round(reais, -2), reais)
    reais = np.where(p2p & ~centena & (r >= 0.35) & (r < 0.5) & (reais >= 50), np.round(reais, -1), reais)
    return np.where(destino == FOLHA, np.round(reais), reais)


@dataclass
class Lote:
    """Um pedaço do fluxo, já serializado, na ordem de envio."""

    inicio_ms: int
    fim_ms: int
    transacoes: list[str]  # uma linha JSON por mensagem de pix.transacoes
    chaves: list[str]  # chave Kafka de cada mensagem (conta do pagador)
    tempos_ms: list[int]  # instante do evento de cada mensagem (para o ritmo ao vivo)
    med: list[str]  # notificações MED que chegam nesta fatia de tempo
    chaves_med: list[str]  # chave Kafka de cada notificação (end_to_end_id)
    gabarito: list[str]  # linhas 'end_to_end_id,fraude,tipologia' das transações geradas nesta fatia
    defeitos: list[Defeito]  # mensagens defeituosas/duplicadas/atrasadas: posição, tipo, motivo esperado
    fraudes: int = 0
    por_tipologia: Counter = field(default_factory=Counter)
    med_por_tipo: Counter = field(default_factory=Counter)


class Motor:
    """Gera o fluxo em lotes; ``lotes()`` é um iterador que termina no fim do período simulado."""

    def __init__(self, p: Parametros):
        self.p = p
        self.rng = np.random.default_rng(p.semente)
        self.inicio_ms = ms_de(p.inicio)
        self.fim_ms = self.inicio_ms + int(p.dias * DIA)
        self.pop = Populacao(self.rng, p.clientes, p.pix_por_cliente_dia, self.fim_ms - self.inicio_ms)
        self.pop.entrada_ms = np.where(self.pop.entrada_ms > 0, self.pop.entrada_ms + self.inicio_ms, 0)
        self.golpes = Golpes(
            self.rng, self.pop, p.fracao_laranja_alugada, p.fracao_laranja_dormente, self._dormentes_iniciais(), p.dias,
            parametros=p,
        )  # fmt: skip
        self.tamanho_medio = tamanho_medio(p) | {"recebedor_comprometido": self._tamanho_recebedor_comprometido()}
        soma = sum(p.mistura.values())
        self.mistura = {nome: p.mistura.get(nome, 0.0) / soma for nome in TIPOLOGIAS}
        self.pendentes = Colunas.vazia()
        self.fila_med: list[tuple[int, int, str, str, str]] = []  # (instante, seq, linha, chave, tipo)
        self.atrasadas = FilaDeAtrasadas()
        self._seq = 0
        self._ativos_ate = -1
        self._cdf = np.zeros(0)
        self._fator_dia: dict[int, float] = {}

    def _dormentes_iniciais(self) -> int:
        """Quantas laranjas dormentes já estavam abertas antes do início: a demanda esperada durante uma
        dormência máxima (CONTAS_NOVAS_POR_FRAUDE: contas de golpe abertas por transação fraudulenta, medida
        na simulação padrão com todas as laranjas novas). Sobrar não faz mal (ficam quietas); faltar faz o
        golpe abrir uma conta nova, contado em ``golpes.origens``; por isso a margem de 50% sobre a média
        (a demanda vem em rajadas)."""
        p = self.p
        fraudes_dia = p.clientes * p.pix_por_cliente_dia * FATOR_SESSAO * p.taxa_fraude / (1 - p.taxa_fraude)
        dias = min(p.dias, Golpes.DORMENCIA_DIAS[1])
        return int(np.ceil(1.5 * fraudes_dia * dias * CONTAS_NOVAS_POR_FRAUDE * p.fracao_laranja_dormente))

    def _tamanho_recebedor_comprometido(self) -> float:
        """Pix esperados por comerciante comprometido: o que os clientes lhe pagam na janela (sem sorteio).

        A janela efetiva é cortada pelo fim do período e pelo histórico mínimo exigido do comerciante."""
        p, pop = self.p, self.pop
        fracao_comercio = _DESTINO_PF[COMERCIO] - _DESTINO_PF[NOVO]
        peso = pop.peso_comerciante
        media = peso[peso <= np.quantile(peso, 0.9)].mean()  # os 10% mais populares ficam de fora (Golpes)
        dias = min(p.recebedor_comprometido_semanas * 7, max(p.dias - p.recebedor_comprometido_historico_dias, 1) / 2)
        return max(float(pop.taxa_dia[~pop.e_pj].sum() * fracao_comercio * media * dias), 1.0)

    # Intensidade ----------------------------------------------------------------------------------
    def _rajada(self, t: int) -> float:
        fator = 1.0
        for inicio_s, duracao_s, multiplo in self.p.rajadas:
            comeco = self.inicio_ms + int(inicio_s * 1000)
            if comeco <= t < comeco + int(duracao_s * 1000):
                fator *= multiplo
        return fator

    def _fator(self, t: int, com_hora: bool = True) -> float:
        if self.p.rajadas:
            return self._fator_base(t, com_hora) * self._rajada(t)
        return self._fator_base(t, com_hora)

    def _fator_base(self, t: int, com_hora: bool = True) -> float:
        if not self.p.perfil_horario:
            return 1.0
        local = t + FUSO_MS
        dia = local // DIA
        fator = self._fator_dia.get(dia)
        if fator is None:
            data = datetime.fromtimestamp(dia * 86_400, tz=UTC).date()
            fator = FATOR_SEMANA[data.weekday()]
            uteis = [d for d in range(1, data.day + 1) if datetime(data.year, data.month, d).weekday() < 5]
            if data.weekday() < 5 and len(uteis) == 5:  # quinto dia útil: salário
                fator *= 1.4
            if data.month == 11 and data.weekday() == 4 and 22 <= data.day <= 28:  # Black Friday
                fator *= 1.3
            self._fator_dia[dia] = fator
        return float(fator * CURVA_HORA[(local // HORA) % 24]) if com_hora else float(fator)

    def _atualizar_ativos(self, t: int) -> None:
        """Pesos de quem paga; recalculados a cada hora simulada (clientes novos entram)."""
        hora = t // HORA
        if hora == self._ativos_ate:
            return
        self._ativos_ate = hora
        taxa = np.where(self.pop.entrada_ms <= t, self.pop.taxa_dia, 0.0)
        self._cdf = np.cumsum(taxa)

    def _taxa_por_ms(self, t: int) -> float:
        return self._cdf[-1] / DIA / FATOR_SESSAO * self._fator(t)

    # Tráfego legítimo -----------------------------------------------------------------------------
    # Cada etapa sorteia do mesmo gerador, na ordem de ``_legitimas``: trocar a ordem muda os bytes de uma semente.
    def _legitimas(self, t0: int, t1: int, esperado: float, aquecer: bool = False) -> Colunas:
        """O tráfego legítimo da fatia: quem paga e quando, a quem, como, quanto, por onde e com que dados."""
        pag, t = self._pagadores_e_instantes(t0, t1, esperado, aquecer)
        e_pj = self.pop.e_pj[pag]
        destino, rec = self._recebedores(pag, t, e_pj)
        forma = self._formas(destino)
        p2p = destino <= NOVO
        cent = self._valores(pag, rec, destino, p2p)
        canal, disp, disp_id = self._canal_e_dispositivo(e_pj)
        cent = np.where(disp == NAO_CADASTRADO, np.minimum(cent, 20_000), cent)
        chave, txid, info, fin = self._dados_do_pix(forma, destino, p2p)
        n = len(t)
        return Colunas(
            t=t, pag=pag.astype(np.int64), rec=rec, cent=cent, forma=forma, fin=fin, canal=canal,
            disp=disp, disp_id=disp_id, chave=chave, txid=txid, info=info, tip=np.zeros(n, dtype=np.int8),
            vitima=np.zeros(n, dtype=np.bool_),
        )  # fmt: skip

    def _sortear_pagadores(self, n: int) -> np.ndarray:
        """Quem paga, pelo peso de cada cliente ativo (``_atualizar_ativos``)."""
        pag = np.searchsorted(self._cdf, self.rng.random(n) * self._cdf[-1], side="right")
        return np.minimum(pag, self.pop.clientes - 1)

    def _pagadores_e_instantes(self, t0: int, t1: int, esperado: float, aquecer: bool) -> tuple[np.ndarray, np.ndarray]:
        """Os Pix que começam na fatia e as continuações de sessão que eles puxam."""
        rng = self.rng
        n = int(rng.poisson(esperado))
        pag = self._sortear_pagadores(n)
        t = t0 + rng.integers(0, t1 - t0, n)
        pag, t = self._sessoes(pag, t)
        if aquecer:
            em_voo, t_em_voo = self._continuacoes_em_voo(t0, t1, esperado)
            pag, t = np.concatenate([pag, em_voo]), np.concatenate([t, t_em_voo])
        return pag, t

    def _sessoes(self, pag: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sessões: alguns Pix puxam 1 ou 2 outros do mesmo pagador em minutos (racha, contas)."""
        rng = self.rng
        sessao = np.flatnonzero(rng.random(len(t)) < P_SESSAO)
        extra1 = t[sessao] + (rng.exponential(240, len(sessao)) * 1000).astype(np.int64) + 10_000
        dois = sessao[rng.random(len(sessao)) < 0.5]
        extra2 = t[dois] + (rng.exponential(480, len(dois)) * 1000).astype(np.int64) + 20_000
        return np.concatenate([pag, pag[sessao], pag[dois]]), np.concatenate([t, extra1, extra2])

    def _continuacoes_em_voo(self, t0: int, t1: int, esperado: float) -> tuple[np.ndarray, np.ndarray]:
        """Início estacionário: as continuações de sessões "começadas antes do início" já estão a caminho
        (atraso exponencial sem memória), senão os primeiros minutos teriam 15% a menos."""
        rng = self.rng
        base_por_ms = esperado / (t1 - t0)
        n1 = int(rng.poisson(base_por_ms * P_SESSAO * 250_000))
        n2 = int(rng.poisson(base_por_ms * P_SESSAO * 0.5 * 500_000))
        em_voo = self._sortear_pagadores(n1 + n2)
        atrasos = np.concatenate([rng.exponential(250, n1), rng.exponential(500, n2)]) * 1000
        return em_voo, t0 + atrasos.astype(np.int64)

    def _recebedores(self, pag: np.ndarray, t: np.ndarray, e_pj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """O destino de cada Pix e o recebedor dentro dele.

        Pessoa física paga contatos (hábito: poucos, com pesos), gente nova, comércio, autônomos por QR e
        contas de empresa; empresa paga fornecedores e folha.
        """
        rng, pop = self.rng, self.pop
        u = rng.random(len(t))
        destino = np.where(e_pj, np.where(u < 0.6, FORNECEDOR, FOLHA), np.searchsorted(_DESTINO_PF, u, side="right"))
        destino = np.minimum(destino, FOLHA)
        rec = np.empty(len(t), dtype=np.int64)
        m = destino == CONTATO
        rec[m] = pop.contatos[pag[m], rng.choice(pop.contatos.shape[1], int(m.sum()), p=pop.peso_contato)]
        m = destino == NOVO
        rec[m] = rng.integers(0, pop.clientes, int(m.sum()))
        m = destino == COMERCIO
        rec[m] = pop.comerciantes[rng.choice(len(pop.comerciantes), int(m.sum()), p=pop.peso_comerciante)]
        m = destino == AUTONOMO_QR
        rec[m] = pop.autonomos[rng.choice(len(pop.autonomos), int(m.sum()), p=pop.peso_autonomo)]
        m = destino == CONTA_PJ
        rec[m] = pop.empresas[rng.integers(0, len(pop.empresas), int(m.sum()))]
        m = destino == FORNECEDOR
        rec[m] = pop.pj_idx[rng.integers(0, len(pop.pj_idx), int(m.sum()))]
        m = destino == FOLHA
        rec[m] = pop.pf_idx[rng.integers(0, len(pop.pf_idx), int(m.sum()))]
        return destino, self._recebedores_validos(rec, pag, t)

    def _recebedores_validos(self, rec: np.ndarray, pag: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Recebedor que ainda não chegou ou é o próprio pagador: outro contato qualquer (e, no fim, um comércio)."""
        rng, pop = self.rng, self.pop
        for _ in range(3):
            ruim = (pop.entrada_ms[rec] > t) | (rec == pag)
            if not ruim.any():
                break
            rec[ruim] = pop.pf_idx[rng.integers(0, len(pop.pf_idx), int(ruim.sum()))]
        return np.where((pop.entrada_ms[rec] > t) | (rec == pag), pop.comerciantes[0], rec)

    def _formas(self, destino: np.ndarray) -> np.ndarray:
        """Forma de iniciação pela distribuição do destino (chave para contatos, QR no comércio, ...)."""
        forma = (self.rng.random(len(destino))[:, None] > _FORMA_POR_DESTINO[destino]).sum(axis=1).astype(np.int8)
        return np.minimum(forma, AUTO)

    def _valores(self, pag: np.ndarray, rec: np.ndarray, destino: np.ndarray, p2p: np.ndarray) -> np.ndarray:
        """Valores em centavos: cauda pesada; P2P tem uma fração de valores grandes (aluguel, empréstimo em família)."""
        rng, pop = self.rng, self.pop
        n = len(destino)
        grande = p2p & (rng.random(n) < 0.03)
        mu = np.select(
            [grande, p2p, destino == COMERCIO, destino == AUTONOMO_QR, destino == CONTA_PJ, destino == FORNECEDOR],
            [np.log(1500.0), pop.mu_valor[pag], pop.mu_comerciante[rec], np.log(30.0), np.log(150.0), np.log(900.0)],
            np.log(2200.0),
        )
        sigma = np.select([grande, p2p, destino == FORNECEDOR, destino == FOLHA], [0.9, 1.0, 1.2, 0.5], 0.85)
        reais = _arredondar(np.exp(rng.normal(mu, sigma)), rng.random(n), destino, p2p)
        return np.maximum(np.round(reais * 100), 1).astype(np.int64)

    def _canal_e_dispositivo(self, e_pj: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Canal (empresa usa API; pessoa física, o app) e dispositivo: poucos Pix de aparelho não cadastrado."""
        rng = self.rng
        n = len(e_pj)
        u = rng.random(n)
        canal = np.where(
            e_pj,
            np.where(u < 0.5, API, np.where(u < 0.9, 1, 0)),
            np.where(u < 0.87, 0, np.where(u < 0.97, 1, 3)),
        ).astype(np.int8)
        disp = np.where(canal == API, SEM_DISPOSITIVO, np.where(rng.random(n) < 0.012, NAO_CADASTRADO, CADASTRADO))
        disp_id = rng.integers(0, 2**63, n).astype(np.uint64)
        return canal, disp.astype(np.int8), disp_id

    def _dados_do_pix(
        self, forma: np.ndarray, destino: np.ndarray, p2p: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """O que a forma de iniciação traz: chave, txid do QR, mensagem ao recebedor e finalidade (troco, saque)."""
        rng = self.rng
        n = len(forma)
        u = rng.random(n)
        chave = (forma == DICT) | (forma == QRES) | (forma == QRDN) | (forma == APDN) | ((forma == INIC) & (u < 0.7))
        v = rng.random(n)
        txid = np.select(
            [(forma == QRDN) | (forma == APDN), ((forma == QRES) & (v < 0.5)) | ((forma == INIC) & (v < 0.4))],
            [rng.integers(26, 36, n), rng.integers(1, 26, n)],
            0,
        ).astype(np.int8)
        info = np.where(rng.random(n) < np.where(p2p, 0.06, 0.01), rng.integers(0, len(INFO_PAGADOR), n), -1).astype(
            np.int16
        )
        w = rng.random(n)
        fin = np.where((forma == QRDN) & (destino == COMERCIO), np.where(w < 0.005, 1, np.where(w < 0.01, 2, 0)), 0)
        return chave, txid, info, fin.astype(np.int8)

    # Fraudes ----------------------------------------------------------------------------------------
    def _fraudes(self, t0: int, t1: int) -> Colunas:
        """Eventos de fraude da fatia. A taxa segue o volume do dia, não a curva horária: cada tipologia
        tem a sua própria distribuição de horas (PESO_HORA), e a média delas é a taxa configurada."""
        taxa = self.p.taxa_fraude
        if taxa <= 0:
            return Colunas.vazia()
        rng = self.rng
        legitimas_no_dia = self._cdf[-1] / DIA * self._fator(t0, com_hora=False) * (t1 - t0)
        fraudes_esperadas = legitimas_no_dia * taxa / (1 - taxa)
        hora = ((t0 + FUSO_MS) // HORA) % 24
        acc = Acumulador()
        # Com perfil horário, cada tipologia segue as suas horas e a mistura vale na média do dia. Sem
        # ele (ao vivo, ritmo constante), a taxa configurada vale em qualquer hora: as tipologias
        # possíveis naquela hora dividem o total.
        ajuste = 1.0
        if not self.p.perfil_horario:
            ajuste = 1.0 / max(sum(self.mistura[n] * PESO_HORA[n][hora] for n in TIPOLOGIAS), 1e-9)
        for nome in TIPOLOGIAS:
            parte = self.mistura[nome]
            if parte <= 0:
                continue
            intensidade = fraudes_esperadas * parte * PESO_HORA[nome][hora] * ajuste
            eventos = int(rng.poisson(intensidade / self.tamanho_medio[nome]))
            for inicio in np.sort(rng.integers(t0, t1, eventos)).tolist():
                self.golpes.gerar(nome, inicio, acc)
        return acc.colunas()

    def _rotular_comprometidos(self, c: Colunas, t0: int) -> None:
        """Todo Pix legítimo a um comerciante comprometido, dentro da janela, vira fraude contestável (sem sorteio:
        a mistura original continua com os mesmos bytes)."""
        golpes = self.golpes
        golpes.comprometidos = [x for x in golpes.comprometidos if x[2] > t0]
        cod = CODIGO["recebedor_comprometido"]
        for conta, inicio, fim in golpes.comprometidos:
            m = (c.rec == conta) & (c.t >= inicio) & (c.t < fim) & (c.tip == 0)
            c.tip[m] = cod
            c.vitima[m] = True

    # Serialização -----------------------------------------------------------------------------------
    def _serializar(self, c: Colunas) -> tuple[list[str], list[str], list[str]]:
        """Colunas -> (linhas JSON, end_to_end_ids, chaves Kafka). Concatenação de fragmentos prontos."""
        rng, pop = self.rng, self.pop
        n = len(c)
        data_hora, minutos = ids.formatar_data_hora(c.t)
        end_to_end_ids = ids.gerar_end_to_end_ids(rng, pop.ispb[c.pag], minutos)
        pag, rec = c.pag.tolist(), c.rec.tolist()
        frag, frag_chave, frag_disp, id_conta = pop.frag, pop.frag_chave, pop.frag_disp, pop.id_conta
        cent = c.cent.tolist()
        valores = [f"{v // 100}.{v % 100:02d}" for v in cent]
        formas = [FORMAS[f] for f in c.forma.tolist()]
        fins = [FINALIDADES[f] for f in c.fin.tolist()]
        canais = [CANAIS[x] for x in c.canal.tolist()]
        chaves = [frag_chave[r] if k else "" for r, k in zip(rec, c.chave.tolist(), strict=True)]
        dispositivos = [
            frag_disp[p] if d == CADASTRADO else (f',"dispositivo":{{"id":"{i:016x}","cadastrado":false}}' if d else "")
            for p, d, i in zip(pag, c.disp.tolist(), c.disp_id.tolist(), strict=True)
        ]
        extras = [""] * n
        com_txid = np.flatnonzero(c.txid > 0)
        if len(com_txid):
            brutos = ids.textos_aleatorios(rng, len(com_txid), 35)
            for i, bruto, tam in zip(com_txid.tolist(), brutos, c.txid[com_txid].tolist(), strict=True):
                extras[i] = f',"txid":"{bruto[:tam]}"'
        for i in np.flatnonzero(c.info >= 0).tolist():
            extras[i] += f',"info_pagador":"{INFO_PAGADOR[c.info[i]]}"'
        linhas = [
            f'{{"end_to_end_id":"{e}","data_hora":"{d}","valor":{v},"forma_iniciacao":"{f}","finalidade":"{fi}",'
            f'"pagador":{frag[p]},"recebedor":{frag[r]}{k},"canal":"{ca}"{di}{x}}}'
            for e, d, v, f, fi, p, r, k, ca, di, x in zip(
                end_to_end_ids,
                data_hora,
                valores,
                formas,
                fins,
                pag,
                rec,
                chaves,
                canais,
                dispositivos,
                extras,
                strict=True,
            )
        ]
        return linhas, end_to_end_ids, [id_conta[p] for p in pag]

    # MED ---------------------------------------------------------------------------------------------
    def _contestacoes(self, c: Colunas, end_to_end_ids: list[str], abuso: np.ndarray) -> None:
        """Agenda as notificações MED: parte das fraudes (pela vítima) e contestações falsas (abuso)."""
        p, rng = self.p, self.rng
        fraude = (c.tip > 0) & c.vitima & (rng.random(len(c)) < p.fracao_med)
        idx = np.flatnonzero(fraude | abuso)
        if not len(idx):
            return
        m = len(idx)
        minimo, maximo = p.atraso_med_min_horas, p.atraso_med_max_dias * 24
        mediana = np.log(min(max(p.atraso_med_mediana_horas, minimo), maximo))  # faixa estreita: mediana dentro dela
        horas = np.exp(rng.normal(mediana, 1.2, m))
        for _ in range(5):  # reamostra o que sai da faixa configurada; o resto é cortado nela
            fora = (horas < minimo) | (horas > maximo)
            if not fora.any():
                break
            horas[fora] = np.exp(rng.normal(mediana, 1.2, int(fora.sum())))
        atraso = (np.clip(horas, minimo, maximo) * HORA).astype(np.int64)
        notificacao = c.t[idx] + np.maximum(atraso, 1)
        textos, _ = ids.formatar_data_hora(notificacao)
        linha_med = np.where(abuso[idx], 0, c.tip[idx])
        tipo = (rng.random(m)[:, None] > _MED_POR_TIPOLOGIA[linha_med]).sum(axis=1)
        parcial = rng.random(m) < 0.1
        contestado = np.where(parcial, np.maximum(np.round(c.cent[idx] * rng.uniform(0.3, 1.0, m)), 1), c.cent[idx])
        for i, quando, texto, tp, v in zip(
            idx.tolist(), notificacao.tolist(), textos, tipo.tolist(), contestado.astype(np.int64).tolist(), strict=True
        ):
            linha = (
                f'{{"end_to_end_id":"{end_to_end_ids[i]}","data_hora_notificacao":"{texto}","tipo":"{_MED_TIPOS[tp]}",'
                f'"valor_contestado":{v // 100}.{v % 100:02d}}}'
            )
            self._seq += 1
            heapq.heappush(self.fila_med, (quando, self._seq, linha, end_to_end_ids[i], _MED_TIPOS[tp]))

    # Lotes -------------------------------------------------------------------------------------------
    def _proximo_fim(self, t0: int) -> int:
        self._atualizar_ativos(t0)
        por_ms = max(self._taxa_por_ms(t0) * FATOR_SESSAO, 1e-9)
        duracao = int(np.clip(self.p.alvo_por_lote / por_ms, 1000, HORA))
        fim_hora = (t0 // HORA + 1) * HORA  # o fuso é de horas inteiras: fronteira UTC = fronteira local
        fim = min(t0 + duracao, fim_hora, self.fim_ms)
        for inicio_s, duracao_s, _ in self.p.rajadas:  # um lote não atravessa o começo nem o fim de uma rajada
            for borda in (self.inicio_ms + int(inicio_s * 1000), self.inicio_ms + int((inicio_s + duracao_s) * 1000)):
                if t0 < borda < fim:
                    fim = borda
        return fim

    def lote(self, t0: int, t1: int, ultimo: bool) -> Lote:
        self._atualizar_ativos(t0)
        esperado = self._taxa_por_ms(t0) * (t1 - t0)
        # Fraudes começam do zero: golpes duram de minutos a horas, então nos primeiros minutos a taxa
        # de fraude observada fica abaixo da configurada (documentado em docs/simulador.md).
        legitimas = self._legitimas(t0, t1, esperado, aquecer=t0 == self.inicio_ms)
        novas = Colunas.juntar([self.pendentes, legitimas, self._fraudes(t0, t1)])
        self.pop.anotar_vistas(novas.t, novas.pag, novas.rec)
        agora = novas.t < t1
        # No último lote, o que cairia depois do fim do período simulado é descartado.
        self.pendentes = novas.pegar(np.flatnonzero(~agora)) if not ultimo else Colunas.vazia()
        c = novas.pegar(np.flatnonzero(agora))
        c = c.pegar(np.argsort(c.t, kind="stable"))
        self._rotular_comprometidos(c, t0)

        linhas, end_to_end_ids, chaves = self._serializar(c)
        abuso = (c.tip == 0) & (self.rng.random(len(c)) < self.p.taxa_abuso_med)
        self._contestacoes(c, end_to_end_ids, abuso)
        nomes = np.array(NOMES_TIPOLOGIA, dtype=object)[c.tip]
        nomes[abuso] = ABUSO_MED
        gabarito = [
            f"{e},{1 if tp else 0},{nome}"
            for e, tp, nome in zip(end_to_end_ids, c.tip.tolist(), nomes.tolist(), strict=True)
        ]
        contagem = Counter(nomes.tolist())
        contagem.pop(LEGITIMA, None)

        med, chaves_med, med_por_tipo = [], [], Counter()
        while self.fila_med and (ultimo or self.fila_med[0][0] < t1):
            _, _, linha, chave, tipo = heapq.heappop(self.fila_med)
            med.append(linha)
            chaves_med.append(chave)
            med_por_tipo[tipo] += 1

        tempos = c.t.tolist()
        linhas, chaves, tempos, defeitos = injetar_defeitos(
            self.p, self.rng, self.atrasadas, linhas, chaves, tempos, t1, ultimo
        )
        return Lote(
            inicio_ms=t0, fim_ms=t1, transacoes=linhas, chaves=chaves, tempos_ms=tempos, med=med,
            chaves_med=chaves_med, gabarito=gabarito, defeitos=defeitos, fraudes=int((c.tip > 0).sum()),
            por_tipologia=contagem, med_por_tipo=med_por_tipo,
        )  # fmt: skip

    def deslocar(self, ms: int) -> None:
        """Move o período inteiro no tempo (modo ao vivo: começar no instante real da primeira mensagem,
        depois de montar a população). Só antes do primeiro lote."""
        self.inicio_ms += ms
        self.fim_ms += ms
        self.pop.entrada_ms = np.where(self.pop.entrada_ms > 0, self.pop.entrada_ms + ms, 0)

    def lotes(self) -> Iterator[Lote]:
        t0 = self.inicio_ms
        while t0 < self.fim_ms:
            t1 = self._proximo_fim(t0)
            yield self.lote(t0, t1, ultimo=t1 >= self.fim_ms)
            t0 = t1
