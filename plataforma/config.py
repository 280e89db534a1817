"""Configuração única e tipada de todas as etapas do pipeline.

Por que um só objeto: as três etapas (ingestão, processamento, modelo) precisam concordar em
tópicos, tabelas, checkpoints e URIs do MLflow. Um valor errado é recusado na partida, com o nome
do parâmetro, a origem do valor e os valores aceitos, em vez de falhar minutos depois no meio de
um stream.

Cada parâmetro é declarado uma vez, no campo de ``Configuracao``: tipo, padrão, descrição, valores
aceitos, conversão, opções (conjunto fechado, que vira lista suspensa no Databricks) e, para os
segredos, de onde vêm. ``CAMPOS``, ``SEGREDOS``, os widgets dos notebooks e a tabela de
``docs/configuracao.md`` (``python -m plataforma.config``) saem dessa declaração.

Origens, da mais forte para a mais fraca:
- local: argumentos explícitos (CLI) > variáveis de ambiente ``DETECTOR_PIX_<CAMPO>`` > arquivo TOML
  (``--config``, ``DETECTOR_PIX_CONFIG`` ou ``detector-pix.toml`` no diretório atual) > padrão;
- Databricks: widgets do notebook (``dbutils.widgets``), só dos parâmetros que o notebook lê > padrão.

Segredos (usuário e senha do Kafka, chave de pseudonimização) nunca vêm de arquivo nem de widget: no
Databricks saem de um secret scope; localmente, de variáveis de ambiente.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIXO_AMBIENTE = "DETECTOR_PIX_"
RAIZ_PROJETO = Path(__file__).resolve().parents[1]
DADOS_PADRAO = RAIZ_PROJETO / ".dados"
DOCUMENTO = RAIZ_PROJETO / "docs" / "configuracao.md"


class ErroDeConfiguracao(ValueError):
    """Valor de configuração recusado; a mensagem diz qual, de onde veio e o que é aceito."""


def em_databricks() -> bool:
    """O runtime do Databricks define esta variável em todo cluster."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


@dataclass(frozen=True)
class Segredo:
    """De onde vem um segredo: a chave no secret scope ``escopo_segredos`` (no laptop, a variável de ambiente)."""

    chave: str
    so_com_sasl: bool = False  # usuário e senha do Kafka só fazem sentido com kafka_protocolo SASL_*


@dataclass(frozen=True)
class Campo:
    """Tudo o que se sabe de um parâmetro; ``nome`` e ``padrao`` vêm do campo de ``Configuracao``."""

    descricao: str
    aceitos: str
    converter: Callable[[str], Any] = str
    opcoes: tuple[str, ...] = ()  # conjunto fechado: lista suspensa no Databricks
    segredo: Segredo | None = None
    padrao_descrito: str = ""  # o padrão como o documento o mostra, quando o valor depende da máquina
    nome: str = ""
    padrao: Any = None

    @property
    def variavel_ambiente(self) -> str:
        return PREFIXO_AMBIENTE + self.nome.upper()


_METADADO = "campo"


def _regex(padrao: str) -> Callable[[str], str]:
    compilado = re.compile(padrao)

    def converter(valor: str) -> str:
        if not compilado.fullmatch(valor):
            raise ValueError
        return valor

    return converter


def _texto(descricao: str, aceitos: str, regex: str | None = None, padrao_descrito: str = "") -> dict[str, Campo]:
    converter = _regex(regex) if regex is not None else str
    return {_METADADO: Campo(descricao, aceitos, converter, padrao_descrito=padrao_descrito)}


def _opcoes(descricao: str, *opcoes: str) -> dict[str, Campo]:
    def converter(valor: str) -> str:
        if valor not in opcoes:
            raise ValueError
        return valor

    return {_METADADO: Campo(descricao, ", ".join(opcoes), converter, opcoes=opcoes)}


def _inteiro(descricao: str, minimo: int, maximo: int, unidade: str = "") -> dict[str, Campo]:
    def converter(valor: str) -> int:
        numero = int(str(valor).strip())
        if not minimo <= numero <= maximo:
            raise ValueError
        return numero

    aceitos = f"inteiro de {minimo} a {maximo}" + (f" ({unidade})" if unidade else "")
    return {_METADADO: Campo(descricao, aceitos, converter)}


