"""A configuração recusa valores errados dizendo qual parâmetro, de onde veio e o que é aceito."""

from __future__ import annotations

from pathlib import Path

import pytest

from plataforma.config import Configuracao, ErroDeConfiguracao, carregar_configuracao


def test_padroes_locais_apontam_para_a_pasta_de_dados(tmp_path: Path) -> None:
    cfg = carregar_configuracao({"dados_dir": str(tmp_path)}, ambiente={})
    assert cfg.pasta_checkpoints == str(tmp_path / "checkpoints")
    assert cfg.uri_tracking == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert cfg.uri_registro == cfg.uri_tracking
    assert cfg.topicos == ("pix.transacoes", "pix.med", "pix.decisoes")
    assert not cfg.usa_unity_catalog


def test_valor_invalido_de_variavel_de_ambiente_nomeia_parametro_origem_e_aceitos() -> None:
    with pytest.raises(ErroDeConfiguracao) as erro:
        carregar_configuracao(ambiente={"DETECTOR_PIX_KAFKA_PROTOCOLO": "SASL"})
    mensagem = str(erro.value)
    assert "'kafka_protocolo'" in mensagem
    assert "variável de ambiente DETECTOR_PIX_KAFKA_PROTOCOLO" in mensagem
    assert "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL" in mensagem


def test_argumento_vence_ambiente_que_vence_arquivo(tmp_path: Path) -> None:
    arquivo = tmp_path / "detector-pix.toml"
    arquivo.write_text('[detector_pix]\nkafka_particoes = 3\ntopico_med = "med.arquivo"\nnome_modelo = "m_arquivo"\n')
    cfg = carregar_configuracao(
        {"kafka_particoes": "5"},
        arquivo=arquivo,
        ambiente={"DETECTOR_PIX_KAFKA_PARTICOES": "4", "DETECTOR_PIX_TOPICO_MED": "med.ambiente"},
    )
    assert (cfg.kafka_particoes, cfg.topico_med, cfg.nome_modelo) == (5, "med.ambiente", "m_arquivo")


def test_inteiro_fora_da_faixa_no_arquivo_diz_o_arquivo(tmp_path: Path) -> None:
    arquivo = tmp_path / "c.toml"
    arquivo.write_text("kafka_particoes = 0\n")
    with pytest.raises(ErroDeConfiguracao, match=r"'kafka_particoes'.*arquivo .*c\.toml.*inteiro de 1 a 64"):
        carregar_configuracao(arquivo=arquivo, ambiente={})


def test_segredo_em_arquivo_e_recusado(tmp_path: Path) -> None:
    arquivo = tmp_path / "c.toml"
    arquivo.write_text('kafka_senha = "123"\n')
    with pytest.raises(ErroDeConfiguracao, match="segredos e não podem ficar em arquivo"):
        carregar_configuracao(arquivo=arquivo, ambiente={})


def test_parametro_desconhecido_lista_os_aceitos() -> None:
    with pytest.raises(ErroDeConfiguracao, match=r"desconhecido 'kafka_bootstrapp'.*kafka_bootstrap"):
        carregar_configuracao({"kafka_bootstrapp": "x:1"}, ambiente={})


def test_sasl_sem_credenciais_explica_onde_colocar() -> None:
    with pytest.raises(ErroDeConfiguracao, match="kafka-usuario"):
        carregar_configuracao({"kafka_protocolo": "SASL_SSL"}, ambiente={})
    cfg = carregar_configuracao(
        {"kafka_protocolo": "SASL_SSL"},
        ambiente={"DETECTOR_PIX_KAFKA_USUARIO": "u", "DETECTOR_PIX_KAFKA_SENHA": "senha-secreta-42"},
    )
    assert cfg.kafka_senha == "senha-secreta-42"
    assert "senha-secreta-42" not in repr(cfg)  # a senha não vaza em logs


def test_unity_catalog_exige_catalogo_e_esquema() -> None:
    with pytest.raises(ErroDeConfiguracao, match="'catalogo' e 'esquema' vão juntos"):
        Configuracao().com(catalogo="pix")
    cfg = Configuracao().com(catalogo="pix", esquema="fraudes")
    assert cfg.nome_modelo_registrado == "pix.fraudes.detector_fraudes_pix"
    assert cfg.pasta_checkpoints == "/Volumes/pix/fraudes/checkpoints"


