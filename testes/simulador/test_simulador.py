"""O simulador: determinismo, contrato, tipologias (cada uma deixa o seu rastro), MED e entrada ruim."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplicacao.cli import main
from processamento.contrato import (
    chave_valida,
    cnpj_valido,
    cpf_valido,
    end_to_end_id_valido,
    janela_de_aceite,
    validar_med,
    validar_transacao,
)
from simulador import DEFEITOS, TIPOLOGIAS, Parametros, escrever_arquivos, gerar, gerar_tudo
from simulador import identificadores as ids
from simulador.analise import FUSO, carregar
from simulador.parametros import MISTURA_ORIGINAL, MISTURA_PADRAO, ler_mistura

# Fraude bem acima do real e mistura puxada para as tipologias de eventos grandes: cada tipologia
# precisa de casos suficientes numa população pequena (teste rápido).
MISTURA = dict.fromkeys(TIPOLOGIAS, 1.0) | {"conta_laranja": 2.0, "falso_qrcode": 2.0}
PEQUENO = Parametros(
    semente=2, clientes=3000, dias=4, taxa_fraude=0.03, mistura=MISTURA, atraso_med_min_horas=2, atraso_med_max_dias=5
)


@pytest.fixture(scope="module")
def pasta(tmp_path_factory) -> Path:
    destino = tmp_path_factory.mktemp("simulado")
    escrever_arquivos(PEQUENO, destino)
    return destino


@pytest.fixture(scope="module")
def dados(pasta) -> tuple[pd.DataFrame, pd.DataFrame]:
    tx, med = carregar(pasta)
    tx["pag"] = tx["pagador.ispb"] + "-" + tx["pagador.conta"]
    tx["rec"] = tx["recebedor.ispb"] + "-" + tx["recebedor.conta"]
    tx["primeiro_par"] = ~tx.duplicated(["pag", "rec"])
    tx["hora_local"] = (tx["ts"] + FUSO).dt.hour
    return tx, med


def _tipologia(tx: pd.DataFrame, nome: str) -> pd.DataFrame:
    parte = tx[tx["tipologia"] == nome]
    assert len(parte) >= 10, f"poucas transações de {nome} para testar"
    return parte


# Identificadores ---------------------------------------------------------------------------------
def test_documentos_gerados_sao_validos():
    rng = np.random.default_rng(0)
    assert all(cpf_valido(x) for x in ids.gerar_cpfs(rng, 2000))
    cnpjs = ids.gerar_cnpjs(rng, 2000, fracao_alfanumerica=0.5)
    assert all(cnpj_valido(x) for x in cnpjs)
    assert 700 < sum(not x[:12].isdigit() for x in cnpjs) < 1300  # alfanuméricos presentes
    assert all(chave_valida(x, "EVP") for x in ids.gerar_evps(rng, 500))
    assert all(chave_valida(x, "TELEFONE") and x.startswith("+55") for x in ids.gerar_telefones(rng, 500))


def test_end_to_end_id_leva_ispb_do_pagador_e_minuto_utc(dados):
    tx, _ = dados
    assert tx["end_to_end_id"].map(end_to_end_id_valido).all()
    assert (tx["end_to_end_id"].str[1:9] == tx["pagador.ispb"]).all()
    minuto = tx["data_hora"].str.replace(r"[-T:]", "", regex=True).str[:12]
    assert (tx["end_to_end_id"].str[9:21] == minuto).all()
    assert tx["end_to_end_id"].is_unique


# Determinismo e contrato --------------------------------------------------------------------------
def test_mesma_semente_mesmos_bytes(tmp_path):
    p = Parametros(semente=11, clientes=400, dias=1.5, taxa_fraude=0.02, taxa_invalidas=0.02)
    escrever_arquivos(p, tmp_path / "a")
    escrever_arquivos(p, tmp_path / "b")
    escrever_arquivos(p.com(semente=12), tmp_path / "c")
    for nome in ("transacoes.jsonl", "med.jsonl", "gabarito.csv"):
        assert (tmp_path / "a" / nome).read_bytes() == (tmp_path / "b" / nome).read_bytes(), nome
    assert (tmp_path / "a" / "transacoes.jsonl").read_bytes() != (tmp_path / "c" / "transacoes.jsonl").read_bytes()


def test_validas_passam_e_cada_defeito_falha_pelo_motivo_documentado():
    p = Parametros(semente=5, clientes=1500, dias=2, taxa_fraude=0.02, taxa_invalidas=0.03)
    fim_med_s = p.inicio.timestamp() + (p.dias + p.atraso_med_max_dias) * 86_400
    por_tipo: dict[str, int] = dict.fromkeys(DEFEITOS, 0)
    vistas: set[str] = set()
    maior_instante = ""
    for lote in gerar(p):
        defeitos = {d.posicao: d for d in lote.defeitos}
        for i, linha in enumerate(lote.transacoes):
            motivos = validar_transacao(linha)
            defeito = defeitos.get(i)
            if defeito is None:
                assert motivos == [], linha
            else:
                por_tipo[defeito.tipo] += 1
                assert motivos == ([defeito.motivo] if defeito.motivo else []), (defeito, linha)
                if defeito.tipo == "duplicada":
                    assert linha in vistas  # cópia exata de uma mensagem já enviada
                if defeito.tipo == "atrasada":  # chega pelo menos 10 min depois do seu tempo de evento
                    atraso = pd.Timestamp(maior_instante) - pd.Timestamp(json.loads(linha)["data_hora"])
                    assert atraso >= pd.Timedelta(minutes=10)
            vistas.add(linha)
            if not motivos and (instante := json.loads(linha)["data_hora"]) > maior_instante:
                maior_instante = instante
        for linha in lote.med:  # notificações até 80 dias depois: a janela é a do fim do período, não a de hoje
            assert validar_med(linha, janela=janela_de_aceite(agora_s=fim_med_s)) == []
    assert all(qtd > 0 for qtd in por_tipo.values()), por_tipo


def test_taxa_real_de_fraude_baixa_funciona(tmp_path):
    resumo = escrever_arquivos(Parametros(semente=1, clientes=3000, dias=2, taxa_fraude=0.0001), tmp_path)
    assert resumo.transacoes > 8000
    assert resumo.fraudes <= 30
    linhas = (tmp_path / "transacoes.jsonl").read_text().splitlines()
    assert all(validar_transacao(x) == [] for x in linhas[:3000])


def test_taxa_de_fraude_e_gabarito(dados, pasta):
    tx, _ = dados
    taxa = tx["fraude"].mean()
    assert 0.02 < taxa < 0.04
    assert set(tx.loc[tx["fraude"] == 1, "tipologia"]) == set(TIPOLOGIAS)
    assert set(tx.loc[tx["fraude"] == 0, "tipologia"]) <= {"nenhuma", "abuso_med"}
    linhas = (pasta / "transacoes.jsonl").read_text().splitlines()
    assert all('"fraude"' not in x and "tipologia" not in x for x in linhas)  # o rótulo nunca viaja


# Tipologias --------------------------------------------------------------------------------------
def test_conta_laranja_recebe_de_muitos_em_uma_hora_e_repassa(dados):
    tx, _ = dados
    parte = _tipologia(tx, "conta_laranja")
    laranjas = set(parte["rec"])
    entradas = parte[~parte["pag"].isin(laranjas)]
    repasses = parte[parte["pag"].isin(laranjas)]
    for laranja, grupo in entradas.groupby("rec"):
        instantes = grupo["ts"].to_numpy()
        pagadores = grupo["pag"].to_numpy()
        maximo = max(
            len(set(pagadores[(instantes >= t) & (instantes < t + np.timedelta64(1, "h"))])) for t in instantes
        )
        assert maximo >= 5, laranja
    repassou = entradas.groupby("rec")["ts"].max().index.isin(repasses["pag"])
    assert repassou.mean() >= 0.9
    assert repasses["valor"].sum() / entradas["valor"].sum() > 0.8
    # tráfego legítimo de pessoa física não recebe de tantos pagadores distintos numa hora
    pf_legit = tx[(tx["fraude"] == 0) & (tx["recebedor.tipo_pessoa"] == "PF")]
    por_hora = pf_legit.groupby(["rec", pf_legit["ts"].dt.floor("h")])["pag"].nunique()
    assert por_hora.quantile(0.999) < 5


def test_sequestro_relampago_rajada_noturna_perto_do_limite(dados):
    tx, _ = dados
    parte = _tipologia(tx, "sequestro_relampago")
    assert parte["hora_local"].map(lambda h: h >= 20 or h <= 6).all()  # começa até 5h59; a rajada dura minutos
    assert parte["primeiro_par"].all()  # sempre recebedores novos para a vítima
    por_vitima = parte.groupby("pag").agg(
        n=("valor", "size"), total=("valor", "sum"), ini=("ts", "min"), fim=("ts", "max")
    )
    # A rajada que começa na última hora pode ser cortada pelo fim do período simulado.
    por_vitima = por_vitima[por_vitima["ini"] < tx["ts"].max() - pd.Timedelta(hours=1)]
    assert (por_vitima["n"] >= 2).all()
    assert ((por_vitima["fim"] - por_vitima["ini"]) <= pd.Timedelta(hours=1)).mean() >= 0.9
    assert por_vitima["total"].between(600, 3000).all()
    assert (por_vitima["total"] <= 1000).mean() >= 0.6


def test_account_takeover_dispositivo_nao_cadastrado_perto_dos_tetos(dados):
    tx, _ = dados
    parte = _tipologia(tx, "account_takeover")
    assert (parte["dispositivo.cadastrado"] == False).all()  # noqa: E712
    assert parte["valor"].between(150, 200).all()
    assert (parte.groupby(["pag", parte["ts"].dt.date])["valor"].sum() <= 1000).all()
    legit = tx[tx["fraude"] == 0]
    nao_cadastrado = legit["dispositivo.cadastrado"] == False  # noqa: E712
    assert nao_cadastrado.mean() < 0.03  # clientes legítimos também trocam de aparelho, mas pouco
    assert (legit.loc[nao_cadastrado, "valor"] <= 200).all()  # e o teto vale para eles


def test_falso_parente_primeiro_pix_para_chave_recem_vista(dados):
    tx, _ = dados
    primeira_vez = tx.groupby("chave")["ts"].transform("min")
    tx = tx.assign(idade_chave=tx["ts"] - primeira_vez)
    parte = _tipologia(tx, "falso_parente")
    # O 2º pedido vai ao mesmo "parente". Uma laranja alugada é um cliente real: por acaso, a vítima pode já ter
    # feito um Pix ao dono (com a semente 2, um de R$ 6,54 dois dias antes).
    assert parte.drop_duplicates(["pag", "rec"])["primeiro_par"].mean() >= 0.95
    recente = parte["idade_chave"] <= pd.Timedelta(hours=6)
    metade = tx["ts"].min() + pd.Timedelta(days=2)  # na 2ª metade, chaves legítimas já foram vistas
    legit = tx[(tx["fraude"] == 0) & tx["chave"].notna() & (tx["ts"] >= metade)]
    # Só a laranja nova (20% das origens, ver Golpes._origem) traz chave recém-vista; alugadas e dormentes
    # levam a chave que já tinham. O sinal fica mais fraco, mas acima do legítimo no mesmo período.
    legit_todo = tx[(tx["fraude"] == 0) & tx["chave"].notna()]
    assert recente.mean() >= 1.5 * (legit_todo["idade_chave"] <= pd.Timedelta(hours=6)).mean()
    assert (legit["idade_chave"] <= pd.Timedelta(hours=6)).mean() <= 0.2
    assert (~parte["hora_local"].between(1, 7)).all()  # de dia (o 2º pedido pode passar da meia-noite)


def test_falsa_central_varios_pix_grandes_em_minutos_para_recebedor_novo(dados):
    tx, _ = dados
    parte = _tipologia(tx, "falsa_central")
    assert (parte["valor"] >= 500).all()
    por_vitima = parte.groupby("pag").agg(n=("valor", "size"), ini=("ts", "min"), fim=("ts", "max"))
    assert (por_vitima["n"] >= 2).all()
    assert ((por_vitima["fim"] - por_vitima["ini"]) <= pd.Timedelta(minutes=60)).mean() >= 0.9
    primeiros = parte.sort_values("ts").drop_duplicates(["pag", "rec"])
    assert primeiros["primeiro_par"].all()  # a 'conta segura' nunca tinha recebido da vítima


def test_falso_qrcode_pessoa_fisica_com_volume_de_comerciante(dados):
    tx, _ = dados
    parte = _tipologia(tx, "falso_qrcode")
    assert (parte["recebedor.tipo_pessoa"] == "PF").all()
    assert parte["forma_iniciacao"].isin(["QRES", "QRDN"]).all()
    assert (parte.groupby("rec")["pag"].nunique() >= 8).all()
    qr_pf_legit = tx[
        (tx["fraude"] == 0) & (tx["recebedor.tipo_pessoa"] == "PF") & tx["forma_iniciacao"].isin(["QRES", "QRDN"])
    ]
    por_3h = qr_pf_legit.groupby(["rec", qr_pf_legit["ts"].dt.floor("3h")])["pag"].nunique()
    assert por_3h.max() < 8


# Mecânicas de generalização ----------------------------------------------------------------------
NOVAS = Parametros(
    semente=4, clientes=3000, dias=10, taxa_fraude=0.02, atraso_med_min_horas=2, atraso_med_max_dias=5,
    mistura={"valor_alto": 1.0, "recebedor_comprometido": 1.0, "pagador_comprometido": 1.0, "mao_fantasma": 1.0},
    valor_alto_limiar=3_000.0, recebedor_comprometido_semanas=0.5, pagador_comprometido_dias=4.0,
    pagador_comprometido_fator=6.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def novas(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    destino = tmp_path_factory.mktemp("novas")
    escrever_arquivos(NOVAS, destino)
    tx, med = carregar(destino)
    tx["pag"] = tx["pagador.ispb"] + "-" + tx["pagador.conta"]
    tx["rec"] = tx["recebedor.ispb"] + "-" + tx["recebedor.conta"]
    tx["primeiro_par"] = ~tx.duplicated(["pag", "rec"])
    tx["hora_local"] = (tx["ts"] + FUSO).dt.hour
    return tx, med


def test_novas_tipologias_no_gabarito_e_no_med(novas):
    tx, med = novas
    novas_tipologias = {"valor_alto", "recebedor_comprometido", "pagador_comprometido", "mao_fantasma"}
    assert set(tx.loc[tx["fraude"] == 1, "tipologia"]) == novas_tipologias
    contestadas = tx[tx["end_to_end_id"].isin(med["end_to_end_id"])]
    for nome in novas_tipologias:  # cada uma é contestada no MED, na fração configurada (0,6)
        parte = tx[tx["tipologia"] == nome]
        fracao = parte["end_to_end_id"].isin(contestadas["end_to_end_id"]).mean()
        assert 0.4 < fracao < 0.8, (nome, fracao)


def test_valor_alto_todo_pix_acima_do_limiar(novas):
    tx, _ = novas
    parte = _tipologia(tx, "valor_alto")
    assert (parte["valor"] >= NOVAS.valor_alto_limiar).all()
    assert (parte["valor"] <= NOVAS.valor_alto_limiar * NOVAS.valor_alto_teto + 0.01).all()
    # um golpe de um ou dois Pix à mesma conta (a mesma vítima pode cair em dois golpes): o valor é o único rastro
    assert (parte.groupby(["pag", "rec"]).size() <= 2).mean() >= 0.95
    # e o limiar separa de verdade: abaixo dele, nenhuma fraude desta tipologia; acima, o legítimo também existe
    assert (tx.loc[tx["fraude"] == 0, "valor"] >= NOVAS.valor_alto_limiar).sum() > 0


def test_recebedor_comprometido_todo_pix_na_janela_e_fraude_e_havia_historico(novas):
    tx, _ = novas
    parte = _tipologia(tx, "recebedor_comprometido")
    assert (parte["recebedor.tipo_pessoa"] == "PJ").all()
    historico = pd.Timedelta(days=NOVAS.recebedor_comprometido_historico_dias)
    janela = pd.Timedelta(weeks=NOVAS.recebedor_comprometido_semanas)
    for rec, grupo in parte.groupby("rec"):
        ini, fim = grupo["ts"].min(), grupo["ts"].max()
        assert fim - ini <= janela
        dele = tx[tx["rec"] == rec]
        antes = dele[dele["ts"] < ini]
        assert (antes["fraude"] == 0).all() and len(antes) > 0, rec  # comerciante legítimo até ali
        assert antes["ts"].min() <= ini - historico, rec  # com histórico mínimo
        dentro = dele[(dele["ts"] >= ini) & (dele["ts"] <= fim)]
        assert (dentro["tipologia"] == "recebedor_comprometido").all(), rec  # todo Pix na janela é golpe
        # quem paga são clientes comuns, pelo tráfego normal: QR e chave, como antes da janela
        assert dentro["forma_iniciacao"].isin(["QRES", "QRDN", "DICT", "INIC", "APDN", "MANU", "AUTO"]).all()
    # passada a janela, o comerciante volta a receber Pix legítimos (o período de 10 dias cabe janelas de 3,5 d)
    ultimo_legit = tx[tx["rec"].isin(set(parte["rec"])) & (tx["fraude"] == 0)].groupby("rec")["ts"].max()
    ultima_fraude = parte.groupby("rec")["ts"].max().reindex(ultimo_legit.index)
    assert (ultimo_legit > ultima_fraude).any()


def test_pagador_comprometido_pix_de_k_vezes_o_habitual_para_recebedores_novos(novas):
    tx, _ = novas
    parte = _tipologia(tx, "pagador_comprometido")
    assert (parte["pagador.tipo_pessoa"] == "PF").all()
    assert parte["primeiro_par"].all()  # cada Pix do golpe vai a quem a conta nunca pagou
    assert parte["hora_local"].between(7, 22).all()  # nas horas de uso comum
    legit = tx[(tx["fraude"] == 0) & tx["pag"].isin(set(parte["pag"]))]
    habitual = legit.groupby("pag")["valor"].median()
    razao = parte["valor"] / parte["pag"].map(habitual)
    k = NOVAS.pagador_comprometido_fator
    assert 0.5 * k <= razao.median() <= 2 * k, razao.describe()
    assert (razao >= 2).mean() >= 0.8  # várias vezes o habitual, não um Pix qualquer
    por_conta = parte.groupby("pag")["ts"].agg(["min", "max"])
    assert ((por_conta["max"] - por_conta["min"]) <= pd.Timedelta(days=NOVAS.pagador_comprometido_dias + 1)).all()
    # o dono segue usando a conta no período: há Pix legítimos dele entre o primeiro e o último do golpe
    varios = por_conta[por_conta["max"] - por_conta["min"] >= pd.Timedelta(days=1)]
    assert len(varios) > 0
    seguiu = [((legit["pag"] == pag) & legit["ts"].between(r["min"], r["max"])).any() for pag, r in varios.iterrows()]
    assert np.mean(seguiu) >= 0.5


def test_mao_fantasma_rajada_de_muitos_pix_em_minutos_pelo_aparelho_da_vitima(novas):
    tx, _ = novas
    parte = _tipologia(tx, "mao_fantasma")
    assert (parte["dispositivo.cadastrado"] == True).all()  # noqa: E712
    por_vitima = parte.groupby("pag").agg(n=("valor", "size"), ini=("ts", "min"), fim=("ts", "max"))
    por_vitima = por_vitima[por_vitima["ini"] < tx["ts"].max() - pd.Timedelta(hours=1)]
    assert (por_vitima["n"] >= NOVAS.mao_fantasma_pix[0]).all()
    assert ((por_vitima["fim"] - por_vitima["ini"]) <= pd.Timedelta(minutes=NOVAS.mao_fantasma_minutos)).all()
    assert parte.groupby("pag")["rec"].nunique().max() <= 3


def test_botoes_da_conta_laranja():
    p = Parametros(
        semente=8, clientes=1500, dias=2, taxa_fraude=0.02, mistura={"conta_laranja": 1.0},
        laranja_vitimas=(30, 30), laranja_repasse=(0.5, 0.5),
    )  # fmt: skip
    lote = gerar_tudo(p)
    linhas = [json.loads(t) for t in lote.transacoes]
    tip = {e: tp for e, _, tp in (g.split(",") for g in lote.gabarito)}
    tx = pd.DataFrame(
        {
            "ts": pd.to_datetime([o["data_hora"] for o in linhas], utc=True),
            "pag": [o["pagador"]["conta"] for o in linhas],
            "rec": [o["recebedor"]["conta"] for o in linhas],
            "valor": [float(o["valor"]) for o in linhas],
            "tipologia": [tip[o["end_to_end_id"]] for o in linhas],
        }
    )
    parte = tx[tx["tipologia"] == "conta_laranja"]
    laranjas = set(parte["rec"])
    entradas, repasses = parte[~parte["pag"].isin(laranjas)], parte[parte["pag"].isin(laranjas)]
    completas = entradas.groupby("rec")["ts"].min() < tx["ts"].max() - pd.Timedelta(hours=2)
    assert completas.sum() >= 5
    assert (entradas.groupby("rec")["pag"].nunique()[completas] >= 30).all()
    assert 0.4 < repasses["valor"].sum() / entradas["valor"].sum() < 0.55


def test_mistura_original_e_botoes_das_tipologias_sem_peso_nao_mudam_os_bytes():
    """Com peso 0, as mecânicas novas não sorteiam nada: ``--mistura original`` reproduz a saída de antes delas."""
    base = Parametros(semente=3, clientes=800, dias=2, taxa_fraude=0.02, mistura=ler_mistura("original"))
    outra = base.com(valor_alto_limiar=123.0, pagador_comprometido_fator=9.0, recebedor_comprometido_semanas=9.0)
    a, b = gerar_tudo(base), gerar_tudo(outra)
    assert a.transacoes == b.transacoes and a.med == b.med and a.gabarito == b.gabarito
    assert set(a.por_tipologia) <= set(MISTURA_ORIGINAL) | {"abuso_med"}
    assert ler_mistura("padrao") == MISTURA_PADRAO


def test_botoes_invalidos():
    for errado in (
        {"laranja_vitimas": (0, 5)},
        {"laranja_vitimas": (9, 5)},
        {"laranja_repasse": (0.9, 1.2)},
        {"valor_alto_limiar": 0.0},
        {"pagador_comprometido_fator": 1.0},
        {"recebedor_comprometido_semanas": -1.0},
    ):
        with pytest.raises(ValueError):
            Parametros(**errado)


def _laranjas_e_historico(p: Parametros) -> pd.DataFrame:
    """Cada conta que recebeu fraude depois do 3º dia: primeira fraude recebida e primeiro Pix legítimo
    (como pagadora ou recebedora) antes dela."""
    lote = gerar_tudo(p)
    fraude = {e: f == "1" for e, f, _ in (linha.split(",") for linha in lote.gabarito)}
    linhas = []
    for texto, t in zip(lote.transacoes, lote.tempos_ms, strict=True):
        o = json.loads(texto)
        pag, rec = (f"{o[x]['ispb']}-{o[x]['conta']}" for x in ("pagador", "recebedor"))
        linhas.append((t, pag, rec, fraude[o["end_to_end_id"]]))
    df = pd.DataFrame(linhas, columns=["t", "pag", "rec", "fraude"])
    primeira_fraude = df[df["fraude"]].groupby("rec")["t"].min()
    legit = df[~df["fraude"]]
    contas = pd.concat(
        [legit[["t", "pag"]].rename(columns={"pag": "conta"}), legit[["t", "rec"]].rename(columns={"rec": "conta"})]
    )
    primeiro_legit = contas.groupby("conta")["t"].min()
    inicio = int(p.inicio.timestamp() * 1000)
    r = pd.DataFrame({"primeira_fraude": primeira_fraude})
    r["primeiro_legit"] = primeiro_legit.reindex(r.index)
    return r[r["primeira_fraude"] >= inicio + 3 * 86_400_000]


# Sem recebedor_comprometido: nele, quem recebe a fraude é um comerciante com histórico de propósito (não é laranja).
LARANJAS = Parametros(
    semente=5, clientes=2000, dias=7, taxa_fraude=0.02, mistura=MISTURA_PADRAO | {"recebedor_comprometido": 0.0}
)


def test_laranjas_todas_novas_sem_historico_antes_da_fraude():
    r = _laranjas_e_historico(LARANJAS.com(fracao_laranja_alugada=0.0, fracao_laranja_dormente=0.0))
    assert len(r) >= 30
    assert not (r["primeiro_legit"] < r["primeira_fraude"]).any()  # o comportamento de antes: conta nova


def test_laranjas_alugadas_tem_historico_legitimo_antes_da_fraude():
    r = _laranjas_e_historico(LARANJAS.com(fracao_laranja_alugada=1.0, fracao_laranja_dormente=0.0))
    assert len(r) >= 30
    um_dia_antes = r["primeiro_legit"] <= r["primeira_fraude"] - 86_400_000
    assert um_dia_antes.mean() >= 0.95, um_dia_antes.mean()


def test_laranjas_dormentes_tem_atividade_antes_da_fraude():
    r = _laranjas_e_historico(LARANJAS.com(fracao_laranja_alugada=0.0, fracao_laranja_dormente=1.0))
    assert len(r) >= 30
    antes = r["primeiro_legit"] < r["primeira_fraude"]
    assert antes.mean() >= 0.9, antes.mean()
    idade_dias = (r["primeira_fraude"] - r["primeiro_legit"])[antes] / 86_400_000
    assert idade_dias.median() >= 1.0


def test_fracoes_de_laranja_invalidas():
    with pytest.raises(ValueError, match="fracao_laranja"):
        Parametros(fracao_laranja_alugada=0.8, fracao_laranja_dormente=0.3)


def test_abuso_med_e_contestacao_de_pix_legitimo(dados):
    tx, med = dados
    abuso = tx[tx["tipologia"] == "abuso_med"]
    assert len(abuso) > 0
    assert (abuso["fraude"] == 0).all()
    assert abuso["end_to_end_id"].isin(med["end_to_end_id"]).all()
    contestadas = tx[tx["end_to_end_id"].isin(med["end_to_end_id"])]
    assert ((contestadas["fraude"] == 1) | (contestadas["tipologia"] == "abuso_med")).all()


def test_med_atrasos_na_faixa_configurada_e_depois_do_pagamento(dados, pasta):
    tx, med = dados
    junto = med.merge(tx[["end_to_end_id", "ts", "valor", "fraude"]], on="end_to_end_id", validate="one_to_one")
    assert len(junto) == len(med)
    atraso = junto["ts_notificacao"] - junto["ts"]
    assert (atraso >= pd.Timedelta(hours=2)).all()
    assert (atraso <= pd.Timedelta(days=5)).all()
    assert (junto["valor_contestado"] <= junto["valor"]).all()
    assert med["ts_notificacao"].is_monotonic_increasing  # o arquivo sai na ordem de chegada
    contestadas = junto["fraude"].sum() / tx["fraude"].sum()
    assert 0.35 < contestadas < 0.75  # fracao_med = 0.6 das vítimas (repasses de laranja não são contestados)


def test_um_campo_sozinho_nao_entrega_a_fraude(dados):
    from simulador.analise import separabilidade

    tx, _ = dados
    tabela = separabilidade(tx).set_index("campo")["ap"]
    assert tabela.drop("(referência: escore aleatório)").max() <= 0.3, tabela.sort_values().tail(3)


# CLI ---------------------------------------------------------------------------------------------
def test_cli_simular_em_arquivos(tmp_path, capsys):
    codigo = main(["simular", "--saida", str(tmp_path), "--clientes", "300", "--dias", "1", "--semente", "9"])
    assert codigo == 0
    saida = capsys.readouterr().out
    assert "Fraudes:" in saida and "Notificações MED" in saida
    assert (tmp_path / "gabarito.csv").read_text().startswith("end_to_end_id,fraude,tipologia\n")
    linhas = (tmp_path / "transacoes.jsonl").read_text().splitlines()
    assert len(linhas) + 1 == len((tmp_path / "gabarito.csv").read_text().splitlines())


def test_rajada_multiplica_o_volume_so_na_janela():
    # 6.000 clientes: com 2.000, uma janela de 30 min tem ~60 Pix e o ruído das sessões decide o teste
    p = Parametros(semente=6, clientes=6000, dias=0.25, perfil_horario=False, rajadas=((7200.0, 1800.0, 4.0),))
    inicio = int(p.inicio.timestamp() * 1000)
    tempos = np.array([t for lote in gerar(p) for t in lote.tempos_ms]) - inicio
    antes = ((tempos >= 3600_000) & (tempos < 5400_000)).sum()
    durante = ((tempos >= 7200_000) & (tempos < 9000_000)).sum()
    depois = ((tempos >= 12_600_000) & (tempos < 14_400_000)).sum()
    assert durante > 3 * antes
    assert 0.8 < depois / antes < 1.25  # passada a rajada, o volume volta ao normal


@pytest.mark.parametrize("clientes", [50, 60, 80])
def test_populacoes_pequenas_geram_trafego(clientes: int) -> None:
    """O mínimo aceito (50 clientes) precisa funcionar: testes e demos usam populações pequenas."""
    from simulador import Parametros, gerar

    mensagens = sum(len(lote.transacoes) for lote in gerar(Parametros(semente=21, clientes=clientes, dias=1.0)))
    assert mensagens > clientes
