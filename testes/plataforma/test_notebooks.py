"""Os notebooks estão no formato Databricks, rodam localmente e, no Databricks, criam só os widgets que leem.

Para o ramo Databricks de ``iniciar_notebook`` rodar de verdade, o notebook recebe um ``dbutils`` de teste: um
dublê só de widgets e segredos (o que o Databricks dá ao notebook). Kafka, Delta, Spark e MLflow são os reais.
Enquanto o notebook roda, ``Configuracao.__getattribute__`` anota cada campo que o código do notebook lê; o teste
confere que os widgets criados são exatamente esses campos (mais os widgets próprios, como ``disponivel``).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import mlflow
import numpy as np
import pytest
from pyspark.sql import SparkSession

import plataforma.config
from aplicacao.notebooks import NOTEBOOKS, executar_notebook
from ingestao.bronze import PARAMETROS_INGESTAO
from machine_learning.modelo_servido import EstimadorRegras, ModeloFraudePix, copiar_codigo_do_modelo
from machine_learning.modos import PARAMETROS_POR_MODO
from machine_learning.nucleo import ler_decisoes_kafka
from plataforma.config import (
    CAMPOS,
    RAIZ_PROJETO,
    SEGREDOS,
    Configuracao,
    ErroDeConfiguracao,
    carregar_de_widgets,
    widgets_dos_parametros,
)
from plataforma.kafka_local import BrokerKafkaLocal
from plataforma.tabelas import tabela
from processamento.pipeline import PARAMETROS_PROCESSAMENTO
from simulador import Parametros, gerar_tudo, produzir_mensagens
from testes.plataforma import dbutils_de_teste
from testes.plataforma.dbutils_de_teste import DbutilsDeTeste, Widget

ESCOPO = "detector-pix"
CHAVE_DE_TESTE = "chave-de-teste-com-mais-de-32-caracteres"
CAMPOS_DA_CONFIGURACAO = frozenset(Configuracao.__dataclass_fields__)
PROPRIEDADES = frozenset(nome for nome, valor in vars(Configuracao).items() if isinstance(valor, property))
ARQUIVOS_INTERNOS = {plataforma.config.__file__, sys.modules["dataclasses"].__file__}

# Dez dias com mais fraude que o padrão e MED rápida: rótulos antes do corte para o treino do notebook.
PARAMETROS_TREINO = Parametros(
    semente=7, clientes=400, dias=10, taxa_fraude=0.03, atraso_med_mediana_horas=12, atraso_med_max_dias=3
)

# Ramos que uma execução não percorre e outra percorre: quem lê a chave leria também os outros parâmetros do ramo.
OUTROS_RAMOS = {
    "kafka_protocolo": {"kafka_sasl_mecanismo", "kafka_usuario", "kafka_senha"},  # SASL_*: mecanismo e credenciais
    # Tabelas com nome de três partes (Unity Catalog) ou pastas Delta locais, debaixo de dados_dir.
    "catalogo": {"esquema", "dados_dir"},
    # processos_decisao >= 1: a decisão em etapas (o teste roda o caminho de um processo).
    "processos_decisao": {"processo_decisao", "topico_features_recebedor", "atraso_ordem_decisao_ms"},
}
# Lidos só no modo contínuo (disponivel=nao, o dos jobs): o intervalo entre micro-batches.
SO_NO_MODO_CONTINUO = {
    "ingestao": {"intervalo_trigger"},
    "processamento": {"intervalo_trigger"},
    "pontuar": set(),  # o laço do tempo real não tem gatilho
    "treinar": set(),
}


@pytest.mark.parametrize("nome", sorted(NOTEBOOKS))
def test_formato_de_notebook_databricks(nome: str) -> None:
    linhas = NOTEBOOKS[nome].read_text(encoding="utf-8").splitlines()
    assert linhas[0] == "# Databricks notebook source"
    assert "# COMMAND ----------" in linhas
    assert any(linha.startswith("# MAGIC %md") for linha in linhas)


def test_widgets_so_dos_parametros_lidos_com_rotulo_opcoes_e_segredos_do_escopo() -> None:
    assert widgets_dos_parametros(["topico_med", "kafka_protocolo"]) == ("kafka_protocolo", "topico_med")
    assert widgets_dos_parametros(["chave_pseudonimizacao"]) == ("escopo_segredos",)

    segredos = {("banco", "kafka-usuario"): "u", ("banco", "kafka-senha"): "s", ("banco", "chave-pseudonimizacao"): "c"}
    dbutils = DbutilsDeTeste(
        {"kafka_protocolo": "SASL_SSL", "escopo_segredos": "banco", "kafka_particoes": "9"}, segredos
    )
    cfg = carregar_de_widgets(dbutils, ["kafka_protocolo", "kafka_usuario", "kafka_senha", "offsets_iniciais"])
    criados = dbutils.widgets.criados
    assert set(criados) == {"kafka_protocolo", "offsets_iniciais", "escopo_segredos"}  # kafka_particoes: não lido
    assert criados["kafka_protocolo"].tipo == "dropdown"
    assert criados["kafka_protocolo"].opcoes == ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
    assert criados["offsets_iniciais"].rotulo == "onde um stream novo começa a ler"
    assert criados["escopo_segredos"].tipo == "text"
    assert (cfg.kafka_usuario, cfg.kafka_senha, cfg.chave_pseudonimizacao) == ("u", "s", None)
    assert cfg.kafka_particoes == Configuracao().kafka_particoes  # parâmetro sem widget fica no padrão

    with pytest.raises(ErroDeConfiguracao, match=r"Segredo 'chave-pseudonimizacao'.*escopo 'detector-pix'"):
        carregar_de_widgets(DbutilsDeTeste({}), ["chave_pseudonimizacao"])
    with pytest.raises(ErroDeConfiguracao, match=r"'offsets_iniciais'.*widget 'offsets_iniciais'.*earliest, latest"):
        carregar_de_widgets(DbutilsDeTeste({"offsets_iniciais": "inicio"}), ["offsets_iniciais"])
    with pytest.raises(ErroDeConfiguracao, match="não existem: topico_transacao"):
        carregar_de_widgets(DbutilsDeTeste({}), ["topico_transacao"])


# Leituras da configuração ---------------------------------------------------------------------------
def _quem_le(quadro: FrameType | None) -> FrameType | None:
    """O primeiro quadro fora das propriedades de ``Configuracao`` (e do espião, que também intercepta o acesso à
    propriedade): quem pediu o valor. ``None`` quando é a configuração lendo a si mesma (validação, ``com()``)."""
    while quadro is not None:
        codigo = quadro.f_code
        if codigo.co_filename == plataforma.config.__file__:
            if codigo.co_name not in PROPRIEDADES:
                return None
        elif codigo.co_filename != __file__ or codigo.co_name != "espiar":
            return quadro
        quadro = quadro.f_back
    return None


@contextmanager
def leituras_da_configuracao(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Os campos de ``Configuracao`` que o código lê enquanto o bloco roda (as propriedades contam pelo que leem)."""
    lidos: set[str] = set()
    original = Configuracao.__getattribute__

    def espiar(self: Configuracao, nome: str) -> object:
        if nome in CAMPOS_DA_CONFIGURACAO:
            quadro = _quem_le(sys._getframe(1))
            internos = quadro is None or quadro.f_code.co_filename in ARQUIVOS_INTERNOS
            if not internos and quadro.f_code.co_name not in ("__repr__", "__eq__", "__hash__"):
                lidos.add(nome)
        return original(self, nome)

    with monkeypatch.context() as m:
        m.setattr(Configuracao, "__getattribute__", espiar)
        yield lidos