def _segredo(descricao: str, chave: str, so_com_sasl: bool = False) -> dict[str, Campo]:
    return {_METADADO: Campo(descricao, "texto secreto", segredo=Segredo(chave, so_com_sasl))}


# O Pushgateway do laptop (o que ``python -m monitoramento.local`` sobe). Visto do workspace do Databricks ele não
# existe: lá o padrão é vazio (métricas desligadas) e um endereço só local é recusado na partida.
PUSHGATEWAY_LOCAL = "http://127.0.0.1:9091"
# Hosts que só existem no laptop ou na rede do docker-compose (``pushgateway`` é o nome do serviço lá).
HOSTS_SO_LOCAIS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "pushgateway"})


def pushgateway_padrao() -> str:
    """Local: o Pushgateway do laptop; no Databricks: vazio, porque nenhum endereço padrão é alcançável de lá."""
    return "" if em_databricks() else PUSHGATEWAY_LOCAL


_PUSHGATEWAY_PADRAO = pushgateway_padrao()
_IDENTIFICADOR = r"[A-Za-z_][A-Za-z0-9_]*"
_TOPICO = r"[A-Za-z0-9._-]{1,249}"
_INTERVALO = "'<n> seconds', '<n> minutes' ou '<n> milliseconds'"


@dataclass(frozen=True)
class Configuracao:
    """Tudo o que as etapas precisam saber do ambiente. Imutável: derive com ``com(...)``."""

    kafka_bootstrap: str = field(
        default="127.0.0.1:9092",
        metadata=_texto(
            "servidores Kafka (host:porta, separados por vírgula)",
            "host:porta[,host:porta...]",
            r"[\w.-]+:\d{1,5}(,[\w.-]+:\d{1,5})*",
        ),
    )
    kafka_protocolo: str = field(
        default="PLAINTEXT",
        metadata=_opcoes("protocolo de segurança do Kafka", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    )
    kafka_sasl_mecanismo: str = field(
        default="PLAIN", metadata=_opcoes("mecanismo SASL", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
    )
    kafka_particoes: int = field(default=2, metadata=_inteiro("partições dos tópicos criados localmente", 1, 64))
    topico_transacoes: str = field(
        default="pix.transacoes", metadata=_texto("tópico das transações Pix", "nome de tópico Kafka", _TOPICO)
    )
    topico_med: str = field(
        default="pix.med", metadata=_texto("tópico das notificações MED", "nome de tópico Kafka", _TOPICO)
    )
    topico_decisoes: str = field(
        default="pix.decisoes", metadata=_texto("tópico das decisões", "nome de tópico Kafka", _TOPICO)
    )
    topico_lotes_decisao: str = field(
        default="pix.decisoes.lotes",
        metadata=_texto(
            "log dos lotes da decisão em tempo real (1 partição, na mesma transação das decisões): o que a "
            "recuperação refaz sobre o último snapshot",
            "nome de tópico Kafka",
            _TOPICO,
        ),
    )
    topico_features_recebedor: str = field(
        default="pix.decisoes.recebedor",
        metadata=_texto(
            "só na decisão em etapas (processos_decisao >= 1): as features do recebedor de cada Pix, publicadas pela "
            "etapa do recebedor na mesma partição do Pix, para a etapa do pagador",
            "nome de tópico Kafka",
            _TOPICO,
        ),
    )
    offsets_iniciais: str = field(
        default="earliest", metadata=_opcoes("onde um stream novo começa a ler", "earliest", "latest")
    )
    max_offsets_por_trigger: int = field(
        default=0, metadata=_inteiro("limite de mensagens por micro-batch (0 = sem limite)", 0, 100_000_000)
    )
    max_arquivos_por_trigger: int = field(
        default=0,
        metadata=_inteiro(
            "limite de arquivos da bronze por micro-batch do processamento (0 = padrão do Delta)", 0, 100_000
        ),
    )
    intervalo_trigger: str = field(
        default="5 seconds",
        metadata=_texto(
            "intervalo entre micro-batches", f"{_INTERVALO}, n >= 1", r"[1-9]\d* (milliseconds?|seconds?|minutes?)"
        ),
    )
    intervalo_trigger_decisao: str = field(
        default="0 seconds",
        metadata=_texto(
            "intervalo entre micro-batches da pontuação (0 = o próximo lote começa assim que o anterior termina)",
            f"{_INTERVALO}, n >= 0",
            r"\d+ (milliseconds?|seconds?|minutes?)",
        ),
    )
    intervalo_modelo_s: int = field(
        default=30,
        metadata=_inteiro(
            "de quanto em quanto tempo a pontuação confere o alias champion e busca marcas MED novas",
            1,
            3_600,
            "segundos",
        ),
    )
    intervalo_snapshot_decisao_s: int = field(
        default=60,
        metadata=_inteiro(
            "de quanto em quanto tempo o estado da decisão em tempo real vira snapshot (a recuperação refaz os "
            "lotes depois dele)",
            1,
            3_600,
            "segundos",
        ),
    )
    estado_inicial_decisao: str = field(
        default="silver",
        metadata=_opcoes(
            "de onde vem o estado da decisão em tempo real na primeira partida (sem snapshot): `silver` aquece da "
            "história processada e decide só o que vem depois dela; `vazio` começa frio em offsets_iniciais",
            "silver",
            "vazio",
        ),
    )
    tabela_limites_clientes: str = field(
        default="",
        metadata=_texto(
            "tabela Delta com os limites próprios dos clientes (ispb, agencia, conta, limite_noturno, "
            "limite_dispositivo_transacao, limite_dispositivo_dia), que valem no lugar dos do BCB; vazio: só os do BCB",
            "vazio, nome do Unity Catalog (catalogo.esquema.tabela) ou pasta Delta local",
            r"^$|^[\w.:/-]+$",
        ),
    )
    max_mensagens_lote_decisao: int = field(
        default=5_000,
        metadata=_inteiro("máximo de mensagens que a decisão em tempo real junta num lote", 1, 1_000_000),
    )
    processos_decisao: int = field(
        default=0,
        metadata=_inteiro(
            "0: a decisão em tempo real num processo só, com o estado inteiro; N >= 1: a decisão em duas etapas "
            "(recebedor e pagador), dividida entre N processos, cada um com as partições p em que p % N = "
            "processo_decisao",
            0,
            64,
        ),
    )
    processo_decisao: int = field(
        default=0,
        metadata=_inteiro("na decisão em etapas, qual dos processos_decisao este processo é (de 0 a N-1)", 0, 63),
    )
    atraso_ordem_decisao_ms: int = field(
        default=500,
        metadata=_inteiro(
            "na decisão em etapas, quanto a etapa do recebedor espera por uma partição sem Pix novos (tempo do "
            "evento atrás do relógio) antes de seguir sem ela",
            0,
            600_000,
            "milissegundos",
        ),
    )
    intervalo_escrita_decisoes_s: int = field(
        default=5,
        metadata=_inteiro(
            "só no micro-batch do Spark (linha de base do benchmark): de quanto em quanto tempo as pendências vão "
            "para a gold_decisoes",
            1,
            600,
            "segundos",
        ),
    )
    atraso_tolerado_min: int = field(
        default=10,
        metadata=_inteiro(
            "quanto um evento pode chegar atrasado (tempo do evento) sem ser marcado como atrasado",
            0,
            10_080,
            "minutos",
        ),
    )
    tolerancia_futuro_s: int = field(
        default=300,
        metadata=_inteiro(
            "quanto a data/hora de um Pix pode estar à frente do relógio antes de ir para a quarentena "
            "(FORA_DA_JANELA); protege o relógio do estado de um horário absurdo",
            0,
            86_400,
            "segundos",
        ),
    )
    janela_deduplicacao_h: int = field(
        default=24,
        metadata=_inteiro(
            "por quanto tempo (pelo minuto do end_to_end_id) os ids ficam na memória de deduplicação", 1, 720, "horas"
        ),
    )
    dados_dir: str = field(
        default=str(DADOS_PADRAO),
        metadata=_texto(
            "pasta local de dados (Delta, checkpoints, MLflow, Kafka)",
            "um caminho",
            padrao_descrito="`.dados` na raiz do projeto",
        ),
    )
    catalogo: str = field(
        default="",
        metadata=_texto(
            "catálogo do Unity Catalog (vazio = tabelas locais)", "identificador SQL ou vazio", f"({_IDENTIFICADOR})?"
        ),
    )
    esquema: str = field(
        default="",
        metadata=_texto("esquema do Unity Catalog", "identificador SQL ou vazio", f"({_IDENTIFICADOR})?"),
    )
    checkpoints_dir: str = field(
        default="", metadata=_texto("pasta dos checkpoints dos streams (vazio = derivada)", "um caminho ou vazio")
    )
    mlflow_tracking_uri: str = field(
        default="", metadata=_texto("URI de tracking do MLflow (vazio = derivada)", "URI ou vazio")
    )
    mlflow_registry_uri: str = field(
        default="", metadata=_texto("URI do registro de modelos (vazio = derivada)", "URI ou vazio")
    )
    nome_modelo: str = field(
        default="detector_fraudes_pix",
        metadata=_texto("nome do modelo registrado", "identificador SQL", _IDENTIFICADOR),
    )
    experimento_mlflow: str = field(
        default="",
        metadata=_texto(
            "experimento do MLflow (vazio = detector-fraudes-pix; no Databricks, um caminho do workspace de cada "
            "alvo, que o bundle passa)",
            "nome, caminho ou vazio",
        ),
    )
    pushgateway_url: str = field(
        default=_PUSHGATEWAY_PADRAO,
        metadata=_texto(
            "URL do Prometheus Pushgateway (vazio = não publicar métricas)",
            "http(s)://host:porta ou vazio",
            r"(https?://[\w.-]+(:\d{1,5})?/?)?",
            padrao_descrito=f"`{PUSHGATEWAY_LOCAL}` (no Databricks: vazio, métricas desligadas)",
        ),
    )
    escopo_segredos: str = field(
        default="detector-pix",
        metadata=_texto("secret scope do Databricks com os segredos", "nome do escopo", r"[\w.-]+"),
    )
    kafka_usuario: str | None = field(
        default=None, repr=False, metadata=_segredo("usuário SASL do Kafka", "kafka-usuario", so_com_sasl=True)
    )
    kafka_senha: str | None = field(
        default=None, repr=False, metadata=_segredo("senha SASL do Kafka", "kafka-senha", so_com_sasl=True)
    )
    chave_pseudonimizacao: str | None = field(
        default=None,
        repr=False,
        metadata=_segredo("chave HMAC da pseudonimização (32+ caracteres aleatórios)", "chave-pseudonimizacao"),
    )

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


def _declarados() -> dict[str, Campo]:
    return {f.name: replace(f.metadata[_METADADO], nome=f.name, padrao=f.default) for f in fields(Configuracao)}


_TODOS = _declarados()
CAMPOS: dict[str, Campo] = {nome: c for nome, c in _TODOS.items() if c.segredo is None}
"""Os parâmetros que vêm de argumento, ambiente, arquivo ou widget."""
SEGREDOS: dict[str, Campo] = {nome: c for nome, c in _TODOS.items() if c.segredo is not None}
"""Os que só vêm de secret scope (Databricks) ou de variável de ambiente (local)."""


def _segredos_sasl() -> list[Campo]:
    return [c for c in SEGREDOS.values() if c.segredo is not None and c.segredo.so_com_sasl]


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


def _host_da_url(url: str) -> str:
    return re.sub(r"^https?://", "", url.strip()).split("/", 1)[0].rsplit(":", 1)[0].lower()


def _validar_pushgateway_no_databricks(cfg: Configuracao) -> None:
    """No Databricks um Pushgateway local não é alcançável: cada push falharia e só um aviso iria para o log."""
    if not em_databricks() or not cfg.pushgateway_url.strip():
        return
    host = _host_da_url(cfg.pushgateway_url)
    if host in HOSTS_SO_LOCAIS:
        raise ErroDeConfiguracao(
            f"pushgateway_url={cfg.pushgateway_url!r} aponta para '{host}', que só existe no laptop ou na rede do "
            "docker-compose: do workspace do Databricks nenhuma métrica chegaria ao Prometheus. Passe a URL de um "
            "Pushgateway alcançável a partir do workspace (variável pushgateway_url do bundle, docs/databricks.md) "
            "ou deixe vazio para desligar as métricas."
        )


def _validar_conjunto(cfg: Configuracao) -> None:
    """Regras que envolvem mais de um parâmetro."""
    _validar_pushgateway_no_databricks(cfg)
    if bool(cfg.catalogo) != bool(cfg.esquema):
        raise ErroDeConfiguracao(
            "Parâmetros 'catalogo' e 'esquema' vão juntos: defina os dois (Unity Catalog) ou nenhum "
            f"(tabelas locais). Recebido catalogo={cfg.catalogo!r}, esquema={cfg.esquema!r}."
        )
    if cfg.kafka_protocolo.startswith("SASL") and not (cfg.kafka_usuario and cfg.kafka_senha):
        sasl = _segredos_sasl()
        chaves = " e ".join(f"'{c.segredo.chave}'" for c in sasl if c.segredo)
        variaveis = " e ".join(c.variavel_ambiente for c in sasl)
        raise ErroDeConfiguracao(
            f"kafka_protocolo={cfg.kafka_protocolo} exige usuário e senha do Kafka. No Databricks, crie os "
            f"segredos {chaves} no escopo '{cfg.escopo_segredos}'; localmente, defina {variaveis}."
        )
    if cfg.processos_decisao and cfg.processo_decisao >= cfg.processos_decisao:
        raise ErroDeConfiguracao(
            f"processo_decisao={cfg.processo_decisao} fora de 0..{cfg.processos_decisao - 1}: com "
            f"processos_decisao={cfg.processos_decisao}, cada processo recebe um número de 0 a N-1."
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
        variaveis = "/".join(SEGREDOS[k].variavel_ambiente for k in proibidos)
        raise ErroDeConfiguracao(
            f"{caminho}: {', '.join(proibidos)} são segredos e não podem ficar em arquivo. Use variáveis de "
            f"ambiente ({variaveis}) ou um secret scope."
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

    for nome, campo in CAMPOS.items():
        chave = campo.variavel_ambiente
        if chave in ambiente:
            valores[nome], origens[nome] = ambiente[chave], f"variável de ambiente {chave}"

    for nome, valor in (argumentos or {}).items():
        if valor is not None:
            valores[nome], origens[nome] = valor, "argumento de linha de comando"

    segredos = {nome: ambiente.get(campo.variavel_ambiente) for nome, campo in SEGREDOS.items()}
    cfg = Configuracao(**_converter_todos(valores, origens), **segredos)
    _validar_conjunto(cfg)
    return cfg


def validar_parametros(parametros: Iterable[str]) -> tuple[str, ...]:
    """Os parâmetros que um notebook declara ler, conferidos contra a declaração (um nome errado falha já)."""
    nomes = tuple(parametros)
    desconhecidos = [n for n in nomes if n not in _TODOS]
    if desconhecidos:
        raise ErroDeConfiguracao(
            f"Parâmetros declarados pelo notebook que não existem: {', '.join(desconhecidos)}. "
            f"Parâmetros aceitos: {', '.join(_TODOS)}."
        )
    return nomes


def widgets_dos_parametros(parametros: Iterable[str]) -> tuple[str, ...]:
    """Os widgets de quem lê ``parametros``: os que não são segredo e, se houver segredo, ``escopo_segredos``.

    Segredo nunca vira widget: vem do secret scope que ``escopo_segredos`` nomeia.
    """
    nomes = validar_parametros(parametros)
    widgets = [n for n in CAMPOS if n in nomes]
    if any(n in SEGREDOS for n in nomes) and "escopo_segredos" not in widgets:
        widgets.append("escopo_segredos")
    return tuple(widgets)


def _ler_segredo(dbutils: Any, escopo: str, campo: Campo) -> str:
    chave = campo.segredo.chave if campo.segredo else campo.nome
    try:
        return dbutils.secrets.get(scope=escopo, key=chave)
    except Exception:
        raise ErroDeConfiguracao(
            f"Segredo '{chave}' ({campo.descricao}) não encontrado no escopo '{escopo}' (parâmetro escopo_segredos): "
            f"crie-o com 'databricks secrets put-secret {escopo} {chave}'."
        ) from None


def carregar_de_widgets(dbutils: Any, parametros: Iterable[str]) -> Configuracao:
    """Monta a configuração no Databricks: um widget por parâmetro que o notebook lê, segredos do secret scope.

    Só os ``parametros`` viram widgets (rótulo: a descrição; lista suspensa quando há opções), para que o job possa
    sobrescrevê-los; os outros ficam no padrão, porque um widget que o notebook não lê não mudaria nada.
    """
    nomes = validar_parametros(parametros)
    valores: dict[str, str] = {}
    for nome in widgets_dos_parametros(nomes):
        campo = CAMPOS[nome]
        if campo.opcoes:
            dbutils.widgets.dropdown(nome, str(campo.padrao), list(campo.opcoes), campo.descricao)
        else:
            dbutils.widgets.text(nome, str(campo.padrao), campo.descricao)
        valores[nome] = dbutils.widgets.get(nome)
    cfg = Configuracao(**_converter_todos(valores, {k: f"widget '{k}'" for k in valores}))
    segredos = {
        nome: _ler_segredo(dbutils, cfg.escopo_segredos, SEGREDOS[nome])
        for nome in nomes
        if nome in SEGREDOS and _necessario(SEGREDOS[nome], cfg)
    }
    cfg = replace(cfg, **segredos)
    _validar_conjunto(cfg)
    return cfg


def _so_com_sasl(campo: Campo) -> bool:
    return campo.segredo is not None and campo.segredo.so_com_sasl


def _necessario(campo: Campo, cfg: Configuracao) -> bool:
    """Usuário e senha do Kafka só são buscados com SASL; os outros segredos, sempre que o notebook os lê."""
    return not _so_com_sasl(campo) or cfg.kafka_protocolo.startswith("SASL")


# Documento -------------------------------------------------------------------------------------
INICIO_TABELA = "<!-- tabela gerada de plataforma/config.py por `python -m plataforma.config`; não edite à mão -->"
FIM_TABELA = "<!-- fim da tabela gerada -->"


def _padrao_no_documento(campo: Campo) -> str:
    if campo.padrao_descrito:
        return campo.padrao_descrito
    return f"`{campo.padrao}`" if campo.padrao not in ("", None) else "(vazio)"


def tabela_markdown() -> str:
    """As tabelas de ``docs/configuracao.md``: uma linha por parâmetro e uma por segredo, da declaração."""
    linhas = ["| parâmetro | para quê | aceita | padrão |", "| --- | --- | --- | --- |"]
    for campo in CAMPOS.values():
        opcoes = " (lista suspensa no Databricks)" if campo.opcoes else ""
        linhas.append(
            f"| `{campo.nome}` | {campo.descricao} | {campo.aceitos}{opcoes} | {_padrao_no_documento(campo)} |"
        )
    linhas += [
        "",
        "| segredo | para quê | Databricks: chave no secret scope `escopo_segredos` | local: variável de ambiente |",
        "| --- | --- | --- | --- |",
    ]
    for campo in SEGREDOS.values():
        quando = " (só com `kafka_protocolo` SASL_*)" if _so_com_sasl(campo) else ""
        chave = campo.segredo.chave if campo.segredo else ""
        linhas.append(f"| `{campo.nome}` | {campo.descricao}{quando} | `{chave}` | `{campo.variavel_ambiente}` |")
    return "\n".join(linhas)


def documento_atualizado(texto: str) -> str:
    """O texto do documento com a região entre os marcadores trocada pela tabela gerada."""
    antes, marcador, resto = texto.partition(INICIO_TABELA)
    _, fim, depois = resto.partition(FIM_TABELA)
    if not marcador or not fim:
        raise ErroDeConfiguracao(f"{DOCUMENTO}: marcadores da tabela gerada não encontrados ({INICIO_TABELA!r}).")
    return f"{antes}{INICIO_TABELA}\n{tabela_markdown()}\n{FIM_TABELA}{depois}"


def main(argv: list[str] | None = None) -> int:
    """``python -m plataforma.config`` reescreve a tabela do documento; ``--verificar`` só confere (sai 1 se mudou)."""
    argv = sys.argv[1:] if argv is None else argv
    atual = DOCUMENTO.read_text(encoding="utf-8")
    novo = documento_atualizado(atual)
    if "--verificar" in argv:
        if novo != atual:
            print(f"{DOCUMENTO}: a tabela difere da declaração; rode 'python -m plataforma.config'.", file=sys.stderr)
            return 1
        print(f"{DOCUMENTO}: em dia.")
        return 0
    if novo != atual:
        DOCUMENTO.write_text(novo, encoding="utf-8")
        print(f"{DOCUMENTO}: tabela reescrita.")
    else:
        print(f"{DOCUMENTO}: já em dia.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
