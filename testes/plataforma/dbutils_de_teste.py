"""O ``dbutils`` de teste: só widgets e segredos, o que o Databricks dá ao notebook. E um executor de notebooks.

Sem nada do projeto nem do pytest no nível do módulo: além de importado pelos testes, este arquivo roda como script
no ambiente em que só a wheel do projeto está instalada (``test_notebooks_pela_wheel_instalada``), com ``python -I``,
e lá roda os notebooks como o Databricks: ``dbutils`` e ``spark`` nos globais.
"""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Widget:
    tipo: str  # "text" ou "dropdown"
    padrao: str
    rotulo: str
    opcoes: tuple[str, ...] = ()


@dataclass
class WidgetsDeTeste:
    """``dbutils.widgets``: anota os widgets criados; ``get`` devolve o valor passado (como um parâmetro de job)
    ou o padrão, e falha para widget não criado, como no Databricks."""

    valores: Mapping[str, str]
    criados: dict[str, Widget] = field(default_factory=dict)

    def text(self, nome: str, padrao: str, rotulo: str | None = None) -> None:
        self.criados[nome] = Widget("text", padrao, rotulo or "")

    def dropdown(self, nome: str, padrao: str, opcoes: list[str], rotulo: str | None = None) -> None:
        assert padrao in opcoes, f"widget {nome}: padrão {padrao!r} fora das opções {opcoes}"
        self.criados[nome] = Widget("dropdown", padrao, rotulo or "", tuple(opcoes))

    def get(self, nome: str) -> str:
        if nome not in self.criados:
            raise ValueError(f"InputWidgetNotDefined: nenhum widget chamado {nome}")
        return self.valores.get(nome, self.criados[nome].padrao)


@dataclass
class SegredosDeTeste:
    """``dbutils.secrets``: {(escopo, chave): valor}; um segredo ausente falha, como no Databricks."""

    segredos: Mapping[tuple[str, str], str]

    def get(self, scope: str, key: str) -> str:
        try:
            return self.segredos[(scope, key)]
        except KeyError:
            raise RuntimeError(f"Secret does not exist with scope: {scope} and key: {key}") from None


class DbutilsDeTeste:
    def __init__(self, valores: Mapping[str, str], segredos: Mapping[tuple[str, str], str] | None = None) -> None:
        self.widgets = WidgetsDeTeste(valores)
        self.secrets = SegredosDeTeste(segredos or {})


PACOTES = ("plataforma", "ingestao", "processamento", "machine_learning", "monitoramento")


def main(argumentos: list[str]) -> None:
    """``<json>``: {"notebooks": [[caminho, {widget: valor}], ...], "segredos": [[escopo, chave, valor]], "dados_dir",
    "sql": [comando, ...], "contar": [tabela, ...]}.

    Roda os ``sql`` (o que o bundle cria antes, como o esquema) e os notebooks em ordem numa sessão Spark só e imprime,
    na última linha, um JSON com os widgets criados por notebook, as linhas de cada tabela de ``contar``, o arquivo
    de cada pacote do projeto importado e o ``sys.path``: a prova de onde veio o código.
    """
    import importlib

    from plataforma.config import Configuracao
    from plataforma.spark import obter_spark

    pedido = json.loads(argumentos[0])
    segredos = {(escopo, chave): valor for escopo, chave, valor in pedido["segredos"]}
    spark = obter_spark(Configuracao().com(dados_dir=pedido["dados_dir"]), nome_app="notebooks-pela-wheel", nucleos=2)
    for comando in pedido.get("sql", []):
        spark.sql(comando)
    widgets = []
    for caminho, valores in pedido["notebooks"]:
        dbutils = DbutilsDeTeste(valores, segredos)
        runpy.run_path(caminho, init_globals={"dbutils": dbutils, "spark": spark}, run_name="__main__")
        widgets.append(sorted(dbutils.widgets.criados))
    linhas = {nome: spark.read.table(nome).count() for nome in pedido.get("contar", [])}
    spark.stop()
    arquivos = {nome: importlib.import_module(nome).__file__ for nome in PACOTES}
    print(json.dumps({"widgets": widgets, "linhas": linhas, "arquivos": arquivos, "sys_path": sys.path}))


if __name__ == "__main__":
    main(sys.argv[1:])