@dataclass
class Execucao:
    widgets: dict[str, Widget]
    lidos: set[str]
    saida: str


def executar_no_databricks(
    caminho: Path,
    spark: SparkSession,
    valores: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Execucao:
    """Roda o notebook como o Databricks: ``dbutils`` e ``spark`` nos globais, parâmetros do job como widgets."""
    dbutils = DbutilsDeTeste(valores, {(ESCOPO, "chave-pseudonimizacao"): CHAVE_DE_TESTE})
    capsys.readouterr()
    with leituras_da_configuracao(monkeypatch) as lidos:
        runpy.run_path(str(caminho), init_globals={"dbutils": dbutils, "spark": spark}, run_name="__main__")
    return Execucao(dbutils.widgets.criados, set(lidos), capsys.readouterr().out)


def conferir_widgets(
    execucao: Execucao, notebook: str, modo: str | None, parametros: tuple[str, ...], proprios: set[str]
) -> None:
    """Widgets criados = campos lidos (com os ramos que esta execução não percorre) + widgets próprios.

    ``parametros``: a tupla que o notebook declara (e que test_implantacao compara aos parâmetros dos jobs).
    """
    ramo = SO_NO_MODO_CONTINUO[modo or notebook]
    lidos = execucao.lidos | ramo
    for chave, outros in OUTROS_RAMOS.items():
        if chave in lidos:
            lidos |= outros
    assert set(parametros) == lidos, (
        f"declarados e não lidos: {sorted(set(parametros) - lidos)}; lidos e não declarados: "
        f"{sorted(lidos - set(parametros))}"
    )
    da_configuracao = {n: w for n, w in execucao.widgets.items() if n in CAMPOS_DA_CONFIGURACAO}
    assert set(da_configuracao) == set(widgets_dos_parametros(lidos))
    assert set(execucao.widgets) == set(widgets_dos_parametros(parametros)) | proprios
    assert not set(execucao.widgets) & set(SEGREDOS)  # segredo nunca é widget
    for nome, widget in da_configuracao.items():
        campo = CAMPOS[nome]
        assert widget.rotulo == campo.descricao
        assert widget.padrao == str(campo.padrao)
        assert (widget.tipo, widget.opcoes) == (("dropdown", campo.opcoes) if campo.opcoes else ("text", ()))
    if modo is not None:
        assert execucao.widgets["modo"].tipo == "dropdown"
        assert execucao.widgets["modo"].opcoes == ("treinar", "pontuar")


# Notebooks contra a pilha local ---------------------------------------------------------------------
@pytest.mark.integracao
def test_notebooks_rodam_e_criam_so_os_widgets_que_leem(
    spark: SparkSession,
    cfg_teste: Configuracao,
    broker_kafka: BrokerKafkaLocal,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sufixo = uuid.uuid4().hex[:8]
    pasta = cfg_teste.pasta_dados / f"notebooks-{sufixo}"
    # Nomes de três partes, como no Unity Catalog: o catálogo da sessão local e um esquema deste teste (no
    # Databricks o bundle o cria); os checkpoints, que lá ficam no volume do esquema, aqui numa pasta.
    cfg = cfg_teste.com(
        dados_dir=str(pasta),
        catalogo="spark_catalog",
        esquema=f"nb_{sufixo}",
        checkpoints_dir=str(pasta / "checkpoints"),
        topico_transacoes=f"nb.transacoes.{sufixo}",
        topico_med=f"nb.med.{sufixo}",
        topico_decisoes=f"nb.decisoes.{sufixo}",
        pushgateway_url="",
    )
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {cfg.catalogo}.{cfg.esquema}")
    assert tabela(cfg, "bronze_transacoes").nome_uc == f"spark_catalog.nb_{sufixo}.bronze_transacoes"
    broker_kafka.criar_topicos(cfg.topicos)
    tudo = gerar_tudo(Parametros(semente=21, clientes=60, dias=1.0, taxa_invalidas=0.1))
    transacoes = tudo.transacoes
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, transacoes, tudo.chaves)
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_med, ['{"tipo": "SCAM"}'], ["m"])  # inválida
    campos = (
        "dados_dir", "catalogo", "esquema", "checkpoints_dir", "kafka_bootstrap", "topico_transacoes", "topico_med",
        "topico_decisoes", "pushgateway_url",
    )  # fmt: skip
    # Os mesmos valores para todos os notebooks, como parâmetros de job: quem não cria o widget não os vê.
    valores = {campo: str(getattr(cfg, campo)) for campo in campos} | {"disponivel": "sim"}

    # Localmente (sem dbutils) os parâmetros vêm do ambiente, como na CLI.
    for campo in campos:
        monkeypatch.setenv(f"DETECTOR_PIX_{campo.upper()}", str(getattr(cfg, campo)))
    executar_notebook("ingestao", {"disponivel": "sim"})
    assert tabela(cfg, "bronze_transacoes").ler(spark).count() == len(transacoes)
    assert tabela(cfg, "bronze_med").ler(spark).count() == 1

    # No Databricks: o mesmo checkpoint, nada novo no Kafka, nada duplicado na bronze.
    execucao = executar_no_databricks(NOTEBOOKS["ingestao"], spark, valores, monkeypatch, capsys)
    conferir_widgets(execucao, "ingestao", None, PARAMETROS_INGESTAO, {"disponivel"})
    assert tabela(cfg, "bronze_transacoes").ler(spark).count() == len(transacoes)

    execucao = executar_no_databricks(NOTEBOOKS["processamento"], spark, valores, monkeypatch, capsys)
    conferir_widgets(execucao, "processamento", None, PARAMETROS_PROCESSAMENTO, {"disponivel"})
    assert f"[transacoes] FECHA: bronze {len(transacoes)} = silver" in execucao.saida
    assert "[med] FECHA: bronze 1 = silver 0 + quarentena 1" in execucao.saida
    silver = tabela(cfg, "silver_transacoes").ler(spark).count()
    assert tabela(cfg, "gold_features").ler(spark).count() == silver > 0

    # Tráfego novo depois do processamento: a decisão aquece o estado da silver e decide só o que vem depois dela.
    novas = gerar_tudo(Parametros(semente=22, clientes=50, dias=0.2)).transacoes[:40]
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, novas, ["n"] * len(novas))
    execucao = executar_no_databricks(NOTEBOOKS["modelo"], spark, valores | {"modo": "pontuar"}, monkeypatch, capsys)
    conferir_widgets(execucao, "modelo", "pontuar", PARAMETROS_POR_MODO["pontuar"], {"modo", "disponivel"})
    assert "Nenhum champion registrado ainda" in execucao.saida
    lidas = re.search(r"só regras: \d+ lotes, (\d+) mensagens", execucao.saida)
    assert lidas, execucao.saida
    assert len(novas) <= int(lidas[1]) < len(transacoes)  # a história ficou no estado, não foi decidida de novo
    decisoes = ler_decisoes_kafka(cfg)
    assert len(decisoes) >= len(novas) - 5  # as novas (menos duplicatas eventuais do simulador)

    # A gold_decisoes é da ingestão: a próxima rodada grava as decisões confirmadas, uma vez cada.
    executar_notebook("ingestao", {"disponivel": "sim"})
    gold = tabela(cfg, "gold_decisoes").ler(spark)
    assert gold.count() == gold.select("id_decisao").distinct().count() == len(decisoes)


