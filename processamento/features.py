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

BASE_EPOCA_S = 1_577_836_800  # 2020-01-01T00:00:00Z: tempos do estado em int32 (segundos) até 2088
VAZIO_T = np.iinfo(np.int32).min
SEM_MARCA = np.iinfo(np.int64).max
JANELAS_PAGADOR = {"10min": 600, "1h": 3_600, "24h": 86_400}
JANELAS_RECEBEDOR = {"1h": 3_600, "24h": 86_400}

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
}


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

    def fatia(self, linhas: np.ndarray) -> _Nivel:
        return _Nivel(linhas, *(coluna[linhas] for coluna in self[1:]))


class MotorDeFeatures:
    """Estado de todas as contas e chaves, e o cálculo das features de um lote de transações."""

    def __init__(self, parametros: ParametrosFeatures | None = None, capacidade: int = 1024) -> None:
        self.p = parametros or ParametrosFeatures()
        self.indice_conta: dict[int, int] = {}
        self.indice_chave: dict[int, int] = {}
        self.livres_conta: list[int] = []
        self.livres_chave: list[int] = []
        self.relogio_s = 0  # maior data_hora já vista (s desde BASE_EPOCA_S): referência do TTL
        self._tocadas: dict[str, list[np.ndarray]] = {"conta": [], "chave": []}
        self._removidas: dict[str, list[int]] = {"conta": [], "chave": []}
        self._alocar_contas(capacidade)
        self._alocar_chaves(capacidade)

    # Estado ------------------------------------------------------------------------------------
    def _alocar_contas(self, n: int) -> None:
        k, m = self.p.k_eventos, self.p.k_recebedores
        self.conta = {
            "id": np.zeros(n, np.int64),
            "primeiro_s": np.full(n, -1, np.int64),
            "ultimo_s": np.full(n, -1, np.int64),
            "pag_ultimo_ms": np.full(n, -1, np.int64),
            "pag_n": np.zeros(n, np.int32),
            "pag_media": np.zeros(n, np.float64),
            "pag_m2": np.zeros(n, np.float64),
            "pag_ring_t": np.full((n, k), VAZIO_T, np.int32),
            "pag_ring_v": np.zeros((n, k), np.float32),
            "pag_rec": np.zeros((n, m), np.int64),
            "pag_rec_uso": np.full((n, m), VAZIO_T, np.int32),
            "noite_periodo": np.full(n, -1, np.int32),
            "noite_soma": np.zeros(n, np.float64),
            "disp_dia": np.full(n, -1, np.int32),
            "disp_soma": np.zeros(n, np.float64),
            "rec_ring_t": np.full((n, k), VAZIO_T, np.int32),
            "rec_ring_pag": np.zeros((n, k), np.int64),
            "rec_ring_novo": np.zeros((n, k), np.bool_),
            "rec_n": np.zeros(n, np.int32),
            "rec_novos_n": np.zeros(n, np.int32),
            "rec_media": np.zeros(n, np.float64),
            "rec_m2": np.zeros(n, np.float64),
            "marca_s": np.full(n, SEM_MARCA, np.int64),
            "med_n": np.zeros(n, np.int32),
        }

    def _alocar_chaves(self, n: int) -> None:
        self.chave = {
            "id": np.zeros(n, np.int64),
            "primeiro_s": np.full(n, -1, np.int64),
            "ultimo_s": np.full(n, -1, np.int64),
        }

    @staticmethod
    def _crescer(arrays: dict[str, np.ndarray], novo: int) -> None:
        for nome, atual in arrays.items():
            maior = np.empty((novo, *atual.shape[1:]), atual.dtype)
            maior[: len(atual)] = atual
            maior[len(atual) :] = _VAZIOS.get(nome, 0)
            arrays[nome] = maior

    def bytes_por_conta(self) -> int:
        return sum(a[0].nbytes if a.ndim > 1 else a.itemsize for a in self.conta.values())

    @property
    def contas_no_estado(self) -> int:
        return len(self.indice_conta)

    def _indices(self, hashes: np.ndarray, indice: dict[int, int], livres: list[int], arrays: dict) -> np.ndarray:
        """Índice denso de cada hash, criando os que faltam (reaproveitando posições expiradas)."""
        saida = np.empty(len(hashes), np.int64)
        for i, h in enumerate(hashes.tolist()):
            pos = indice.get(h)
            if pos is None:
                if livres:
                    pos = livres.pop()
                else:
                    pos = len(indice)
                    if pos >= len(arrays["id"]):
                        self._crescer(arrays, max(2 * len(arrays["id"]), 1024))
                indice[h] = pos
                arrays["id"][pos] = h
            saida[i] = pos
        return saida

    # Marcas de fraude (MED) --------------------------------------------------------------------
    def aplicar_marcas(self, recebedores: np.ndarray, instantes_s: np.ndarray) -> None:
        """Notificações MED contra contas recebedoras: contam a partir do instante da notificação."""
        hashes = hash_id(recebedores)
        idx = self._indices(hashes, self.indice_conta, self.livres_conta, self.conta)
        self._tocadas["conta"].append(idx)
        t = np.asarray(instantes_s, np.int64) - BASE_EPOCA_S
        for i, ti in zip(idx.tolist(), t.tolist(), strict=True):  # poucas por lote; a ordem importa
            self._esquecer_expiradas(self.conta, np.array([i]), np.array([ti]))
            self.conta["marca_s"][i] = min(self.conta["marca_s"][i], ti)
            self.conta["med_n"][i] += 1
            self.conta["ultimo_s"][i] = max(self.conta["ultimo_s"][i], ti)

    # Lote de transações ------------------------------------------------------------------------
    def processar_linha_do_tempo(self, transacoes: pd.DataFrame, marcas: pd.DataFrame | None = None) -> pd.DataFrame:
        """Transações e notificações MED intercaladas pelo tempo: uma marca só vale depois do seu instante.

        ``marcas`` tem ``recebedor_id_conta`` e ``data_hora_notificacao``. Cada marca é aplicada antes das
        transações com ``data_hora`` igual ou posterior a ela, e depois das anteriores.
        """
        if marcas is None or marcas.empty:
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
        """Features de cada transação, na ordem ``(data_hora, end_to_end_id)``; atualiza o estado."""
        df = transacoes.sort_values(["data_hora", "end_to_end_id"], kind="stable").reset_index(drop=True)
        n = len(df)
        saida = {nome: np.zeros(n, tipo) for nome, tipo in COLUNAS_FEATURES.items()}
        if n == 0:
            return pd.concat([df, pd.DataFrame(saida)], axis=1)

        t_ms = _para_ms(df["data_hora"])
        t = t_ms // 1000 - BASE_EPOCA_S
        v = df["valor"].to_numpy(np.float64)
        h_pag = hash_id(df["pagador_id_conta"])
        h_rec = hash_id(df["recebedor_id_conta"])
        pag = self._indices(h_pag, self.indice_conta, self.livres_conta, self.conta)
        rec = self._indices(h_rec, self.indice_conta, self.livres_conta, self.conta)
        tem_chave = df["chave_hash"].notna().to_numpy()
        chave = np.full(n, -1, np.int64)
        if tem_chave.any():
            chave[tem_chave] = self._indices(
                hash_id(df.loc[tem_chave, "chave_hash"]), self.indice_chave, self.livres_chave, self.chave
            )
        self._tocadas["conta"] += [pag, rec]
        self._tocadas["chave"].append(chave[chave >= 0])
        pf_pf = (df["pagador_tipo_pessoa"].to_numpy() == "PF") & (df["recebedor_tipo_pessoa"].to_numpy() == "PF")
        nao_cadastrado = (df["dispositivo_cadastrado"] == False).to_numpy(bool)  # noqa: E712 - nulo (API) = não

        lote = _Nivel(np.arange(n), t, t_ms, v, pag, rec, h_pag, h_rec, chave, pf_pf, nao_cadastrado)
        niveis = _niveis(pag, rec, chave)
        for nivel in range(int(niveis.max()) + 1):
            self._calcular(saida, lote.fatia(np.flatnonzero(niveis == nivel)))
        self.relogio_s = max(self.relogio_s, int(t.max()))
        return pd.concat([df, pd.DataFrame(saida)], axis=1)

    def _calcular(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Um nível: nenhuma conta ou chave se repete, então tudo é vetorizado sem conflito.

        Cada família de features lê o estado que é só dela e já o atualiza (nenhuma lê o de outra); a idade das
        contas, lida pelo pagador e pelo recebedor, muda por último.
        """
        self._esquecer_expiradas(self.conta, np.concatenate([nv.pag, nv.rec]), np.concatenate([nv.t, nv.t]))
        com_chave = nv.chave >= 0
        self._esquecer_expiradas(self.chave, nv.chave[com_chave], nv.t[com_chave])
        log_v = np.log1p(nv.v)
        local = nv.t + BASE_EPOCA_S + self.p.fuso_horas * 3_600  # segundos no horário de Brasília
        self._velocidade_do_pagador(saida, nv)
        self._historico_do_pagador(saida, nv, log_v)
        primeiro_ao_rec = self._recebedores_do_pagador(saida, nv)
        self._entrada_no_recebedor(saida, nv, log_v, primeiro_ao_rec)
        self._idade_da_chave(saida, nv)
        self._limite_noturno(saida, nv, local)
        self._limite_do_dispositivo(saida, nv, local)
        self._marcas_med(saida, nv)
        self._atividade_das_contas(nv)

    def _velocidade_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Quantidade e soma em 10 min, 1 h e 24 h: só eventos já processados com data_hora <= a desta transação."""
        c, agora = self.conta, nv.t[:, None]
        ring_t, ring_v = c["pag_ring_t"][nv.pag], c["pag_ring_v"][nv.pag]
        antes = (ring_t <= agora) & (ring_t != VAZIO_T)
        for nome, janela in JANELAS_PAGADOR.items():
            dentro = antes & (ring_t > agora - janela)
            saida[f"pag_qtd_{nome}"][nv.linhas] = dentro.sum(1)
            saida[f"pag_soma_{nome}"][nv.linhas] = np.where(dentro, ring_v.astype(np.float64), 0.0).sum(1)
        vaga = ring_t.argmin(1)  # substitui o evento mais antigo (ou uma vaga)
        c["pag_ring_t"][nv.pag, vaga] = nv.t
        c["pag_ring_v"][nv.pag, vaga] = nv.v

    def _historico_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel, log_v: np.ndarray) -> None:
        """Valor contra o histórico do próprio pagador (média e desvio de log1p(valor), Welford), ritmo e idade."""
        c, pag, linhas = self.conta, nv.pag, nv.linhas
        n_hist, media, m2 = c["pag_n"][pag], c["pag_media"][pag], c["pag_m2"][pag]
        saida["pag_qtd_historico"][linhas] = n_hist
        saida["pag_valor_zscore"][linhas] = _zscore(log_v, n_hist, media, m2)
        saida["pag_valor_razao_media"][linhas] = np.where(n_hist > 0, nv.v / np.maximum(np.expm1(media), 0.01), 1.0)
        saida["valor_redondo"][linhas] = np.round(nv.v * 100) % 10_000 == 0  # múltiplo de R$ 100
        ultimo = c["pag_ultimo_ms"][pag]
        saida["pag_segundos_desde_anterior"][linhas] = np.where(
            ultimo >= 0, np.maximum(nv.t_ms - ultimo, 0) / 1000.0, np.nan
        )
        primeiro_pag = c["primeiro_s"][pag]
        saida["pag_idade_conta_s"][linhas] = np.where(primeiro_pag >= 0, np.maximum(nv.t - primeiro_pag, 0), 0.0)
        c["pag_n"][pag], c["pag_media"][pag], c["pag_m2"][pag] = _welford(log_v, n_hist, media, m2)
        c["pag_ultimo_ms"][pag] = np.maximum(ultimo, nv.t_ms)

    def _recebedores_do_pagador(self, saida: dict[str, np.ndarray], nv: _Nivel) -> np.ndarray:
        """Primeiro pagamento a este recebedor (entre os ``k_recebedores`` mais recentes do pagador).

        Devolve a marca por linha: o recebedor a guarda como "pagador novo".
        """
        c, pag = self.conta, nv.pag
        conhecidos, uso = c["pag_rec"][pag], c["pag_rec_uso"][pag]
        achado = (conhecidos == nv.h_rec[:, None]) & (uso != VAZIO_T)
        primeiro_ao_rec = ~achado.any(1)
        saida["primeiro_pagamento_ao_recebedor"][nv.linhas] = primeiro_ao_rec
        posicao = np.where(achado.any(1), achado.argmax(1), uso.argmin(1))
        c["pag_rec"][pag, posicao] = nv.h_rec
        c["pag_rec_uso"][pag, posicao] = np.maximum(uso[np.arange(len(pag)), posicao], nv.t)
        return primeiro_ao_rec

    def _entrada_no_recebedor(
        self, saida: dict[str, np.ndarray], nv: _Nivel, log_v: np.ndarray, primeiro_ao_rec: np.ndarray
    ) -> None:
        """Pagadores distintos e novos, idade e valor contra o histórico do recebedor (o sinal das contas laranja)."""
        c, rec, linhas, agora = self.conta, nv.rec, nv.linhas, nv.t[:, None]
        r_t, r_pag = c["rec_ring_t"][rec], c["rec_ring_pag"][rec]
        r_antes = (r_t <= agora) & (r_t != VAZIO_T)
        for nome, janela in JANELAS_RECEBEDOR.items():
            saida[f"rec_pagadores_distintos_{nome}"][linhas] = _distintos_por_linha(
                r_pag, r_antes & (r_t > agora - janela)
            )
        primeiro_rec = c["primeiro_s"][rec]
        saida["rec_idade_conta_s"][linhas] = np.where(primeiro_rec >= 0, np.maximum(nv.t - primeiro_rec, 0), 0.0)
        n_rec = c["rec_n"][rec]
        saida["rec_qtd_historico"][linhas] = n_rec
        saida["rec_qtd_pagadores_novos"][linhas] = c["rec_novos_n"][rec]
        saida["rec_pagadores_novos_24h"][linhas] = (
            r_antes & (r_t > agora - JANELAS_RECEBEDOR["24h"]) & c["rec_ring_novo"][rec]
        ).sum(1)
        media_rec, m2_rec = c["rec_media"][rec], c["rec_m2"][rec]
        saida["rec_valor_zscore"][linhas] = _zscore(log_v, n_rec, media_rec, m2_rec)
        vaga_rec = r_t.argmin(1)
        c["rec_ring_t"][rec, vaga_rec] = nv.t
        c["rec_ring_pag"][rec, vaga_rec] = nv.h_pag
        c["rec_ring_novo"][rec, vaga_rec] = primeiro_ao_rec
        # Num nível, cada conta aparece uma vez: atribuir por índice não perde atualização.
        c["rec_n"][rec], c["rec_media"][rec], c["rec_m2"][rec] = _welford(log_v, n_rec, media_rec, m2_rec)
        c["rec_novos_n"][rec] += primeiro_ao_rec

    def _idade_da_chave(self, saida: dict[str, np.ndarray], nv: _Nivel) -> None:
        """Há quanto tempo a chave foi vista pela primeira vez; NaN sem chave."""
        com_chave = nv.chave >= 0
        idade_chave = np.full(len(nv.linhas), np.nan)
        if com_chave.any():
            ch, t = nv.chave[com_chave], nv.t[com_chave]
            primeiro_chave = self.chave["primeiro_s"][ch]
            idade_chave[com_chave] = np.where(primeiro_chave >= 0, np.maximum(t - primeiro_chave, 0), 0.0)
            self.chave["primeiro_s"][ch] = np.where(primeiro_chave < 0, t, primeiro_chave)
            self.chave["ultimo_s"][ch] = np.maximum(self.chave["ultimo_s"][ch], t)
        saida["chave_idade_s"][nv.linhas] = idade_chave

    def _limite_noturno(self, saida: dict[str, np.ndarray], nv: _Nivel, local: np.ndarray) -> None:
        """Hora local e o limite noturno entre pessoas físicas (20h-6h no horário de Brasília)."""
        c, pag, linhas = self.conta, nv.pag, nv.linhas
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
        c, p, pag, linhas, nao_cadastrado = self.conta, self.p, nv.pag, nv.linhas, nv.nao_cadastrado
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
        saida["rec_marcada_fraude"][nv.linhas] = self.conta["marca_s"][nv.rec] <= nv.t
        saida["rec_qtd_med"][nv.linhas] = self.conta["med_n"][nv.rec]

    def _atividade_das_contas(self, nv: _Nivel) -> None:
        """Primeira e última atividade das contas (idade e TTL): por último, porque pagador e recebedor a leem."""
        c = self.conta
        for idx in (nv.pag, nv.rec):
            c["primeiro_s"][idx] = np.where(c["primeiro_s"][idx] < 0, nv.t, c["primeiro_s"][idx])
            c["ultimo_s"][idx] = np.maximum(c["ultimo_s"][idx], nv.t)

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
        for tipo, indice, livres, arrays in self._tabelas():
            usados = np.fromiter(indice.values(), np.int64, len(indice))
            velhos = usados[arrays["ultimo_s"][usados] < limite]
            for pos in velhos.tolist():
                h = int(arrays["id"][pos])
                del indice[h]
                livres.append(pos)
                self._removidas[tipo].append(h)
            for nome, array in arrays.items():
                array[velhos] = _VAZIOS.get(nome, 0)
            removidas += len(velhos)
        return removidas

    # Persistência ------------------------------------------------------------------------------
    def _tabelas(self) -> list[tuple[str, dict[int, int], list[int], dict[str, np.ndarray]]]:
        return [
            ("conta", self.indice_conta, self.livres_conta, self.conta),
            ("chave", self.indice_chave, self.livres_chave, self.chave),
        ]

    def extrair(self, completo: bool = False) -> dict[str, np.ndarray]:
        """O estado como arrays: só o que mudou desde a última extração, ou tudo (``completo``).

        É o que o armazém grava por lote; aplicado em ordem a um motor novo, reconstrói este estado.
        """
        saida: dict[str, np.ndarray] = {"relogio_s": np.array([self.relogio_s], np.int64)}
        for tipo, indice, _, arrays in self._tabelas():
            if completo:
                posicoes = np.fromiter(indice.values(), np.int64, len(indice))
            else:
                tocadas = self._tocadas[tipo]
                posicoes = np.unique(np.concatenate(tocadas)) if tocadas else np.zeros(0, np.int64)
                posicoes = posicoes[np.isin(arrays["id"][posicoes], list(self._removidas[tipo]), invert=True)]
            for nome, array in arrays.items():
                saida[f"{tipo}.{nome}"] = array[posicoes]
            saida[f"{tipo}.removidas"] = np.array(self._removidas[tipo], np.int64)
            self._tocadas[tipo], self._removidas[tipo] = [], []
        return saida

    def esquecer_mudancas(self) -> None:
        """Para quem não grava o log por lote (o caminho quente grava snapshots): não acumular as tocadas."""
        self._tocadas = {"conta": [], "chave": []}
        self._removidas = {"conta": [], "chave": []}

    def aplicar(self, estado: dict[str, np.ndarray]) -> None:
        """Aplica o resultado de ``extrair`` (de um snapshot ou de um lote do log)."""
        self.relogio_s = max(self.relogio_s, int(estado["relogio_s"][0]))
        for tipo, indice, livres, arrays in self._tabelas():
            for h in estado[f"{tipo}.removidas"].tolist():
                pos = indice.pop(h, None)
                if pos is not None:
                    livres.append(pos)
                    for nome, array in arrays.items():
                        array[pos] = _VAZIOS.get(nome, 0)
            ids = estado[f"{tipo}.id"]
            posicoes = self._indices(ids, indice, livres, arrays)
            for nome, array in arrays.items():
                # Estado gravado por uma versão anterior do motor não tem os arrays novos: eles começam vazios.
                if f"{tipo}.{nome}" in estado:
                    array[posicoes] = estado[f"{tipo}.{nome}"]
        self._tocadas = {"conta": [], "chave": []}


