"""Os alvos do bundle não se tocam: cada um resolve para as próprias tabelas, checkpoints, txnAppId e modelo.

Por que um resolvedor aqui: a CLI do Databricks não roda nos testes. O que importa para o isolamento é pouco — as
variáveis (padrão, sobrescrita do alvo, ``--var``) e ``${workspace.current_user.*}`` — e isso cabe em poucas linhas.
Depois, a configuração que cada job recebe passa pelas mesmas funções que nomeiam tabelas, checkpoints e ids no código.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from plataforma.config import RAIZ_PROJETO, SEGREDOS, Configuracao, ErroDeConfiguracao
from plataforma.tabelas import TABELAS, checkpoint, tabela
from processamento.retomada import CONSULTA_MED, CONSULTA_TRANSACOES, id_de_escrita

ANA = {"short_name": "ana_souza", "userName": "ana.souza@banco.com.br"}
BRUNO = {"short_name": "bruno_lima", "userName": "bruno.lima@banco.com.br"}
PRINCIPAL = "5cf3a04b-a73c-4e46-9f3d-52da7999069e"
# O que o deploy de prod passa com --var (docs/databricks.md); o resto tem padrão.
VARS_PROD = {
    "kafka_bootstrap": "kafka1.banco:9093",
    "pushgateway_url": "https://pushgateway.banco.com.br",
    "principal_servico": PRINCIPAL,
    "email_alertas": "fraudes-plantao@banco.com.br",
}
_REFERENCIA = re.compile(r"\$\{([^}]+)\}")


class VariavelSemValor(LookupError):
    """O ``bundle validate`` falharia: variável sem padrão, sem valor no alvo e sem ``--var``."""


def _mesclar(base: Any, por_cima: Any) -> Any:
    """Mapas se juntam chave a chave (como a CLI junta ``targets.<alvo>.resources`` com ``resources``)."""
    if isinstance(base, dict) and isinstance(por_cima, dict):
        return {**base, **{k: _mesclar(base.get(k), v) for k, v in por_cima.items()}}
    return copy.deepcopy(por_cima)


def _em_cada_texto(valor: Any, funcao: Callable[[str], Any]) -> Any:
    if isinstance(valor, dict):
        return {k: _em_cada_texto(v, funcao) for k, v in valor.items()}
    if isinstance(valor, list):
        return [_em_cada_texto(v, funcao) for v in valor]
    return funcao(valor) if isinstance(valor, str) else valor


def resolver(
    bundle: Mapping[str, Any], alvo: str, usuario: Mapping[str, str], vars_cli: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """O bundle como o alvo o vê: recursos mesclados e ``${var.*}``/``${workspace.*}``/``${bundle.*}`` trocados;
    por último ``${resources.schemas.<x>.name}``, pelo nome já resolvido do esquema."""
    config_alvo = bundle["targets"][alvo]
    variaveis = {nome: dados.get("default") for nome, dados in bundle["variables"].items()}
    for nome, valor in (config_alvo.get("variables") or {}).items():
        variaveis[nome] = valor["default"] if isinstance(valor, dict) else valor
    variaveis |= dict(vars_cli or {})
    faltando = sorted(nome for nome, valor in variaveis.items() if valor is None)
    if faltando:
        raise VariavelSemValor(faltando)
    contexto = {
        "bundle.name": bundle["bundle"]["name"],
        "bundle.target": alvo,
        **{f"workspace.current_user.{k}": v for k, v in usuario.items()},
    }
    # A pasta do alvo: a declarada, ou a padrão do Databricks (na pasta de quem faz o deploy).
    padrao = "/Workspace/Users/${workspace.current_user.userName}/.bundle/${bundle.name}/${bundle.target}"
    raiz = (config_alvo.get("workspace") or {}).get("root_path", padrao)

    def trocar(texto: str) -> Any:
        inteira = _REFERENCIA.fullmatch(texto)
        if inteira and inteira.group(1).startswith("var."):  # variável complexa (lista) entra como está
            return _em_cada_texto(variaveis[inteira.group(1).removeprefix("var.")], trocar)

        def uma(m: re.Match[str]) -> str:
            chave = m.group(1)
            if chave.startswith("var."):
                return str(_em_cada_texto(variaveis[chave.removeprefix("var.")], trocar))
            return contexto.get(chave, m.group(0))  # ${resources.*} fica para a segunda passada

        return _REFERENCIA.sub(uma, texto)

    contexto["workspace.root_path"] = trocar(raiz)
    resolvido = _em_cada_texto(
        {
            "resources": _mesclar(bundle.get("resources", {}), config_alvo.get("resources", {})),
            "workspace": config_alvo.get("workspace", {}),
            "run_as": config_alvo.get("run_as"),
        },
        trocar,
    )
    esquemas = {chave: esquema["name"] for chave, esquema in resolvido["resources"].get("schemas", {}).items()}
    referencia = re.compile(r"\$\{resources\.schemas\.(\w+)\.name\}")
    return _em_cada_texto(resolvido, lambda texto: referencia.sub(lambda m: esquemas[m.group(1)], texto))


def configuracoes_dos_jobs(resolvido: Mapping[str, Any]) -> dict[str, Configuracao]:
    """A configuração que cada tarefa monta dos parâmetros do job e da tarefa (só catálogo e esquema importam aqui)."""
    cfgs: dict[str, Configuracao] = {}
    for chave, job in resolvido["resources"]["jobs"].items():
        do_job = {p["name"]: p["default"] for p in job.get("parameters", [])}
        for tarefa in job["tasks"]:
            passados = {**tarefa["notebook_task"].get("base_parameters", {}), **do_job}
            cfgs[f"{chave}/{tarefa['task_key']}"] = Configuracao().com(
                catalogo=passados["catalogo"],
                esquema=passados["esquema"],
                experimento_mlflow=passados.get("experimento_mlflow", ""),
            )
    return cfgs


def implantacao_do_alvo(resolvido: Mapping[str, Any]) -> Configuracao:
    """Todos os jobs de um alvo são a mesma implantação (senão um job escreveria onde o outro não lê)."""
    cfgs = configuracoes_dos_jobs(resolvido)
    assert len({c.implantacao for c in cfgs.values()}) == 1, {k: c.implantacao for k, c in cfgs.items()}
    # Os jobs que usam o MLflow (treino e decisão) usam o mesmo experimento; o de streaming não passa nenhum.
    experimentos = {c.experimento_mlflow for c in cfgs.values() if c.experimento_mlflow}
    assert len(experimentos) == 1, experimentos
    return next(c for c in cfgs.values() if c.experimento_mlflow)


def pegadas(cfg: Configuracao) -> dict[str, set[str]]:
    """Tudo o que uma implantação escreve ou lê por nome: se duas dividem um item, uma pisa na outra."""
    consultas = (CONSULTA_TRANSACOES, CONSULTA_MED)
    return {
        "tabelas": {tabela(cfg, nome).identificador_sql for nome in TABELAS},
        "checkpoints": {cfg.pasta_checkpoints, *(checkpoint(cfg, c) for c in consultas)},
        "txnAppId": {id_de_escrita(cfg, c) for c in consultas},
        "modelo": {cfg.nome_modelo_registrado},
        "experimento": {cfg.experimento_mlflow},
    }


def colisoes(a: Configuracao, b: Configuracao) -> dict[str, set[str]]:
    pa, pb = pegadas(a), pegadas(b)
    return {tipo: pa[tipo] & pb[tipo] for tipo in pa if pa[tipo] & pb[tipo]}


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return yaml.safe_load((RAIZ_PROJETO / "databricks.yml").read_text(encoding="utf-8"))


def test_dev_e_prod_nao_dividem_tabelas_checkpoints_txnappid_nem_modelo(bundle: dict[str, Any]) -> None:
    dev = implantacao_do_alvo(resolver(bundle, "dev", ANA))
    prod = implantacao_do_alvo(resolver(bundle, "prod", ANA, VARS_PROD))
    assert colisoes(dev, prod) == {}
    assert prod.implantacao == "pix.fraudes"
    assert dev.implantacao == "pix_dev.fraudes_ana_souza"
    assert id_de_escrita(dev, CONSULTA_TRANSACOES).startswith("detector-pix:pix_dev.fraudes_ana_souza:")


def test_dois_desenvolvedores_em_dev_nao_se_pisam(bundle: dict[str, Any]) -> None:
    ana = implantacao_do_alvo(resolver(bundle, "dev", ANA))
    bruno = implantacao_do_alvo(resolver(bundle, "dev", BRUNO))
    assert colisoes(ana, bruno) == {}


def test_a_conferencia_acusa_alvos_que_dividem_a_implantacao(bundle: dict[str, Any]) -> None:
    """Sem as sobrescritas de dev (o bundle de antes), dev e prod caem em pix.fraudes: a conferência tem de ver."""
    sem_sobrescritas = copy.deepcopy(bundle)
    for nome in ("catalogo", "esquema"):
        del sem_sobrescritas["targets"]["dev"]["variables"][nome]
    dev = implantacao_do_alvo(resolver(sem_sobrescritas, "dev", ANA))
    prod = implantacao_do_alvo(resolver(sem_sobrescritas, "prod", ANA, VARS_PROD))
    assert set(colisoes(dev, prod)) == {"tabelas", "checkpoints", "txnAppId", "modelo"}


@pytest.mark.parametrize(("alvo", "vars_cli"), [("dev", {}), ("prod", VARS_PROD)])
def test_objetos_do_unity_catalog_declarados_sao_os_que_o_codigo_usa(
    bundle: dict[str, Any], alvo: str, vars_cli: dict[str, str]
) -> None:
    resolvido = resolver(bundle, alvo, ANA, vars_cli)
    cfg = implantacao_do_alvo(resolvido)
    recursos = resolvido["resources"]
    (esquema,) = recursos["schemas"].values()
    assert (esquema["catalog_name"], esquema["name"]) == (cfg.catalogo, cfg.esquema)
    (volume,) = recursos["volumes"].values()
    assert f"/Volumes/{volume['catalog_name']}/{volume['schema_name']}/{volume['name']}" == cfg.pasta_checkpoints
    modelos = recursos.get("registered_models", {}).values()
    assert all(f"{m['catalog_name']}.{m['schema_name']}.{m['name']}" == cfg.nome_modelo_registrado for m in modelos)
    # Em dev o modo development prefixaria o nome do esquema (dev_<usuário>_) e os jobs não o achariam.
    assert bundle["experimental"]["skip_name_prefix_for_schema"] is True


def test_dev_valida_sem_var_e_prod_exige_o_que_nao_tem_padrao_seguro(bundle: dict[str, Any]) -> None:
    resolver(bundle, "dev", ANA)  # `bundle validate -t dev` como o documento mostra, sem --var
    with pytest.raises(VariavelSemValor) as faltando:
        resolver(bundle, "prod", ANA)
    assert faltando.value.args[0] == sorted(VARS_PROD)


def test_prod_roda_como_service_principal_numa_pasta_dela(bundle: dict[str, Any]) -> None:
    prod = resolver(bundle, "prod", ANA, VARS_PROD)
    assert prod["run_as"] == {"service_principal_name": PRINCIPAL}
    raiz = prod["workspace"]["root_path"]
    assert raiz.startswith(f"/Workspace/Users/{PRINCIPAL}/") and "/Shared" not in raiz  # /Shared: todos escrevem
    assert {p["level"] for p in bundle["targets"]["prod"]["permissions"]} == {"CAN_MANAGE", "CAN_RUN", "CAN_VIEW"}


def test_pausa_vem_do_alvo_e_nao_dos_jobs(bundle: dict[str, Any]) -> None:
    assert bundle["targets"]["dev"]["presets"]["trigger_pause_status"] == "PAUSED"
    assert bundle["targets"]["prod"]["presets"]["trigger_pause_status"] == "UNPAUSED"
    for chave, job in bundle["resources"]["jobs"].items():
        gatilho = job.get("continuous", job.get("schedule"))
        assert gatilho is not None and "pause_status" not in gatilho, chave  # fixo no job venceria o preset


def test_jobs_avisam_falhas_e_os_de_streaming_o_backlog(bundle: dict[str, Any]) -> None:
    jobs = bundle["resources"]["jobs"]
    for chave, job in jobs.items():
        assert job["email_notifications"]["on_failure"] == ["${var.email_alertas}"], chave
        assert job["webhook_notifications"]["on_failure"] == "${var.destinos_webhook}", chave
    metricas = {r["metric"] for r in jobs["detector_pix_streaming"]["health"]["rules"]}
    assert {"STREAMING_BACKLOG_SECONDS", "STREAMING_BACKLOG_RECORDS"} <= metricas
    assert "on_streaming_backlog_exceeded" in jobs["detector_pix_streaming"]["email_notifications"]
    assert {r["metric"] for r in jobs["detector_pix_treino"]["health"]["rules"]} == {"RUN_DURATION_SECONDS"}
    assert "on_duration_warning_threshold_exceeded" in jobs["detector_pix_treino"]["email_notifications"]


@pytest.mark.parametrize(("alvo", "vars_cli"), [("dev", {}), ("prod", VARS_PROD)])
def test_pushgateway_dos_jobs_vale_no_databricks(
    bundle: dict[str, Any], alvo: str, vars_cli: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nenhum alvo entrega aos jobs o Pushgateway do docker-compose; sem padrão no bundle, prod tem de dizer qual."""
    assert "default" not in bundle["variables"]["pushgateway_url"]
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    resolvido = resolver(bundle, alvo, ANA, vars_cli)
    urls = [
        valor
        for job in resolvido["resources"]["jobs"].values()
        for valor in [p["default"] for p in job.get("parameters", []) if p["name"] == "pushgateway_url"]
        + [t["notebook_task"].get("base_parameters", {}).get("pushgateway_url") for t in job["tasks"]]
        if valor is not None
    ]
    assert urls
    for url in urls:
        Configuracao().com(pushgateway_url="").com(pushgateway_url=url)
    with pytest.raises(ErroDeConfiguracao):  # e a conferência recusaria o padrão antigo
        Configuracao().com(pushgateway_url="").com(pushgateway_url="http://pushgateway:9091")


