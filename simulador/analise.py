"""Análise de uma saída do simulador: realismo (tabela e gráficos) e separabilidade campo a campo.

Separabilidade: cada campo cru da mensagem, sozinho, vira um escore de fraude e medimos a precisão
média (AP). Campos numéricos pontuam pelo valor (no sentido que mais ajuda); categóricos de baixa
cardinalidade, pela taxa de fraude da categoria na própria amostra (otimista de propósito);
identificadores (alta cardinalidade), pela taxa de fraude do mesmo valor na primeira metade do
período aplicada à segunda, valor nunca visto = 0 (memorizar ids do passado é o máximo que um campo
isolado oferece; "nunca visto" é novidade, um atributo comportamental, medido à parte).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

FUSO = pd.Timedelta(hours=-3)
PARTES = ("ispb", "agencia", "conta", "tipo_conta", "tipo_pessoa", "documento", "nome")
CAMPOS_CRUS = (
    "end_to_end_id", "data_hora", "valor", "forma_iniciacao", "finalidade",
    *(f"pagador.{p}" for p in PARTES), *(f"recebedor.{p}" for p in PARTES),
    "chave", "tipo_chave", "canal", "dispositivo.id", "dispositivo.cadastrado", "txid", "info_pagador",
)  # fmt: skip
NUMERICOS = ("valor", "data_hora")
MAX_CATEGORIAS = 200


def carregar(pasta: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transações achatadas com o gabarito, notificações MED). Ignora linhas fora do contrato."""
    from processamento.contrato import validar_transacao

    pasta = Path(pasta)
    linhas = []
    vistos: set[str] = set()
    with (pasta / "transacoes.jsonl").open(encoding="utf-8") as arquivo:
        for linha in arquivo:
            if validar_transacao(linha):
                continue
            obj = json.loads(linha)
            if obj["end_to_end_id"] in vistos:
                continue
            vistos.add(obj["end_to_end_id"])
            plano = {k: v for k, v in obj.items() if not isinstance(v, dict)}
            for papel in ("pagador", "recebedor", "dispositivo"):
                for k, v in (obj.get(papel) or {}).items():
                    plano[f"{papel}.{k}"] = v
            linhas.append(plano)
    tx = pd.DataFrame(linhas)
    gab = pd.read_csv(pasta / "gabarito.csv", keep_default_na=False)
    tx = tx.merge(gab, on="end_to_end_id", how="left")
    tx["ts"] = pd.to_datetime(tx["data_hora"], utc=True)
    tx = tx.sort_values("ts", kind="stable").reset_index(drop=True)
    med = pd.read_json(pasta / "med.jsonl", lines=True, dtype={"end_to_end_id": str})
    if len(med):
        med["ts_notificacao"] = pd.to_datetime(med["data_hora_notificacao"], utc=True)
    return tx, med


def _ap(y: np.ndarray, escore: np.ndarray) -> float:
    return float(average_precision_score(y, escore))


def separabilidade(tx: pd.DataFrame) -> pd.DataFrame:
    """AP de cada campo cru sozinho como escore de fraude."""
    y = tx["fraude"].to_numpy()
    metade = tx["ts"].iloc[0] + (tx["ts"].iloc[-1] - tx["ts"].iloc[0]) / 2
    depois = (tx["ts"] >= metade).to_numpy()
    resultado = []
    for campo in CAMPOS_CRUS:
        coluna = tx[campo] if campo in tx else pd.Series([None] * len(tx))
        if campo in NUMERICOS:
            x = (tx["ts"].astype("int64") if campo == "data_hora" else coluna).to_numpy(dtype=float)
            ap = max(_ap(y, x), _ap(y, -x))
            metodo = "valor numérico (melhor sentido)"
        else:
            texto = coluna.astype(str)
            if texto.nunique() <= MAX_CATEGORIAS:
                taxa = pd.Series(y).groupby(texto.to_numpy()).transform("mean").to_numpy()
                ap = _ap(y, taxa)
                metodo = f"taxa de fraude da categoria ({texto.nunique()} valores)"
            else:
                antes = ~depois
                taxa = pd.Series(y[antes]).groupby(texto[antes].to_numpy()).mean()
                escore = texto[depois].map(taxa).fillna(0.0).to_numpy()
                ap = _ap(y[depois], escore)
                metodo = "taxa do mesmo valor na 1ª metade, aplicada à 2ª"
        resultado.append({"campo": campo, "ap": ap, "metodo": metodo})
    base = {"campo": "(referência: escore aleatório)", "ap": float(y.mean()), "metodo": "taxa de fraude"}
    return pd.DataFrame([*resultado, base])


