"""Configuração única e tipada de todas as etapas do pipeline.

Por que um só objeto: as três etapas (ingestão, processamento, modelo) precisam concordar em
tópicos, tabelas, checkpoints e URIs do MLflow. Um valor errado é recusado na partida, com o nome
do parâmetro, a origem do valor e os valores aceitos, em vez de falhar minutos depois no meio de
um stream.

Origens, da mais forte para a mais fraca:
- local: argumentos explícitos (CLI) > variáveis de ambiente ``DETECTOR_PIX_<CAMPO>`` > arquivo TOML
  (``--config``, ``DETECTOR_PIX_CONFIG`` ou ``detector-pix.toml`` no diretório atual) > padrão;
- Databricks: widgets do notebook (``dbutils.widgets``) > padrão.

Segredos (usuário e senha do Kafka) nunca vêm de arquivo nem de widget: no Databricks saem de um
secret scope; localmente, de variáveis de ambiente.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIXO_AMBIENTE = "DETECTOR_PIX_"
RAIZ_PROJETO = Path(__file__).resolve().parents[1]
DADOS_PADRAO = RAIZ_PROJETO / ".dados"


class ErroDeConfiguracao(ValueError):
    """Valor de configuração recusado; a mensagem diz qual, de onde veio e o que é aceito."""


def em_databricks() -> bool:
    """O runtime do Databricks define esta variável em todo cluster."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


@dataclass(frozen=True)
class Campo:
    """Regra de um parâmetro: como converter o texto e o que é aceito."""

    nome: str
    descricao: str
    aceitos: str
    converter: Callable[[str], Any]


def _enum(*opcoes: str) -> Callable[[str], str]:
    def converter(valor: str) -> str:
        if valor not in opcoes:
            raise ValueError
        return valor

    return converter


def _regex(padrao: str) -> Callable[[str], str]:
    compilado = re.compile(padrao)

    def converter(valor: str) -> str:
        if not compilado.fullmatch(valor):
            raise ValueError
        return valor

    return converter


def _inteiro(minimo: int, maximo: int) -> Callable[[str], int]:
    def converter(valor: str) -> int:
        numero = int(str(valor).strip())
        if not minimo <= numero <= maximo:
            raise ValueError
        return numero

    return converter


_IDENTIFICADOR = r"[A-Za-z_][A-Za-z0-9_]*"
_TOPICO = r"[A-Za-z0-9._-]{1,249}"