def _secao_databricks_do_readme() -> str:
    texto = (RAIZ_PROJETO / "README.md").read_text(encoding="utf-8")
    return texto.split("## No Databricks", 1)[1].split("\n## ", 1)[0]


def test_todo_segredo_lido_esta_no_documento_no_readme_e_no_bundle(bundle: dict[str, Any]) -> None:
    """Quem implanta cria o secret scope a partir do documento: um segredo esquecido lá só falha na partida do job."""
    chaves = {c.segredo.chave for c in SEGREDOS.values() if c.segredo}
    assert chaves == {"kafka-usuario", "kafka-senha", "chave-pseudonimizacao"}
    documento = (RAIZ_PROJETO / "docs" / "databricks.md").read_text(encoding="utf-8")
    escopo = bundle["variables"]["escopo_segredos"]["description"]
    secao = _secao_databricks_do_readme()
    for chave in chaves:
        assert f"put-secret detector-pix {chave}" in documento, chave
        assert chave in secao, chave
        assert chave in escopo, chave


def test_segredos_so_sao_lidos_pela_configuracao() -> None:
    """Uma chave lida fora de ``SEGREDOS`` escaparia da conferência acima."""
    leituras = {
        caminho.relative_to(RAIZ_PROJETO).as_posix()
        for caminho in RAIZ_PROJETO.rglob("*.py")
        if ".venv" not in caminho.parts
        and "testes" not in caminho.parts
        and "secrets.get(" in caminho.read_text(encoding="utf-8")
    }
    assert leituras == {"plataforma/config.py"}