def realismo(tx: pd.DataFrame, med: pd.DataFrame) -> dict[str, str]:
    """Números do realismo para a tabela do documento."""
    local = tx["ts"] + FUSO
    hora = local.dt.hour
    noite = (hora >= 20) | (hora < 6)
    p2p = (tx["pagador.tipo_pessoa"] == "PF") & (tx["recebedor.tipo_pessoa"] == "PF")
    por_pagador = tx.groupby("pagador.documento").size()
    legit = tx["fraude"] == 0
    fraude = ~legit
    atraso = _atrasos_med_dias(tx, med)
    return {
        "transações": f"{len(tx):,}",
        "pagadores distintos": f"{tx['pagador.documento'].nunique():,}",
        "dias simulados": f"{(tx['ts'].iloc[-1] - tx['ts'].iloc[0]).total_seconds() / 86400:.1f}",
        "ticket médio (R$)": f"{tx['valor'].mean():,.2f}",
        "mediana do valor (R$)": f"{tx['valor'].median():,.2f}",
        "P2P (PF→PF) abaixo de R$ 200": f"{100 * (tx.loc[p2p, 'valor'] < 200).mean():.1f}%",
        "valor p99 (R$)": f"{tx['valor'].quantile(0.99):,.2f}",
        "Pix entre 20h e 6h (hora de Brasília)": f"{100 * noite.mean():.1f}%",
        "Pix por pagador no período (mediana / p95)": f"{por_pagador.median():.0f} / {por_pagador.quantile(0.95):.0f}",
        "recebedor PJ": f"{100 * (tx['recebedor.tipo_pessoa'] == 'PJ').mean():.1f}%",
        "dispositivo não cadastrado (legítimas / fraudes)": (
            f"{100 * (tx.loc[legit, 'dispositivo.cadastrado'] == False).mean():.2f}% / "  # noqa: E712
            f"{100 * (tx.loc[fraude, 'dispositivo.cadastrado'] == False).mean():.2f}%"  # noqa: E712
        ),
        "taxa de fraude": f"{100 * fraude.mean():.3f}%",
        "notificações MED (fraude / abuso)": (
            f"{int(tx.loc[fraude, 'end_to_end_id'].isin(med['end_to_end_id']).sum()) if len(med) else 0} / "
            f"{int((tx['tipologia'] == 'abuso_med').sum())}"
        ),
        "atraso MED em dias (mediana / p90 / máx.)": (
            f"{atraso.median():.1f} / {atraso.quantile(0.9):.1f} / {atraso.max():.1f}" if len(atraso) else "-"
        ),
    }


def _atrasos_med_dias(tx: pd.DataFrame, med: pd.DataFrame) -> pd.Series:
    if not len(med):
        return pd.Series(dtype=float)
    junto = med.merge(tx[["end_to_end_id", "ts"]], on="end_to_end_id")
    return (junto["ts_notificacao"] - junto["ts"]).dt.total_seconds() / 86400


