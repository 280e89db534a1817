"""A população: clientes PF e PJ, suas contas, chaves, dispositivos e hábitos; e as contas de fraude.

Cada conta vira, uma vez só, fragmentos JSON prontos (o objeto pagador/recebedor, a chave, o
dispositivo cadastrado): a serialização de cada Pix é então só concatenar textos, o que sustenta
dezenas de milhares de mensagens por segundo em Python puro.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from simulador import identificadores as ids
from simulador.nomes import DOMINIOS_EMAIL, PRENOMES, RAMOS, SOBRENOMES, SUFIXOS_PJ

# ISPB, peso de mercado aproximado, é instituição de pagamento (conta TRAN, agência 0001)
PARTICIPANTES = (
    ("00000000", 0.14, False),  # Banco do Brasil
    ("60746948", 0.10, False),  # Bradesco
    ("60701190", 0.12, False),  # Itaú Unibanco
    ("00360305", 0.13, False),  # Caixa
    ("90400888", 0.07, False),  # Santander
    ("18236120", 0.16, True),  # Nu Pagamentos
    ("00416968", 0.05, False),  # Banco Inter
    ("31872495", 0.04, False),  # C6 Bank
    ("08561701", 0.04, True),  # PagSeguro
    ("10573521", 0.05, True),  # Mercado Pago
    ("22896431", 0.04, True),  # PicPay
    ("02038232", 0.02, False),  # Sicoob
    ("01181521", 0.02, False),  # Sicredi
    ("30306294", 0.01, False),  # BTG Pactual
    ("92702067", 0.01, False),  # Banrisul
)
ISPB_BYTES = np.array([list(p[0].encode()) for p in PARTICIPANTES], dtype=np.uint8)
PESO_ISPB = np.array([p[1] for p in PARTICIPANTES]) / sum(p[1] for p in PARTICIPANTES)
E_IP = np.array([p[2] for p in PARTICIPANTES])
# Contas de golpe pendem um pouco para instituições de pagamento (abertura 100% digital), sem exagero.
PESO_ISPB_GOLPE = PESO_ISPB * np.where(E_IP, 1.4, 1.0)
PESO_ISPB_GOLPE /= PESO_ISPB_GOLPE.sum()

# Papéis das contas
PF, AUTONOMO, COMERCIANTE, EMPRESA, LARANJA, SAQUE = range(6)
NUNCA = np.iinfo(np.int64).max
TIPOS_CHAVE = ("CPF", "CNPJ", "EMAIL", "TELEFONE", "EVP")
# Distribuição do tipo da chave principal (índices em TIPOS_CHAVE)
_CHAVE_PF = np.array([0.34, 0.0, 0.14, 0.30, 0.22])
_CHAVE_PJ = np.array([0.0, 0.45, 0.10, 0.0, 0.45])
_CHAVE_GOLPE = np.array([0.12, 0.0, 0.12, 0.38, 0.38])


def _ascii(texto: str) -> str:
    return unicodedata.normalize("NFKD", texto).encode("ascii", "ignore").decode().lower()


_PRENOMES_ASCII = [_ascii(p) for p in PRENOMES]
_SOBRENOMES_ASCII = [_ascii(s) for s in SOBRENOMES]


class Populacao:
    """Contas em arrays (numpy) e fragmentos JSON (listas); cresce quando a fraude abre contas novas."""

    def __init__(self, rng: np.random.Generator, clientes: int, pix_por_cliente_dia: float, duracao_ms: int):
        self.rng = rng
        self.clientes = clientes
        self.frag: list[str] = []  # objeto pagador/recebedor
        self.id_conta: list[str] = []  # chave Kafka: ispb-agencia-conta
        self.frag_chave: list[str] = []  # ',"chave":"...","tipo_chave":"..."'
        self.frag_disp: list[str] = []  # ',"dispositivo":{"id":"...","cadastrado":true}'
        self.documento: list[str] = []
        self._cap = 0
        self.n = 0
        self.ispb = np.zeros((0, 8), dtype=np.uint8)
        self.papel = np.zeros(0, dtype=np.int8)
        # Primeira vez que a conta aparece numa transação gerada (o "visto pela primeira vez" do
        # pipeline): as laranjas alugadas saem de contas com histórico de verdade.
        self.visto_ms = np.zeros(0, dtype=np.int64)
        self._crescer(int(clientes * 1.2) + 64)

        papeis = rng.choice(
            np.array([PF, AUTONOMO, COMERCIANTE, EMPRESA], dtype=np.int8), size=clientes, p=[0.82, 0.03, 0.10, 0.05]
        )
        # Populações pequenas (testes, demo) podem sortear nenhum autônomo ou empresa; o tráfego precisa de
        # ao menos um de cada papel. Em populações grandes nada muda (a saída segue idêntica por semente).
        for papel in (AUTONOMO, COMERCIANTE, EMPRESA):
            if not (papeis == papel).any():
                papeis[np.flatnonzero(papeis == PF)[-1]] = papel
        self._adicionar(papeis)

        # Hábitos (só clientes pagam em tráfego normal) ------------------------------------------
        fator = np.exp(rng.normal(0.0, 0.8, clientes) - 0.32)
        fator *= np.select([papeis == EMPRESA, papeis == COMERCIANTE], [2.5, 0.6], 1.0)
        self.taxa_dia = pix_por_cliente_dia * fator
        # Uma parte dos clientes chega durante a simulação: conta e chave novas também no tráfego legítimo.
        self.entrada_ms = np.where(rng.random(clientes) < 0.04, rng.integers(0, max(duracao_ms, 1), clientes), 0)
        self.mu_valor = np.log(45.0) + rng.normal(0.0, 0.6, clientes)
        self.e_pj = (papeis == COMERCIANTE) | (papeis == EMPRESA)
        self.pf_idx = np.flatnonzero(papeis == PF)
        self.autonomos = np.flatnonzero(papeis == AUTONOMO)
        self.comerciantes = np.flatnonzero(papeis == COMERCIANTE)
        self.empresas = np.flatnonzero(papeis == EMPRESA)
        self.pj_idx = np.flatnonzero(self.e_pj)
        self.peso_comerciante = rng.pareto(1.2, len(self.comerciantes)) + 1.0
        self.peso_comerciante /= self.peso_comerciante.sum()
        self.peso_autonomo = rng.pareto(1.5, len(self.autonomos)) + 1.0
        self.peso_autonomo /= self.peso_autonomo.sum()
        self.mu_comerciante = np.log(38.0) + rng.normal(0.0, 0.5, clientes)
        # Contatos habituais: 8 por cliente, a maioria PF, alguns prestadores PJ e autônomos.
        k = 8
        contatos = self.pf_idx[rng.integers(0, len(self.pf_idx), size=(clientes, k))]
        troca = rng.random((clientes, k)) < 0.12
        contatos[troca] = self.empresas[rng.integers(0, len(self.empresas), size=int(troca.sum()))]
        troca = rng.random((clientes, k)) < 0.05
        contatos[troca] = self.autonomos[rng.integers(0, len(self.autonomos), size=int(troca.sum()))]
        self.contatos = contatos.astype(np.int32)
        self.peso_contato = 1.0 / np.arange(1, k + 1) ** 1.1
        self.peso_contato /= self.peso_contato.sum()

    # Contas ----------------------------------------------------------------------------------------
    def _crescer(self, minimo: int) -> None:
        if minimo <= self._cap:
            return
        cap = max(minimo, self._cap * 2)
        ispb = np.zeros((cap, 8), dtype=np.uint8)
        ispb[: self.n] = self.ispb[: self.n]
        papel = np.zeros(cap, dtype=np.int8)
        papel[: self.n] = self.papel[: self.n]
        visto = np.full(cap, NUNCA, dtype=np.int64)
        visto[: self.n] = self.visto_ms[: self.n]
        self.ispb, self.papel, self.visto_ms, self._cap = ispb, papel, visto, cap

    def _adicionar(self, papeis: np.ndarray) -> np.ndarray:
        """Cria contas com os papéis dados; devolve os índices novos."""
        rng, m = self.rng, len(papeis)
        self._crescer(self.n + m)
        inicio = self.n
        golpe = (papeis == LARANJA) | (papeis == SAQUE)
        pj = (papeis == COMERCIANTE) | (papeis == EMPRESA)
        part = np.where(
            golpe, rng.choice(len(PESO_ISPB), m, p=PESO_ISPB_GOLPE), rng.choice(len(PESO_ISPB), m, p=PESO_ISPB)
        )
        self.ispb[inicio : inicio + m] = ISPB_BYTES[part]
        self.papel[inicio : inicio + m] = papeis

        cpfs = iter(ids.gerar_cpfs(rng, int((~pj).sum())))
        cnpjs = iter(ids.gerar_cnpjs(rng, int(pj.sum()), fracao_alfanumerica=0.08))
        pre = rng.integers(0, len(PRENOMES), m)
        sob1 = rng.integers(0, len(SOBRENOMES), m)
        sob2 = rng.integers(0, len(SOBRENOMES), m)
        ramo = rng.integers(0, len(RAMOS), m)
        suf = rng.integers(0, len(SUFIXOS_PJ), m)
        agencias = rng.integers(1, 10_000, m)
        contas = rng.integers(10_000, 10**10, m)
        tipo_conta_banco = rng.choice(np.array(["CACC", "SVGS", "SLRY"]), m, p=[0.86, 0.11, 0.03])
        probs_chave = np.where(pj[:, None], _CHAVE_PJ, np.where(golpe[:, None], _CHAVE_GOLPE, _CHAVE_PF))
        u = rng.random(m)[:, None]
        tipo_chave = (u > probs_chave.cumsum(axis=1)).sum(axis=1)
        evps = iter(ids.gerar_evps(rng, m))
        telefones = iter(ids.gerar_telefones(rng, m))
        num_email = rng.integers(1, 999, m)
        dominio = rng.integers(0, len(DOMINIOS_EMAIL), m)
        dispositivos = ids.gerar_dispositivos(rng, m)
        ispbs = [PARTICIPANTES[p][0] for p in part.tolist()]

        for j in range(m):
            e_pj = bool(pj[j])
            documento = next(cnpjs) if e_pj else next(cpfs)
            if e_pj:
                nome = f"{RAMOS[ramo[j]]} {SOBRENOMES[sob1[j]]} {SUFIXOS_PJ[suf[j]]}"
            else:
                nome = f"{PRENOMES[pre[j]]} {SOBRENOMES[sob1[j]]} {SOBRENOMES[sob2[j]]}"
            ip = bool(E_IP[part[j]])
            agencia = "0001" if ip else f"{agencias[j]:04d}"
            conta = str(contas[j])
            tipo_conta = "TRAN" if ip else tipo_conta_banco[j]
            self.frag.append(
                f'{{"ispb":"{ispbs[j]}","agencia":"{agencia}","conta":"{conta}","tipo_conta":"{tipo_conta}",'
                f'"tipo_pessoa":"{"PJ" if e_pj else "PF"}","documento":"{documento}","nome":"{nome}"}}'
            )
            self.id_conta.append(f"{ispbs[j]}-{agencia}-{conta}")
            self.documento.append(documento)
            tc = TIPOS_CHAVE[tipo_chave[j]]
            evp, tel = next(evps), next(telefones)
            if tc in ("CPF", "CNPJ"):
                chave = documento
            elif tc == "EVP":
                chave = evp
            elif tc == "TELEFONE":
                chave = tel
            else:
                base = _SOBRENOMES_ASCII[sob1[j]] if e_pj else f"{_PRENOMES_ASCII[pre[j]]}.{_SOBRENOMES_ASCII[sob1[j]]}"
                chave = f"{base}{num_email[j]}@{DOMINIOS_EMAIL[dominio[j]]}"
            self.frag_chave.append(f',"chave":"{chave}","tipo_chave":"{tc}"')
            self.frag_disp.append(f',"dispositivo":{{"id":"{dispositivos[j]}","cadastrado":true}}')
        self.n += m
        return np.arange(inicio, inicio + m)

    def nova_conta(self, papel: int) -> int:
        """Abre uma conta de golpe (laranja ou de saque): nova para o sistema no momento do primeiro uso."""
        return int(self._adicionar(np.array([papel], dtype=np.int8))[0])

    def anotar_vistas(self, t: np.ndarray, pag: np.ndarray, rec: np.ndarray) -> None:
        np.minimum.at(self.visto_ms, pag, t)
        np.minimum.at(self.visto_ms, rec, t)

    def chave_de(self, idx: int) -> str:
        return self.frag_chave[idx]
