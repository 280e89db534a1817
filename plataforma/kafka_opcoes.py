"""Opções de conexão ao Kafka derivadas da configuração, para o Spark e para clientes Python.

Um só lugar monta SASL/SSL: a senha vem da configuração (que a leu de um segredo) e nunca é escrita
em arquivo nem em log.
"""

from __future__ import annotations

from plataforma.config import Configuracao, ErroDeConfiguracao, em_databricks

_MODULOS_LOGIN = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


# Os parâmetros que toda conexão ao Kafka lê (as opções abaixo): usuário e senha só com SASL.
PARAMETROS_CONEXAO_KAFKA = (
    "kafka_bootstrap",
    "kafka_protocolo",
    "kafka_sasl_mecanismo",
    "kafka_usuario",
    "kafka_senha",
)


def opcoes_kafka_spark(cfg: Configuracao) -> dict[str, str]:
    """Opções ``kafka.*`` para ``readStream``/``writeStream`` do conector Kafka do Spark."""
    opcoes = {"kafka.bootstrap.servers": cfg.kafka_bootstrap, "kafka.security.protocol": cfg.kafka_protocolo}
    if cfg.kafka_protocolo.startswith("SASL"):
        modulo = _MODULOS_LOGIN[cfg.kafka_sasl_mecanismo]
        if em_databricks():  # o runtime do Databricks sombreia as classes do cliente Kafka
            modulo = f"kafkashaded.{modulo}"
        opcoes["kafka.sasl.mechanism"] = cfg.kafka_sasl_mecanismo
        usuario, senha = _jaas_citado(cfg.kafka_usuario or ""), _jaas_citado(cfg.kafka_senha or "")
        opcoes["kafka.sasl.jaas.config"] = f"{modulo} required username={usuario} password={senha};"
    return opcoes


def _jaas_citado(valor: str) -> str:
    """O valor entre aspas, com ``\\`` e ``"`` escapados: uma senha com aspas não injeta opções no JAAS.

    O parser do Kafka (``JaasConfig``, um ``StreamTokenizer``) aceita esses escapes dentro das aspas, mas uma quebra de
    linha encerraria o texto: essa é recusada.
    """
    if "\n" in valor or "\r" in valor:
        raise ErroDeConfiguracao("Usuário ou senha do Kafka com quebra de linha: não cabe na configuração JAAS.")
    return '"' + valor.replace("\\", "\\\\").replace('"', '\\"') + '"'


def opcoes_cliente_kafka(cfg: Configuracao) -> dict[str, str]:
    """Configuração do librdkafka (confluent-kafka) para produtores e administração."""
    opcoes = {"bootstrap.servers": cfg.kafka_bootstrap, "security.protocol": cfg.kafka_protocolo}
    if cfg.kafka_protocolo.startswith("SASL"):
        opcoes |= {
            "sasl.mechanisms": cfg.kafka_sasl_mecanismo,
            "sasl.username": cfg.kafka_usuario or "",
            "sasl.password": cfg.kafka_senha or "",
        }
    return opcoes