CAMPOS: dict[str, Campo] = {
    c.nome: c
    for c in [
        Campo(
            "kafka_bootstrap",
            "servidores Kafka (host:porta, separados por vírgula)",
            "host:porta[,host:porta...]",
            _regex(r"[\w.-]+:\d{1,5}(,[\w.-]+:\d{1,5})*"),
        ),
        Campo(
            "kafka_protocolo",
            "protocolo de segurança do Kafka",
            "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
            _enum("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        ),
        Campo(
            "kafka_sasl_mecanismo",
            "mecanismo SASL",
            "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
            _enum("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
        ),
        Campo(
            "kafka_particoes",
            "partições dos tópicos criados localmente",
            "inteiro de 1 a 64",
            _inteiro(1, 64),
        ),
        Campo("topico_transacoes", "tópico das transações Pix", "nome de tópico Kafka", _regex(_TOPICO)),
        Campo("topico_med", "tópico das notificações MED", "nome de tópico Kafka", _regex(_TOPICO)),
        Campo("topico_decisoes", "tópico das decisões", "nome de tópico Kafka", _regex(_TOPICO)),
        Campo(
            "offsets_iniciais",
            "onde um stream novo começa a ler",
            "earliest, latest",
            _enum("earliest", "latest"),
        ),
        Campo(
            "max_offsets_por_trigger",
            "limite de mensagens por micro-batch (0 = sem limite)",
            "inteiro de 0 a 100000000",
            _inteiro(0, 100_000_000),
        ),
        Campo(
            "max_arquivos_por_trigger",
            "limite de arquivos da bronze por micro-batch do processamento (0 = padrão do Delta)",
            "inteiro de 0 a 100000",
            _inteiro(0, 100_000),
        ),
        Campo(
            "intervalo_trigger",
            "intervalo entre micro-batches",
            "'<n> seconds', '<n> minutes' ou '<n> milliseconds', n >= 1",
            _regex(r"[1-9]\d* (milliseconds?|seconds?|minutes?)"),
        ),
        Campo(
            "intervalo_trigger_decisao",
            "intervalo entre micro-batches da pontuação (0 = o próximo lote começa assim que o anterior termina)",
            "'<n> seconds', '<n> minutes' ou '<n> milliseconds', n >= 0",
            _regex(r"\d+ (milliseconds?|seconds?|minutes?)"),
        ),
        Campo(
            "intervalo_modelo_s",
            "de quanto em quanto tempo a pontuação confere o alias champion e busca marcas MED novas",
            "inteiro de 1 a 3600 (segundos)",
            _inteiro(1, 3_600),
        ),
        Campo(
            "intervalo_escrita_decisoes_s",
            "de quanto em quanto tempo as decisões vão para a gold_decisoes (no Kafka elas saem na hora)",
            "inteiro de 1 a 600 (segundos)",
            _inteiro(1, 600),
        ),
        Campo(
            "atraso_tolerado_min",
            "quanto um evento pode chegar atrasado (tempo do evento) sem ser marcado como atrasado",
            "inteiro de 0 a 10080 (minutos)",
            _inteiro(0, 10_080),
        ),
        Campo(
            "janela_deduplicacao_h",
            "por quanto tempo (pelo minuto do end_to_end_id) os ids ficam na memória de deduplicação",
            "inteiro de 1 a 720 (horas)",
            _inteiro(1, 720),
        ),
        Campo("dados_dir", "pasta local de dados (Delta, checkpoints, MLflow, Kafka)", "um caminho", str),
        Campo(
            "catalogo",
            "catálogo do Unity Catalog (vazio = tabelas locais)",
            "identificador SQL ou vazio",
            _regex(f"({_IDENTIFICADOR})?"),
        ),
        Campo(
            "esquema",
            "esquema do Unity Catalog",
            "identificador SQL ou vazio",
            _regex(f"({_IDENTIFICADOR})?"),
        ),
        Campo(
            "checkpoints_dir",
            "pasta dos checkpoints dos streams (vazio = derivada)",
            "um caminho ou vazio",
            str,
        ),
        Campo("mlflow_tracking_uri", "URI de tracking do MLflow (vazio = derivada)", "URI ou vazio", str),
        Campo("mlflow_registry_uri", "URI do registro de modelos (vazio = derivada)", "URI ou vazio", str),
        Campo("nome_modelo", "nome do modelo registrado", "identificador SQL", _regex(_IDENTIFICADOR)),
        Campo(
            "pushgateway_url",
            "URL do Prometheus Pushgateway (vazio = não publicar métricas)",
            "http(s)://host:porta ou vazio",
            _regex(r"(https?://[\w.-]+(:\d{1,5})?/?)?"),
        ),
        Campo(
            "escopo_segredos",
            "secret scope do Databricks com os segredos do Kafka",
            "nome do escopo",
            _regex(r"[\w.-]+"),
        ),
    ]
}

SEGREDOS = ("kafka_usuario", "kafka_senha", "chave_pseudonimizacao")


@dataclass(frozen=True)
class Configuracao:
    """Tudo o que as etapas precisam saber do ambiente. Imutável: derive com ``com(...)``."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_protocolo: str = "PLAINTEXT"
    kafka_sasl_mecanismo: str = "PLAIN"
    kafka_particoes: int = 2
    topico_transacoes: str = "pix.transacoes"
    topico_med: str = "pix.med"
    topico_decisoes: str = "pix.decisoes"
    offsets_iniciais: str = "earliest"
    max_offsets_por_trigger: int = 0
    max_arquivos_por_trigger: int = 0
    intervalo_trigger: str = "5 seconds"
    intervalo_trigger_decisao: str = "0 seconds"
    intervalo_modelo_s: int = 30
    intervalo_escrita_decisoes_s: int = 5
    atraso_tolerado_min: int = 10
    janela_deduplicacao_h: int = 24
    dados_dir: str = str(DADOS_PADRAO)
    catalogo: str = ""
    esquema: str = ""
    checkpoints_dir: str = ""
    mlflow_tracking_uri: str = ""
    mlflow_registry_uri: str = ""
    nome_modelo: str = "detector_fraudes_pix"
    pushgateway_url: str = "http://127.0.0.1:9091"
    escopo_segredos: str = "detector-pix"
    kafka_usuario: str | None = field(default=None, repr=False)
    kafka_senha: str | None = field(default=None, repr=False)
    chave_pseudonimizacao: str | None = field(default=None, repr=False)

    # Derivados -------------------------------------------------------------------------------
    @property
    def usa_unity_catalog(self) -> bool:
        return bool(self.catalogo)

    @property
    def topicos(self) -> tuple[str, str, str]:
        return (self.topico_transacoes, self.topico_med, self.topico_decisoes)

    @property
    def pasta_dados(self) -> Path:
        return Path(self.dados_dir).expanduser().resolve()

    @property
    def pasta_checkpoints(self) -> str:
        if self.checkpoints_dir:
            return self.checkpoints_dir
        if self.usa_unity_catalog:
            return f"/Volumes/{self.catalogo}/{self.esquema}/checkpoints"
        return str(self.pasta_dados / "checkpoints")

    @property
    def uri_tracking(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        if em_databricks():
            return "databricks"
        return f"sqlite:///{self.pasta_dados / 'mlflow.db'}"

    @property
    def uri_registro(self) -> str:
        if self.mlflow_registry_uri:
            return self.mlflow_registry_uri
        if em_databricks():
            return "databricks-uc"
        return self.uri_tracking

    @property
    def implantacao(self) -> str:
        """Quem é esta implantação: ``catalogo.esquema`` no Unity Catalog, ``local:<pasta de dados>`` no laptop.

        Identidade estável entre reinícios (o nome da máquina do driver muda a cada cluster novo) e distinta entre
        implantações (dev e prod): é a chave de agrupamento das métricas no Pushgateway.
        """
        if self.usa_unity_catalog:
            return f"{self.catalogo}.{self.esquema}"
        return f"local:{self.pasta_dados}"

    @property
    def nome_modelo_registrado(self) -> str:
        """No Unity Catalog o modelo mora em ``catalogo.esquema.modelo``."""
        if self.usa_unity_catalog:
            return f"{self.catalogo}.{self.esquema}.{self.nome_modelo}"
        return self.nome_modelo

    def com(self, **mudancas: Any) -> Configuracao:
        """Cópia com mudanças, validadas como qualquer outra origem."""
        textos = {k: str(v) for k, v in mudancas.items() if k not in SEGREDOS}
        convertidos = _converter_todos(textos, {k: "argumento" for k in textos})
        segredos = {k: v for k, v in mudancas.items() if k in SEGREDOS}
        nova = replace(self, **convertidos, **segredos)
        _validar_conjunto(nova)
        return nova


def _converter_todos(valores: Mapping[str, Any], origens: Mapping[str, str]) -> dict[str, Any]:
    convertidos: dict[str, Any] = {}
    for nome, valor in valores.items():
        campo = CAMPOS.get(nome)
        if campo is None:
            conhecidos = ", ".join(sorted(CAMPOS))
            raise ErroDeConfiguracao(
                f"Parâmetro desconhecido '{nome}' (origem: {origens.get(nome, '?')}). Parâmetros aceitos: {conhecidos}."
            )
        try:
            convertidos[nome] = campo.converter(str(valor).strip())
        except (ValueError, TypeError):
            raise ErroDeConfiguracao(
                f"Valor inválido para '{nome}' ({campo.descricao}): {str(valor)!r} "
                f"(origem: {origens.get(nome, '?')}). Valores aceitos: {campo.aceitos}."
            ) from None
    return convertidos


def _validar_conjunto(cfg: Configuracao) -> None:
    """Regras que envolvem mais de um parâmetro."""
    if bool(cfg.catalogo) != bool(cfg.esquema):
        raise ErroDeConfiguracao(
            "Parâmetros 'catalogo' e 'esquema' vão juntos: defina os dois (Unity Catalog) ou nenhum "
            f"(tabelas locais). Recebido catalogo={cfg.catalogo!r}, esquema={cfg.esquema!r}."
        )
    if cfg.kafka_protocolo.startswith("SASL") and not (cfg.kafka_usuario and cfg.kafka_senha):
        raise ErroDeConfiguracao(
            f"kafka_protocolo={cfg.kafka_protocolo} exige usuário e senha do Kafka. No Databricks, crie os "
            f"segredos 'kafka-usuario' e 'kafka-senha' no escopo '{cfg.escopo_segredos}'; localmente, defina "
            f"{PREFIXO_AMBIENTE}KAFKA_USUARIO e {PREFIXO_AMBIENTE}KAFKA_SENHA."
        )
    if len(set(cfg.topicos)) != 3:
        raise ErroDeConfiguracao(f"Os três tópicos precisam ser distintos; recebido {cfg.topicos}.")


def _ler_toml(caminho: Path) -> dict[str, Any]:
    try:
        with caminho.open("rb") as arquivo:
            dados = tomllib.load(arquivo)
    except FileNotFoundError:
        raise ErroDeConfiguracao(f"Arquivo de configuração não encontrado: {caminho}") from None
    except tomllib.TOMLDecodeError as erro:
        raise ErroDeConfiguracao(f"Arquivo de configuração {caminho} não é TOML válido: {erro}") from None
    secao = dados.get("detector_pix", dados)
    proibidos = [k for k in secao if k in SEGREDOS]
    if proibidos:
        raise ErroDeConfiguracao(
            f"{caminho}: {', '.join(proibidos)} são segredos e não podem ficar em arquivo. Use variáveis de "
            f"ambiente ({PREFIXO_AMBIENTE}KAFKA_USUARIO/{PREFIXO_AMBIENTE}KAFKA_SENHA) ou um secret scope."
        )
    return dict(secao)


def carregar_configuracao(
    argumentos: Mapping[str, Any] | None = None,
    arquivo: str | Path | None = None,
    ambiente: Mapping[str, str] | None = None,
) -> Configuracao:
    """Monta a configuração local: argumentos > ambiente > TOML > padrão."""
    ambiente = os.environ if ambiente is None else ambiente
    valores: dict[str, Any] = {}
    origens: dict[str, str] = {}

    caminho = arquivo or ambiente.get(f"{PREFIXO_AMBIENTE}CONFIG")
    if caminho is None and Path("detector-pix.toml").exists():
        caminho = "detector-pix.toml"
    if caminho:
        for nome, valor in _ler_toml(Path(caminho)).items():
            valores[nome], origens[nome] = valor, f"arquivo {caminho}"

    for nome in CAMPOS:
        chave = PREFIXO_AMBIENTE + nome.upper()
        if chave in ambiente:
            valores[nome], origens[nome] = ambiente[chave], f"variável de ambiente {chave}"

    for nome, valor in (argumentos or {}).items():
        if valor is not None:
            valores[nome], origens[nome] = valor, "argumento de linha de comando"

    cfg = Configuracao(
        **_converter_todos(valores, origens),
        kafka_usuario=ambiente.get(f"{PREFIXO_AMBIENTE}KAFKA_USUARIO"),
        kafka_senha=ambiente.get(f"{PREFIXO_AMBIENTE}KAFKA_SENHA"),
        chave_pseudonimizacao=ambiente.get(f"{PREFIXO_AMBIENTE}CHAVE_PSEUDONIMIZACAO"),
    )
    _validar_conjunto(cfg)
    return cfg


def carregar_de_widgets(dbutils: Any, segredos: bool = True) -> Configuracao:
    """Monta a configuração no Databricks: um widget por parâmetro, segredos do secret scope.

    Cria os widgets que faltam (com o padrão) para que o job possa sobrescrevê-los por parâmetro.
    """
    padrao = Configuracao()
    valores: dict[str, str] = {}
    for campo in fields(Configuracao):
        if campo.name in SEGREDOS:
            continue
        dbutils.widgets.text(campo.name, str(getattr(padrao, campo.name)), campo.name)
        valores[campo.name] = dbutils.widgets.get(campo.name)
    convertidos = _converter_todos(valores, {k: f"widget '{k}'" for k in valores})
    usuario = senha = chave = None
    escopo = convertidos.get("escopo_segredos", padrao.escopo_segredos)
    if segredos and convertidos.get("kafka_protocolo", "PLAINTEXT").startswith("SASL"):
        usuario = dbutils.secrets.get(scope=escopo, key="kafka-usuario")
        senha = dbutils.secrets.get(scope=escopo, key="kafka-senha")
    if segredos:
        try:
            chave = dbutils.secrets.get(scope=escopo, key="chave-pseudonimizacao")
        except Exception:
            raise ErroDeConfiguracao(
                f"Segredo 'chave-pseudonimizacao' não encontrado no escopo '{escopo}': crie-o com "
                f"'databricks secrets put-secret {escopo} chave-pseudonimizacao' (32+ caracteres aleatórios)."
            ) from None
    cfg = Configuracao(**convertidos, kafka_usuario=usuario, kafka_senha=senha, chave_pseudonimizacao=chave)
    _validar_conjunto(cfg)
    return cfg