_VAZIOS = {
    "primeiro_s": -1,
    "ultimo_s": -1,
    "pag_ultimo_ms": -1,
    "pag_ring_t": VAZIO_T,
    "pag_rec_uso": VAZIO_T,
    "noite_periodo": -1,
    "disp_dia": -1,
    "rec_ring_t": VAZIO_T,
    "marca_s": SEM_MARCA,
}


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
    """Nível de cada linha: 1 + o maior nível anterior que usou a mesma conta ou chave."""
    ultimo: dict[int, int] = {}
    niveis = np.empty(len(pag), np.int32)
    deslocamento = 1 << 40  # chaves e contas em espaços distintos
    for i, (a, b, k) in enumerate(zip(pag.tolist(), rec.tolist(), chave.tolist(), strict=True)):
        nivel = max(ultimo.get(a, -1), ultimo.get(b, -1), ultimo.get(k + deslocamento, -1) if k >= 0 else -1) + 1
        niveis[i] = nivel
        ultimo[a] = ultimo[b] = nivel
        if k >= 0:
            ultimo[k + deslocamento] = nivel
    return niveis


def _distintos_por_linha(valores: np.ndarray, mascara: np.ndarray) -> np.ndarray:
    """Quantos valores distintos há em cada linha, considerando só as posições da máscara."""
    if valores.shape[1] == 0:
        return np.zeros(len(valores), np.int32)
    sentinela = np.iinfo(np.int64).min
    ordenados = np.sort(np.where(mascara, valores, sentinela), axis=1)
    novos = (ordenados[:, 1:] != ordenados[:, :-1]) & (ordenados[:, 1:] != sentinela)
    return (novos.sum(1) + (ordenados[:, 0] != sentinela)).astype(np.int32)
