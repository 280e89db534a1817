"""Subcomandos ``detector-pix simular`` e ``detector-pix bench simulador``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from simulador.parametros import DEFEITOS, MISTURA_PADRAO, TIPOLOGIAS, Parametros, ler_mistura


def _data(texto: str) -> datetime:
    data = datetime.fromisoformat(texto.replace("Z", "+00:00"))
    return data if data.tzinfo else data.replace(tzinfo=UTC)


def _defeitos(texto: str) -> tuple[str, ...]:
    itens = tuple(x.strip() for x in texto.split(",") if x.strip())
    desconhecidos = set(itens) - set(DEFEITOS)
    if desconhecidos:
        raise argparse.ArgumentTypeError(
            f"defeitos desconhecidos {sorted(desconhecidos)}; aceitos: {', '.join(DEFEITOS)}"
        )
    return itens


def _mistura(texto: str) -> dict[str, float]:
    try:
        return ler_mistura(texto)
    except ValueError as erro:
        raise argparse.ArgumentTypeError(str(erro)) from None


def _rajada(texto: str) -> tuple[float, float, float]:
    try:
        inicio, duracao, fator = (float(x) for x in texto.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"use INICIO_S:DURACAO_S:FATOR, ex.: 30:10:3; recebido {texto!r}") from None
    return inicio, duracao, fator


def parametros_de(args: argparse.Namespace) -> Parametros:
    return Parametros(
        semente=args.semente, clientes=args.clientes, dias=args.dias, inicio=args.inicio,
        taxa_fraude=args.taxa_fraude, mistura=args.mistura, fracao_med=args.fracao_med,
        taxa_abuso_med=args.taxa_abuso_med, atraso_med_min_horas=args.atraso_med_min_horas,
        atraso_med_max_dias=args.atraso_med_max_dias, taxa_invalidas=args.taxa_invalidas,
        defeitos=args.defeitos, aceleracao=args.aceleracao, rajadas=tuple(args.rajada),
        fracao_laranja_alugada=args.fracao_laranja_alugada, fracao_laranja_dormente=args.fracao_laranja_dormente,
        valor_alto_limiar=args.valor_alto_limiar, recebedor_comprometido_semanas=args.recebedor_comprometido_semanas,
        pagador_comprometido_dias=args.pagador_comprometido_dias,
        pagador_comprometido_fator=args.pagador_comprometido_fator,
    )  # fmt: skip


def _cmd_simular(args: argparse.Namespace) -> int:
    from aplicacao.argumentos import configuracao_dos_argumentos
    from simulador.saida import escrever_arquivos, imprimir_progresso, parametros_ao_vivo, produzir_kafka

    try:
        p = parametros_de(args)
    except ValueError as erro:
        print(f"erro: {erro}", file=sys.stderr)
        return 2
    if args.saida:
        print(f"Simulando {p.clientes} clientes por {p.dias:g} dias (semente {p.semente}) em {args.saida}...")
        resumo = escrever_arquivos(p, args.saida)
    else:
        from plataforma.kafka_cliente import criar_topicos
        from plataforma.kafka_opcoes import opcoes_cliente_kafka

        cfg = configuracao_dos_argumentos(args)
        if args.kafka is not True:
            cfg = cfg.com(kafka_bootstrap=args.kafka)
        opcoes = opcoes_cliente_kafka(cfg)
        criar_topicos(opcoes, (cfg.topico_transacoes, cfg.topico_med), cfg.kafka_particoes)
        if args.tps:
            p = parametros_ao_vivo(p, args.tps)
            if p.pix_por_cliente_dia > 20:
                sugestao = args.tps * 86_400 / (2 * p.clientes)  # ~2 Pix por cliente por dia
                por_cliente = f"{p.pix_por_cliente_dia:,.0f}".replace(",", ".")
                print(
                    f"aviso: {por_cliente} Pix por cliente por dia simulado; para hábitos realistas (velocidade, "
                    f"histórico) use --aceleracao {sugestao:.0f} ou mais --clientes.",
                    file=sys.stderr,
                )
            duracao = f" por {args.duracao:g} s" if args.duracao else " até Ctrl+C"
            print(
                f"Produzindo ~{args.tps:g} Pix/s em {cfg.kafka_bootstrap} ({cfg.topico_transacoes}, {cfg.topico_med})"
                f"{duracao}; tempo do evento = relógio x {p.aceleracao:g}."
            )
        else:
            print(f"Produzindo {p.dias:g} dias simulados de {p.clientes} clientes em {cfg.kafka_bootstrap}...")
        resumo = produzir_kafka(
            p, opcoes, cfg.topico_transacoes, cfg.topico_med, tps=args.tps, duracao_s=args.duracao,
            progresso=imprimir_progresso,
        )  # fmt: skip
        print(file=sys.stderr)
    print(resumo.descrever())
    return 0


def adicionar_subcomandos(sub: argparse._SubParsersAction) -> None:
    """Registra os subcomandos no parser de ``detector-pix``."""
    padrao = Parametros()
    simular = sub.add_parser(
        "simular",
        help="gera tráfego Pix simulado (com fraudes, MED e entrada ruim) em arquivos ou no Kafka",
        description="Gera tráfego Pix simulado. Com --saida escreve transacoes.jsonl, med.jsonl e gabarito.csv; "
        "com --kafka produz nos tópicos da configuração (com --tps, ao vivo no ritmo do relógio).",
    )
    destino = simular.add_mutually_exclusive_group(required=True)
    destino.add_argument("--saida", metavar="PASTA", help="pasta de saída dos arquivos")
    destino.add_argument(
        "--kafka", nargs="?", const=True, metavar="BOOTSTRAP",
        help="produz no Kafka (padrão: kafka_bootstrap da configuração)",
    )  # fmt: skip
    simular.add_argument(
        "--tps", type=float, help="ao vivo: Pix por segundo (sem isto, o período todo o mais rápido possível)"
    )
    simular.add_argument("--duracao", type=float, metavar="S", help="ao vivo: para depois de S segundos")
    simular.add_argument("--semente", type=int, default=padrao.semente, help="semente (mesma semente, mesmos bytes)")
    simular.add_argument("--clientes", type=int, default=padrao.clientes, help="número de clientes")
    simular.add_argument("--dias", type=float, default=padrao.dias, help="dias simulados")
    simular.add_argument("--inicio", type=_data, default=padrao.inicio, help="início do período (ISO-8601, UTC)")
    simular.add_argument("--taxa-fraude", type=float, default=padrao.taxa_fraude, help="fração de fraudes (0.005)")
    simular.add_argument(
        "--mistura", type=_mistura, default=dict(MISTURA_PADRAO),
        help="pesos das tipologias, ex.: falso_parente=2,conta_laranja=1 (omitidas = 0), ou 'original' (as seis "
        f"primeiras, a mistura de antes das mecânicas de generalização); tipologias: {', '.join(TIPOLOGIAS)}",
    )  # fmt: skip
    simular.add_argument(
        "--fracao-med", type=float, default=padrao.fracao_med, help="fração das fraudes contestadas no MED"
    )
    simular.add_argument(
        "--fracao-laranja-alugada", type=float, default=padrao.fracao_laranja_alugada,
        help="fração das laranjas novas para o golpe que são contas alugadas de clientes com histórico",
    )  # fmt: skip
    simular.add_argument(
        "--fracao-laranja-dormente", type=float, default=padrao.fracao_laranja_dormente,
        help="fração das laranjas novas para o golpe abertas semanas antes, com pouca atividade",
    )  # fmt: skip
    simular.add_argument(
        "--valor-alto-limiar", type=float, default=padrao.valor_alto_limiar,
        help="valor_alto: todo Pix do golpe fica acima deste valor (R$)",
    )  # fmt: skip
    simular.add_argument(
        "--recebedor-comprometido-semanas", type=float, default=padrao.recebedor_comprometido_semanas,
        help="recebedor_comprometido: semanas em que todo Pix ao comerciante é golpe",
    )  # fmt: skip
    simular.add_argument(
        "--pagador-comprometido-dias", type=float, default=padrao.pagador_comprometido_dias,
        help="pagador_comprometido: dias em que o golpista usa a conta tomada",
    )  # fmt: skip
    simular.add_argument(
        "--pagador-comprometido-fator", type=float, default=padrao.pagador_comprometido_fator,
        help="pagador_comprometido: cada Pix do golpe vale este múltiplo do valor habitual da conta",
    )  # fmt: skip
    simular.add_argument(
        "--taxa-abuso-med", type=float, default=padrao.taxa_abuso_med,
        help="fração das transações legítimas com contestação MED falsa",
    )  # fmt: skip
    simular.add_argument(
        "--atraso-med-min-horas", type=float, default=padrao.atraso_med_min_horas, help="atraso mínimo do MED"
    )
    simular.add_argument(
        "--atraso-med-max-dias", type=float, default=padrao.atraso_med_max_dias, help="atraso máximo do MED"
    )
    simular.add_argument(
        "--taxa-invalidas", type=float, default=padrao.taxa_invalidas,
        help="fração extra de mensagens ruins (inválidas, duplicadas, atrasadas)",
    )  # fmt: skip
    simular.add_argument(
        "--defeitos", type=_defeitos, default=padrao.defeitos, help=f"tipos de entrada ruim: {','.join(DEFEITOS)}"
    )
    simular.add_argument(
        "--aceleracao", type=float, default=padrao.aceleracao,
        help="ao vivo: segundos simulados por segundo de relógio (1 = tempo do evento acompanha o relógio)",
    )  # fmt: skip
    simular.add_argument(
        "--rajada", type=_rajada, action="append", default=[], metavar="INICIO:DURACAO:FATOR",
        help="multiplica o volume por FATOR de INICIO a INICIO+DURACAO segundos simulados (repetível), "
        "ex.: --rajada 30:10:3 (ao vivo, com aceleração 1, segundos de relógio)",
    )  # fmt: skip
    simular.set_defaults(func=_cmd_simular)
