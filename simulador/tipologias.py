"""As tipologias de fraude: cada uma com a sua mecânica e o rastro que deixa no tempo e entre contas.

Nenhuma usa campo exclusivo: o que as separa do tráfego legítimo é comportamento (rajadas, recebedor
novo, muitos pagadores numa conta, madrugada, dispositivo não cadastrado perto dos tetos), que
clientes legítimos também exibem de vez em quando.
"""

from __future__ import annotations

import heapq
from collections import Counter

import numpy as np

from simulador.colunas import (
    APP,
    CADASTRADO,
    DICT,
    INTERNET_BANKING,
    MANU,
    NAO_CADASTRADO,
    QRDN,
    QRES,
    Acumulador,
)
from simulador.parametros import TIPOLOGIAS, Parametros
from simulador.populacao import LARANJA, SAQUE, Populacao

MIN = 60_000
HORA = 3_600_000
DIA = 24 * HORA
FUSO_MS = -3 * HORA  # Brasília: hora local = UTC - 3 h (o mesmo do motor)

# Peso por hora local (Brasília) de início de cada tipologia; normalizado para média 1.
_H = np.arange(24)
PESO_HORA = {
    "falso_parente": np.where((_H >= 8) & (_H <= 21), 1.0, np.where(_H >= 22, 0.3, 0.0)),
    "falsa_central": np.where((_H >= 9) & (_H <= 19), 1.0, 0.0),
    "sequestro_relampago": np.array([1.2, 1.0, 0.8, 0.6, 0.4, 0.2] + [0.0] * 14 + [0.5, 0.8, 1.0, 1.2], dtype=float),
    "account_takeover": np.where(_H <= 5, 1.3, 1.0),
    "conta_laranja": np.where(_H >= 8, 1.0, 0.2),
    "falso_qrcode": np.where((_H >= 9) & (_H <= 21), 1.0, 0.0),
    "valor_alto": np.where((_H >= 9) & (_H <= 20), 1.0, 0.1),
    "recebedor_comprometido": np.ones(24),  # o começo não importa: o comprometimento dura semanas
    "pagador_comprometido": np.ones(24),  # idem (dias); os Pix do golpe seguem as horas de uso comum
    "mao_fantasma": np.where((_H >= 9) & (_H <= 20), 1.0, 0.0),  # a "central" liga em horário comercial
}
for _nome, _peso in PESO_HORA.items():
    PESO_HORA[_nome] = _peso / _peso.mean()

# Transações por evento, em média (para converter taxa de fraude em número de eventos). As que dependem dos botões
# saem de ``tamanho_medio``; ``recebedor_comprometido`` depende também da população (ver ``Motor``).
TAMANHO_MEDIO = {
    "falso_parente": 1.3,
    "falsa_central": 3.5,
    "sequestro_relampago": 3.5,
    "account_takeover": 3.5,
    "conta_laranja": 14.5,
    "falso_qrcode": 19.0,
    "valor_alto": 1.2,
    "recebedor_comprometido": 30.0,
    "pagador_comprometido": 5.5,
    "mao_fantasma": 16.5,
}


def tamanho_medio(p: Parametros) -> dict[str, float]:
    """``TAMANHO_MEDIO`` com as tipologias cujos botões mudam o número de Pix por evento."""
    return TAMANHO_MEDIO | {
        "conta_laranja": sum(p.laranja_vitimas) / 2 + 2.0,  # + 2 repasses em média
        "pagador_comprometido": sum(p.pagador_comprometido_pix) / 2,
        "mao_fantasma": sum(p.mao_fantasma_pix) / 2,
    }


# Horas locais em que a conta tomada faz os Pix do golpe: as de uso comum, para a hora não entregar o golpe.
_HORAS_DE_USO = np.arange(7, 23)
CODIGO = {nome: i + 1 for i, nome in enumerate(TIPOLOGIAS)}
_VALORES_REDONDOS = np.array([200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000]) * 100
_PESO_REDONDOS = np.array([3, 4, 4, 8, 5, 7, 8, 5, 6, 4, 2, 2], dtype=float)
_PESO_REDONDOS /= _PESO_REDONDOS.sum()


