"""Generalização: deixar uma tipologia de fora do treino e medir o recall nela (``docs/modelo.md``).

Uso: ``.venv/bin/python -m machine_learning.generalizacao [--clientes 20000] [--dias 28] [--escrever docs/modelo.md]``.

Por que: um modelo que só reconhece as mecânicas que viu no treino falha na primeira fraude nova. Uma simulação com
todas as tipologias; as features saem uma vez só (o mesmo ``preparar_treino`` do treino); para cada tipologia T, o
treino perde as fraudes de T (e com elas os rótulos MED de T) só na janela de treino, e o teste mede o recall a 1% de
alertas nas fraudes de T. A linha de base treina com tudo. O teste e as features não mudam: no stream, as
contestações de uma fraude nova continuam chegando e marcando os recebedores, mesmo que o modelo nunca a tenha
visto como rótulo.
"""

from __future__ import annotations

import argparse
import os
import textwrap
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from machine_learning.dados_simulados import simular
from machine_learning.treino import TAXA_ALERTA, DadosTreino, ajustar_candidatos, avaliar_no_teste, preparar_treino
from simulador import Parametros
from simulador.parametros import MISTURA_PADRAO, MISTURAS_NOMEADAS, ler_mistura

INICIO_SECAO = "<!-- generalizacao:inicio (gerado por python -m machine_learning.generalizacao --escrever) -->"
FIM_SECAO = "<!-- generalizacao:fim -->"


@dataclass(frozen=True)
class Linha:
    """Uma linha da tabela: o treino sem ``deixada`` (None = com tudo) medido no teste inteiro e nas fraudes dela."""

    deixada: str | None
    removidas_treino: int  # fraudes de ``deixada`` tiradas da janela de treino
    rotuladas_removidas: int  # quantas delas tinham rótulo MED antes do corte
    fraudes_teste: int  # fraudes de ``deixada`` no teste (0 na linha de base)
    recall_deixada: float  # recall a 1% de alertas nas fraudes de ``deixada``
    ap_deixada: float  # AP de ``deixada`` contra as legítimas (as outras fraudes fora da conta)
    ap: float  # AP no teste inteiro
    recall: float  # recall a 1% de alertas no teste inteiro
    segundos: float


def sem_tipologia(dados: DadosTreino, tipologia_treino: np.ndarray, deixada: str) -> DadosTreino:
    """O mesmo treino sem as linhas de ``deixada``; validação, teste e features continuam os mesmos.

    A exclusão fica fora de ``treino.py`` de propósito: o treino de produção não sabe de tipologias.
    """
    manter = tipologia_treino != deixada
    return replace(
        dados,
        treino=dados.treino[manter].reset_index(drop=True),
        y_treino=dados.y_treino[manter],
        rotulado_em=dados.rotulado_em[manter],
    )


def _ap_da_tipologia(score: np.ndarray, verdade: pd.DataFrame, tipologia: str) -> float:
    """AP das fraudes de ``tipologia`` contra as legítimas: as outras fraudes não entram na conta."""
    tip, fraude = verdade["tipologia"].to_numpy(), verdade["fraude"].to_numpy() == 1
    linhas = (tip == tipologia) | ~fraude
    y = (tip[linhas] == tipologia).astype(int)
    return float(average_precision_score(y, score[linhas])) if y.sum() else float("nan")


def medir(
    dados: DadosTreino, tipologia_treino: np.ndarray, deixada: str | None, semente: int, candidato: str = "gbm"
) -> tuple[Linha, dict[str, float], np.ndarray]:
    """Um treino (só ``candidato``) sem ``deixada``: a linha da tabela, as métricas e o score no teste."""
    inicio = time.monotonic()
    treino = dados if deixada is None else sem_tipologia(dados, tipologia_treino, deixada)
    ajuste = ajustar_candidatos(treino, (candidato,), semente)
    avaliacao = avaliar_no_teste(treino, ajuste, TAXA_ALERTA, TAXA_ALERTA / 10)
    m, score = avaliacao.metricas[candidato], avaliacao.score_teste[candidato]
    verdade = dados.verdade_teste
    removidas = tipologia_treino == deixada
    linha = Linha(
        deixada=deixada,
        removidas_treino=int(removidas.sum()),
        rotuladas_removidas=int(dados.y_treino[removidas].sum()),
        fraudes_teste=int(((verdade["tipologia"] == deixada) & (verdade["fraude"] == 1)).sum()) if deixada else 0,
        recall_deixada=m.get(f"recall_alerta_1pct_{deixada}", float("nan")) if deixada else float("nan"),
        ap_deixada=_ap_da_tipologia(score, verdade, deixada) if deixada else float("nan"),
        ap=m["average_precision"],
        recall=m["recall_alerta_1pct"],
        segundos=time.monotonic() - inicio,
    )
    return linha, m, score