@pytest.mark.parametrize(
    ("parametro", "valor"),
    [
        ("intervalo_trigger", "5s"),
        ("kafka_bootstrap", "sem-porta"),
        ("offsets_iniciais", "inicio"),
        ("pushgateway_url", "ftp://x:9091"),
        ("catalogo", "1catalogo"),
    ],
)
def test_valores_mal_formados_sao_recusados(parametro: str, valor: str) -> None:
    with pytest.raises(ErroDeConfiguracao, match=f"'{parametro}'"):
        Configuracao().com(**{parametro: valor})


def test_todo_parametro_esta_documentado() -> None:
    from plataforma.config import CAMPOS, RAIZ_PROJETO

    documento = (RAIZ_PROJETO / "docs" / "configuracao.md").read_text(encoding="utf-8")
    faltando = [nome for nome in CAMPOS if f"| `{nome}` |" not in documento]
    assert faltando == []


@pytest.mark.parametrize("valor", ["2", "0", "um por cento", "-0.1"])
def test_orcamento_de_alertas_fora_da_faixa_diz_o_parametro_e_o_esperado(
    valor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plataforma.notebook import Contexto

    monkeypatch.setenv("DETECTOR_PIX_ORCAMENTO_REVISAR", valor)
    with pytest.raises(ErroDeConfiguracao, match=r"'orcamento_revisar'.*entre 0 e 0,5"):
        Contexto(spark=None, cfg=Configuracao(), dbutils=None).fracao("orcamento_revisar", 0.01)
    monkeypatch.setenv("DETECTOR_PIX_ORCAMENTO_REVISAR", "0,02")
    assert Contexto(spark=None, cfg=Configuracao(), dbutils=None).fracao("orcamento_revisar", 0.01) == 0.02


def test_cada_parametro_e_declarado_uma_vez_no_campo_da_configuracao() -> None:
    from dataclasses import fields

    from plataforma.config import CAMPOS, SEGREDOS

    assert [f.name for f in fields(Configuracao)] == [*CAMPOS, *SEGREDOS]
    for nome, campo in CAMPOS.items():
        assert campo.nome == nome and campo.descricao and campo.aceitos
        assert campo.converter(str(campo.padrao)) == campo.padrao, f"o padrão de {nome} não passa na própria regra"
        for opcao in campo.opcoes:
            assert campo.converter(opcao) == opcao
    assert set(SEGREDOS) == {"kafka_usuario", "kafka_senha", "chave_pseudonimizacao"}
    assert {c.segredo.chave for c in SEGREDOS.values() if c.segredo} == {
        "kafka-usuario",
        "kafka-senha",
        "chave-pseudonimizacao",
    }
    assert SEGREDOS["kafka_senha"].variavel_ambiente == "DETECTOR_PIX_KAFKA_SENHA"


def test_tabela_do_documento_e_a_gerada_da_declaracao() -> None:
    from plataforma.config import DOCUMENTO, documento_atualizado

    texto = DOCUMENTO.read_text(encoding="utf-8")
    assert documento_atualizado(texto) == texto, (
        "docs/configuracao.md ficou para trás: rode python -m plataforma.config"
    )


def test_pushgateway_padrao_so_local_fora_do_databricks(monkeypatch: pytest.MonkeyPatch) -> None:
    """O padrão local (o Pushgateway do laptop) nunca vale no Databricks: lá o padrão é desligado."""
    from plataforma.config import PUSHGATEWAY_LOCAL, pushgateway_padrao

    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert pushgateway_padrao() == PUSHGATEWAY_LOCAL
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    assert pushgateway_padrao() == ""


@pytest.mark.parametrize(
    "url", ["http://pushgateway:9091", "http://127.0.0.1:9091", "http://localhost:9091/", "https://LOCALHOST"]
)
def test_pushgateway_so_local_recusado_no_databricks(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    base = Configuracao().com(pushgateway_url="")
    assert base.com(pushgateway_url=url).pushgateway_url == url  # no laptop, vale (o do docker-compose também)
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    with pytest.raises(ErroDeConfiguracao, match="alcançável a partir do workspace"):
        base.com(pushgateway_url=url)


def test_pushgateway_do_workspace_ou_vazio_aceitos_no_databricks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    base = Configuracao().com(pushgateway_url="")
    assert base.com(pushgateway_url="https://pushgateway.banco.com.br:9091").pushgateway_url.startswith("https://")
    assert base.com(pushgateway_url="http://pushgateway-prod.interno:9091").pushgateway_url  # só o nome exato é local
