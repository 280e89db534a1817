"""Features comportamentais por conta, calculadas no tempo do evento: uma implementação para stream e batch.

Por que um motor próprio, vetorizado em numpy, e não o estado por chave do Spark: com contas quase sempre
distintas, o estado Python por chave (``applyInPandasWithState``/``transformWithStateInPandas``) paga uma
chamada e uma ida e volta ao state store por conta, e não passa de algumas centenas de linhas por segundo
nesta máquina. Aqui o estado de todas as contas fica em arrays densos, e um lote inteiro é resolvido com
poucas operações vetorizadas.

Semântica (a mesma no stream e no batch):
- as transações de um lote são processadas na ordem ``(data_hora, end_to_end_id)``; entre lotes, na ordem
  de chegada;
- a feature de uma transação usa apenas o que foi processado antes dela e tem ``data_hora`` até a dela:
  nada do futuro;
- transações que não compartilham conta nem chave são independentes; o lote é dividido em "níveis" (a
  n-ésima vez que uma conta ou chave aparece no lote vai para o nível n ou depois), e cada nível é
  calculado de uma vez. O resultado é idêntico ao de processar linha a linha.

Estado limitado: cada conta guarda as últimas ``k_eventos`` transações como pagador e como recebedor
(janelas de 10 min, 1 h e 24 h contam até esse limite) e os ``k_recebedores`` recebedores mais recentes;
contas e chaves sem atividade há ``ttl_dias`` saem do estado. Bytes por conta: ``bytes_por_conta()``.

Expiração na leitura: uma conta ou chave parada há mais de ``ttl_dias`` no instante de uma transação (ou de uma
marca MED) recomeça do zero ali, seja qual for o momento da varredura. A varredura (``expirar``) só devolve a
memória, e só de quem nem um Pix atrasado de ``folga_expiracao_dias`` veria vivo. Assim o treino (que não varre)
e o stream (que varre de tempos em tempos) calculam as mesmas features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from processamento.contrato import FORMAS_INICIACAO

BASE_EPOCA_S = 1_577_836_800  # 2020-01-01T00:00:00Z: tempos do estado em int32 (segundos) até 2088
VAZIO_T = np.iinfo(np.int32).min
SEM_MARCA = np.iinfo(np.int64).max
JANELAS_PAGADOR = {"10min": 600, "1h": 3_600, "24h": 86_400}
JANELAS_RECEBEDOR = {"1h": 3_600, "24h": 86_400}
JANELAS_DISTRIBUICAO = {"1d": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}  # o valor contra o histórico recente
# Constantes de tempo (s) das contagens com decaimento do recebedor: Pix recebidos e notificações MED.
DECAIMENTO_MED = {"1d": 86_400.0, "7d": 7 * 86_400.0, "30d": 30 * 86_400.0}
CANAL = {forma: i for i, forma in enumerate(FORMAS_INICIACAO)}  # bit da forma de iniciação no histórico do pagador

COLUNAS_ENTRADA = (
    "end_to_end_id",
    "data_hora",
    "valor",
    "pagador_id_conta",
    "recebedor_id_conta",
    "pagador_tipo_pessoa",
    "recebedor_tipo_pessoa",
    "chave_hash",
    "dispositivo_cadastrado",
    "forma_iniciacao",  # opcional: sem ela, o canal do pagador fica sem histórico
)

# Nome -> tipo pandas/numpy da coluna de saída (ordem = ordem da tabela gold_features).
COLUNAS_FEATURES: dict[str, str] = {
    "pag_qtd_10min": "int32",
    "pag_qtd_1h": "int32",
    "pag_qtd_24h": "int32",
    "pag_soma_10min": "float64",
    "pag_soma_1h": "float64",
    "pag_soma_24h": "float64",
    "pag_qtd_historico": "int32",
    "pag_valor_zscore": "float64",
    "pag_valor_razao_media": "float64",
    "valor_redondo": "bool",
    "pag_segundos_desde_anterior": "float64",
    "pag_idade_conta_s": "float64",
    "primeiro_pagamento_ao_recebedor": "bool",
    "rec_pagadores_distintos_1h": "int32",
    "rec_pagadores_distintos_24h": "int32",
    "rec_idade_conta_s": "float64",
    "rec_qtd_historico": "int32",
    "chave_idade_s": "float64",
    "hora_local": "float64",
    "noturno": "bool",
    "noturno_acumulado": "float64",
    "excede_limite_noturno": "bool",
    "dispositivo_nao_cadastrado": "bool",
    "nao_cadastrado_acumulado_dia": "float64",
    "excede_limite_dispositivo": "bool",
    "rec_marcada_fraude": "bool",
    "rec_qtd_med": "int32",
    "rec_valor_zscore": "float64",
    "rec_qtd_pagadores_novos": "int32",
    "rec_pagadores_novos_24h": "int32",
    # Genéricas (não dependem de uma tipologia): o valor, a distribuição do pagador, mudança de comportamento,
    # canal e dispositivo, e o risco do recebedor pelos rótulos (MED) já conhecidos.
    "valor_log": "float64",
    "pag_razao_media_1d": "float64",
    "pag_razao_media_7d": "float64",
    "pag_razao_media_30d": "float64",
    "pag_razao_max_30d": "float64",
    "pag_percentil_30d": "float64",
    "pag_recebedores_novos_24h": "int32",
    "pag_taxa_recebedores_novos": "float64",
    "pag_hora_incomum": "float64",
    "pag_frac_nao_cadastrado": "float64",
    "pag_canal_novo": "bool",
    "rec_razao_media": "float64",
    "rec_taxa_med_1d": "float64",
    "rec_taxa_med_7d": "float64",
    "rec_taxa_med_30d": "float64",
}


# Cada feature é de um papel: lê e atualiza só o estado dele (a chave Pix é do recebedor).
PAPEIS = ("pagador", "recebedor")
COLUNA_PAPEL: dict[str, str] = {
    nome: "recebedor" if nome.startswith("rec_") or nome == "chave_idade_s" else "pagador" for nome in COLUNAS_FEATURES
}
COLUNAS_PAGADOR = [c for c in COLUNAS_FEATURES if COLUNA_PAPEL[c] == "pagador"]
COLUNAS_RECEBEDOR = [c for c in COLUNAS_FEATURES if COLUNA_PAPEL[c] == "recebedor"]


@dataclass(frozen=True)
class ParametrosFeatures:
    """Limites de estado e as regras do BCB que as features medem."""

    k_eventos: int = 16
    k_recebedores: int = 8
    ttl_dias: int = 90
    folga_expiracao_dias: int = 2  # atraso de Pix que a varredura respeita (ver a docstring do módulo)
    fuso_horas: int = -3  # horário de Brasília (sem horário de verão desde 2019)
    limite_noturno: float = 1_000.0  # Res. BCB 142/2021: entre PF, das 20h às 6h
    limite_dispositivo_transacao: float = 200.0  # IN BCB 491/2024: dispositivo não cadastrado
    limite_dispositivo_dia: float = 1_000.0


def hash_id(ids: pd.Series | np.ndarray) -> np.ndarray:
    """int64 estável a partir do id pseudonimizado (hex): chave compacta do estado."""
    return pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False).view(np.int64)


class _Nivel(NamedTuple):
    """As colunas de um lote em arrays; ``fatia`` dá as de um nível (sem conta ou chave repetida)."""

    linhas: np.ndarray  # posição de cada linha na saída do lote
    t: np.ndarray  # segundos desde BASE_EPOCA_S
    t_ms: np.ndarray  # milissegundos UTC desde a época
    v: np.ndarray
    pag: np.ndarray  # posição do pagador no estado das contas
    rec: np.ndarray
    h_pag: np.ndarray  # hash do id da conta: o que o estado guarda dos pagadores e recebedores vistos
    h_rec: np.ndarray
    chave: np.ndarray  # posição da chave no estado das chaves; -1 sem chave
    pf_pf: np.ndarray
    nao_cadastrado: np.ndarray
    canal: np.ndarray  # bit da forma de iniciação; -1 desconhecida

    def fatia(self, linhas: np.ndarray) -> _Nivel:
        return _Nivel(linhas, *(coluna[linhas] for coluna in self[1:]))


class MotorDeFeatures:
    """Estado dos pagadores, dos recebedores e das chaves, e o cálculo das features de um lote de transações.

    ``papeis`` escolhe que metade do estado este motor guarda e calcula: o treino, o processamento e a decisão
    num processo só usam as duas; a decisão em vários processos (desenho em docs/arquitetura.md, "Escalar para
    vários processos", ainda não construída) usaria uma etapa por papel, cada uma com o estado só das contas das
    suas partições. As duas metades não leem o estado uma da outra, então
    ``pagador`` + ``recebedor`` em motores separados dá exatamente o que os dois papéis num motor só dão.
    """

    def __init__(
        self, parametros: ParametrosFeatures | None = None, capacidade: int = 1024, papeis: tuple[str, ...] = PAPEIS
    ) -> None:
        desconhecidos = set(papeis) - set(PAPEIS)
        if desconhecidos or not papeis:
            raise ValueError(f"papeis deve ser um subconjunto não vazio de {PAPEIS}; recebido {papeis!r}")
        self.p = parametros or ParametrosFeatures()
        self.papeis = tuple(p for p in PAPEIS if p in papeis)
        self.colunas = [c for c in COLUNAS_FEATURES if COLUNA_PAPEL[c] in self.papeis]
        self.relogio_s = 0  # maior data_hora já vista (s desde BASE_EPOCA_S): referência da varredura do TTL
        # Uma tabela por papel e uma de chaves Pix: arrays densos + índice hash -> posição + posições livres.
        self.arrays: dict[str, dict[str, np.ndarray]] = {}
        self.indice: dict[str, dict[int, int]] = {}
        self.livres: dict[str, list[int]] = {}
        for tabela in self._nomes_tabelas():
            self.indice[tabela], self.livres[tabela] = {}, []
            self.arrays[tabela] = self._alocar(tabela, capacidade)
        self._tocadas: dict[str, list[np.ndarray]] = {t: [] for t in self.arrays}
        self._removidas: dict[str, list[int]] = {t: [] for t in self.arrays}

    def _nomes_tabelas(self) -> list[str]:
        # A chave Pix identifica o recebedor (é dele): mora com a metade do recebedor.
        return [*self.papeis, *(["chave"] if "recebedor" in self.papeis else [])]

    # Estado ------------------------------------------------------------------------------------
    def _alocar(self, tabela: str, n: int) -> dict[str, np.ndarray]:
        k, m = self.p.k_eventos, self.p.k_recebedores
        comuns = {
            "id": np.zeros(n, np.int64),
            "primeiro_s": np.full(n, -1, np.int64),
            "ultimo_s": np.full(n, -1, np.int64),
        }
        if tabela == "pagador":
            return comuns | {
                "ultimo_ms": np.full(n, -1, np.int64),
                "n": np.zeros(n, np.int32),
                "media": np.zeros(n, np.float64),
                "m2": np.zeros(n, np.float64),
                "ring_t": np.full((n, k), VAZIO_T, np.int32),
                "ring_v": np.zeros((n, k), np.float32),
                "ring_novo": np.zeros((n, k), np.bool_),  # o Pix foi a um recebedor novo para o pagador
                "novos_n": np.zeros(n, np.int32),
                "hora_sin": np.zeros(n, np.float64),  # soma do seno e do cosseno da hora: a hora de costume
                "hora_cos": np.zeros(n, np.float64),
                "nao_cad_n": np.zeros(n, np.int32),
                "canais": np.zeros(n, np.int32),  # bits das formas de iniciação já usadas
                "rec": np.zeros((n, m), np.int64),
                "rec_uso": np.full((n, m), VAZIO_T, np.int32),
                "noite_periodo": np.full(n, -1, np.int32),
                "noite_soma": np.zeros(n, np.float64),
                "disp_dia": np.full(n, -1, np.int32),
                "disp_soma": np.zeros(n, np.float64),
            }
        if tabela == "recebedor":
            return comuns | {
                "ring_t": np.full((n, k), VAZIO_T, np.int32),
                "ring_pag": np.zeros((n, k), np.int64),
                "ring_novo": np.zeros((n, k), np.bool_),
                "n": np.zeros(n, np.int32),
                "novos_n": np.zeros(n, np.int32),
                "media": np.zeros(n, np.float64),
                "m2": np.zeros(n, np.float64),
                "marca_s": np.full(n, SEM_MARCA, np.int64),
                "med_n": np.zeros(n, np.int32),
                "decai_t": np.full(n, -1, np.int64),  # instante das contagens com decaimento
                "decai_rec": np.zeros((n, len(DECAIMENTO_MED)), np.float64),
                "decai_med": np.zeros((n, len(DECAIMENTO_MED)), np.float64),
            }
        return comuns

    @staticmethod
    def _crescer(arrays: dict[str, np.ndarray], novo: int) -> None:
        for nome, atual in arrays.items():
            maior = np.empty((novo, *atual.shape[1:]), atual.dtype)
            maior[: len(atual)] = atual
            maior[len(atual) :] = _VAZIOS.get(nome, 0)
            arrays[nome] = maior

    def bytes_por_conta(self) -> int:
        """Bytes de uma conta que aparece nos papéis deste motor (nos dois, numa implantação de um processo)."""
        return sum(a[0].nbytes if a.ndim > 1 else a.itemsize for t in self.papeis for a in self.arrays[t].values())

    @property
    def contas_no_estado(self) -> int:
        """Contas no estado, por papel: uma conta que paga e recebe ocupa as duas metades e conta duas vezes.

        É o que ocupa memória, e sai sem percorrer os índices (o processamento publica a cada lote).
        """
        return sum(len(self.indice[papel]) for papel in self.papeis)

    def _indices(self, tabela: str, hashes: np.ndarray) -> np.ndarray:
        """Índice denso de cada hash na tabela, criando os que faltam (reaproveitando posições expiradas)."""
        indice, livres, arrays = self.indice[tabela], self.livres[tabela], self.arrays[tabela]
        lista = hashes.tolist()
        get = indice.get
        posicoes = [get(h, -1) for h in lista]  # o caso comum (conta conhecida) sem ramo no laço
        for i in [i for i, pos in enumerate(posicoes) if pos < 0]:
            h = lista[i]
            pos = indice.get(h, -1)  # a mesma conta nova duas vezes no lote: a segunda já tem posição
            if pos < 0:
                if livres:
                    pos = livres.pop()
                else:
                    pos = len(indice)
                    if pos >= len(arrays["id"]):
                        self._crescer(arrays, max(2 * len(arrays["id"]), 1024))
                indice[h] = pos
                arrays["id"][pos] = h
            posicoes[i] = pos
        return np.array(posicoes, np.int64)

    # Marcas de fraude (MED) --------------------------------------------------------------------
    def aplicar_marcas(self, recebedores: np.ndarray, instantes_s: np.ndarray) -> None:
        """Notificações MED contra contas recebedoras: contam a partir do instante da notificação."""
        if "recebedor" not in self.papeis:
            return  # a marca é estado do recebedor: a etapa do pagador não a guarda
        idx = self._indices("recebedor", hash_id(recebedores))
        self._tocadas["recebedor"].append(idx)
        r = self.arrays["recebedor"]
        t = np.asarray(instantes_s, np.int64) - BASE_EPOCA_S
        for i, ti in zip(idx.tolist(), t.tolist(), strict=True):  # poucas por lote; a ordem importa
            self._esquecer_expiradas(r, np.array([i]), np.array([ti]))
            r["marca_s"][i] = min(r["marca_s"][i], ti)
            r["med_n"][i] += 1
            peso = _decair(r, np.array([i]), np.array([ti]))
            r["decai_med"][i] += peso[0]
            r["ultimo_s"][i] = max(r["ultimo_s"][i], ti)

    # Lote de transações ------------------------------------------------------------------------
    def processar_linha_do_tempo(self, transacoes: pd.DataFrame, marcas: pd.DataFrame | None = None) -> pd.DataFrame:
        """Transações e notificações MED intercaladas pelo tempo: uma marca só vale depois do seu instante.

        ``marcas`` tem ``recebedor_id_conta`` e ``data_hora_notificacao``. Cada marca é aplicada antes das
        transações com ``data_hora`` igual ou posterior a ela, e depois das anteriores.
        """
        if marcas is None or marcas.empty or "recebedor" not in self.papeis:
            return self.processar(transacoes)
        df = transacoes.sort_values(["data_hora", "end_to_end_id"], kind="stable").reset_index(drop=True)
        m = marcas.assign(_ms=_para_ms(marcas["data_hora_notificacao"])).sort_values("_ms", kind="stable")
        cortes = np.searchsorted(_para_ms(df["data_hora"]), m["_ms"].to_numpy(), side="left")
        partes, inicio = [], 0
        for corte in sorted(set(cortes.tolist())):
            if corte > inicio:
                partes.append(self.processar(df.iloc[inicio:corte]))
                inicio = corte
            aplicar = m[cortes == corte]
            self.aplicar_marcas(aplicar["recebedor_id_conta"].to_numpy(), aplicar["_ms"].to_numpy() // 1000)
        partes.append(self.processar(df.iloc[inicio:]))
        return pd.concat(partes, ignore_index=True)

    def processar(self, transacoes: pd.DataFrame) -> pd.DataFrame:
        """Features de cada transação, na ordem ``(data_hora, end_to_end_id)``; atualiza o estado.

        Saem as colunas de entrada mais as features dos papéis deste motor (``self.colunas``).
        """
        df = transacoes.sort_values(["data_hora", "end_to_end_id"], kind="stable").reset_index(drop=True)
        n = len(df)
        saida = {nome: np.zeros(n, COLUNAS_FEATURES[nome]) for nome in self.colunas}
        if n == 0:
            return pd.concat([df, pd.DataFrame(saida)], axis=1)

        t_ms = _para_ms(df["data_hora"])
        t = t_ms // 1000 - BASE_EPOCA_S
        v = df["valor"].to_numpy(np.float64)
        h_pag = hash_id(df["pagador_id_conta"])
        h_rec = hash_id(df["recebedor_id_conta"])
        sem = np.full(n, -1, np.int64)
        pag = self._indices("pagador", h_pag) if "pagador" in self.papeis else sem
        rec = self._indices("recebedor", h_rec) if "recebedor" in self.papeis else sem
        chave = np.full(n, -1, np.int64)
        if "recebedor" in self.papeis:
            tem_chave = df["chave_hash"].notna().to_numpy()
            if tem_chave.any():
                chave[tem_chave] = self._indices("chave", hash_id(df.loc[tem_chave, "chave_hash"]))
            self._tocadas["recebedor"].append(rec)
            self._tocadas["chave"].append(chave[chave >= 0])
        if "pagador" in self.papeis:
            self._tocadas["pagador"].append(pag)
        pf_pf = (df["pagador_tipo_pessoa"].to_numpy() == "PF") & (df["recebedor_tipo_pessoa"].to_numpy() == "PF")
        nao_cadastrado = (df["dispositivo_cadastrado"] == False).to_numpy(bool)  # noqa: E712 - nulo (API) = não
        formas = df["forma_iniciacao"] if "forma_iniciacao" in df else pd.Series([None] * n)
        canal = formas.map(CANAL).fillna(-1).to_numpy(np.int64)

        lote = _Nivel(np.arange(n), t, t_ms, v, pag, rec, h_pag, h_rec, chave, pf_pf, nao_cadastrado, canal)
        # Níveis por papel: as famílias de um papel não leem o estado do outro, então cada papel só espera pelas
        # repetições das suas contas. Um comerciante que recebe 60 Pix num lote faz 60 níveis do recebedor, e o
        # pagador, que quase nunca se repete no lote, continua vetorizado em um ou dois.
        calculos = {"pagador": (self._calcular_pagador, pag, sem, sem),
                    "recebedor": (self._calcular_recebedor, sem, rec, chave)}  # fmt: skip
        for papel in ("pagador", "recebedor"):
            if papel not in self.papeis:
                continue
            calcular, *colunas = calculos[papel]
            niveis = _niveis(*colunas)
            if not niveis.any():  # o caso comum do pagador: nenhuma conta repetida no lote
                calcular(saida, lote)
                continue
            for nivel in range(int(niveis.max()) + 1):
                calcular(saida, lote.fatia(np.flatnonzero(niveis == nivel)))
        self.relogio_s = max(self.relogio_s, int(t.max()))
        return pd.concat([df, pd.DataFrame(saida)], axis=1)

    def _calcular_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Um nível do pagador: nenhum pagador se repete nele, então tudo é vetorizado sem conflito.

        Cada família lê e atualiza só o estado do pagador; a idade (primeira e última atividade) muda por último.
        """
        self._esquecer_expiradas(self.arrays["pagador"], nv.pag, nv.t)
        local = nv.t + BASE_EPOCA_S + self.p.fuso_horas * 3_600  # segundos no horário de Brasília
        vaga = self._velocidade_do_pagador(saida, nv)
        self._historico_do_pagador(saida, nv, np.log1p(nv.v))
        self._recebedores_do_pagador(saida, nv, vaga)
        self._limite_noturno(saida, nv, local)
        self._limite_do_dispositivo(saida, nv, local)
        self._habitos_do_pagador(saida, nv, local)
        self._atividade(self.arrays["pagador"], nv.pag, nv.t)

    def _calcular_recebedor(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Um nível do recebedor: nenhum recebedor nem chave se repete nele (o estado da chave é do recebedor)."""
        self._esquecer_expiradas(self.arrays["recebedor"], nv.rec, nv.t)
        com_chave = nv.chave >= 0
        self._esquecer_expiradas(self.arrays["chave"], nv.chave[com_chave], nv.t[com_chave])
        self._entrada_no_recebedor(saida, nv, np.log1p(nv.v))
        self._idade_da_chave(saida, nv)
        self._marcas_med(saida, nv)
        self._risco_do_recebedor(saida, nv)
        self._atividade(self.arrays["recebedor"], nv.rec, nv.t)

    def _velocidade_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel) -> np.ndarray:
        """Quantidade e soma em 10 min, 1 h e 24 h: só eventos já processados com data_hora <= a desta transação."""
        c, agora = self.arrays["pagador"], nv.t[:, None]
        ring_t, ring_v = c["ring_t"][nv.pag], c["ring_v"][nv.pag].astype(np.float64)
        antes = (ring_t <= agora) & (ring_t != VAZIO_T)
        for nome, janela in JANELAS_PAGADOR.items():
            dentro = antes & (ring_t > agora - janela)
            saida[f"pag_qtd_{nome}"][nv.linhas] = dentro.sum(1)
            saida[f"pag_soma_{nome}"][nv.linhas] = np.where(dentro, ring_v, 0.0).sum(1)
        self._distribuicao_do_pagador(saida, nv, antes, ring_t, ring_v, c["ring_novo"][nv.pag])
        vaga = ring_t.argmin(1)  # substitui o evento mais antigo (ou uma vaga)
        c["ring_t"][nv.pag, vaga] = nv.t
        c["ring_v"][nv.pag, vaga] = nv.v
        return vaga  # a posição deste Pix no anel: _recebedores_do_pagador marca nela se o recebedor é novo

    def _distribuicao_do_pagador(
        self,
        saida: dict[str, np.ndarray],
        nv: _Nivel,
        antes: np.ndarray,
        ring_t: np.ndarray,
        ring_v: np.ndarray,
        ring_novo: np.ndarray,
    ) -> None:
        """O valor contra o que o pagador fez em 1, 7 e 30 dias (média geométrica, máximo, percentil) e os
        recebedores novos em 24 h: o anel dos ``k_eventos`` últimos Pix, como nas contagens em janela."""
        agora, linhas = nv.t[:, None], nv.linhas
        log_anel = np.log1p(ring_v)
        for nome, janela in JANELAS_DISTRIBUICAO.items():
            dentro = antes & (ring_t > agora - janela)
            qtd = dentro.sum(1)
            media = np.where(dentro, log_anel, 0.0).sum(1) / np.maximum(qtd, 1)
            saida[f"pag_razao_media_{nome}"][linhas] = np.where(qtd > 0, nv.v / np.maximum(np.expm1(media), 0.01), 1.0)
        no_mes = antes & (ring_t > agora - JANELAS_DISTRIBUICAO["30d"])
        qtd_mes = no_mes.sum(1)
        maximo = np.where(no_mes, ring_v, 0.0).max(1)
        saida["pag_razao_max_30d"][linhas] = np.where(qtd_mes > 0, nv.v / np.maximum(maximo, 0.01), 1.0)
        abaixo = (no_mes & (ring_v < nv.v[:, None])).sum(1) + 0.5 * (no_mes & (ring_v == nv.v[:, None])).sum(1)
        saida["pag_percentil_30d"][linhas] = np.where(qtd_mes > 0, abaixo / np.maximum(qtd_mes, 1), 0.5)
        no_dia = antes & (ring_t > agora - 86_400)
        saida["pag_recebedores_novos_24h"][linhas] = (no_dia & ring_novo).sum(1)

    def _habitos_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel, local: np.ndarray) -> None:
        """Mudança de hábito: hora fora do costume, dispositivo não cadastrado e canal nunca usado pelo pagador.

        A hora de costume é a média circular das horas dos Pix anteriores (23h e 1h são vizinhas); o desvio pesa
        pela concentração (quem paga a qualquer hora não tem hora incomum).
        """
        c, pag, linhas = self.arrays["pagador"], nv.pag, nv.linhas
        n_antes = saida["pag_qtd_historico"][linhas]
        angulo = 2 * np.pi * (local % 86_400) / 86_400
        soma_sin, soma_cos = c["hora_sin"][pag], c["hora_cos"][pag]
        concentracao = np.hypot(soma_sin, soma_cos) / np.maximum(n_antes, 1)
        desvio = (1 - np.cos(angulo - np.arctan2(soma_sin, soma_cos))) / 2
        saida["pag_hora_incomum"][linhas] = np.where(n_antes > 1, concentracao * desvio, 0.0)
        saida["pag_frac_nao_cadastrado"][linhas] = np.where(
            n_antes > 0, c["nao_cad_n"][pag] / np.maximum(n_antes, 1), 0.0
        )
        bit = np.where(nv.canal >= 0, 1 << np.maximum(nv.canal, 0), 0)
        saida["pag_canal_novo"][linhas] = (n_antes > 0) & (bit > 0) & ((c["canais"][pag] & bit) == 0)
        c["hora_sin"][pag] = soma_sin + np.sin(angulo)
        c["hora_cos"][pag] = soma_cos + np.cos(angulo)
        c["nao_cad_n"][pag] += nv.nao_cadastrado
        c["canais"][pag] |= bit

    def _risco_do_recebedor(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Notificações MED já recebidas contra o recebedor sobre os Pix que ele recebeu, em 1, 7 e 30 dias.

        Contagens com decaimento exponencial (constantes de tempo de 1, 7 e 30 dias): estado fixo por conta e a
        mesma conta no treino e no stream. Uma notificação só conta depois do seu instante (``aplicar_marcas``);
        é o sinal de um recebedor (comerciante) comprometido há dias, antes de a primeira MED marcá-lo de vez.
        """
        r, rec, linhas = self.arrays["recebedor"], nv.rec, nv.linhas
        peso = _decair(r, rec, nv.t)
        taxa = r["decai_med"][rec] / np.maximum(r["decai_rec"][rec], 1.0)
        for i, nome in enumerate(DECAIMENTO_MED):
            saida[f"rec_taxa_med_{nome}"][linhas] = taxa[:, i]
        r["decai_rec"][rec] += peso

    def _historico_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel, log_v: np.ndarray) -> None:
        """Valor contra o histórico do próprio pagador (média e desvio de log1p(valor), Welford), ritmo e idade."""
        c, pag, linhas = self.arrays["pagador"], nv.pag, nv.linhas
        n_hist, media, m2 = c["n"][pag], c["media"][pag], c["m2"][pag]
        saida["pag_qtd_historico"][linhas] = n_hist
        saida["pag_valor_zscore"][linhas] = _zscore(log_v, n_hist, media, m2)
        saida["pag_valor_razao_media"][linhas] = np.where(n_hist > 0, nv.v / np.maximum(np.expm1(media), 0.01), 1.0)
        saida["valor_redondo"][linhas] = np.round(nv.v * 100) % 10_000 == 0  # múltiplo de R$ 100
        saida["valor_log"][linhas] = log_v
        ultimo = c["ultimo_ms"][pag]
        saida["pag_segundos_desde_anterior"][linhas] = np.where(
            ultimo >= 0, np.maximum(nv.t_ms - ultimo, 0) / 1000.0, np.nan
        )
        primeiro = c["primeiro_s"][pag]
        saida["pag_idade_conta_s"][linhas] = np.where(primeiro >= 0, np.maximum(nv.t - primeiro, 0), 0.0)
        c["n"][pag], c["media"][pag], c["m2"][pag] = _welford(log_v, n_hist, media, m2)
        c["ultimo_ms"][pag] = np.maximum(ultimo, nv.t_ms)

    def _recebedores_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel, vaga: np.ndarray) -> None:
        """Primeiro pagamento a este recebedor (entre os ``k_recebedores`` mais recentes do pagador)."""
        c, pag = self.arrays["pagador"], nv.pag
        conhecidos, uso = c["rec"][pag], c["rec_uso"][pag]
        achado = (conhecidos == nv.h_rec[:, None]) & (uso != VAZIO_T)
        novo = ~achado.any(1)
        saida["primeiro_pagamento_ao_recebedor"][nv.linhas] = novo
        n_antes = saida["pag_qtd_historico"][nv.linhas]  # _historico_do_pagador já contou este Pix em c["n"]
        saida["pag_taxa_recebedores_novos"][nv.linhas] = np.where(
            n_antes > 0, c["novos_n"][pag] / np.maximum(n_antes, 1), 0.0
        )
        c["ring_novo"][pag, vaga] = novo
        c["novos_n"][pag] += novo
        posicao = np.where(achado.any(1), achado.argmax(1), uso.argmin(1))
        c["rec"][pag, posicao] = nv.h_rec
        c["rec_uso"][pag, posicao] = np.maximum(uso[np.arange(len(pag)), posicao], nv.t)

    def _entrada_no_recebedor(self, saida: dict[str, np.ndarray], nv: _Nivel, log_v: np.ndarray) -> None:
        """Pagadores distintos e novos, idade e valor contra o histórico do recebedor (o sinal das contas laranja).

        "Pagador novo" é visto do recebedor: quem não está entre os pagadores dos seus ``k_eventos`` últimos Pix.
        Não depende do estado do pagador, que numa implantação particionada mora em outra partição.
        """
        c, rec, linhas, agora = self.arrays["recebedor"], nv.rec, nv.linhas, nv.t[:, None]
        r_t, r_pag = c["ring_t"][rec], c["ring_pag"][rec]
        ocupado = r_t != VAZIO_T
        r_antes = (r_t <= agora) & ocupado
        for nome, janela in JANELAS_RECEBEDOR.items():
            saida[f"rec_pagadores_distintos_{nome}"][linhas] = _distintos_por_linha(
                r_pag, r_antes & (r_t > agora - janela)
            )
        novo = ~((r_pag == nv.h_pag[:, None]) & ocupado).any(1)
        primeiro = c["primeiro_s"][rec]
        saida["rec_idade_conta_s"][linhas] = np.where(primeiro >= 0, np.maximum(nv.t - primeiro, 0), 0.0)
        n_rec = c["n"][rec]
        saida["rec_qtd_historico"][linhas] = n_rec
        saida["rec_qtd_pagadores_novos"][linhas] = c["novos_n"][rec]
        saida["rec_pagadores_novos_24h"][linhas] = (
            r_antes & (r_t > agora - JANELAS_RECEBEDOR["24h"]) & c["ring_novo"][rec]
        ).sum(1)
        media_rec, m2_rec = c["media"][rec], c["m2"][rec]
        saida["rec_valor_zscore"][linhas] = _zscore(log_v, n_rec, media_rec, m2_rec)
        saida["rec_razao_media"][linhas] = np.where(n_rec > 0, nv.v / np.maximum(np.expm1(media_rec), 0.01), 1.0)
        vaga_rec = r_t.argmin(1)
        c["ring_t"][rec, vaga_rec] = nv.t
        c["ring_pag"][rec, vaga_rec] = nv.h_pag
        c["ring_novo"][rec, vaga_rec] = novo
        # Num nível, cada conta aparece uma vez: atribuir por índice não perde atualização.
        c["n"][rec], c["media"][rec], c["m2"][rec] = _welford(log_v, n_rec, media_rec, m2_rec)
        c["novos_n"][rec] += novo

    def _idade_da_chave(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Há quanto tempo a chave foi vista pela primeira vez; NaN sem chave."""
        com_chave = nv.chave >= 0
        idade_chave = np.full(len(nv.linhas), np.nan)
        if com_chave.any():
            ch, t, k = nv.chave[com_chave], nv.t[com_chave], self.arrays["chave"]
            primeiro_chave = k["primeiro_s"][ch]
            idade_chave[com_chave] = np.where(primeiro_chave >= 0, np.maximum(t - primeiro_chave, 0), 0.0)
            self._atividade(k, ch, t)
        saida["chave_idade_s"][nv.linhas] = idade_chave

    def _limite_noturno(self, saida: dict[str, np.ndarray], nv: _Nivel, local: np.ndarray) -> None:
        """Hora local e o limite noturno entre pessoas físicas (20h-6h no horário de Brasília)."""
        c, pag, linhas = self.arrays["pagador"], nv.pag, nv.linhas
        deslocado = local - 6 * 3_600  # a noite de D (20h) a D+1 (6h) vira um só "dia" deslocado
        noturno = (deslocado % 86_400) >= 14 * 3_600
        periodo = (deslocado // 86_400).astype(np.int32)
        conta_noite = noturno & nv.pf_pf
        anterior_noite = np.where(c["noite_periodo"][pag] == periodo, c["noite_soma"][pag], 0.0)
        acumulado_noite = np.where(conta_noite, anterior_noite + nv.v, np.where(noturno, anterior_noite, 0.0))
        saida["hora_local"][linhas] = (local % 86_400) / 3_600
        saida["noturno"][linhas] = noturno
        saida["noturno_acumulado"][linhas] = acumulado_noite
        saida["excede_limite_noturno"][linhas] = conta_noite & (acumulado_noite > self.p.limite_noturno)
        c["noite_periodo"][pag] = np.where(conta_noite, periodo, c["noite_periodo"][pag])
        c["noite_soma"][pag] = np.where(conta_noite, anterior_noite + nv.v, c["noite_soma"][pag])

    def _limite_do_dispositivo(self, saida: dict[str, np.ndarray], nv: _Nivel, local: np.ndarray) -> None:
        """Dispositivo não cadastrado: R$ 200 por transação e R$ 1.000 por dia."""
        c, p, pag, linhas, nao_cadastrado = self.arrays["pagador"], self.p, nv.pag, nv.linhas, nv.nao_cadastrado
        dia = (local // 86_400).astype(np.int32)
        anterior_disp = np.where(c["disp_dia"][pag] == dia, c["disp_soma"][pag], 0.0)
        acumulado_disp = np.where(nao_cadastrado, anterior_disp + nv.v, anterior_disp)
        saida["dispositivo_nao_cadastrado"][linhas] = nao_cadastrado
        saida["nao_cadastrado_acumulado_dia"][linhas] = acumulado_disp
        saida["excede_limite_dispositivo"][linhas] = nao_cadastrado & (
            (nv.v > p.limite_dispositivo_transacao) | (acumulado_disp > p.limite_dispositivo_dia)
        )
        c["disp_dia"][pag] = np.where(nao_cadastrado, dia, c["disp_dia"][pag])
        c["disp_soma"][pag] = np.where(nao_cadastrado, acumulado_disp, c["disp_soma"][pag])

    def _marcas_med(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Marcas de fraude conhecidas até esta transação (o estado delas muda só em ``aplicar_marcas``)."""
        r = self.arrays["recebedor"]
        saida["rec_marcada_fraude"][nv.linhas] = r["marca_s"][nv.rec] <= nv.t
        saida["rec_qtd_med"][nv.linhas] = r["med_n"][nv.rec]

    @staticmethod
    def _atividade(arrays: dict[str, np.ndarray], idx: np.ndarray, t: np.ndarray) -> None:
        """Primeira e última atividade no papel (a idade e o TTL): por último, porque as famílias a leem."""
        arrays["primeiro_s"][idx] = np.where(arrays["primeiro_s"][idx] < 0, t, arrays["primeiro_s"][idx])
        arrays["ultimo_s"][idx] = np.maximum(arrays["ultimo_s"][idx], t)

    # Expiração ---------------------------------------------------------------------------------
    def _esquecer_expiradas(self, arrays: dict[str, np.ndarray], posicoes: np.ndarray, t: np.ndarray) -> None:
        """Quem está parado há mais de ``ttl_dias`` no instante ``t`` recomeça vazio (a expiração que vale).

        ``posicoes`` sem repetição (um nível, ou uma marca por vez).
        """
        ultimo = arrays["ultimo_s"][posicoes]
        velhas = posicoes[(ultimo >= 0) & (ultimo < t - self.p.ttl_dias * 86_400)]
        if len(velhas):
            for nome, array in arrays.items():
                if nome != "id":
                    array[velhas] = _VAZIOS.get(nome, 0)

    def expirar(self) -> int:
        """Devolve a memória de contas e chaves paradas há mais de ``ttl_dias`` + ``folga_expiracao_dias``.

        Não muda feature nenhuma (a expiração vale na leitura, ``_esquecer_expiradas``): só tira quem nenhum Pix
        dentro da folga de atraso veria vivo.
        """
        limite = self.relogio_s - (self.p.ttl_dias + self.p.folga_expiracao_dias) * 86_400
        removidas = 0
        for tabela, arrays in self.arrays.items():
            indice, livres = self.indice[tabela], self.livres[tabela]
            usados = np.fromiter(indice.values(), np.int64, len(indice))
            velhos = usados[arrays["ultimo_s"][usados] < limite]
            for pos in velhos.tolist():
                h = int(arrays["id"][pos])
                del indice[h]
                livres.append(pos)
                self._removidas[tabela].append(h)
            for nome, array in arrays.items():
                array[velhos] = _VAZIOS.get(nome, 0)
            removidas += len(velhos)
        return removidas

    # Persistência ------------------------------------------------------------------------------
    def extrair(self, completo: bool = False) -> dict[str, np.ndarray]:
        """O estado como arrays: só o que mudou desde a última extração, ou tudo (``completo``).

        É o que o armazém grava por lote; aplicado em ordem a um motor novo, reconstrói este estado.
        """
        saida: dict[str, np.ndarray] = {"relogio_s": np.array([self.relogio_s], np.int64)}
        for tabela, arrays in self.arrays.items():
            indice = self.indice[tabela]
            if completo:
                posicoes = np.fromiter(indice.values(), np.int64, len(indice))
            else:
                tocadas = self._tocadas[tabela]
                posicoes = np.unique(np.concatenate(tocadas)) if tocadas else np.zeros(0, np.int64)
                posicoes = posicoes[np.isin(arrays["id"][posicoes], list(self._removidas[tabela]), invert=True)]
            for nome, array in arrays.items():
                saida[f"{tabela}.{nome}"] = array[posicoes]
            saida[f"{tabela}.removidas"] = np.array(self._removidas[tabela], np.int64)
        self.esquecer_mudancas()
        return saida

    def esquecer_mudancas(self) -> None:
        """Para quem não grava o log por lote (o caminho quente grava snapshots): não acumular as tocadas."""
        self._tocadas = {t: [] for t in self.arrays}
        self._removidas = {t: [] for t in self.arrays}

    def aplicar(self, estado: dict[str, np.ndarray]) -> None:
        """Aplica o resultado de ``extrair`` (de um snapshot ou de um lote do log).

        Um estado de antes da separação por papel (tabela ``conta``) é convertido: cada conta vira um pagador e
        um recebedor com a mesma primeira e última atividade.
        """
        estado = _migrar_contas(estado)
        self.relogio_s = max(self.relogio_s, int(estado["relogio_s"][0]))
        for tabela, arrays in self.arrays.items():
            if f"{tabela}.id" not in estado:
                continue  # estado de outra etapa (ou só dos outros papéis)
            indice, livres = self.indice[tabela], self.livres[tabela]
            for h in estado[f"{tabela}.removidas"].tolist():
                pos = indice.pop(h, None)
                if pos is not None:
                    livres.append(pos)
                    for nome, array in arrays.items():
                        array[pos] = _VAZIOS.get(nome, 0)
            posicoes = self._indices(tabela, estado[f"{tabela}.id"])
            arrays = self.arrays[tabela]  # _indices pode ter trocado os arrays por maiores
            for nome, array in arrays.items():
                # Estado gravado por uma versão anterior do motor não tem os arrays novos: eles começam vazios.
                if f"{tabela}.{nome}" in estado:
                    array[posicoes] = estado[f"{tabela}.{nome}"]
        self.esquecer_mudancas()


# Nomes dos arrays da tabela ``conta`` (antes da separação por papel) -> (tabela, nome) de agora.
_CONTA_ANTIGA = {
    "pag_ultimo_ms": ("pagador", "ultimo_ms"), "pag_n": ("pagador", "n"), "pag_media": ("pagador", "media"),
    "pag_m2": ("pagador", "m2"), "pag_ring_t": ("pagador", "ring_t"), "pag_ring_v": ("pagador", "ring_v"),
    "pag_rec": ("pagador", "rec"), "pag_rec_uso": ("pagador", "rec_uso"),
    "noite_periodo": ("pagador", "noite_periodo"), "noite_soma": ("pagador", "noite_soma"),
    "disp_dia": ("pagador", "disp_dia"), "disp_soma": ("pagador", "disp_soma"),
    "rec_ring_t": ("recebedor", "ring_t"), "rec_ring_pag": ("recebedor", "ring_pag"),
    "rec_ring_novo": ("recebedor", "ring_novo"), "rec_n": ("recebedor", "n"), "rec_novos_n": ("recebedor", "novos_n"),
    "rec_media": ("recebedor", "media"), "rec_m2": ("recebedor", "m2"), "marca_s": ("recebedor", "marca_s"),
    "med_n": ("recebedor", "med_n"),
}  # fmt: skip


def _migrar_contas(estado: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Estado gravado com a tabela ``conta`` única vira as tabelas ``pagador`` e ``recebedor``."""
    if "conta.id" not in estado:
        return estado
    novo = {k: v for k, v in estado.items() if not k.startswith("conta.")}
    for tabela in PAPEIS:
        for nome in ("id", "primeiro_s", "ultimo_s", "removidas"):
            novo[f"{tabela}.{nome}"] = estado[f"conta.{nome}"]
    for antigo, (tabela, nome) in _CONTA_ANTIGA.items():
        if f"conta.{antigo}" in estado:
            novo[f"{tabela}.{nome}"] = estado[f"conta.{antigo}"]
    return novo


_VAZIOS = {
    "primeiro_s": -1,
    "ultimo_s": -1,
    "ultimo_ms": -1,
    "ring_t": VAZIO_T,
    "rec_uso": VAZIO_T,
    "noite_periodo": -1,
    "disp_dia": -1,
    "marca_s": SEM_MARCA,
    "decai_t": -1,
}


_CONSTANTES_DECAIMENTO = np.array(list(DECAIMENTO_MED.values()))


def _decair(arrays: dict[str, np.ndarray], posicoes: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Leva as contagens com decaimento de ``posicoes`` ao instante ``t`` e devolve o peso de um evento em ``t``.

    Um evento anterior ao instante das contagens (Pix atrasado) não as faz voltar no tempo: entra com peso menor.
    """
    referencia = arrays["decai_t"][posicoes]
    vazia = referencia < 0
    avanco = np.where(vazia, 0, np.maximum(t - referencia, 0))[:, None]
    fator = np.exp(-avanco / _CONSTANTES_DECAIMENTO)
    arrays["decai_rec"][posicoes] = arrays["decai_rec"][posicoes] * fator
    arrays["decai_med"][posicoes] = arrays["decai_med"][posicoes] * fator
    nova = np.where(vazia, t, np.maximum(referencia, t))
    arrays["decai_t"][posicoes] = nova
    return np.exp(-np.maximum(nova - t, 0)[:, None] / _CONSTANTES_DECAIMENTO)


def _zscore(x: np.ndarray, n: np.ndarray, media: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """(x − média) / desvio do histórico (Welford), desvio mínimo de 0,25; 0 com menos de 2 eventos."""
    desvio = np.sqrt(np.where(n > 1, m2 / np.maximum(n - 1, 1), 0.0))
    return np.where(n > 1, (x - media) / np.maximum(desvio, 0.25), 0.0)


def _welford(x: np.ndarray, n: np.ndarray, media: np.ndarray, m2: np.ndarray) -> tuple[np.ndarray, ...]:
    """Contagem, média e soma dos quadrados dos desvios depois de acrescentar ``x`` (um passo de Welford)."""
    novo_n = n + 1
    delta = x - media
    nova_media = media + delta / novo_n
    return novo_n, nova_media, m2 + delta * (x - nova_media)


def _para_ms(data_hora: pd.Series) -> np.ndarray:
    """Milissegundos UTC desde a época, aceitando datetime com ou sem fuso."""
    serie = pd.to_datetime(data_hora, utc=True)
    return serie.dt.tz_localize(None).to_numpy("datetime64[ms]").astype(np.int64)


def _niveis(pag: np.ndarray, rec: np.ndarray, chave: np.ndarray) -> np.ndarray:
    """Nível de cada linha: 1 + o maior nível anterior que usou o mesmo pagador, recebedor ou chave (-1: ausente).

    O laço é o custo fixo do motor por linha: um papel ausente sai das chaves, e a chave Pix ausente de uma linha
    vira um número negativo só dela (nunca se repete).
    """
    n = len(pag)
    espaco = 1 << 40  # pagadores, recebedores e chaves são tabelas distintas: posições em espaços distintos
    presentes = [(pag, 0), (rec, espaco)]  # um papel que o motor não guarda vem todo em -1
    colunas = [coluna + deslocamento for coluna, deslocamento in presentes if len(coluna) and coluna[0] >= 0]
    if (chave >= 0).any():
        colunas.append(np.where(chave >= 0, chave + 2 * espaco, -1 - np.arange(n, dtype=np.int64)))
    ultimo: dict[int, int] = {}
    get = ultimo.get
    saida: list[int] = []
    if len(colunas) == 1:
        for a in colunas[0].tolist():
            nivel = get(a, -1) + 1
            ultimo[a] = nivel
            saida.append(nivel)
    elif len(colunas) == 2:
        for a, b in zip(colunas[0].tolist(), colunas[1].tolist(), strict=True):
            x, y = get(a, -1), get(b, -1)
            nivel = (x if x > y else y) + 1
            ultimo[a] = ultimo[b] = nivel
            saida.append(nivel)
    else:
        for a, b, c in zip(*(col.tolist() for col in colunas), strict=True):
            x, y, z = get(a, -1), get(b, -1), get(c, -1)
            x = x if x > y else y
            nivel = (x if x > z else z) + 1
            ultimo[a] = ultimo[b] = ultimo[c] = nivel
            saida.append(nivel)
    return np.array(saida, np.int32) if saida else np.zeros(n, np.int32)


def _distintos_por_linha(valores: np.ndarray, mascara: np.ndarray) -> np.ndarray:
    """Quantos valores distintos há em cada linha, considerando só as posições da máscara."""
    if valores.shape[1] == 0:
        return np.zeros(len(valores), np.int32)
    sentinela = np.iinfo(np.int64).min
    ordenados = np.sort(np.where(mascara, valores, sentinela), axis=1)
    novos = (ordenados[:, 1:] != ordenados[:, :-1]) & (ordenados[:, 1:] != sentinela)
    return (novos.sum(1) + (ordenados[:, 0] != sentinela)).astype(np.int32)