def graficos(tx: pd.DataFrame, med: pd.DataFrame, pasta: str | Path) -> list[Path]:
    """Os PNG do documento do simulador."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pasta = Path(pasta)
    pasta.mkdir(parents=True, exist_ok=True)
    saidas = []

    def salvar(fig, nome: str) -> None:
        caminho = pasta / nome
        fig.tight_layout()
        fig.savefig(caminho, dpi=90)
        plt.close(fig)
        saidas.append(caminho)

    legit = tx["fraude"] == 0
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.logspace(-1, 5, 61)
    for mascara, rotulo in ((legit, "legítimas"), (~legit, "fraudes")):
        valores = tx.loc[mascara, "valor"]
        ax.hist(valores, bins=bins, weights=np.full(len(valores), 1 / max(len(valores), 1)), alpha=0.6, label=rotulo)
    ax.set_xscale("log")
    ax.set_xlabel("valor (R$, escala log)")
    ax.set_ylabel("fração das transações")
    ax.set_title("Distribuição do valor")
    ax.legend()
    salvar(fig, "simulador_valor.png")

    hora = (tx["ts"] + FUSO).dt.hour
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(range(24), hora[legit].value_counts(normalize=True).reindex(range(24), fill_value=0), label="legítimas")
    ax.plot(range(24), hora[~legit].value_counts(normalize=True).reindex(range(24), fill_value=0), label="fraudes")
    ax.set_xlabel("hora local (Brasília)")
    ax.set_ylabel("fração dos Pix")
    ax.set_title("Curva do dia")
    ax.legend()
    salvar(fig, "simulador_hora.png")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    por_pagador = tx.loc[legit].groupby("pagador.documento").size()
    ax.hist(por_pagador, bins=np.arange(1, por_pagador.quantile(0.995) + 2))
    ax.set_xlabel("Pix por pagador no período")
    ax.set_ylabel("pagadores")
    ax.set_title("Pix por cliente")
    salvar(fig, "simulador_por_cliente.png")

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    tx["forma_iniciacao"].value_counts(normalize=True).plot.bar(ax=axes[0], title="Forma de iniciação")
    tx["tipo_chave"].fillna("(sem chave)").value_counts(normalize=True).plot.bar(ax=axes[1], title="Tipo de chave")
    salvar(fig, "simulador_formas_chaves.png")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    tx.loc[tx["tipologia"] != "nenhuma", "tipologia"].value_counts().plot.barh(ax=ax, title="Transações por tipologia")
    salvar(fig, "simulador_tipologias.png")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    atraso = _atrasos_med_dias(tx, med)
    ax.hist(atraso, bins=np.logspace(np.log10(max(atraso.min(), 0.01)), np.log10(max(atraso.max(), 1)), 40))
    ax.set_xscale("log")
    ax.set_xlabel("dias entre o Pix e a notificação MED (escala log)")
    ax.set_ylabel("notificações")
    ax.set_title("Atraso do MED")
    salvar(fig, "simulador_atraso_med.png")
    return saidas


# Sanidade do sinal comportamental ---------------------------------------------------------------
def _janela(chave: np.ndarray, t: np.ndarray, valor: np.ndarray, janela_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Contagem e soma por chave nos últimos ``janela_s`` segundos (inclui a linha); entrada já ordenada."""
    composto = chave.astype(np.int64) * (1 << 40) + t
    esquerda = np.searchsorted(composto, composto - int(janela_s * 1000), side="left")
    i = np.arange(len(t))
    soma = np.concatenate([[0.0], np.cumsum(valor)])
    return (i - esquerda + 1).astype(float), soma[i + 1] - soma[esquerda]


