"""Avaliação prequencial: dobras semanais com o atraso dos rótulos, média ± desvio de AP e recall a 1% (docs/modelo.md).

Uso: ``OMP_NUM_THREADS=1 .venv/bin/python -m machine_learning.prequencial [--clientes 20000] [--dias 28]
[--escrever docs/modelo.md] [--figuras docs/img]``.

Por que: uma semana de teste é uma amostra só, e a AP de um candidato muda de semana para semana. Cada dobra treina
com o que o banco teria no corte ``c``: as transações de ``[início do treino, c − intervalo)``, com só os rótulos
notificados antes de ``c`` (o atraso do MED), e mede a semana ``[c, c + 7 d)`` contra a verdade. As features saem uma
vez só (``features_do_treino``, o mesmo caminho do treino). Os candidatos são os do treino, sem a calibração de Platt:
a sigmoide é crescente, não muda a ordem dos scores, logo nem a AP nem o recall a 1% (e custaria um ajuste a mais).
O treino (``treinar``) usa as mesmas funções para escolher o candidato dentro da própria janela de treino.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from machine_learning.dados_simulados import DadosSimulados, simular
from machine_learning.generalizacao import _br, _num, _pct, _quebrar, escrever_entre_marcadores
from machine_learning.treino import (  # noqa: F401 - dobras_semanais e cia. são a API deste módulo também
    CANDIDATOS,
    DIAS_DOBRA,
    DIAS_TREINO_MIN,
    TAXA_ALERTA,
    _calibracao,
    _candidato,
    _curvas,
    ajustar_candidatos,
    avaliar,
    avaliar_dobras,
    avaliar_no_teste,
    dividir_treino,
    dobras_semanais,
    escolher,
    features_do_treino,
    matriz,
    resumir,
    rotulos_ate,
    verdade_de,
)
from simulador import Parametros
from simulador.parametros import MISTURA_PADRAO, MISTURAS_NOMEADAS, ler_mistura

INICIO_SECAO = "<!-- prequencial:inicio (gerado por python -m machine_learning.prequencial --escrever) -->"
FIM_SECAO = "<!-- prequencial:fim -->"
NOMES = {"regras": "regras", "logistica": "logística", "gbm": "gbm"}


# A seção do docs/modelo.md ---------------------------------------------------------------------------
def _dia(instante: pd.Timestamp) -> str:
    return pd.Timestamp(instante).round("h").strftime("%d/%m")


def _mais_menos(media: float, desvio: float, pct: bool) -> str:
    if pct:
        return f"{_br(100 * media, 1)} ± {_br(100 * desvio, 1)}%" if np.isfinite(desvio) else _pct(media)
    return f"{_num(media)} ± {_num(desvio)}"


def tabela(por_dobra: pd.DataFrame, resumo: pd.DataFrame) -> str:
    """Uma linha por dobra (AP / recall a 1% de cada candidato) e a média ± desvio; o escolhido em negrito."""
    candidatos = list(resumo.index)
    escolhido = escolher(resumo)

    def nome(c: str) -> str:
        return f"**{NOMES.get(c, c)}**" if c == escolhido else NOMES.get(c, c)

    linhas = [
        "| dobra | treino | transações de treino | fraudes no treino: com MED no corte / reais | semana de teste "
        "| transações de teste | fraudes no teste | "
        + " | ".join(f"{nome(c)}: AP / recall a 1%" for c in candidatos)
        + " |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | " + " | ".join("---" for _ in candidatos) + " |",
    ]
    for numero, grupo in por_dobra.groupby("dobra", sort=True):
        d = grupo.iloc[0]
        por_candidato = grupo.set_index("candidato")
        celulas = [
            f"{_num(por_candidato.loc[c, 'average_precision'])} / {_pct(por_candidato.loc[c, 'recall_alerta_1pct'])}"
            for c in candidatos
        ]
        linhas.append(
            f"| {numero} | {_dia(d['inicio_treino'])} a {_dia(d['fim_treino'])} | {_br(d['transacoes_treino'])} "
            f"| {_br(d['fraudes_rotuladas_treino'])} / {_br(d['fraudes_treino'])} "
            f"| {_dia(d['corte'])} a {_dia(d['fim_teste'])} | {_br(d['transacoes_teste'])} "
            f"| {_br(d['fraudes_teste'])} | " + " | ".join(celulas) + " |"
        )
    media = [
        f"{_mais_menos(resumo.loc[c, 'ap_media'], resumo.loc[c, 'ap_desvio'], False)} / "
        f"{_mais_menos(resumo.loc[c, 'recall_media'], resumo.loc[c, 'recall_desvio'], True)}"
        for c in candidatos
    ]
    linhas.append("| **média ± desvio** | | | | | | | " + " | ".join(media) + " |")
    return "\n".join(linhas)


def figuras_do_treino_padrao(
    feats: pd.DataFrame, dados: DadosSimulados, semente: int, pasta: Path, avisar: Callable[[str], None] = print
) -> pd.DataFrame:
    """A divisão padrão do treino (``dividir_treino``, os candidatos calibrados, a escolha e os limiares de
    ``treinar``) nas mesmas features: grava em ``pasta`` a curva PR e a de calibração do cartão do modelo.

    São as funções dos artefatos do MLflow (``_curvas``, ``_calibracao``), com nomes próprios em ``docs/img``.
    Devolve a tabela da calibração (a do CSV).
    """
    import matplotlib

    matplotlib.use("Agg")
    dados_padrao = dividir_treino(feats, dados.med, dados.gabarito)
    ajuste = ajustar_candidatos(dados_padrao, CANDIDATOS, semente)
    avaliacao = avaliar_no_teste(dados_padrao, ajuste, TAXA_ALERTA, TAXA_ALERTA / 10)
    y = dados_padrao.verdade_teste["fraude"].to_numpy()
    m = avaliacao.metricas[ajuste.escolhido]
    avisar(
        f"divisão padrão: escolhido {ajuste.escolhido} ({ajuste.escolha_modelo}), AP {m['average_precision']:.3f}, "
        f"recall a 1% {m['recall_alerta_1pct']:.1%}; limiares {avaliacao.limiares}"
    )
    pasta.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporaria:
        t = Path(temporaria)
        _curvas(t, avaliacao.score_teste, y)
        _calibracao(t, avaliacao.score_escolhido, y, ajuste.escolhido)
        shutil.copyfile(t / "curva_pr.png", pasta / "modelo_curva_pr.png")
        shutil.copyfile(t / "calibracao.png", pasta / "modelo_calibracao.png")
        return pd.read_csv(t / "calibracao.csv")


def escrever_secao(documento: Path, texto: str) -> None:
    """Troca o que está entre os marcadores da seção prequencial de ``documento`` por ``texto``."""
    escrever_entre_marcadores(documento, texto, INICIO_SECAO, FIM_SECAO)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--clientes", type=int, default=20_000)
    args.add_argument("--dias", type=float, default=28.0)
    args.add_argument("--semente", type=int, default=42)
    args.add_argument("--mistura", type=ler_mistura, default=dict(MISTURA_PADRAO), help="padrao, original ou pesos")
    args.add_argument("--aquecimento", type=float, default=3.0, help="dias do início fora de tudo (padrão 3)")
    args.add_argument("--dias-dobra", type=float, default=DIAS_DOBRA, help="dias de cada semana de teste")
    args.add_argument(
        "--dias-intervalo", type=float, default=0.0,
        help="dias entre o fim do treino e o corte de cada dobra (o atraso dos rótulos já vale sem ele)",
    )  # fmt: skip
    args.add_argument("--escrever", type=Path, metavar="DOC", help="grava a seção entre os marcadores deste .md")
    args.add_argument(
        "--figuras", type=Path, metavar="PASTA",
        help="treina também na divisão padrão e grava modelo_curva_pr.png e modelo_calibracao.png nesta pasta",
    )  # fmt: skip
    a = args.parse_args(argv)
    carga_inicio, inicio = os.getloadavg(), time.monotonic()
    tempos: dict[str, float] = {}
    dados = simular(Parametros(semente=a.semente, clientes=a.clientes, dias=a.dias, mistura=a.mistura))
    tempos["simulação"] = time.monotonic() - inicio
    feats = features_do_treino(dados.transacoes, dados.med)
    tempos["features"] = time.monotonic() - inicio - sum(tempos.values())
    # Tudo depois do aquecimento é "treino" para as dobras; cada dobra corta os seus rótulos.
    todos = dividir_treino(feats, dados.med, dados.gabarito, a.aquecimento, dias_atraso=0.0, dias_teste=0.0)
    verdade = verdade_de(todos.treino, dados.med, dados.gabarito)
    janelas = dobras_semanais(
        todos.divisao.inicio_treino, todos.divisao.fim_treino, a.dias_dobra, a.dias_intervalo, DIAS_TREINO_MIN
    )
    print(
        f"simulação {tempos['simulação']:.0f} s, features {tempos['features']:.0f} s: {len(feats)} transações, "
        f"{len(todos.treino)} depois do aquecimento; {len(janelas)} dobras",
        flush=True,
    )
    if len(janelas) < 3:
        print(f"Só {len(janelas)} dobra(s): aumente --dias (a issue pede ao menos 3 semanas de teste).")
    por_dobra = avaliar_dobras(
        matriz(todos.treino), todos.rotulado_em, verdade, janelas, CANDIDATOS, a.semente, lambda t: print(t, flush=True)
    )
    tempos["dobras"] = time.monotonic() - inicio - sum(tempos.values())
    resumo = resumir(por_dobra)
    print(resumo.to_string())
    if a.figuras:
        calibracao = figuras_do_treino_padrao(feats, dados, a.semente, a.figuras, lambda t: print(t, flush=True))
        tempos["figuras"] = time.monotonic() - inicio - sum(tempos.values())
        print(calibracao.to_string(index=False))
    total, carga_fim = time.monotonic() - inicio, os.getloadavg()
    texto = secao(a, por_dobra, resumo, len(feats), tempos, total, (carga_inicio[0], carga_fim[0]))
    print(texto)
    if a.escrever:
        escrever_secao(a.escrever, texto)
        print(f"seção gravada em {a.escrever}")


def secao(
    a: argparse.Namespace,
    por_dobra: pd.DataFrame,
    resumo: pd.DataFrame,
    transacoes: int,
    tempos: dict[str, float],
    total: float,
    carga: tuple[float, float],
) -> str:
    """A tabela, o comando que a refaz e o rodapé (data, tamanhos, tempos e a carga da máquina no início e no fim)."""
    threads = os.environ.get("OMP_NUM_THREADS")  # com a máquina dividida, 1 thread treina mais rápido
    comando = f"OMP_NUM_THREADS={threads} " if threads else ""
    comando += f".venv/bin/python -m machine_learning.prequencial --clientes {a.clientes} --dias {a.dias:g}"
    comando += f" --semente {a.semente}"
    if a.aquecimento != 3.0:
        comando += f" --aquecimento {a.aquecimento:g}"
    if a.dias_dobra != DIAS_DOBRA:
        comando += f" --dias-dobra {a.dias_dobra:g}"
    if a.dias_intervalo:
        comando += f" --dias-intervalo {a.dias_intervalo:g}"
    pesos = {k: v for k, v in a.mistura.items() if v}
    if pesos != MISTURA_PADRAO:
        nome = next((n for n, m in MISTURAS_NOMEADAS.items() if m == pesos), None)
        comando += " --mistura " + (nome or ",".join(f"{k}={v:g}" for k, v in pesos.items()))
    if a.figuras:
        comando += f" --figuras {a.figuras}"
    dobras = por_dobra["dobra"].nunique()
    intervalo = (
        f"com {a.dias_intervalo:g} dia(s) entre o fim do treino e o corte"
        if a.dias_intervalo
        else "sem intervalo entre o fim do treino e o corte"
    )
    partes = ", ".join(f"{_br(s)} s de {o_que}" for o_que, s in tempos.items())
    rodape = (
        f"Semente {a.semente}, {_br(a.clientes)} clientes, {a.dias:g} dias: {_br(transacoes)} transações. Aquecimento "
        f"de {a.aquecimento:g} dias fora de tudo; {dobras} dobras de {a.dias_dobra:g} dias, {intervalo}. Cada dobra "
        f"treina do fim do aquecimento até o corte, só com as fraudes contestadas no MED antes do corte (a coluna "
        f'"reais" conta as do gabarito: a diferença é o que o atraso e a falta de contestação escondem), e mede a '
        f"semana seguinte contra o gabarito. Média e desvio-padrão amostral entre as dobras. Escolhido (maior AP "
        f"média): `{escolher(resumo)}`. Candidatos do treino sem a calibração de Platt (crescente: não muda AP nem "
        f"recall a 1%). Rodado em {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, em {_br(total / 60)} min ({partes}; "
        f"{len(por_dobra)} ajustes nas dobras), numa máquina de {os.cpu_count()} núcleos com carga média de 1 min "
        f"(`os.getloadavg`) de {_br(carga[0], 1)} no início e {_br(carga[1], 1)} no fim, com outros trabalhos rodando."
    )
    return f"{tabela(por_dobra, resumo)}\n\n```\n{comando} --escrever docs/modelo.md\n```\n\n{_quebrar(rodape)}"


if __name__ == "__main__":
    main()
