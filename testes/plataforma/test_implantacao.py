"""Os arquivos de implantação são válidos: o bundle contra o esquema oficial, o compose contra o projeto."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from plataforma.config import RAIZ_PROJETO, Configuracao

ESQUEMA_BUNDLE = RAIZ_PROJETO.parent / "shared" / "databricks" / "bundle-config-schema.json"


def _validador_bundle() -> jsonschema.Draft202012Validator:
    texto = ESQUEMA_BUNDLE.read_text(encoding="utf-8")
    # O esquema usa classes Unicode (\p{L}, \p{N}) que o módulo re do Python não conhece.
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


def test_bundle_aponta_para_notebooks_e_parametros_que_existem(bundle: dict) -> None:
    parametros_aceitos = set(Configuracao.__dataclass_fields__) | {"disponivel", "modo"}
    for job in bundle["resources"]["jobs"].values():
        for tarefa in job["tasks"]:
            notebook = RAIZ_PROJETO / tarefa["notebook_task"]["notebook_path"]
            assert notebook.exists(), notebook
            assert notebook.read_text(encoding="utf-8").startswith("# Databricks notebook source")
        for parametro in job.get("parameters", []):
            assert parametro["name"] in parametros_aceitos, parametro["name"]


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
