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
    """Roda o notebook como um arquivo Python comum; os parâmetros chegam como os widgets chegariam.

    Eles valem só para esta execução: o ambiente volta ao que era, para que o ``gabarito`` do treino, por exemplo,
    não fique valendo para o próximo notebook da mesma sessão.
    """
    caminho = NOTEBOOKS[nome]
    chaves = [PREFIXO_AMBIENTE + chave.upper() for chave in parametros]
    anteriores = {chave: os.environ.get(chave) for chave in chaves}
    os.environ.update(zip(chaves, parametros.values(), strict=True))
    try:
        runpy.run_path(str(caminho), run_name="__main__")
    finally:
        for chave, valor in anteriores.items():
            if valor is None:
                os.environ.pop(chave, None)
            else:
                os.environ[chave] = valor
