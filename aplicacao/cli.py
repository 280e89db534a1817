"""``detector-pix``: o ponto de entrada local único (broker Kafka, notebooks, simulador, demo)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aplicacao.argumentos import configuracao_dos_argumentos, pares
from aplicacao.notebooks import NOTEBOOKS, executar_notebook
from machine_learning.modos import MODOS
from plataforma.config import (
    CAMPOS,
    PREFIXO_AMBIENTE,
    ErroDeConfiguracao,
    carregar_configuracao,
)
from plataforma.erros import ErroDeAmbiente


# kafka ---------------------------------------------------------------------------------------------
def _cmd_kafka(args: argparse.Namespace) -> int:
    from plataforma.kafka_local import BrokerKafkaLocal

    broker = BrokerKafkaLocal(configuracao_dos_argumentos(args))
    if args.acao == "iniciar":
        print(f"Iniciando o broker Kafka local em {broker.bootstrap} (dados em {broker.pasta})...")
        print(broker.iniciar().descrever())
        return 0
    if args.acao == "parar":
        parou = broker.parar()
        print(f"Broker em {broker.bootstrap} parado; porta liberada." if parou else "Nenhum broker local rodando.")
        return 0
    status = broker.status()
    print(status.descrever())
    return 0 if status.vivo else 3


# executar ---------------------------------------------------------------------------------------
def _cmd_executar(args: argparse.Namespace) -> int:
    parametros = dict(pares(args.definir))
    carregar_configuracao(parametros, arquivo=args.config)  # valida antes de subir o Spark
    if args.config:
        os.environ[f"{PREFIXO_AMBIENTE}CONFIG"] = str(Path(args.config).resolve())
    parametros["disponivel"] = "sim" if args.disponivel else "nao"
    if args.modo:
        parametros["modo"] = args.modo
    parametros |= pares(args.parametro)  # widgets próprios do notebook (ex.: gabarito)
    try:
        executar_notebook(args.notebook, parametros)
    except KeyboardInterrupt:
        print("\nInterrompido; o checkpoint garante que a próxima execução continua de onde parou.")
        return 130
    return 0


# info ----------------------------------------------------------------------------------------------
def _cmd_info(args: argparse.Namespace) -> int:
    from plataforma.mlflow_local import comando_ui
    from plataforma.tabelas import TABELAS, tabela

    cfg = configuracao_dos_argumentos(args)
    print(f"Kafka: {cfg.kafka_bootstrap} ({cfg.kafka_protocolo}); tópicos: {', '.join(cfg.topicos)}")
    print(f"Dados locais: {cfg.pasta_dados}")
    print(f"Checkpoints: {cfg.pasta_checkpoints}")
    for nome in TABELAS:
        t = tabela(cfg, nome)
        print(f"  {nome}: {t.nome_uc or t.caminho}")
    print(f"MLflow tracking: {cfg.uri_tracking}\nMLflow registro: {cfg.uri_registro}")
    print(f"Modelo: {cfg.nome_modelo_registrado}\nPushgateway: {cfg.pushgateway_url}")
    print(f"Para navegar pelos experimentos: {comando_ui(cfg)}")
    return 0


# conciliar -----------------------------------------------------------------------------------------
def _cmd_conciliar(args: argparse.Namespace) -> int:
    import json

    from plataforma.spark import obter_spark
    from processamento.conciliacao import conciliar, descrever

    cfg = configuracao_dos_argumentos(args)
    balancos = conciliar(obter_spark(cfg, nome_app="detector-pix-conciliar"), cfg)
    if args.json:
        print(json.dumps([b.como_dict() for b in balancos], ensure_ascii=False, indent=2))
    else:
        print(descrever(balancos, args.permitir_pendentes))
    fecha = all(b.equilibrado(args.permitir_pendentes) for b in balancos)
    if not fecha:
        print("erro: a conciliação NÃO FECHA; veja as linhas acima.", file=sys.stderr)
    return 0 if fecha else 1


# reiniciar-checkpoint ------------------------------------------------------------------------------
def _cmd_reiniciar_checkpoint(args: argparse.Namespace) -> int:
    from processamento.retomada import reiniciar_checkpoint

    destino = reiniciar_checkpoint(configuracao_dos_argumentos(args), args.consulta)
    print(f"Checkpoint de {args.consulta} movido para {destino} (o estado das features ficou).")
    print("Na próxima partida a consulta continua do último lote gravado, sem repetir nem pular mensagens.")
    return 0


# demo ----------------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    from aplicacao.demo import executar_demo

    return executar_demo(configuracao_dos_argumentos(args), args.clientes, args.dias, args.semente, args.taxa_invalidas)


# preparar ------------------------------------------------------------------------------------------
def _cmd_preparar(args: argparse.Namespace) -> int:
    """Baixa os jars (Kafka, conector Kafka do Spark, Delta) para o cache; depois, nada de rede."""
    from plataforma.kafka_local import resolver_jars
    from plataforma.spark import obter_spark
    from processamento.pseudonimizacao import criar_chave_local

    cfg = configuracao_dos_argumentos(args)
    if not cfg.chave_pseudonimizacao:  # pedido explícito: a chave do laptop, criada uma vez e reaproveitada
        print(f"Chave local de pseudonimização (laptop): {criar_chave_local(cfg)}")
    jars = resolver_jars()
    print(f"Kafka: {len(jars)} jars em {jars[0].parent}")
    spark = obter_spark(cfg, nome_app="detector-pix-preparar")
    print(f"Spark {spark.version} com Delta e conector Kafka prontos (cache do Ivy).")
    spark.stop()
    return 0


def construir_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detector-pix",
        description="Detecção de fraudes no Pix em tempo real: ambiente local e execução dos notebooks.",
    )
    parser.add_argument("--config", help="arquivo TOML de configuração (padrão: ./detector-pix.toml, se existir)")
    parser.add_argument(
        "-D", "--definir", action="append", default=[], metavar="PARAMETRO=VALOR",
        help=f"sobrescreve um parâmetro da configuração; aceitos: {', '.join(CAMPOS)}",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="comando", required=True, metavar="COMANDO")

    kafka = sub.add_parser("kafka", help="gerencia o broker Kafka local (KRaft, um nó)")
    kafka.add_argument("acao", choices=["iniciar", "parar", "status"], help="o que fazer com o broker")
    kafka.set_defaults(func=_cmd_kafka)

    executar = sub.add_parser("executar", help="roda um notebook localmente, como um job do Databricks")
    executar.add_argument("notebook", choices=sorted(NOTEBOOKS), help="qual notebook")
    executar.add_argument(
        "--disponivel", action="store_true",
        help="processa o que já está disponível (Kafka/bronze) e para, em vez de rodar até ser interrompido",
    )  # fmt: skip
    executar.add_argument(
        "--modo", choices=MODOS, help="modo do notebook do modelo: treinar (padrão) ou pontuar (decisão no stream)"
    )
    executar.add_argument(
        "-P", "--parametro", action="append", default=[], metavar="WIDGET=VALOR",
        help="valor de um widget próprio do notebook (ex.: -P gabarito=/tmp/pix/gabarito.csv)",
    )  # fmt: skip
    executar.set_defaults(func=_cmd_executar)

    conciliar = sub.add_parser(
        "conciliar", help="confere que bronze = silver + quarentena (+ duplicatas) por origem; falha se não fechar"
    )
    conciliar.add_argument("--json", action="store_true", help="saída em JSON")
    conciliar.add_argument(
        "--permitir-pendentes", action="store_true", help="não falha por mensagens da bronze ainda não processadas"
    )
    conciliar.set_defaults(func=_cmd_conciliar)

    from processamento.retomada import CONSULTA_MED, CONSULTA_TRANSACOES

    reiniciar = sub.add_parser(
        "reiniciar-checkpoint",
        help="põe de lado o checkpoint do Spark de uma consulta do processamento (pare-a antes); o estado fica",
    )
    reiniciar.add_argument("consulta", choices=[CONSULTA_TRANSACOES, CONSULTA_MED], help="qual consulta")
    reiniciar.set_defaults(func=_cmd_reiniciar_checkpoint)

    demo = sub.add_parser("demo", help="roda o pipeline de ponta a ponta com tráfego simulado e mostra o resumo")
    demo.add_argument("--clientes", type=int, default=2_000, help="clientes simulados")
    demo.add_argument(
        "--dias", type=float, default=14.0, help="dias simulados (menos que 14 deixa poucos rótulos MED para o treino)"
    )
    demo.add_argument("--semente", type=int, default=42, help="semente do simulador")
    demo.add_argument("--taxa-invalidas", type=float, default=0.05, help="fração de mensagens ruins de propósito")
    demo.set_defaults(func=_cmd_demo)

    info = sub.add_parser("info", help="mostra onde ficam dados, tabelas, checkpoints e o MLflow")
    info.set_defaults(func=_cmd_info)

    preparar = sub.add_parser(
        "preparar", help="baixa os jars do Kafka, do Delta e do conector para o cache e cria a chave local do laptop"
    )
    preparar.set_defaults(func=_cmd_preparar)

    from aplicacao.bench_pontuacao import adicionar_subcomando as bench_pontuacao
    from aplicacao.bench_processamento import adicionar_subcomando as bench_processamento
    from aplicacao.bench_simulador import adicionar_subcomando as bench_simulador
    from aplicacao.simular import adicionar_subcomandos as adicionar_simular

    adicionar_simular(sub)
    bench = sub.add_parser("bench", help="mede desempenho e registra em docs/benchmarks.md")
    alvos = bench.add_subparsers(dest="alvo", required=True, metavar="ALVO")
    bench_simulador(alvos)
    bench_processamento(alvos)
    bench_pontuacao(alvos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = construir_parser().parse_args(argv)
    try:
        return args.func(args)
    except ErroDeConfiguracao as erro:
        print(f"erro de configuração: {erro}", file=sys.stderr)
        return 2
    except ErroDeAmbiente as erro:
        print(f"erro: {erro}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
