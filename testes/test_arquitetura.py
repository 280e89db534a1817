"""As camadas apontam para um lado só e não há ciclo de imports, nem só de tipos (lido dos imports, sem executar).

Da base para o topo: ``plataforma`` (configuração, Spark, Kafka/MLflow locais, tabelas) <- ``monitoramento`` <-
``ingestao`` <- ``processamento`` <- ``simulador`` <- ``machine_learning`` <- ``aplicacao`` (CLI, demo,
benchmarks). Um módulo importa da própria camada ou de baixo; os notebooks contam como módulos da sua etapa.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from plataforma.config import RAIZ_PROJETO

CAMADAS = ("plataforma", "monitoramento", "ingestao", "processamento", "simulador", "machine_learning", "aplicacao")
NIVEL = {pacote: i for i, pacote in enumerate(CAMADAS)}


def _modulos() -> dict[str, Path]:
    modulos = {}
    for pacote in CAMADAS:
        for arquivo in sorted((RAIZ_PROJETO / pacote).rglob("*.py")):
            partes = arquivo.relative_to(RAIZ_PROJETO).with_suffix("").parts
            nome = ".".join(partes[:-1] if partes[-1] == "__init__" else partes)
            modulos[nome] = arquivo
    return modulos


def _importados(arquivo: Path, modulos: dict[str, Path]) -> set[str]:
    """Os módulos do projeto que o arquivo importa, em qualquer lugar (topo, função, ``TYPE_CHECKING``).

    ``from pacote import submodulo`` aponta para o submódulo; ``from pacote import nome``, para o ``__init__``.
    """
    alvos: set[str] = set()
    for no in ast.walk(ast.parse(arquivo.read_text(encoding="utf-8"))):
        if isinstance(no, ast.Import):
            alvos.update(a.name for a in no.names if a.name.split(".")[0] in NIVEL)
        elif isinstance(no, ast.ImportFrom) and no.module and no.level == 0 and no.module.split(".")[0] in NIVEL:
            for apelido in no.names:
                submodulo = f"{no.module}.{apelido.name}"
                alvos.add(submodulo if submodulo in modulos else no.module)
    return {a for a in alvos if a in modulos}


def _grafo() -> dict[str, set[str]]:
    modulos = _modulos()
    return {nome: _importados(arquivo, modulos) for nome, arquivo in modulos.items()}


def _ciclos(grafo: dict[str, set[str]]) -> list[list[str]]:
    """Componentes fortemente conexos com mais de um módulo (Tarjan), ou um módulo que importa a si mesmo."""
    indice: dict[str, int] = {}
    baixo: dict[str, int] = {}
    pilha: list[str] = []
    na_pilha: set[str] = set()
    ciclos: list[list[str]] = []

    def visitar(v: str) -> None:
        indice[v] = baixo[v] = len(indice)
        pilha.append(v)
        na_pilha.add(v)
        for w in sorted(grafo.get(v, ())):
            if w not in indice:
                visitar(w)
                baixo[v] = min(baixo[v], baixo[w])
            elif w in na_pilha:
                baixo[v] = min(baixo[v], indice[w])
        if baixo[v] == indice[v]:
            componente = []
            while True:
                w = pilha.pop()
                na_pilha.discard(w)
                componente.append(w)
                if w == v:
                    break
            if len(componente) > 1 or v in grafo.get(v, ()):
                ciclos.append(sorted(componente))

    for v in sorted(grafo):
        if v not in indice:
            visitar(v)
    return ciclos


def test_nenhum_import_aponta_para_uma_camada_de_cima() -> None:
    subindo = [
        f"{origem} -> {destino}"
        for origem, destinos in _grafo().items()
        for destino in sorted(destinos)
        if NIVEL[destino.split(".")[0]] > NIVEL[origem.split(".")[0]]
    ]
    assert not subindo, "imports para uma camada de cima:\n" + "\n".join(subindo)


def test_nenhum_ciclo_de_imports() -> None:
    assert _ciclos(_grafo()) == []


def test_o_detector_de_ciclos_acha_ciclos_e_imports_so_de_tipos(tmp_path: Path) -> None:
    """Os testes acima só valem se a busca acha um ciclo quando ele existe (inclusive o ciclo só de tipos)."""
    assert _ciclos({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "b": set()}) == [["a.x", "a.y", "a.z"]]
    assert _ciclos({"a": {"a"}}) == [["a"]]
    amostra = tmp_path / "amostra.py"
    amostra.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from simulador.motor import Motor\n"
        "def f():\n    from simulador import identificadores, Parametros\n",
        encoding="utf-8",
    )
    assert _importados(amostra, _modulos()) == {"simulador.motor", "simulador.identificadores", "simulador"}


@pytest.mark.parametrize("pacote", CAMADAS)
def test_cada_camada_existe_e_e_um_pacote(pacote: str) -> None:
    assert (RAIZ_PROJETO / pacote / "__init__.py").exists()


def test_so_a_aplicacao_importa_de_todas_as_etapas() -> None:
    """O que a aplicação usa mostra que ela está no topo: nenhuma outra camada depende dela."""
    dependentes = defaultdict(set)
    for origem, destinos in _grafo().items():
        for destino in destinos:
            dependentes[destino.split(".")[0]].add(origem.split(".")[0])
    assert dependentes["aplicacao"] <= {"aplicacao"}
