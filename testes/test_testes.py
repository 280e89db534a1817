"""Nenhum módulo de teste importa de outro módulo de teste nem de um ``conftest`` (lido dos imports, sem executar).

Por que: um ``test_*`` importado é coletado de novo pelo pytest sob outro nome e amarra um arquivo ao outro (apagar
ou mudar um teste quebra outro). Fixtures chegam pelo pytest, sem import; funções e constantes comuns ficam em
``testes/util.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from plataforma.config import RAIZ_PROJETO

TESTES = RAIZ_PROJETO / "testes"


def _proibido(modulo: str) -> bool:
    """``test_*`` ou ``conftest`` como último nome do módulo importado."""
    ultimo = modulo.rsplit(".", 1)[-1]
    return ultimo.startswith("test_") or ultimo == "conftest"


def imports_de_testes(arquivo: Path) -> list[str]:
    """Os módulos de teste (e ``conftest``) que o arquivo importa, absolutos ou relativos, em qualquer lugar."""
    achados = []
    for no in ast.walk(ast.parse(arquivo.read_text(encoding="utf-8"))):
        if isinstance(no, ast.Import):
            achados += [a.name for a in no.names if _proibido(a.name)]
        elif isinstance(no, ast.ImportFrom):
            origem = "." * no.level + (no.module or "")
            if no.module and _proibido(no.module):
                achados.append(origem)
            else:  # from . import test_x, from testes.y import test_x
                ponto = "" if origem.endswith(".") else "."
                achados += [f"{origem}{ponto}{a.name}" for a in no.names if _proibido(a.name)]
    return achados


def _arquivos() -> list[Path]:
    return sorted(TESTES.rglob("*.py"))


@pytest.mark.parametrize("arquivo", _arquivos(), ids=lambda p: str(p.relative_to(RAIZ_PROJETO)))
def test_modulo_nao_importa_de_outro_teste(arquivo: Path) -> None:
    achados = imports_de_testes(arquivo)
    assert not achados, (
        f"{arquivo.relative_to(RAIZ_PROJETO)} importa de {achados}: mova o que é comum para testes/util.py "
        "(funções e constantes) ou para um conftest.py (fixtures, que chegam sem import)"
    )


def test_o_detector_acha_imports_absolutos_relativos_e_de_conftest(tmp_path: Path) -> None:
    """O teste acima só vale se a busca acha cada forma de import quando ela existe."""
    amostra = tmp_path / "test_amostra.py"
    amostra.write_text(
        "from testes.processamento.test_pipeline import CHAVE\n"
        "from .test_arquivos import expressoes\n"
        "from . import test_outro\n"
        "import testes.machine_learning.test_treino\n"
        "from .conftest import ReceptorWebhook\n"
        "def f():\n    from testes.conftest import algo\n"
        "from testes.util import esperar\n"
        "from testes import processos\n",
        encoding="utf-8",
    )
    assert sorted(imports_de_testes(amostra)) == sorted(
        [
            "testes.processamento.test_pipeline",
            ".test_arquivos",
            ".test_outro",
            "testes.machine_learning.test_treino",
            ".conftest",
            "testes.conftest",
        ]
    )