def _br(x: float, casas: int = 0) -> str:
    """Número no formato brasileiro: 928.069 e 0,832."""
    return f"{x:,.{casas}f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{_br(100 * x, 1)}%"


def _num(x: float) -> str:
    return "—" if np.isnan(x) else _br(x, 3)


def tabela(linhas: list[Linha], base: Linha, recall_base: dict[str, float], ap_base: dict[str, float]) -> str:
    """A tabela em markdown: cada tipologia fora do treino contra a mesma tipologia com tudo no treino."""
    cab = [
        "| tipologia fora do treino | fraudes tiradas do treino (com MED no corte) | fraudes dela no teste "
        "| recall nela a 1%: fora / com tudo | AP dela: fora / com tudo | AP geral | recall geral a 1% |",
        "| --- | ---: | ---: | --- | --- | ---: | ---: |",
        f"| (nenhuma: linha de base) | 0 | — | — | — | {_num(base.ap)} | {_pct(base.recall)} |",
    ]
    for x in linhas:
        cab.append(
            f"| `{x.deixada}` | {x.removidas_treino} ({x.rotuladas_removidas}) | {x.fraudes_teste} "
            f"| {_pct(x.recall_deixada)} / {_pct(recall_base[x.deixada])} "
            f"| {_num(x.ap_deixada)} / {_num(ap_base[x.deixada])} | {_num(x.ap)} | {_pct(x.recall)} |"
        )
    return "\n".join(cab)


def _quebrar(texto: str) -> str:
    """Linhas de até 115 caracteres, como o resto dos documentos (o comando vai num bloco à parte, inteiro)."""
    return textwrap.fill(texto, 115, break_long_words=False, break_on_hyphens=False)


def escrever_secao(documento: Path, texto: str) -> None:
    """Troca o que está entre os marcadores de ``documento`` por ``texto`` (os marcadores ficam)."""
    escrever_entre_marcadores(documento, texto, INICIO_SECAO, FIM_SECAO)


