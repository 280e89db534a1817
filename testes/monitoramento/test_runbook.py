"""O guia do plantão (docs/uso_operacional.md) cobre cada alerta e só cita comandos, jobs e métricas que existem.

Âncoras: as do GitHub, calculadas dos títulos do Markdown (minúsculas, sem pontuação além de hífen e sublinhado,
espaços viram hífens, letras acentuadas ficam; títulos repetidos ganham ``-1``, ``-2``). Cada alerta tem um título
com o próprio nome, então a âncora é o nome do alerta em minúsculas.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest
import yaml

from aplicacao.cli import construir_parser
from monitoramento.local import ARQUIVO_ALERTAS
from monitoramento.metricas import MetricasDaPontuacao, MetricasDoProcessamento
from plataforma.config import CAMPOS, PREFIXO_AMBIENTE, RAIZ_PROJETO, SEGREDOS, Configuracao

DOCS = RAIZ_PROJETO / "docs"
GUIA = DOCS / "uso_operacional.md"
PREFIXO_RUNBOOK = "docs/uso_operacional.md#"
CERCA = re.compile(r"^\s*(```|~~~)")
TITULO = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
LINK_INTERNO = re.compile(r"\]\(([\w./-]*\.md)?#([^)\s]+)\)")
# Parâmetros próprios dos notebooks (widgets que não estão na Configuracao): plataforma/notebook.py e os notebooks.
PARAMETROS_DOS_NOTEBOOKS = {"modo", "disponivel", "gabarito", "orcamento_revisar", "orcamento_bloquear"}
# Os procedimentos que o plantão precisa achar pelo índice (âncoras dos títulos).
PROCEDIMENTOS = (
    "parar-e-iniciar-os-streams",
    "reiniciar-um-checkpoint",
    "ingestão-bronze_transacoes-bronze_med",
    "processamento-processamento_transacoes-processamento_med",
    "decisão-em-tempo-real-decisao",
    "reimplantar-o-bundle",
    "reverter-o-modelo",
    "trocar-a-chave-de-pseudonimização",
    "trocar-as-credenciais-do-kafka",
    "queda-do-broker-kafka",
    "queda-do-pushgateway",
    "remover-grupos-velhos-do-pushgateway",
)
PARTES_DE_UM_ALERTA = ("**O que significa.**", "**Confirmar.**", "**O que fazer.**", "**Escalar**")


def ancora(titulo: str) -> str:
    """A âncora que o GitHub dá a um título (o mesmo algoritmo do github-slugger, para texto comum)."""
    texto = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", titulo)  # um link no título vale pelo texto
    texto = re.sub(r"<[^>]+>", "", texto).strip().lower()
    return re.sub(r"[^\w\- ]", "", texto).replace(" ", "-")


def _linhas_fora_do_codigo(texto: str) -> list[str]:
    """As linhas do Markdown fora dos blocos de código (um ``# comentário`` num bloco bash não é título)."""
    linhas, dentro = [], False
    for linha in texto.splitlines():
        if CERCA.match(linha):
            dentro = not dentro
        elif not dentro:
            linhas.append(linha)
    return linhas


def titulos(texto: str) -> list[tuple[int, str, str]]:
    """``(nível, título, âncora)`` de cada título, com o sufixo ``-n`` dos repetidos, como no GitHub."""
    vistos: dict[str, int] = {}
    saida = []
    for linha in _linhas_fora_do_codigo(texto):
        achado = TITULO.match(linha)
        if not achado:
            continue
        base = ancora(achado.group(2))
        n = vistos.get(base, 0)
        vistos[base] = n + 1
        saida.append((len(achado.group(1)), achado.group(2), base if n == 0 else f"{base}-{n}"))
    return saida


def ancoras(arquivo: Path) -> set[str]:
    return {a for _, _, a in titulos(arquivo.read_text(encoding="utf-8"))}


def blocos_de_codigo(texto: str) -> list[str]:
    blocos, atual, dentro = [], [], False
    for linha in texto.splitlines():
        if CERCA.match(linha):
            if dentro:
                blocos.append("\n".join(atual))
                atual = []
            dentro = not dentro
        elif dentro:
            atual.append(linha.strip())
    return blocos


def _regras() -> list[dict]:
    dados = yaml.safe_load(ARQUIVO_ALERTAS.read_text(encoding="utf-8"))
    return [regra for grupo in dados["groups"] for regra in grupo["rules"] if "alert" in regra]


REGRAS = _regras()
TEXTO = GUIA.read_text(encoding="utf-8")


def _secao(titulo_procurado: str) -> str:
    """O texto de uma seção: do seu título até o próximo título de nível igual ou maior."""
    linhas = TEXTO.splitlines()
    inicio = nivel = None
    dentro_do_codigo = False
    for i, linha in enumerate(linhas):
        if CERCA.match(linha):
            dentro_do_codigo = not dentro_do_codigo
        achado = None if dentro_do_codigo else TITULO.match(linha)
        if not achado:
            continue
        if inicio is None and achado.group(2) == titulo_procurado:
            inicio, nivel = i, len(achado.group(1))
        elif inicio is not None and len(achado.group(1)) <= nivel:
            return "\n".join(linhas[inicio:i])
    assert inicio is not None, f"seção '{titulo_procurado}' não encontrada em {GUIA.name}"
    return "\n".join(linhas[inicio:])


def _subcomandos(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    acao = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(acao.choices)


# Os alertas ---------------------------------------------------------------------------------------
def test_ha_alertas_e_titulos_para_conferir() -> None:
    assert len(REGRAS) >= 8, f"esperava ao menos 8 alertas em {ARQUIVO_ALERTAS}"
    assert len(titulos(TEXTO)) > 20


def test_ancora_segue_o_github() -> None:
    assert ancora("DecisaoSoComRegras") == "decisaosocomregras"
    assert ancora("Trocar a chave de pseudonimização") == "trocar-a-chave-de-pseudonimização"
    assert ancora("Processamento do MED (`processamento_med`)") == "processamento-do-med-processamento_med"
    assert ancora("Ingestão (`bronze_transacoes`, `bronze_med`)") == "ingestão-bronze_transacoes-bronze_med"
    assert [a for _, _, a in titulos("# A\n```bash\n# não é título\n```\n## A\n")] == ["a", "a-1"]


@pytest.mark.parametrize("regra", REGRAS, ids=[r["alert"] for r in REGRAS])
def test_regra_aponta_para_a_propria_secao_do_guia(regra: dict) -> None:
    url = regra.get("annotations", {}).get("runbook_url")
    assert url, f"{regra['alert']}: sem a anotação runbook_url em {ARQUIVO_ALERTAS.name}"
    assert url.startswith(PREFIXO_RUNBOOK), f"{regra['alert']}: runbook_url {url!r} não aponta para {GUIA.name}"
    destino = url.removeprefix(PREFIXO_RUNBOOK)
    assert destino in ancoras(GUIA), f"{regra['alert']}: âncora #{destino} não existe em {GUIA.name}"
    assert destino == ancora(regra["alert"]), f"{regra['alert']}: a âncora deve ser a seção com o nome do alerta"


@pytest.mark.parametrize("regra", REGRAS, ids=[r["alert"] for r in REGRAS])
def test_secao_do_alerta_diz_o_que_e_como_confirmar_o_que_fazer_e_quando_escalar(regra: dict) -> None:
    secao = _secao(regra["alert"])
    faltam = [parte for parte in PARTES_DE_UM_ALERTA if parte not in secao]
    assert not faltam, f"seção {regra['alert']} sem {faltam}"


def test_alertas_tem_ancoras_distintas() -> None:
    urls = [r.get("annotations", {}).get("runbook_url") for r in REGRAS]
    assert len(set(urls)) == len(urls), f"duas regras apontam para a mesma seção: {urls}"


# Os procedimentos ---------------------------------------------------------------------------------
@pytest.mark.parametrize("procedimento", PROCEDIMENTOS)
def test_procedimento_tem_secao(procedimento: str) -> None:
    assert procedimento in ancoras(GUIA), f"procedimento #{procedimento} sem seção em {GUIA.name}"


@pytest.mark.parametrize(
    "titulo, trechos",
    [
        (
            "Reiniciar um checkpoint",
            ("txnAppId", "detector-pix reiniciar-checkpoint", "retomada.json", "offsets_iniciais"),
        ),
        ("Reimplantar o bundle", ("databricks bundle deploy", "--restart", "PAUSED")),
        ("Reverter o modelo", ("set_registered_model_alias", "databricks registered-models set-alias")),
        ("Trocar a chave de pseudonimização", ("databricks secrets put-secret", "chave-pseudonimizacao")),
        ("Trocar as credenciais do Kafka", ("kafka-usuario", "kafka-senha", "DETECTOR_PIX_KAFKA_SENHA")),
        ("Queda do broker Kafka", ("detector-pix kafka", "failOnDataLoss")),
        ("Queda do Pushgateway", ("/-/ready", "nenhum alerta")),
        ("Remover grupos velhos do Pushgateway", ("DELETE", "/implantacao@base64/", "delete_from_gateway")),
    ],
)
def test_procedimento_tem_os_comandos_locais_e_do_databricks(titulo: str, trechos: tuple[str, ...]) -> None:
    secao = _secao(titulo)
    faltam = [t for t in trechos if t not in secao]
    assert not faltam, f"seção '{titulo}' sem {faltam}"


# Links ---------------------------------------------------------------------------------------------
def test_links_para_secoes_existem() -> None:
    quebrados = []
    for arquivo, destino in LINK_INTERNO.findall(TEXTO):
        alvo = DOCS / arquivo if arquivo else GUIA
        if not alvo.exists() or destino not in ancoras(alvo):
            quebrados.append(f"{arquivo or GUIA.name}#{destino}")
    assert not quebrados, f"links para seções que não existem: {quebrados}"


# Comandos e nomes citados ----------------------------------------------------------------------------
def test_subcomandos_do_detector_pix_existem() -> None:
    subcomandos = _subcomandos(construir_parser())
    # "secrets put-secret detector-pix kafka-senha": ali detector-pix é o secret scope, não a CLI.
    comando = r"(?<!put-secret )(?<!list-secrets )(?<!create-scope )detector-pix"
    citados = set(re.findall(comando + r"(?:\s+(?:-D|--definir|--config)\s+\S+)*\s+([a-z][\w-]*)", TEXTO))
    assert citados, "o guia não cita nenhum comando detector-pix"
    assert not citados - set(subcomandos), f"subcomandos que a CLI não tem: {sorted(citados - set(subcomandos))}"


def _comandos_detector_pix() -> list[str]:
    """Cada linha de comando ``detector-pix ...`` dos blocos de código e do texto (sem ``...`` de reticências)."""
    linhas = [linha for bloco in blocos_de_codigo(TEXTO) for linha in bloco.splitlines()]
    linhas += re.findall(r"`(detector-pix [^`]+)`", TEXTO)
    comandos = []
    for linha in linhas:
        if not linha.startswith("detector-pix ") or "..." in linha:
            continue
        comandos.append(re.split(r"\s+#|\||&&|;|\s2?>", linha)[0].strip())
    return sorted(set(comandos))


@pytest.mark.parametrize("comando", _comandos_detector_pix())
def test_comando_do_detector_pix_e_aceito_pela_cli(comando: str) -> None:
    try:
        construir_parser().parse_args(shlex.split(comando)[1:])
    except SystemExit as saida:
        pytest.fail(f"a CLI recusa '{comando}' (saída {saida.code})")


def test_alvos_do_make_existem() -> None:
    makefile = (RAIZ_PROJETO / "Makefile").read_text(encoding="utf-8")
    alvos = set(re.findall(r"^([\w-]+):", makefile, re.MULTILINE))
    citados = set(re.findall(r"\bmake ([a-z][\w-]*)", TEXTO))
    assert citados, "o guia não cita nenhum alvo do make"
    assert not citados - alvos, f"alvos que o Makefile não tem: {sorted(citados - alvos)}"


def _jobs_do_bundle() -> dict[str, dict]:
    return yaml.safe_load((RAIZ_PROJETO / "databricks.yml").read_text(encoding="utf-8"))["resources"]["jobs"]


def test_jobs_do_bundle_citados_existem() -> None:
    jobs = _jobs_do_bundle()
    chaves = set(re.findall(r"bundle run[^\n`]*?\b(detector_pix_\w+)", TEXTO))
    nomes = set(re.findall(r"`(detector-pix-[\w-]+)`", TEXTO))
    assert chaves and nomes
    assert not chaves - set(jobs), f"chaves de job que o databricks.yml não tem: {sorted(chaves - set(jobs))}"
    conhecidos = {job["name"] for job in jobs.values()}
    assert not nomes - conhecidos, f"nomes de job que o databricks.yml não tem: {sorted(nomes - conhecidos)}"


def test_parametros_passados_ao_bundle_run_sao_parametros_do_job() -> None:
    jobs = _jobs_do_bundle()
    usos = re.findall(r"bundle run[^\n`]*?\b(detector_pix_\w+)\s+--params\s+(\S+)", TEXTO)
    assert usos
    for chave, pares in usos:
        declarados = {p["name"] for p in jobs[chave]["parameters"]}
        nomes = {par.split("=", 1)[0] for par in pares.split(",")}
        assert nomes <= declarados, f"{chave} não declara {sorted(nomes - declarados)} em databricks.yml"


def test_parametros_e_variaveis_citados_existem() -> None:
    conhecidos = set(CAMPOS) | set(SEGREDOS) | PARAMETROS_DOS_NOTEBOOKS
    variaveis = {v.lower() for v in re.findall(PREFIXO_AMBIENTE + r"([A-Z_]+)", TEXTO)} - {"config"}
    definidos = set(re.findall(r"(?:-D|--params)\s+(\w+)=", TEXTO))
    assert variaveis and definidos
    assert not variaveis - conhecidos, f"variáveis de ambiente sem parâmetro: {sorted(variaveis - conhecidos)}"
    assert not definidos - conhecidos, f"parâmetros que não existem: {sorted(definidos - conhecidos)}"


def _metricas_expostas() -> set[str]:
    """Nomes das séries que as duas classes de métricas registram (com os sufixos de counter e histograma)."""
    sufixos = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
    nomes: set[str] = set()
    cfg = Configuracao().com(pushgateway_url="")
    for classe in (MetricasDaPontuacao, MetricasDoProcessamento):
        for familia in classe(cfg).registro.collect():
            nomes.add(familia.name)
            nomes.update(familia.name + s for s in sufixos.get(familia.type, ()))
    return nomes


def test_metricas_citadas_existem() -> None:
    cfg = Configuracao().com(pushgateway_url="")
    jobs_das_metricas = {MetricasDaPontuacao(cfg).job, MetricasDoProcessamento(cfg).job}
    citadas = set(re.findall(r"\bdetector_pix_[a-z0-9_]+", TEXTO)) - jobs_das_metricas - set(_jobs_do_bundle())
    faltam = citadas - _metricas_expostas()
    assert citadas
    assert not faltam, f"métricas que o código não expõe: {sorted(faltam)}"
