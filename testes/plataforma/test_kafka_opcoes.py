"""A configuração JAAS que o Spark recebe, lida pelo parser do próprio Kafka: uma senha não injeta opções."""

from __future__ import annotations

import subprocess

import pytest

from plataforma.config import Configuracao, ErroDeConfiguracao
from plataforma.kafka_local import resolver_jars
from plataforma.kafka_opcoes import opcoes_kafka_spark

# Lê a configuração com o JaasContext do kafka-clients (a classe que o conector do Spark usa) e imprime as opções.
LEITOR_JAAS = """
public class LerJaas {
    public static void main(String[] a) throws Exception {
        String texto = new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        var configs = java.util.Map.of("sasl.jaas.config", new org.apache.kafka.common.config.types.Password(texto));
        var contexto = org.apache.kafka.common.security.JaasContext.loadClientContext(configs);
        for (var entrada : contexto.configurationEntries()) {
            var opcoes = new java.util.TreeMap<String, Object>(entrada.getOptions());
            opcoes.forEach((k, v) -> System.out.println(k + "\\t" + v));
        }
    }
}
"""


@pytest.fixture(scope="module")
def leitor_jaas(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """O comando que lê uma configuração JAAS da entrada padrão (compilado uma vez)."""
    pasta = tmp_path_factory.mktemp("jaas")
    (pasta / "LerJaas.java").write_text(LEITOR_JAAS, encoding="utf-8")
    classpath = ":".join(str(j) for j in resolver_jars())
    subprocess.run(["javac", "-cp", classpath, "-d", str(pasta), str(pasta / "LerJaas.java")], check=True, timeout=120)
    return ["java", "-cp", f"{pasta}:{classpath}", "LerJaas"]


def _opcoes_lidas_pelo_kafka(jaas: str, comando: list[str]) -> dict[str, str]:
    saida = subprocess.run(comando, input=jaas, capture_output=True, text=True, check=True, timeout=120)
    return dict(linha.split("\t", 1) for linha in saida.stdout.splitlines())


@pytest.mark.parametrize("senha", ['a"; evil="1', 'x\\" y', "c\\\\", "ção 😀 '"])
def test_senha_com_aspas_e_barras_chega_inteira_ao_kafka(senha: str, leitor_jaas: list[str]) -> None:
    cfg = Configuracao().com(kafka_protocolo="SASL_SSL", kafka_usuario='us"er', kafka_senha=senha)
    jaas = opcoes_kafka_spark(cfg)["kafka.sasl.jaas.config"]
    assert _opcoes_lidas_pelo_kafka(jaas, leitor_jaas) == {"password": senha, "username": 'us"er'}


def test_senha_com_quebra_de_linha_e_recusada() -> None:
    cfg = Configuracao().com(kafka_protocolo="SASL_SSL", kafka_usuario="u", kafka_senha="a\nb")
    with pytest.raises(ErroDeConfiguracao, match="quebra de linha"):
        opcoes_kafka_spark(cfg)
