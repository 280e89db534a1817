"""Treino com um conjunto simulado pequeno: features do motor do stream, MLflow, registro e promoção."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from machine_learning.dados_simulados import DadosSimulados, simular
from machine_learning.modelo_servido import COLUNAS_MODELO, MODULOS_DO_MODELO, requisitos_do_modelo
from machine_learning.treino import (
    ENTRADA_DO_MODELO,
    ResultadoTreino,
    calcular_features,
    matriz,
    preparar_entrada,
    treinar,
)
from plataforma.config import RAIZ_PROJETO, Configuracao
from processamento.features import COLUNAS_ENTRADA, COLUNAS_FEATURES
from processamento.historico import features_em_lote
from testes.util import DIVISAO
from testes.util import PARAMETROS_TREINO as PARAMETROS


@pytest.fixture(scope="module")
def dados() -> DadosSimulados:
    return simular(PARAMETROS)


@pytest.fixture(scope="module")
def cfg_ml(cfg_teste: Configuracao) -> Configuracao:
    return cfg_teste.com(dados_dir=str(cfg_teste.pasta_dados / f"ml-{uuid.uuid4().hex[:8]}"))


@pytest.fixture(scope="module")
def treinos(dados: DadosSimulados, cfg_ml: Configuracao) -> list[ResultadoTreino]:
    """Regras (1º champion) -> modelos completos (melhor: promovido) -> regras de novo (pior: não promovido).

    O completo escolhe pelas dobras prequenciais: a janela de treino tem 5 dias, então dobras de 0,9 dia (com ao
    menos 3 dias de treino cabem 2; as de 7 dias do padrão não caberiam, e a escolha seria na validação).
    """
    comum = {"cfg": cfg_ml, "med": dados.med, "gabarito": dados.gabarito, "importancia_max_linhas": 1_000, **DIVISAO}
    return [
        treinar(dados.transacoes, candidatos=("regras",), **comum),
        treinar(dados.transacoes, dias_dobra=0.9, **comum),
        treinar(dados.transacoes, candidatos=("regras",), **comum),
    ]


def test_features_do_treino_sao_as_do_backfill(spark, dados: DadosSimulados) -> None:
    tx = dados.transacoes
    esquema = (
        "end_to_end_id string, data_hora timestamp, valor double, pagador_id_conta string, "
        "recebedor_id_conta string, pagador_tipo_pessoa string, recebedor_tipo_pessoa string, chave_hash string, "
        "dispositivo_cadastrado boolean, forma_iniciacao string"
    )
    linhas = [tuple(r) for r in tx[list(COLUNAS_ENTRADA)].astype(object).itertuples(index=False)]
    linhas = [(*r[:1], r[1].to_pydatetime(), *r[2:]) for r in linhas]
    marcas = dados.med.dropna(subset=["recebedor_id_conta"])
    pares = zip(marcas["recebedor_id_conta"], marcas["data_hora_notificacao"], strict=True)
    df_marcas = spark.createDataFrame(
        [(r, t.to_pydatetime()) for r, t in pares],
        "recebedor_id_conta string, data_hora_notificacao timestamp",
    )
    do_backfill = features_em_lote(spark.createDataFrame(linhas, esquema), marcas=df_marcas)
    do_treino = calcular_features(preparar_entrada(tx), dados.med)
    a = do_backfill.set_index("end_to_end_id").sort_index()
    b = do_treino.set_index("end_to_end_id").sort_index()
    assert len(a) == len(b) == len(tx) > 3_000
    assert b["rec_marcada_fraude"].any() and (b["pag_qtd_24h"] > 0).any()
    for coluna in COLUNAS_FEATURES:
        pd.testing.assert_series_equal(a[coluna], b[coluna], check_dtype=False, obj=coluna)


def test_colunas_minimas_e_padroes() -> None:
    minima = pd.DataFrame(
        {
            "end_to_end_id": ["E1", "E2"],
            "pagador_id_conta": ["p", "p"],
            "recebedor_id_conta": ["r", "s"],
            "valor": [10, 2_000],
            "data_hora": ["2026-11-02T23:30:00Z", "2026-11-02T23:35:00Z"],  # 20h30/20h35 em Brasília
        }
    )
    f = calcular_features(preparar_entrada(minima))
    assert f["pag_qtd_10min"].tolist() == [0, 1]
    assert f["excede_limite_noturno"].tolist() == [False, True]  # padrão PF->PF
    assert not f["dispositivo_nao_cadastrado"].any()  # padrão: dispositivo cadastrado
    with pytest.raises(ValueError, match="valor"):
        preparar_entrada(minima.drop(columns="valor"))


def test_contexto_da_transacao_na_matriz_do_modelo() -> None:
    tx = pd.DataFrame(
        {
            "end_to_end_id": ["E1", "E2", "E3"],
            "pagador_id_conta": ["p", "q", "r"],
            "recebedor_id_conta": ["r", "s", "t"],
            "valor": [10.0, 20.0, 30.0],
            "data_hora": ["2026-11-02T02:30:00Z", "2026-11-02T15:00:00Z", "2026-11-03T12:45:00Z"],
            "recebedor_tipo_pessoa": ["PF", "PJ", "PF"],
            "forma_iniciacao": ["QRDN", "DICT", None],
        }
    )
    x = matriz(calcular_features(preparar_entrada(tx)))
    assert x["hora_local"].tolist() == [23.5, 12.0, 9.75]  # Brasília, UTC-3
    assert x["recebedor_pj"].tolist() == [0.0, 1.0, 0.0]
    assert x["pagador_pj"].tolist() == [0.0, 0.0, 0.0]  # padrão PF
    assert x["forma_qrdn"].tolist() == [1.0, 0.0, 0.0]
    assert x["forma_dict"].tolist() == [0.0, 1.0, 0.0]
    formas = [c for c in x.columns if c.startswith("forma_")]
    assert x.loc[2, formas].sum() == 0  # forma desconhecida: nenhuma marcada
    # Tabela de treino sem a coluna: as formas ficam zeradas, o resto segue.
    sem_forma = matriz(calcular_features(preparar_entrada(tx.drop(columns="forma_iniciacao"))))
    assert sem_forma[formas].to_numpy().sum() == 0
    assert sem_forma["hora_local"].tolist() == x["hora_local"].tolist()


def test_treino_registra_metricas_artefatos_e_alias(treinos: list[ResultadoTreino], cfg_ml: Configuracao) -> None:
    completo = treinos[1]
    assert completo.escolhido in ("logistica", "gbm")
    run = mlflow.get_run(completo.run_id)
    for metrica in (
        "average_precision",
        "roc_auc",
        "recall_alerta_1pct",
        "recall_valor_alerta_1pct",
        "precisao_top100_pagadores_dia",
        "regras_average_precision",
        "gbm_average_precision",
        "logistica_average_precision",
        "promocao_ap_challenger",
        "prequencial_dobras",
        "gbm_prequencial_ap_media",
        "gbm_prequencial_ap_desvio",
        "logistica_prequencial_recall_1pct_media",
        "regras_prequencial_recall_1pct_desvio",
    ):
        assert metrica in run.data.metrics, metrica
    assert any(m.startswith("recall_alerta_1pct_") and m.count("_") > 3 for m in run.data.metrics)
    assert run.data.params["corte_rotulos"] == completo.divisao.corte_rotulos.isoformat()
    arquivos = {Path(a.path).name for a in MlflowClient().list_artifacts(completo.run_id, "avaliacao")}
    assert {
        "curva_pr.png",
        "curva_roc.png",
        "matriz_confusao.png",
        "matriz_confusao.csv",
        "importancia_permutacao.png",
        "importancia_permutacao.csv",
        "limiares.csv",
        "calibracao.png",
        "calibracao.csv",
        "prequencial.csv",
    } <= arquivos
    # A escolha veio das dobras: o escolhido é o de maior AP média no CSV, e as métricas são as do CSV.
    assert run.data.params["escolha_modelo"] == "prequencial"
    assert run.data.metrics["prequencial_dobras"] == 2
    dobras = pd.read_csv(mlflow.artifacts.download_artifacts(f"runs:/{completo.run_id}/avaliacao/prequencial.csv"))
    ap_media = dobras.groupby("candidato")["average_precision"].mean()
    assert completo.escolhido == ap_media.idxmax()
    for candidato, media in ap_media.items():
        assert run.data.metrics[f"{candidato}_prequencial_ap_media"] == pytest.approx(media)
    assert (pd.to_datetime(dobras["fim_treino"]) <= pd.to_datetime(dobras["corte"])).all()
    assert mlflow.get_run(treinos[0].run_id).data.params["escolha_modelo"] == "validacao"  # um candidato só
    # Calibração: faixas de score crescentes, cada Pix do teste numa faixa só.
    calibracao = pd.read_csv(mlflow.artifacts.download_artifacts(f"runs:/{completo.run_id}/avaliacao/calibracao.csv"))
    assert calibracao["score_medio"].is_monotonic_increasing and len(calibracao) >= 3
    assert calibracao["transacoes"].sum() == completo.metricas_escolhido["transacoes_teste"]
    assert calibracao["fraudes"].sum() == completo.metricas_escolhido["fraudes_teste"]
    assert 0 < completo.limiares["REVISAR"] <= completo.limiares["BLOQUEAR"] <= 1
    # A referência da deriva vai com o run (artefato) e com o modelo registrado (o stream a lê do champion).
    referencia = mlflow.artifacts.load_dict(f"runs:/{completo.run_id}/deriva/referencia.json")
    assert referencia["medida"] == "psi" and {"score", "valor", "pag_valor_zscore"} <= set(referencia["variaveis"])
    assert referencia["amostras"] > 0
    for baldes in referencia["variaveis"].values():
        assert abs(sum(baldes["proporcoes"]) - 1) < 1e-9 and len(baldes["proporcoes"]) == len(baldes["bordas"]) + 2
    registrado = mlflow.pyfunc.load_model(f"models:/{cfg_ml.nome_modelo_registrado}/{completo.versao}")
    assert registrado.unwrap_python_model().referencia_deriva == referencia
    # O modelo completo supera só regras no mesmo teste.
    assert completo.metricas_escolhido["average_precision"] > completo.metricas["regras"]["average_precision"]
    ultimo = MlflowClient().get_model_version_by_alias(cfg_ml.nome_modelo_registrado, "challenger")
    assert str(ultimo.version) == treinos[2].versao


def test_portao_de_promocao(treinos: list[ResultadoTreino], cfg_ml: Configuracao) -> None:
    primeiro, melhor, pior = treinos
    assert primeiro.promovido  # não havia champion
    assert melhor.promovido  # vence as regras no mesmo teste
    assert not pior.promovido  # regras de novo: não tira o champion
    champion = MlflowClient().get_model_version_by_alias(cfg_ml.nome_modelo_registrado, "champion")
    assert str(champion.version) == melhor.versao
    comparacao = mlflow.artifacts.load_dict(f"runs:/{pior.run_id}/promocao.json")
    assert comparacao["promovido"] is False
    assert comparacao["versao_champion_anterior"] == melhor.versao
    assert comparacao["ap_champion_anterior"] > comparacao["ap_challenger"]


def test_champion_carrega_e_devolve_probabilidades(
    treinos: list[ResultadoTreino], cfg_ml: Configuracao, dados: DadosSimulados
) -> None:
    modelo = mlflow.pyfunc.load_model(f"models:/{cfg_ml.nome_modelo_registrado}@champion")
    features = calcular_features(preparar_entrada(dados.transacoes), dados.med).tail(500)
    saida = modelo.predict(features[list(ENTRADA_DO_MODELO)])
    assert len(saida) == 500
    assert np.all((saida["score"] >= 0) & (saida["score"] <= 1))
    assert saida["score"].nunique() > 10
    assert set(saida["decisao"]) <= {"APROVAR", "REVISAR", "BLOQUEAR"}
    assert (saida["decisao"] == "APROVAR").any()


def test_modelo_registrado_leva_codigo_requisitos_e_configuracao(
    treinos: list[ResultadoTreino], cfg_ml: Configuracao
) -> None:
    completo, nome = treinos[1], cfg_ml.nome_modelo_registrado
    pasta = Path(mlflow.artifacts.download_artifacts(f"models:/{nome}/{completo.versao}"))
    codigo = {p.relative_to(pasta / "code").as_posix() for p in (pasta / "code").rglob("*.py")}
    pacotes = {f"{m.split('.')[0]}/__init__.py" for m in MODULOS_DO_MODELO}
    assert codigo == {f"{m.replace('.', '/')}.py" for m in MODULOS_DO_MODELO} | pacotes
    assert (pasta / "requirements.txt").read_text().split() == requisitos_do_modelo()
    assert all("==" in r for r in requisitos_do_modelo()) and "pyspark" not in str(requisitos_do_modelo())
    config = mlflow.models.Model.load(pasta).flavors["python_function"]["config"]
    assert config == {"candidato": completo.escolhido, "limiares": completo.limiares, "colunas": list(COLUNAS_MODELO)}
    tags = MlflowClient().get_model_version(nome, completo.versao).tags
    assert tags["candidato"] == completo.escolhido
    assert float(tags["limiar_revisar"]) == completo.limiares["REVISAR"]
    assert float(tags["limiar_bloquear"]) == completo.limiares["BLOQUEAR"]
    # O model_config manda na carga: outro limiar, outra decisão, sem treinar de novo.
    outros = {"REVISAR": 0.0, "BLOQUEAR": 2.0}
    modelo = mlflow.pyfunc.load_model(str(pasta), model_config={"limiares": outros}).unwrap_python_model()
    assert modelo.limiares == outros and modelo.colunas == COLUNAS_MODELO


# Roda no interpretador do ambiente limpo, com -I: sem PYTHONPATH, sem site do usuário, sem a pasta do script.
CARREGAR_E_PONTUAR = """
    import importlib.util, json, sys
    import mlflow.pyfunc, pandas as pd
    pastas, entrada = json.loads(sys.argv[1]), sys.argv[2]
    saida = {"sys_path": sys.path, "pyspark": importlib.util.find_spec("pyspark") is not None}
    for nome, pasta in pastas.items():
        previsto = mlflow.pyfunc.load_model(pasta).predict(pd.read_pickle(entrada))
        saida[nome] = {"score": previsto["score"].tolist(), "decisao": previsto["decisao"].tolist()}
    saida["modulo"] = sys.modules["machine_learning.modelo_servido"].__file__
    saida["config_do_projeto"] = importlib.util.find_spec("plataforma.config") is not None
    print(json.dumps(saida))