class Golpes:
    """Gera os eventos de fraude; mantém as contas laranja ativas (reusadas por pouco tempo).

    De onde vem a conta laranja (ou de saque) quando o golpe precisa de uma nova. Antes, toda conta de
    golpe era aberta no primeiro uso, e o modelo aprendia quase só "recebedor visto há menos de 1 dia"
    (docs/modelo.md). No Pix real, boa parte das laranjas não é nova:

    - **alugada/comprada** (``fracao_laranja_alugada``): conta antiga de um cliente real, com histórico
      legítimo, cedida ao golpista; o tráfego normal do dono continua. É a laranja no sentido estrito, a que o
      DICT marca como ``MULE_ACCOUNT`` ao confirmar a denúncia (marcas de fraude do DICT: docs/features.md);
    - **dormente** (``fracao_laranja_dormente``): aberta com identidade roubada semanas antes e deixada
      quieta, com uns poucos Pix pequenos (de "teste") que lhe dão idade quando o golpe começa. O sistema
      só conhece uma conta quando ela transaciona; sem essa atividade, a conta pareceria nova de novo;
    - **nova** (o resto): aberta no dia do golpe, como antes.

    Não há número público da divisão (o BCB não publica); os padrões (50% / 30% /
    20%) são uma hipótese declarada, ajustável em ``Parametros``. Com as duas frações em zero, a saída é
    a de antes desta mudança (nenhum sorteio a mais para a origem).
    """

    # Dormência: a conta fica pronta entre 1 e 5 semanas depois de aberta; até lá, 2 a 5 Pix pequenos.
    DORMENCIA_DIAS = (7.0, 35.0)
    # Laranjas alugadas: o sistema precisa já ter visto a conta há ao menos 1 dia (histórico de verdade).
    HISTORICO_MINIMO_MS = 24 * HORA

    def __init__(
        self,
        rng: np.random.Generator,
        pop: Populacao,
        fracao_alugada: float = 0.0,
        fracao_dormente: float = 0.0,
        dormentes_iniciais: int = 0,
        janela_inicial_dias: float = 35.0,
        parametros: Parametros | None = None,
    ):
        self.p = parametros or Parametros()
        self.rng = rng
        self.pop = pop
        self.laranjas: list[tuple[int, int]] = []  # (conta, expira_ms)
        self.saques: list[tuple[int, int]] = []
        self.fracao_alugada = fracao_alugada
        self.fracao_dormente = fracao_dormente
        self._dormentes_iniciais = dormentes_iniciais if fracao_dormente > 0 else 0
        self._janela_inicial_dias = max(min(janela_inicial_dias, self.DORMENCIA_DIAS[1]), 1.0)
        self.dormentes: dict[int, list[tuple[int, int]]] = {LARANJA: [], SAQUE: []}  # heap (pronta_ms, conta)
        self._acc: Acumulador | None = None
        # Quantas contas de golpe novas saíram de cada origem (para relatório e testes).
        self.origens: Counter[str] = Counter()
        # Comerciantes comprometidos: (conta, início_ms, fim_ms). O motor rotula como fraude todo Pix a eles
        # dentro da janela (``Motor._rotular_comprometidos``).
        self.comprometidos: list[tuple[int, int, int]] = []

    # Contas -------------------------------------------------------------------------------------
    def _conta_golpe(
        self, pool: list[tuple[int, int]], t: int, p_nova: float, papel: int, vida_h: float, evitar: tuple = ()
    ) -> int:
        ativas = [c for c, expira in pool if expira > t]
        if ativas and self.rng.random() >= p_nova:
            return ativas[int(self.rng.integers(len(ativas)))]
        conta = self._origem(t, papel, evitar)
        pool[:] = [(c, e) for c, e in pool if e > t]
        pool.append((conta, t + int((2 + self.rng.exponential(vida_h)) * HORA)))
        return conta

    def _origem(self, t: int, papel: int, evitar: tuple) -> int:
        """Conta para um golpe que precisa de uma laranja (ou conta de saque) que ainda não está em uso."""
        if self.fracao_alugada + self.fracao_dormente > 0:
            u = self.rng.random()
            if u < self.fracao_alugada:
                conta = self._alugada(t, evitar)
                if conta >= 0:
                    self.origens["alugada"] += 1
                    return conta
                self.origens["alugada_sem_candidata"] += 1
            elif u < self.fracao_alugada + self.fracao_dormente:
                conta = self._dormente(t, papel)
                if conta >= 0:
                    self.origens["dormente"] += 1
                    return conta
                self.origens["dormente_sem_pronta"] += 1
        self.origens["nova"] += 1
        return self.pop.nova_conta(papel)

    def _alugada(self, t: int, evitar: tuple) -> int:
        """Cliente PF já visto pelo sistema há 1 dia ou mais, fora de golpe em curso e que não é a vítima."""
        pop, em_uso = self.pop, {c for c, e in self.laranjas if e > t} | {c for c, e in self.saques if e > t}
        for _ in range(30):
            v = int(pop.pf_idx[self.rng.integers(len(pop.pf_idx))])
            if pop.visto_ms[v] <= t - self.HISTORICO_MINIMO_MS and v not in evitar and v not in em_uso:
                return v
        return -1

    def _dormente(self, t: int, papel: int) -> int:
        """A dormente pronta há mais tempo; abre outra no lugar (pronta semanas depois)."""
        self._semear(t)
        fila = self.dormentes[papel]
        conta = heapq.heappop(fila)[1] if fila and fila[0][0] <= t else -1
        self._abrir_dormente(t, papel)
        return conta

    def _semear(self, t: int) -> None:
        """No primeiro uso: as dormentes abertas antes do início ficam prontas ao longo do período (no máximo
        uma dormência, 35 dias); a atividade de fachada anterior ao início não existe para o sistema."""
        n, self._dormentes_iniciais = self._dormentes_iniciais, 0
        for i in range(n):
            pronta = t + int(self.rng.uniform(min(1.0, self._janela_inicial_dias / 2), self._janela_inicial_dias) * DIA)
            self._abrir_dormente(t, SAQUE if i % 8 == 7 else LARANJA, pronta)

    def _abrir_dormente(self, t: int, papel: int, pronta: int | None = None) -> None:
        rng, pop = self.rng, self.pop
        conta = pop.nova_conta(papel)
        if pronta is None or pronta <= t:
            pronta = t + int(rng.uniform(*self.DORMENCIA_DIAS) * DIA)
        # Atividade de fachada até ficar pronta: Pix pequenos de conhecidos e compras no comércio.
        for instante in np.sort(rng.integers(t, pronta, int(rng.integers(2, 6)))).tolist():
            if rng.random() < 0.6:
                pagador = self.vitima(instante)
                cent = int(np.clip(np.exp(rng.normal(np.log(40), 0.8)), 1, 300) * 100)
                self._acc.add(instante, pagador, conta, cent, DICT, APP, vitima=False)
            else:
                loja = int(pop.comerciantes[rng.choice(len(pop.comerciantes), p=pop.peso_comerciante)])
                cent = int(np.clip(np.exp(rng.normal(np.log(30), 0.7)), 1, 300) * 100)
                self._acc.add(instante, conta, loja, cent, QRDN, APP, txid=int(rng.integers(26, 36)), vitima=False)
        heapq.heappush(self.dormentes[papel], (pronta, conta))

    def laranja(self, t: int, p_nova: float = 0.45, evitar: tuple = ()) -> int:
        return self._conta_golpe(self.laranjas, t, p_nova, LARANJA, 18.0, evitar)

    def vitima(self, t: int) -> int:
        pop = self.pop
        for _ in range(20):
            v = int(pop.pf_idx[self.rng.integers(len(pop.pf_idx))])
            if pop.entrada_ms[v] <= t:
                return v
        return int(pop.pf_idx[0])

    def _canal(self) -> int:
        return APP if self.rng.random() < 0.9 else INTERNET_BANKING

    def _gap(self, media_min: float, minimo_s: float) -> int:
        return int((self.rng.exponential(media_min) * 60 + minimo_s) * 1000)

    # Tipologias ---------------------------------------------------------------------------------
    def gerar(self, nome: str, t: int, acc: Acumulador) -> None:
        self._acc = acc  # a atividade de fachada das dormentes entra no mesmo lote
        getattr(self, nome)(t, acc)

    def falso_parente(self, t: int, acc: Acumulador) -> None:
        """Um 'parente' num número novo pede dinheiro: 1 ou 2 Pix redondos para uma chave recém-criada."""
        rng, cod = self.rng, CODIGO["falso_parente"]
        vitima = self.vitima(t)
        laranja, canal = self.laranja(t, p_nova=0.7, evitar=(vitima,)), self._canal()
        for _ in range(1 if rng.random() < 0.7 else 2):
            if rng.random() < 0.85:
                cent = int(rng.choice(_VALORES_REDONDOS, p=_PESO_REDONDOS))
            else:
                cent = int(np.exp(rng.normal(np.log(900), 0.5)) * 100)
            acc.add(t, vitima, laranja, cent, DICT, canal, tip=cod)
            t += self._gap(12, 120)

    def falsa_central(self, t: int, acc: Acumulador) -> None:
        """'Central do banco' convence a vítima a transferir para uma 'conta segura': vários Pix grandes."""
        rng, cod = self.rng, CODIGO["falsa_central"]
        vitima, canal = self.vitima(t), self._canal()
        laranja = self.laranja(t, evitar=(vitima,))
        for _ in range(int(rng.integers(2, 6))):
            if rng.random() < 0.2:
                laranja = self.laranja(t, evitar=(vitima,))
            cent = int(np.clip(np.exp(rng.normal(np.log(2500), 0.6)), 500, 15_000) * 100)
            forma = DICT if rng.random() < 0.8 else MANU
            acc.add(t, vitima, laranja, cent, forma, canal, chave=forma == DICT, tip=cod)
            t += self._gap(3, 30)

    def sequestro_relampago(self, t: int, acc: Acumulador) -> None:
        """Vítima coagida à noite: rajada para recebedores novos somando perto do limite noturno de R$ 1.000."""
        rng, cod = self.rng, CODIGO["sequestro_relampago"]
        vitima = self.vitima(t)
        n = int(rng.integers(2, 6))
        total = rng.uniform(700, 1000) if rng.random() < 0.85 else rng.uniform(1000, 3000)
        partes = rng.dirichlet(np.full(n, 2.0)) * total
        usadas: set[int] = set()
        for valor in partes:
            laranja = self.laranja(t, p_nova=0.6, evitar=(vitima,))
            while laranja in usadas:
                laranja = self.laranja(t, p_nova=1.0, evitar=(vitima,))
            usadas.add(laranja)
            acc.add(t, vitima, laranja, int(max(valor, 10) * 100), DICT, APP, tip=cod)
            t += self._gap(4, 20)

    def account_takeover(self, t: int, acc: Acumulador) -> None:
        """Credencial roubada num aparelho novo: Pix colados no teto de R$ 200 até o teto diário de R$ 1.000."""
        rng, cod = self.rng, CODIGO["account_takeover"]
        vitima, disp_id = self.vitima(t), int(rng.integers(0, 2**63))
        laranjas = [self.laranja(t, evitar=(vitima,)) for _ in range(2)]
        for _ in range(int(rng.integers(2, 6))):
            u = rng.random()
            cent = (
                20_000
                if u < 0.4
                else (int(rng.uniform(19_000, 20_000)) if u < 0.6 else int(rng.uniform(15_000, 20_000)))
            )
            forma = DICT if rng.random() < 0.9 else MANU
            acc.add(
                t, vitima, laranjas[int(rng.integers(2))], cent, forma, APP, NAO_CADASTRADO, disp_id,
                chave=forma == DICT, tip=cod,
            )  # fmt: skip
            t += self._gap(2, 15)

    def conta_laranja(self, t: int, acc: Acumulador) -> None:
        """Conta laranja recebe de muitas vítimas em menos de 1 h e repassa quase tudo em minutos."""
        rng, cod = self.rng, CODIGO["conta_laranja"]
        laranja = self.laranja(t, p_nova=0.8)
        janela = rng.uniform(*self.p.laranja_janela_min) * MIN
        n = int(rng.integers(self.p.laranja_vitimas[0], self.p.laranja_vitimas[1] + 1))
        instantes = np.sort(t + rng.uniform(0, janela, n)).astype(np.int64)
        recebido = 0
        vistas: set[int] = set()
        for instante in instantes.tolist():
            vitima = self.vitima(instante)
            while vitima in vistas or vitima == laranja:  # uma laranja alugada não paga a si mesma
                vitima = self.vitima(instante)
            vistas.add(vitima)
            cent = int(np.clip(np.exp(rng.normal(np.log(150), 0.7)), 20, 1500) * 100)
            recebido += cent
            acc.add(instante, vitima, laranja, cent, DICT, self._canal(), tip=cod)
        saque = self._conta_golpe(self.saques, t, 0.5, SAQUE, 24.0, evitar=(laranja,))
        t_repasse = int(instantes[-1]) + self._gap(8, 60)
        partes = int(rng.integers(1, 4))
        for _ in range(partes):
            cent = int(recebido * rng.uniform(*self.p.laranja_repasse) / partes)
            forma = DICT if rng.random() < 0.7 else MANU
            acc.add(t_repasse, laranja, saque, cent, forma, APP, chave=forma == DICT, tip=cod, vitima=False)
            t_repasse += self._gap(2, 20)

    def falso_qrcode(self, t: int, acc: Acumulador) -> None:
        """QR code falso/falsa venda: uma pessoa física recebe por QR o volume de um comerciante."""
        rng, cod = self.rng, CODIGO["falso_qrcode"]
        golpista = self.laranja(t, p_nova=0.85)
        n = int(rng.integers(8, 31))
        instantes = np.sort(t + rng.uniform(0, rng.uniform(30, 180) * MIN, n)).astype(np.int64)
        for instante in instantes.tolist():
            forma = QRES if rng.random() < 0.5 else QRDN
            txid = (
                int(rng.integers(26, 36)) if forma == QRDN else (int(rng.integers(1, 26)) if rng.random() < 0.5 else 0)
            )
            cent = int(np.exp(rng.normal(np.log(60), 0.8)) * 100)
            pagador = self.vitima(instante)
            while pagador == golpista:  # laranja alugada: o dono não paga a si mesmo
                pagador = self.vitima(instante)
            acc.add(instante, pagador, golpista, cent, forma, self._canal(), CADASTRADO, txid=txid, tip=cod)

    # Mecânicas de generalização (docs/simulador.md): cada uma separa um mecanismo que o modelo precisa aprender
    # sem depender dos atalhos das tipologias acima.
    def valor_alto(self, t: int, acc: Acumulador) -> None:
        """Golpe de valor alto (falso investimento, falsa venda de carro): 1 ou 2 Pix acima do limiar, e só isso."""
        rng, cod, p = self.rng, CODIGO["valor_alto"], self.p
        vitima = self.vitima(t)
        laranja, canal = self.laranja(t, p_nova=0.7, evitar=(vitima,)), self._canal()
        for _ in range(1 if rng.random() < 0.8 else 2):
            multiplo = min(1.0 + rng.exponential(0.6), p.valor_alto_teto)
            cent = int(np.ceil(p.valor_alto_limiar * multiplo * 100))
            forma = DICT if rng.random() < 0.8 else MANU
            acc.add(t, vitima, laranja, cent, forma, canal, chave=forma == DICT, tip=cod)
            t += self._gap(30, 60)

    def recebedor_comprometido(self, t: int, acc: Acumulador) -> None:
        """Um comerciante com histórico legítimo fica comprometido por semanas: todo Pix que ele recebe é golpe.

        Não gera Pix: os pagadores são os clientes que já o pagavam, pelo tráfego normal; o motor rotula.
        """
        pop, p = self.pop, self.p
        historico = int(p.recebedor_comprometido_historico_dias * DIA)
        ativos = {c for c, _, fim in self.comprometidos if fim > t}
        limite_popularidade = np.quantile(pop.peso_comerciante, 0.9)
        for _ in range(30):
            i = int(self.rng.integers(len(pop.comerciantes)))
            conta = int(pop.comerciantes[i])
            popular, novo = pop.peso_comerciante[i] > limite_popularidade, pop.visto_ms[conta] > t - historico
            if not popular and not novo and conta not in ativos:
                self.comprometidos.append((conta, t, t + int(p.recebedor_comprometido_semanas * 7 * DIA)))
                return

    def pagador_comprometido(self, t: int, acc: Acumulador) -> None:
        """Conta tomada por dias (malware, acesso remoto no aparelho cadastrado): o dono segue usando; o golpista
        faz, espalhados na janela, alguns Pix de ``fator`` vezes o valor habitual da conta, cada um a um recebedor
        novo."""
        rng, cod, p, pop = self.rng, CODIGO["pagador_comprometido"], self.p, self.pop
        vitima = self._vitima_com_historico(t)
        habitual = float(np.exp(pop.mu_valor[vitima]))
        n = int(rng.integers(p.pagador_comprometido_pix[0], p.pagador_comprometido_pix[1] + 1))
        dias = np.sort(rng.integers(0, int(np.ceil(p.pagador_comprometido_dias)), n))
        horas = rng.choice(_HORAS_DE_USO, n)
        meia_noite_local = (t + FUSO_MS) // DIA * DIA - FUSO_MS  # em UTC
        for d, h in zip(dias.tolist(), horas.tolist(), strict=True):
            instante = meia_noite_local + d * DIA + h * HORA + int(rng.integers(0, HORA))
            if instante < t:  # a hora sorteada já passou no primeiro dia: fica para o dia seguinte
                instante += DIA
            recebedor = self._origem(instante, LARANJA, (vitima,))
            cent = max(int(p.pagador_comprometido_fator * habitual * np.exp(rng.normal(0, 0.15)) * 100), 2_000)
            acc.add(instante, vitima, recebedor, cent, DICT, APP, tip=cod)

    def mao_fantasma(self, t: int, acc: Acumulador) -> None:
        """'Mão fantasma': a vítima instala um app de acesso remoto e o golpista dispara muitos Pix em minutos pelo
        aparelho dela, para poucas contas."""
        rng, cod, p = self.rng, CODIGO["mao_fantasma"], self.p
        vitima = self.vitima(t)
        laranjas = [self.laranja(t, evitar=(vitima,)) for _ in range(int(rng.integers(1, 4)))]
        n = int(rng.integers(p.mao_fantasma_pix[0], p.mao_fantasma_pix[1] + 1))
        instantes = np.sort(t + rng.uniform(0, p.mao_fantasma_minutos * MIN, n)).astype(np.int64)
        for instante in instantes.tolist():
            cent = int(np.clip(np.exp(rng.normal(np.log(300), 0.7)), 20, 5_000) * 100)
            acc.add(instante, vitima, laranjas[int(rng.integers(len(laranjas)))], cent, DICT, APP, tip=cod)

    def _vitima_com_historico(self, t: int) -> int:
        """Pessoa física que o sistema já viu transacionar há dias e usa o Pix com frequência (tem um habitual)."""
        pop, historico = self.pop, int(self.p.recebedor_comprometido_historico_dias * DIA)
        for _ in range(30):
            v = int(pop.pf_idx[self.rng.integers(len(pop.pf_idx))])
            if pop.visto_ms[v] <= t - historico and pop.taxa_dia[v] >= 0.5:
                return v
        return self.vitima(t)