def atributos_comportamentais(tx: pd.DataFrame, med: pd.DataFrame) -> pd.DataFrame:
    """Atributos do tipo que a etapa de ML usará (velocidade, recebedor novo, madrugada, marcas MED)."""
    df = tx.copy()
    t = ((df["ts"] - df["ts"].iloc[0]).dt.total_seconds() * 1000).astype(np.int64).to_numpy()
    df["_t"] = t
    df["_pag"] = pd.factorize(df["pagador.ispb"] + df["pagador.conta"])[0]
    df["_rec"] = pd.factorize(df["recebedor.ispb"] + df["recebedor.conta"])[0]
    hora = (df["ts"] + FUSO).dt.hour
    df["noite"] = ((hora >= 20) | (hora < 6)).astype(float)
    df["nao_cadastrado"] = (df["dispositivo.cadastrado"] == False).astype(float)  # noqa: E712
    df["log_valor"] = np.log1p(df["valor"])
    df["primeiro_par"] = (~df.duplicated(["_pag", "_rec"])).astype(float)
    colunas = ["_t", "i", "c"]
    contas = pd.concat(
        [
            df[["_t", "pagador.ispb", "pagador.conta"]].set_axis(colunas, axis=1),
            df[["_t", "recebedor.ispb", "recebedor.conta"]].set_axis(colunas, axis=1),
        ]
    )
    primeira = contas.groupby(["i", "c"])["_t"].min()
    df["idade_rec_h"] = (
        t - primeira.reindex(pd.MultiIndex.from_arrays([df["recebedor.ispb"], df["recebedor.conta"]])).to_numpy()
    ) / 3.6e6
    primeira_chave = df.groupby("chave")["_t"].transform("min")
    df["idade_chave_h"] = ((t - primeira_chave) / 3.6e6).fillna(-1)
    for papel, sufixo in (("_pag", "pag"), ("_rec", "rec")):
        ordem = np.lexsort((t, df[papel].to_numpy()))
        k, tt = df[papel].to_numpy()[ordem], t[ordem]
        for nome, janela in (("10min", 600), ("1h", 3600), ("24h", 86400)):
            cont, soma = _janela(k, tt, df["valor"].to_numpy()[ordem], janela)
            df.loc[df.index[ordem], f"{sufixo}_n_{nome}"] = cont
            df.loc[df.index[ordem], f"{sufixo}_soma_{nome}"] = soma
        if papel == "_rec":
            for nome, janela in (("1h", 3600), ("24h", 86400)):
                _, novos = _janela(k, tt, df["primeiro_par"].to_numpy()[ordem], janela)
                df.loc[df.index[ordem], f"rec_novos_pagadores_{nome}"] = novos
        else:
            _, noite = _janela(k, tt, (df["valor"] * df["noite"]).to_numpy()[ordem], 10 * 3600)
            df.loc[df.index[ordem], "noite_acum"] = noite
            anterior = np.where(np.r_[False, k[1:] == k[:-1]], np.r_[0, tt[:-1]], -1)
            df.loc[df.index[ordem], "seg_desde_anterior"] = np.where(anterior >= 0, (tt - anterior) / 1000, 1e7)
            lv = df["log_valor"].to_numpy()[ordem]
            grupo_soma = pd.Series(lv).groupby(k).cumsum().to_numpy() - lv
            grupo_n = pd.Series(np.ones_like(lv)).groupby(k).cumsum().to_numpy() - 1
            df.loc[df.index[ordem], "valor_vs_historico"] = np.where(
                grupo_n > 0, lv - grupo_soma / np.maximum(grupo_n, 1), 0
            )
    # Marcas de fraude do recebedor: notificações MED já recebidas contra Pix para a mesma conta.
    df["marcas_rec"] = 0.0
    if len(med):
        alvo = med.merge(df[["end_to_end_id", "_rec"]], on="end_to_end_id")[["_rec", "ts_notificacao"]]
        alvo = alvo.sort_values("ts_notificacao")
        alvo["marcas"] = alvo.groupby("_rec").cumcount() + 1.0
        consulta = df[["_rec", "ts"]].reset_index().sort_values("ts")
        junto = pd.merge_asof(
            consulta, alvo, left_on="ts", right_on="ts_notificacao", by="_rec", allow_exact_matches=False
        )
        df.loc[junto["index"], "marcas_rec"] = junto["marcas"].fillna(0).to_numpy()
    df["rec_pf"] = (df["recebedor.tipo_pessoa"] == "PF").astype(float)
    df["forma_qr"] = df["forma_iniciacao"].isin(["QRES", "QRDN", "APDN"]).astype(float)
    return df


