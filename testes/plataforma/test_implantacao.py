"""Os arquivos de implantação são válidos: o bundle contra o esquema oficial, o compose contra o projeto."""

from __future__ import annotations

import ast
import copy
import json
import tomllib
from pathlib import PurePosixPath

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from aplicacao.notebooks import NOTEBOOKS
from ingestao.bronze import PARAMETROS_INGESTAO
from machine_learning.modos import MODOS, PARAMETROS_POR_MODO
from plataforma.config import RAIZ_PROJETO, Configuracao, widgets_dos_parametros
from processamento.pipeline import PARAMETROS_PROCESSAMENTO

ESQUEMA_BUNDLE = RAIZ_PROJETO.parent / "shared" / "databricks" / "bundle-config-schema.json"

# A tupla da configuração que cada notebook (cada modo, no do modelo) passa a iniciar_notebook.
PARAMETROS_DOS_NOTEBOOKS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("ingestao", None): PARAMETROS_INGESTAO,
    ("processamento", None): PARAMETROS_PROCESSAMENTO,
    **{("modelo", modo): PARAMETROS_POR_MODO[modo] for modo in MODOS},
}
_WIDGETS_PROPRIOS = {"parametro", "sim_ou_nao", "fracao"}  # métodos do Contexto; o 1º argumento é o nome


def widgets_proprios(notebook: str) -> set[str]:
    """Os widgets que o notebook cria além dos da configuração, lidos do código (o ``modo`` vem de escolher_modo)."""
    nomes: set[str] = set()
    for no in ast.walk(ast.parse(NOTEBOOKS[notebook].read_text(encoding="utf-8"))):
        if not isinstance(no, ast.Call):
            continue
        funcao = no.func.attr if isinstance(no.func, ast.Attribute) else getattr(no.func, "id", "")
        if funcao == "escolher_modo":
            nomes.add("modo")
        elif funcao in _WIDGETS_PROPRIOS and no.args and isinstance(no.args[0], ast.Constant):
            nomes.add(no.args[0].value)
    return nomes


def widgets_declarados(notebook: str, modo: str | None = None) -> set[str]:
    """Os widgets que o notebook cria no Databricks: os dos parâmetros que ele lê e os próprios.

    testes/plataforma/test_notebooks.py roda os notebooks com um dbutils de teste e confere os widgets criados.
    """
    return set(widgets_dos_parametros(PARAMETROS_DOS_NOTEBOOKS[(notebook, modo)])) | widgets_proprios(notebook)


def _validador_bundle() -> jsonschema.Draft202012Validator:
    texto = ESQUEMA_BUNDLE.read_text(encoding="utf-8")
    # O esquema usa classes Unicode (\p{L}, \p{N}) que o módulo re do Python não conhece. A classe [\p{L}\p{N}]
    # (letra ou dígito) vai inteira: trocar só o de dentro deixaria um conjunto aninhado, que o re lê errado e que
    # recusaria ${var.com_sublinhado} onde o esquema aceita uma referência (listas de webhooks, por exemplo).
    texto = texto.replace(r"[\\p{L}\\p{N}]", r"[^\\W_]")
    texto = texto.replace(r"\\p{L}", r"[^\\W\\d_]").replace(r"\\p{N}", r"\\d")
    return jsonschema.Draft202012Validator(json.loads(texto))


@pytest.fixture(scope="module")
def bundle() -> dict:
    return yaml.safe_load((RAIZ_PROJETO / "databricks.yml").read_text(encoding="utf-8"))


@pytest.mark.skipif(not ESQUEMA_BUNDLE.exists(), reason="esquema oficial fica em ../shared/databricks")
def test_bundle_valido_pelo_esquema_oficial(bundle: dict) -> None:
    validador = _validador_bundle()
    erros = [f"{e.json_path}: {e.message[:200]}" for e in validador.iter_errors(bundle)]
    assert erros == []
    # O validador pega erros de digitação: prova de que a validação acima não é vazia.
    bundle = copy.deepcopy(bundle)
    tarefa = bundle["resources"]["jobs"]["detector_pix_streaming"]["tasks"][0]
    tarefa["notebook_tsk"] = tarefa.pop("notebook_task")
    assert list(validador.iter_errors(bundle))


