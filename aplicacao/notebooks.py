"""Os três notebooks rodando localmente como arquivos Python, com os parâmetros que os widgets receberiam."""

from __future__ import annotations

import os
import runpy

from plataforma.config import PREFIXO_AMBIENTE, RAIZ_PROJETO

NOTEBOOKS = {
    "ingestao": RAIZ_PROJETO / "ingestao" / "notebook_ingestao.py",
    "processamento": RAIZ_PROJETO / "processamento" / "notebook_processamento.py",
    "modelo": RAIZ_PROJETO / "machine_learning" / "notebook_modelo.py",
}


def executar_notebook(nome: str, parametros: dict[str, str]) -> None:
    """Roda o notebook como um arquivo Python comum; os parâmetros chegam como os widgets chegariam."""
    caminho = NOTEBOOKS[nome]
    for chave, valor in parametros.items():
        os.environ[PREFIXO_AMBIENTE + chave.upper()] = valor
    runpy.run_path(str(caminho), run_name="__main__")