ATRIBUTOS = (
    "log_valor", "noite", "nao_cadastrado", "primeiro_par", "idade_rec_h", "idade_chave_h", "pag_n_10min",
    "pag_n_1h", "pag_n_24h", "pag_soma_1h", "pag_soma_24h", "rec_n_1h", "rec_n_24h", "rec_novos_pagadores_1h",
    "rec_novos_pagadores_24h", "noite_acum", "seg_desde_anterior", "valor_vs_historico", "marcas_rec", "rec_pf",
    "forma_qr",
)  # fmt: skip


def ap_comportamental(
    tx: pd.DataFrame, med: pd.DataFrame, fracao_treino: float = 0.6, aquecimento_dias: float = 3.0
) -> tuple[float, int]:
    """AP de um modelo simples (gradient boosting) com atributos comportamentais, teste fora do tempo.

    Os primeiros dias ficam fora do treino: no começo da simulação toda conta é "nova para o sistema",
    e esse aquecimento ensinaria ao modelo que conta nova é normal. A parada antecipada fica desligada
    (com ~0,5% de positivos, a validação interna aleatória é ruidosa e para cedo demais).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    df = atributos_comportamentais(tx, med)
    corte = int(len(df) * fracao_treino)
    x, y = df[list(ATRIBUTOS)].to_numpy(dtype=float), df["fraude"].to_numpy()
    aquecido = (df["ts"] >= df["ts"].iloc[0] + pd.Timedelta(days=aquecimento_dias)).to_numpy()
    treino = (np.arange(len(df)) < corte) & aquecido
    modelo = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.08, early_stopping=False, random_state=0)
    modelo.fit(x[treino], y[treino])
    return _ap(y[corte:], modelo.predict_proba(x[corte:])[:, 1]), int(y[corte:].sum())


def ap_por_atributo(df: pd.DataFrame) -> pd.Series:
    """AP de cada atributo comportamental sozinho (melhor sentido), para mostrar que nenhum basta."""
    y = df["fraude"].to_numpy()
    return pd.Series(
        {a: max(_ap(y, df[a].to_numpy(dtype=float)), _ap(y, -df[a].to_numpy(dtype=float))) for a in ATRIBUTOS}
    ).sort_values(ascending=False)


def relatorio(pasta: str | Path, pasta_img: str | Path | None = None) -> str:
    """Tabelas em Markdown (realismo, separabilidade, sinal comportamental) e, se pedido, os PNG."""
    tx, med = carregar(pasta)
    partes = ["| medida | valor |", "| --- | --- |"]
    partes += [f"| {k} | {v} |" for k, v in realismo(tx, med).items()]
    partes += ["", "| campo | AP sozinho | como vira escore |", "| --- | ---: | --- |"]
    partes += [f"| `{r.campo}` | {r.ap:.3f} | {r.metodo} |" for r in separabilidade(tx).itertuples()]
    df = atributos_comportamentais(tx, med)
    partes += ["", "| atributo comportamental | AP sozinho |", "| --- | ---: |"]
    partes += [f"| `{nome}` | {ap:.3f} |" for nome, ap in ap_por_atributo(df).items()]
    ap, fraudes = ap_comportamental(tx, med)
    partes += ["", f"AP do modelo comportamental (teste nas últimas 40% das transações, {fraudes} fraudes): {ap:.3f}"]
    if pasta_img:
        graficos(tx, med, pasta_img)
    return "\n".join(partes)


if __name__ == "__main__":
    import sys

    print(relatorio(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