@pytest.mark.integracao
def test_modo_treinar_cria_so_os_widgets_que_le(
    spark: SparkSession,
    cfg_teste: Configuracao,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As silver saem de ``dados_simulados`` direto para o Delta: rótulos MED suficientes sem passar pelo Kafka."""
    from machine_learning.dados_simulados import simular
    from machine_learning.treino import COLUNAS_MED
    from processamento.features import COLUNAS_ENTRADA

    cfg = cfg_teste.com(dados_dir=str(cfg_teste.pasta_dados / f"treino-nb-{uuid.uuid4().hex[:8]}"))
    dados = simular(PARAMETROS_TREINO)
    for df, nome in (
        (dados.transacoes[list(COLUNAS_ENTRADA)], "silver_transacoes"),
        (dados.med[list(COLUNAS_MED)], "silver_med"),
    ):
        spark.createDataFrame(df).write.format("delta").save(tabela(cfg, nome).caminho)

    valores = {"dados_dir": cfg.dados_dir, "modo": "treinar"}
    execucao = executar_no_databricks(NOTEBOOKS["modelo"], spark, valores, monkeypatch, capsys)
    proprios = {"modo", "gabarito", "orcamento_revisar", "orcamento_bloquear"}
    conferir_widgets(execucao, "modelo", "treinar", PARAMETROS_POR_MODO["treinar"], proprios)
    assert "Nenhum champion registrado ainda" in execucao.saida
    assert "Escolhido:" in execucao.saida and "(champion)" in execucao.saida  # o primeiro modelo vira champion


# Notebooks pela wheel instalada ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def python_com_a_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Um virtualenv com a wheel do projeto (construída agora, como o ``artifacts`` do bundle) e sem o repositório.

    As dependências (Spark, Delta, MLflow...) vêm do .venv por um ``.pth`` que só acrescenta a pasta dele ao
    ``sys.path``: os ``.pth`` de lá, entre eles o da instalação editável que aponta para o repositório, não rodam.
    Devolve o Python do ambiente e o seu site-packages.
    """
    pasta = tmp_path_factory.mktemp("wheel")
    construir = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(pasta), str(RAIZ_PROJETO)]
    subprocess.run(construir, check=True)
    (wheel,) = pasta.glob("detector_fraudes_pix-*.whl")
    ambiente = pasta / "ambiente"
    subprocess.run([sys.executable, "-m", "venv", str(ambiente)], check=True)
    python = ambiente / "bin" / "python"
    perguntar = [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    site = subprocess.run(perguntar, check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "dependencias_do_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return python, Path(site)


@pytest.mark.integracao
def test_notebooks_pela_wheel_instalada(
    python_com_a_wheel: tuple[Path, Path],
    spark: SparkSession,
    cfg_teste: Configuracao,
    broker_kafka: BrokerKafkaLocal,
    tmp_path: Path,
) -> None:
    """Os três notebooks, copiados para fora do repositório (como o bundle os põe no workspace), rodam com o dublê do
    ``dbutils`` num processo em que o projeto só existe como a wheel instalada."""
    python, site = python_com_a_wheel
    sufixo = uuid.uuid4().hex[:8]
    # Tabelas com nome de três partes (Unity Catalog) no catálogo da sessão Spark do processo da wheel.
    cfg = cfg_teste.com(
        dados_dir=str(tmp_path / "dados"),
        catalogo="spark_catalog",
        esquema=f"wheel_{sufixo}",
        checkpoints_dir=str(tmp_path / "checkpoints"),
        topico_transacoes=f"wheel.transacoes.{sufixo}",
        topico_med=f"wheel.med.{sufixo}",
        topico_decisoes=f"wheel.decisoes.{sufixo}",
        pushgateway_url="",
    )
    broker_kafka.criar_topicos(cfg.topicos)
    tudo = gerar_tudo(Parametros(semente=31, clientes=50, dias=0.5))
    produzir_mensagens(cfg.kafka_bootstrap, cfg.topico_transacoes, tudo.transacoes, tudo.chaves)
    campos = (
        "dados_dir", "catalogo", "esquema", "checkpoints_dir", "kafka_bootstrap", "topico_transacoes", "topico_med",
        "topico_decisoes", "pushgateway_url",
    )  # fmt: skip
    valores = {campo: str(getattr(cfg, campo)) for campo in campos} | {"disponivel": "sim"}
    notebooks = []
    # O log de lotes da decisão também exclusivo: o padrão (pix.decisoes.lotes) é o de outros testes da sessão.
    decisao = {"modo": "pontuar", "topico_lotes_decisao": f"wheel.lotes.{sufixo}"}
    for nome, proprios in (("ingestao", {}), ("processamento", {}), ("modelo", decisao)):
        copia = tmp_path / "workspace" / NOTEBOOKS[nome].parent.name / NOTEBOOKS[nome].name
        copia.parent.mkdir(parents=True)
        shutil.copy(NOTEBOOKS[nome], copia)
        notebooks.append([str(copia), valores | proprios])
    pedido = {
        "notebooks": notebooks,
        "segredos": [[ESCOPO, "chave-pseudonimizacao", CHAVE_DE_TESTE]],
        "dados_dir": str(tmp_path / "spark"),
        "sql": [f"CREATE SCHEMA IF NOT EXISTS {cfg.catalogo}.{cfg.esquema}"],  # no Databricks, o bundle o cria
        "contar": [tabela(cfg, nome).nome_uc for nome in ("bronze_transacoes", "silver_transacoes", "gold_features")],
    }
    # Sem PYSPARK_PYTHON (a sessão Spark deste processo o aponta para o .venv): os workers usam o Python da wheel.
    ambiente = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYSPARK_", "DETECTOR_PIX_"))}
    resultado = subprocess.run(
        [python, "-I", dbutils_de_teste.__file__, json.dumps(pedido)],
        cwd=tmp_path, env=ambiente, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert resultado.returncode == 0, resultado.stderr[-4000:]
    saida = json.loads(resultado.stdout.strip().splitlines()[-1])

    # O código veio da wheel: cada pacote do projeto do site-packages do ambiente, e nenhuma outra pasta do sys.path
    # (nem a raiz do repositório, nem a de onde veio este teste) tem um pacote do projeto.
    for pacote, arquivo in saida["arquivos"].items():
        assert Path(arquivo).is_relative_to(site), (pacote, arquivo)
    outras = [p for p in saida["sys_path"] if Path(p) != site and (Path(p) / "plataforma").is_dir()]
    assert outras == [] and str(RAIZ_PROJETO) not in saida["sys_path"], saida["sys_path"]
    # E os notebooks fizeram o trabalho de sempre, com os widgets do Databricks.
    ingestao, processamento, modelo = (set(w) for w in saida["widgets"])
    assert {"disponivel", "kafka_bootstrap", "topico_transacoes"} <= ingestao
    assert {"disponivel", "escopo_segredos"} <= processamento
    assert {"modo", "disponivel"} <= modelo
    linhas = {nome.rsplit(".", 1)[1]: n for nome, n in saida["linhas"].items()}
    assert linhas["bronze_transacoes"] == len(tudo.transacoes)
    assert linhas["gold_features"] == linhas["silver_transacoes"] > 0
    assert "Nenhum champion registrado ainda" in resultado.stdout


@pytest.mark.integracao
def test_modelo_carregado_antes_do_projeto_nao_tapa_a_wheel(
    python_com_a_wheel: tuple[Path, Path], tmp_path: Path
) -> None:
    """O MLflow põe o code/ do modelo (pacotes parciais) na frente do sys.path: o resto da wheel segue importável."""
    python, site = python_com_a_wheel
    modelo = ModeloFraudePix(EstimadorRegras().fit(None, np.array([0, 1])), {"REVISAR": 0.2, "BLOQUEAR": 0.4}, "regras")
    (tmp_path / "codigo").mkdir()
    codigo = copiar_codigo_do_modelo(tmp_path / "codigo")
    mlflow.pyfunc.save_model(str(tmp_path / "modelo"), python_model=modelo, code_paths=codigo)
    script = (
        f"import mlflow.pyfunc; mlflow.pyfunc.load_model({str(tmp_path / 'modelo')!r}); "
        "import plataforma.config, processamento.silver; print(plataforma.config.__file__)"
    )
    resultado = subprocess.run(
        [python, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert resultado.returncode == 0, resultado.stderr[-3000:]
    assert Path(resultado.stdout.split()[-1]).is_relative_to(site)
