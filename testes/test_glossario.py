"""Uma palavra por conceito: os termos proibidos de ``docs/glossario.md`` não aparecem no código nem nos documentos.

A lista vem do próprio glossário (seção "Palavras que o código não usa"): acrescentar um termo lá já o vigia aqui.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from plataforma.config import RAIZ_PROJETO

GLOSSARIO = RAIZ_PROJETO / "docs" / "glossario.md"
PASTAS_DE_CODIGO = (
    "aplicacao",
    "plataforma",
    "ingestao",
    "processamento",
    "machine_learning",
    "monitoramento",
    "simulador",
    "testes",
)
NOME_DE_COLUNA = re.compile(r"[a-z][a-z0-9_]*")
TRECHO_DE_CODIGO = re.compile(r"`([^`\n]+)`")


def proibidos() -> dict[str, str]:
    """{termo proibido: termo certo}, da tabela do glossário."""
    texto = GLOSSARIO.read_text(encoding="utf-8")
    secao = texto.split("## Palavras que o código não usa", 1)[1]
    termos: dict[str, str] = {}
    for linha in secao.splitlines():
        celulas = [c.strip() for c in linha.strip().strip("|").split("|")]
        if len(celulas) != 2 or not celulas[1].startswith("`"):
            continue
        for proibido in re.findall(r"`([^`]+)`", celulas[1]):
            termos[proibido] = celulas[0]
    return termos


def _contem(nome: str, termo: str) -> bool:
    """O termo como palavra inteira de um identificador em snake_case (``valor_e2e``, ``e2e``; não ``see2e``)."""
    return re.search(rf"(?<![a-z0-9]){re.escape(termo)}(?![a-z0-9])", nome.lower()) is not None


def _nomes_do_codigo(arquivo: Path) -> set[str]:
    """Identificadores e nomes de coluna (textos em snake_case) de um arquivo Python."""
    nomes: set[str] = set()
    for no in ast.walk(ast.parse(arquivo.read_text(encoding="utf-8"))):
        if isinstance(no, ast.Name):
            nomes.add(no.id)
        elif isinstance(no, ast.Attribute):
            nomes.add(no.attr)
        elif isinstance(no, ast.arg):
            nomes.add(no.arg)
        elif isinstance(no, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            nomes.add(no.name)
        elif isinstance(no, ast.alias):
            nomes.update(filter(None, (no.name, no.asname)))
        elif isinstance(no, ast.keyword) and no.arg:
            nomes.add(no.arg)
        elif isinstance(no, ast.Constant) and isinstance(no.value, str) and NOME_DE_COLUNA.fullmatch(no.value):
            nomes.add(no.value)
    return nomes


def _arquivos_python() -> list[Path]:
    """O código do projeto, menos este arquivo (que cita os termos de propósito, nos exemplos)."""
    todos = (p for pasta in PASTAS_DE_CODIGO for p in (RAIZ_PROJETO / pasta).rglob("*.py"))
    return sorted(p for p in todos if p.resolve() != Path(__file__).resolve())


def _documentos() -> list[Path]:
    return sorted([RAIZ_PROJETO / "README.md", *(RAIZ_PROJETO / "docs").glob("*.md")])


def test_o_glossario_lista_os_proibidos() -> None:
    termos = proibidos()
    assert {"e2e", "mula", "payer", "payee"} <= set(termos)
    assert all(certo.startswith("`") for certo in termos.values())


@pytest.mark.parametrize("arquivo", _arquivos_python(), ids=lambda p: str(p.relative_to(RAIZ_PROJETO)))
def test_codigo_nao_usa_termo_proibido(arquivo: Path) -> None:
    achados = sorted(
        f"{nome} (use {certo})"
        for nome in _nomes_do_codigo(arquivo)
        for termo, certo in proibidos().items()
        if _contem(nome, termo)
    )
    assert not achados, f"{arquivo.relative_to(RAIZ_PROJETO)}: {', '.join(achados)}"


@pytest.mark.parametrize("documento", _documentos(), ids=lambda p: p.name)
def test_trechos_de_codigo_dos_documentos_nao_usam_termo_proibido(documento: Path) -> None:
    trechos = TRECHO_DE_CODIGO.findall(documento.read_text(encoding="utf-8"))
    if documento == GLOSSARIO:  # a própria tabela de proibidos
        trechos = [t for t in trechos if t not in proibidos()]
    achados = sorted({t for t in trechos for termo in proibidos() if _contem(t, termo)})
    assert not achados, f"{documento.name}: {achados}"


def test_o_detector_acha_o_termo_como_palavra_e_nao_dentro_de_outra(tmp_path: Path) -> None:
    amostra = tmp_path / "amostra.py"
    amostra.write_text(
        'def f(e2e):\n    valor_e2e = e2e\n    return {"mula_id": 1, "simulador": 2}\n', encoding="utf-8"
    )
    nomes = _nomes_do_codigo(amostra)
    assert {"e2e", "valor_e2e", "mula_id"} <= nomes
    assert _contem("valor_e2e", "e2e") and _contem("mula_id", "mula") and not _contem("simulador", "mula")