def escrever_entre_marcadores(documento: Path, texto: str, inicio: str, fim: str) -> None:
    """Troca o que está entre ``inicio`` e ``fim`` em ``documento`` por ``texto``; cada comando tem os seus."""
    atual = documento.read_text(encoding="utf-8")
    if inicio not in atual or fim not in atual:
        raise ValueError(f"{documento}: faltam os marcadores {inicio!r} e {fim!r}")
    antes, resto = atual.split(inicio, 1)
    _, depois = resto.split(fim, 1)
    documento.write_text(f"{antes}{inicio}\n{texto.strip()}\n{fim}{depois}", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--clientes", type=int, default=20_000)
    args.add_argument("--dias", type=float, default=28.0)
    args.add_argument("--semente", type=int, default=42)
    args.add_argument("--mistura", type=ler_mistura, default=dict(MISTURA_PADRAO), help="padrao, original ou pesos")
    args.add_argument("--escrever", type=Path, metavar="DOC", help="grava a seção entre os marcadores deste .md")
    args.add_argument(
        "--so-linha-de-base", action="store_true", help="só o treino com tudo (e as regras): AP e recall de uma mistura"
    )
    a = args.parse_args(argv)
    carga_inicio, inicio = os.getloadavg(), time.monotonic()
    dados = simular(Parametros(semente=a.semente, clientes=a.clientes, dias=a.dias, mistura=a.mistura))
    s_simulacao = time.monotonic() - inicio
    preparados = preparar_treino(dados.transacoes, dados.med, dados.gabarito)
    s_features = time.monotonic() - inicio - s_simulacao
    tip_treino = (
        preparados.treino[["end_to_end_id"]]
        .merge(dados.gabarito[["end_to_end_id", "fraude", "tipologia"]], on="end_to_end_id", how="left")
        .pipe(lambda g: np.where(g["fraude"].fillna(0).to_numpy() == 1, g["tipologia"].fillna("").to_numpy(), ""))
    )
    verdade = preparados.verdade_teste
    tipologias = sorted(set(verdade.loc[verdade["fraude"] == 1, "tipologia"]))
    print(
        f"simulação {s_simulacao:.0f} s, features {s_features:.0f} s: {preparados.transacoes} transações, "
        f"treino {len(preparados.treino)}, teste {len(preparados.teste)}; tipologias no teste: {', '.join(tipologias)}"
    )
    base, metricas_base, score_base = medir(preparados, tip_treino, None, a.semente)
    print(f"linha de base: AP {base.ap:.3f}, recall a 1% {base.recall:.1%} ({base.segundos:.0f} s)", flush=True)
    regras = ajustar_candidatos(preparados, ("regras",), a.semente)
    ap_regras = avaliar_no_teste(preparados, regras, TAXA_ALERTA, TAXA_ALERTA / 10).metricas["regras"]
    ap_regras = ap_regras["average_precision"]
    print(f"só regras: AP {ap_regras:.3f} (gbm {base.ap / ap_regras:.0f}x)", flush=True)
    por_tipologia = {t: metricas_base.get(f"recall_alerta_1pct_{t}", float("nan")) for t in tipologias}
    print("recall a 1% por tipologia, com tudo:", {t: round(r, 3) for t, r in por_tipologia.items()}, flush=True)
    if a.so_linha_de_base:
        return
    recall_base = {t: metricas_base.get(f"recall_alerta_1pct_{t}", float("nan")) for t in tipologias}
    ap_base = {t: _ap_da_tipologia(score_base, verdade, t) for t in tipologias}
    linhas = []
    for tipologia in tipologias:
        linha, _, _ = medir(preparados, tip_treino, tipologia, a.semente)
        print(
            f"sem {tipologia}: recall nela {linha.recall_deixada:.1%} (com tudo {recall_base[tipologia]:.1%}), "
            f"AP geral {linha.ap:.3f} ({linha.segundos:.0f} s)",
            flush=True,
        )
        linhas.append(linha)
    total, carga_fim = time.monotonic() - inicio, os.getloadavg()
    threads = os.environ.get("OMP_NUM_THREADS")  # com a máquina dividida, 1 thread treina duas vezes mais rápido
    comando = f"OMP_NUM_THREADS={threads} " if threads else ""
    comando += f".venv/bin/python -m machine_learning.generalizacao --clientes {a.clientes} --dias {a.dias:g}"
    comando += f" --semente {a.semente}"
    pesos = {k: v for k, v in a.mistura.items() if v}
    if pesos != MISTURA_PADRAO:
        nome = next((n for n, m in MISTURAS_NOMEADAS.items() if m == pesos), None)
        comando += " --mistura " + (nome or ",".join(f"{k}={v:g}" for k, v in a.mistura.items() if v))
    rodape = (
        f"Semente {a.semente}, {_br(a.clientes)} clientes, "
        f"{a.dias:g} dias: {_br(preparados.transacoes)} transações, {_br(len(preparados.teste))} no teste. "
        f"Rodado em {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, em {_br(total / 60)} min ({_br(s_simulacao)} s de "
        f"simulação, {_br(s_features)} s de features, cerca de {_br(base.segundos)} s por treino), numa máquina de "
        f"{os.cpu_count()} núcleos com carga média de 1 min (`os.getloadavg`) de {_br(carga_inicio[0], 1)} no "
        f"início e {_br(carga_fim[0], 1)} no fim, com outros trabalhos rodando. Só o candidato `gbm` (o escolhido "
        f"no treino padrão), sem MLflow. AP só de regras no mesmo teste: {_num(ap_regras)} (o `gbm` com tudo dá "
        f"{_br(base.ap / ap_regras, 0)}×)."
    )
    texto = f"{tabela(linhas, base, recall_base, ap_base)}\n\n```\n{comando} --escrever docs/modelo.md\n```\n\n"
    texto += _quebrar(rodape)
    print(texto)
    if a.escrever:
        escrever_secao(a.escrever, texto)
        print(f"seção gravada em {a.escrever}")


if __name__ == "__main__":
    main()
