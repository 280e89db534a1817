"""Implementação de referência das features, linha a linha e com todo o histórico: lenta, mas óbvia.

Serve só aos testes: o motor vetorizado tem de dar o mesmo resultado enquanto nenhum limite de estado
(k_eventos, k_recebedores) é atingido.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from processamento.contrato import FORMAS_INICIACAO


def features_de_referencia(transacoes: pd.DataFrame, marcas: pd.DataFrame | None = None) -> pd.DataFrame:
    df = transacoes.sort_values(["data_hora", "end_to_end_id"], kind="stable").reset_index(drop=True)
    ms = pd.to_datetime(df["data_hora"], utc=True).dt.tz_localize(None).to_numpy("datetime64[ms]").astype(np.int64)
    marcas_lista: list[tuple[int, str]] = []
    if marcas is not None:
        ms_m = pd.to_datetime(marcas["data_hora_notificacao"], utc=True).dt.tz_localize(None)
        marcas_lista = sorted(zip(ms_m.to_numpy("datetime64[ms]").astype(np.int64).tolist(),
                                  marcas["recebedor_id_conta"], strict=True))  # fmt: skip
    historico: list[dict] = []
    primeiro_como: dict[str, dict[str, int]] = {"pag": {}, "rec": {}}  # a idade é por papel
    chave_vista: dict[str, int] = {}
    linhas = []
    for i, tx in df.iterrows():
        t_ms = int(ms[i])
        t = t_ms // 1000
        pag, rec = tx["pagador_id_conta"], tx["recebedor_id_conta"]
        do_pag = [h for h in historico if h["pag"] == pag and h["t"] <= t]
        ao_rec = [h for h in historico if h["rec"] == rec and h["t"] <= t]
        f: dict[str, object] = {"end_to_end_id": tx["end_to_end_id"]}
        for nome, janela in (("10min", 600), ("1h", 3600), ("24h", 86400)):
            dentro = [h for h in do_pag if h["t"] > t - janela]
            f[f"pag_qtd_{nome}"] = len(dentro)
            f[f"pag_soma_{nome}"] = sum(float(np.float32(h["v"])) for h in dentro)
        todos_pag = [h for h in historico if h["pag"] == pag]
        logs = [math.log1p(h["v"]) for h in todos_pag]
        f["pag_qtd_historico"] = len(logs)
        media = sum(logs) / len(logs) if logs else 0.0
        if len(logs) > 1:
            desvio = math.sqrt(sum((x - media) ** 2 for x in logs) / (len(logs) - 1))
            f["pag_valor_zscore"] = (math.log1p(tx["valor"]) - media) / max(desvio, 0.25)
        else:
            f["pag_valor_zscore"] = 0.0
        f["pag_valor_razao_media"] = tx["valor"] / max(math.expm1(media), 0.01) if logs else 1.0
        f["valor_log"] = math.log1p(tx["valor"])
        v32 = lambda h: float(np.float32(h["v"]))  # noqa: E731 - o anel do motor guarda o valor em float32
        for nome, janela in (("1d", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400)):
            dentro = [math.log1p(v32(h)) for h in do_pag if h["t"] > t - janela]
            f[f"pag_razao_media_{nome}"] = (
                tx["valor"] / max(math.expm1(sum(dentro) / len(dentro)), 0.01) if dentro else 1.0
            )
        no_mes = [v32(h) for h in do_pag if h["t"] > t - 30 * 86400]
        f["pag_razao_max_30d"] = tx["valor"] / max(max(no_mes), 0.01) if no_mes else 1.0
        f["pag_percentil_30d"] = (
            (sum(x < tx["valor"] for x in no_mes) + 0.5 * sum(x == tx["valor"] for x in no_mes)) / len(no_mes)
            if no_mes
            else 0.5
        )
        f["pag_recebedores_novos_24h"] = sum(1 for h in do_pag if h["t"] > t - 86400 and h["novo_pag"])
        n_pag = len(todos_pag)
        f["pag_taxa_recebedores_novos"] = sum(h["novo_pag"] for h in todos_pag) / n_pag if n_pag else 0.0
        angulo = 2 * math.pi * ((t - 3 * 3600) % 86400) / 86400
        soma_sin = sum(math.sin(h["angulo"]) for h in todos_pag)
        soma_cos = sum(math.cos(h["angulo"]) for h in todos_pag)
        f["pag_hora_incomum"] = (
            math.hypot(soma_sin, soma_cos) / n_pag * (1 - math.cos(angulo - math.atan2(soma_sin, soma_cos))) / 2
            if n_pag > 1
            else 0.0
        )
        f["pag_frac_nao_cadastrado"] = sum(h["nao_cad"] for h in todos_pag) / n_pag if n_pag else 0.0
        forma = tx.get("forma_iniciacao")
        conhecida = isinstance(forma, str) and forma in FORMAS_INICIACAO
        f["pag_canal_novo"] = bool(n_pag and conhecida and all(h["forma"] != forma for h in todos_pag))
        f["valor_redondo"] = round(tx["valor"] * 100) % 10000 == 0
        f["pag_segundos_desde_anterior"] = (
            max(t_ms - max(h["ms"] for h in todos_pag), 0) / 1000 if todos_pag else float("nan")
        )
        primeiro_pag = primeiro_como["pag"].get(pag)
        f["pag_idade_conta_s"] = float(max(t - primeiro_pag, 0)) if primeiro_pag is not None else 0.0
        f["primeiro_pagamento_ao_recebedor"] = not any(h["rec"] == rec for h in todos_pag)
        for nome, janela in (("1h", 3600), ("24h", 86400)):
            f[f"rec_pagadores_distintos_{nome}"] = len({h["pag"] for h in ao_rec if h["t"] > t - janela})
        primeiro_rec = primeiro_como["rec"].get(rec)
        f["rec_idade_conta_s"] = float(max(t - primeiro_rec, 0)) if primeiro_rec is not None else 0.0
        todos_rec = [h for h in historico if h["rec"] == rec]
        novo = not any(h["pag"] == pag for h in todos_rec)  # pagador novo, visto do recebedor
        f["rec_qtd_historico"] = len(todos_rec)
        f["rec_qtd_pagadores_novos"] = sum(1 for h in todos_rec if h["novo"])
        f["rec_pagadores_novos_24h"] = sum(1 for h in ao_rec if h["t"] > t - 86400 and h["novo"])
        logs_rec = [math.log1p(h["v"]) for h in todos_rec]
        if len(logs_rec) > 1:
            media_rec = sum(logs_rec) / len(logs_rec)
            desvio_rec = math.sqrt(sum((x - media_rec) ** 2 for x in logs_rec) / (len(logs_rec) - 1))
            f["rec_valor_zscore"] = (math.log1p(tx["valor"]) - media_rec) / max(desvio_rec, 0.25)
        else:
            f["rec_valor_zscore"] = 0.0
        f["rec_razao_media"] = tx["valor"] / max(math.expm1(sum(logs_rec) / len(logs_rec)), 0.01) if logs_rec else 1.0
        marcas_do_rec = [m[0] // 1000 for m in marcas_lista if m[1] == rec and m[0] <= t_ms]
        for nome, tau in (("1d", 86400.0), ("7d", 7 * 86400.0), ("30d", 30 * 86400.0)):
            med = sum(math.exp(-(t - tm) / tau) for tm in marcas_do_rec)
            recebidos = sum(math.exp(-(t - h["t"]) / tau) for h in todos_rec)
            f[f"rec_taxa_med_{nome}"] = med / max(recebidos, 1.0)
        chave = tx["chave_hash"]
        if chave is None or (isinstance(chave, float) and math.isnan(chave)):
            f["chave_idade_s"] = float("nan")
        else:
            f["chave_idade_s"] = float(max(t - chave_vista[chave], 0)) if chave in chave_vista else 0.0
            chave_vista.setdefault(chave, t)

        local = t - 3 * 3600
        deslocado = local - 6 * 3600
        noturno = deslocado % 86400 >= 14 * 3600
        pf_pf = tx["pagador_tipo_pessoa"] == "PF" and tx["recebedor_tipo_pessoa"] == "PF"
        mesma_noite = [h for h in todos_pag if h["noite_pfpf"] and h["periodo"] == deslocado // 86400]
        acumulado = sum(h["v"] for h in mesma_noite) + (tx["valor"] if noturno and pf_pf else 0.0)
        f["hora_local"] = (local % 86400) / 3600
        f["noturno"] = noturno
        f["noturno_acumulado"] = acumulado if noturno else 0.0
        f["excede_limite_noturno"] = bool(noturno and pf_pf and acumulado > 1000)
        cadastrado = tx["dispositivo_cadastrado"]
        nao_cad = cadastrado is not None and not pd.isna(cadastrado) and not bool(cadastrado)
        mesmo_dia = [h for h in todos_pag if h["nao_cad"] and h["dia"] == local // 86400]
        acumulado_d = sum(h["v"] for h in mesmo_dia) + (tx["valor"] if nao_cad else 0.0)
        f["dispositivo_nao_cadastrado"] = nao_cad
        f["nao_cadastrado_acumulado_dia"] = acumulado_d
        f["excede_limite_dispositivo"] = nao_cad and (tx["valor"] > 200 or acumulado_d > 1000)
        anteriores = [m for m in marcas_lista if m[1] == rec and m[0] <= t_ms]
        f["rec_marcada_fraude"] = bool(anteriores)
        f["rec_qtd_med"] = len(anteriores)
        linhas.append(f)

        historico.append({
            "pag": pag, "rec": rec, "t": t, "ms": t_ms, "v": tx["valor"], "novo": novo,
            "novo_pag": f["primeiro_pagamento_ao_recebedor"], "angulo": angulo, "forma": forma,
            "noite_pfpf": noturno and pf_pf, "periodo": deslocado // 86400,
            "nao_cad": nao_cad, "dia": local // 86400,
        })  # fmt: skip
        primeiro_como["pag"].setdefault(pag, t)
        primeiro_como["rec"].setdefault(rec, t)
    return pd.DataFrame(linhas)