"""


@pytest.mark.integracao
def test_modelo_registrado_carrega_num_ambiente_limpo_sem_o_repositorio(
    treinos: list[ResultadoTreino], cfg_ml: Configuracao, dados: DadosSimulados, tmp_path: Path
) -> None:
    """Um virtualenv novo com só o requirements.txt do modelo (sem o projeto, sem PySpark) carrega e pontua.

    Os dois modelos: o de regras (``EstimadorRegras``) e o completo (``_log_com_sinal`` na logística).
    """
    nome = cfg_ml.nome_modelo_registrado
    baixar = mlflow.artifacts.download_artifacts
    pastas = {r.escolhido: baixar(f"models:/{nome}/{r.versao}", dst_path=str(tmp_path / r.versao)) for r in treinos[:2]}
    features = calcular_features(preparar_entrada(dados.transacoes), dados.med).tail(300)
    entrada = features[list(ENTRADA_DO_MODELO)].reset_index(drop=True)
    entrada.to_pickle(tmp_path / "entrada.pkl")

    inicio = time.perf_counter()
    ambiente = tmp_path / "ambiente"
    subprocess.run([sys.executable, "-m", "venv", str(ambiente)], check=True)
    python = str(ambiente / "bin" / "python")
    requisitos = Path(next(iter(pastas.values()))) / "requirements.txt"
    instalar = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requisitos)]
    subprocess.run(instalar, check=True)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    resultado = subprocess.run(
        [python, "-I", "-c", textwrap.dedent(CARREGAR_E_PONTUAR), json.dumps(pastas), str(tmp_path / "entrada.pkl")],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    print(f"ambiente limpo: {time.perf_counter() - inicio:.0f}s (venv, pip install, carga e pontuação)")
    assert resultado.returncode == 0, resultado.stderr[-3000:]
    saida = json.loads(resultado.stdout.strip().splitlines()[-1])

    assert not saida["pyspark"] and not saida["config_do_projeto"]  # nada do projeto além do code/ do modelo
    raizes = (str(RAIZ_PROJETO), str(Path(mlflow.__file__).parents[1]))
    assert not [p for p in saida["sys_path"] if p.startswith(raizes)], saida["sys_path"]
    assert Path(saida["modulo"]).is_relative_to(tmp_path) and "/code/machine_learning/" in saida["modulo"]
    for escolhido, pasta in pastas.items():
        esperado = mlflow.pyfunc.load_model(pasta).predict(entrada)
        np.testing.assert_allclose(saida[escolhido]["score"], esperado["score"].to_numpy(), rtol=1e-12)
        assert saida[escolhido]["decisao"] == esperado["decisao"].tolist()
    assert len(set(saida[treinos[1].escolhido]["score"])) > 10