def test_bundle_aponta_para_notebooks_que_existem(bundle: dict) -> None:
    for job in bundle["resources"]["jobs"].values():
        for tarefa in job["tasks"]:
            notebook = RAIZ_PROJETO / tarefa["notebook_task"]["notebook_path"]
            assert notebook.exists(), notebook
            assert notebook.read_text(encoding="utf-8").startswith("# Databricks notebook source")


def test_cada_tarefa_instala_a_wheel_do_bundle_que_nao_traz_spark(bundle: dict) -> None:
    """No cluster o Spark, o Delta e o MLflow são os do runtime: a wheel não os pede; o make os instala (local)."""
    artefato = bundle["artifacts"]["detector_pix"]
    assert artefato["type"] == "whl" and "pip wheel --no-deps" in artefato["build"]
    wheel = artefato["files"][0]["source"]
    for job in bundle["resources"]["jobs"].values():
        for tarefa in job["tasks"]:
            assert tarefa["libraries"] == [{"whl": wheel}], tarefa["task_key"]  # o resto vem como dependência dela
    projeto = tomllib.loads((RAIZ_PROJETO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    do_runtime = {"pyspark", "delta-spark", "mlflow"}
    assert not {Requirement(r).name for r in projeto["dependencies"]} & do_runtime
    assert {Requirement(r).name for r in projeto["optional-dependencies"]["local"]} == do_runtime
    assert "'.[local,dev]'" in (RAIZ_PROJETO / "Makefile").read_text(encoding="utf-8")


def test_widgets_proprios_lidos_do_codigo_dos_notebooks() -> None:
    """A leitura do código acha os widgets próprios (senão a conferência abaixo seria vazia)."""
    assert widgets_proprios("ingestao") == widgets_proprios("processamento") == {"disponivel"}
    assert widgets_proprios("modelo") == {"modo", "disponivel", "gabarito", "orcamento_revisar", "orcamento_bloquear"}


def test_cada_job_passa_so_parametros_que_seus_notebooks_leem(bundle: dict) -> None:
    """Um parâmetro sem widget no notebook seria ignorado em silêncio: o job pareceria configurado e não estaria.

    Os parâmetros do job chegam a todas as tarefas (e vencem os da tarefa com a mesma chave); os da tarefa
    (``base_parameters``), só a ela. O notebook do modelo recebe ``modo`` explicitamente.
    """
    nomes = {caminho.relative_to(RAIZ_PROJETO).as_posix(): nome for nome, caminho in NOTEBOOKS.items()}
    for chave, job in bundle["resources"]["jobs"].items():
        do_job = {p["name"]: str(p["default"]) for p in job.get("parameters", [])}
        for tarefa in job["tasks"]:
            onde = f"{chave}/{tarefa['task_key']}"
            notebook_task = tarefa["notebook_task"]
            da_tarefa = {k: str(v) for k, v in notebook_task.get("base_parameters", {}).items()}
            assert not set(da_tarefa) & set(do_job), f"{onde}: mesma chave no job e na tarefa"
            nome = nomes[PurePosixPath(notebook_task["notebook_path"]).as_posix()]
            passados = {**da_tarefa, **do_job}
            modo = passados.get("modo") if nome == "modelo" else None
            assert nome != "modelo" or modo in MODOS, f"{onde}: o notebook do modelo precisa de modo em {MODOS}"
            sobrando = set(passados) - widgets_declarados(nome, modo)
            assert not sobrando, f"{onde} passa parâmetros que o notebook não lê: {sorted(sobrando)}"


def test_compose_sobe_kafka_prometheus_pushgateway_e_grafana() -> None:
    compose = yaml.safe_load((RAIZ_PROJETO / "docker-compose.yml").read_text(encoding="utf-8"))
    servicos = compose["services"]
    assert {"kafka", "prometheus", "pushgateway", "grafana"} <= set(servicos)
    for servico in servicos.values():
        for volume in servico.get("volumes", []):
            origem = volume.split(":")[0]
            assert (RAIZ_PROJETO / origem).exists(), f"volume aponta para arquivo inexistente: {origem}"
    topicos = servicos["kafka-topicos"]["command"][0]
    assert all(t in topicos for t in Configuracao().topicos)
