"""Medição do ``docs/modelo.md``: simulação padrão (semente fixa), divisão honesta, treino e registro.

Uso: ``.venv/bin/python -m machine_learning.medicao [--clientes 20000] [--dias 56] [--dados /tmp/medicao]``;
``--regras`` não treina: mostra, no teste, quantas transações cada regra marca e com que precisão e recall.
``--fracao-laranja-alugada 0 --fracao-laranja-dormente 0`` mede com todas as laranjas novas (o simulador de antes);
``--mistura original``, com as seis primeiras tipologias (antes das mecânicas de generalização).
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd

from machine_learning.dados_simulados import DadosSimulados, simular
from machine_learning.decisao import REGRAS, sinais
from machine_learning.rotulos import dividir_no_tempo
from machine_learning.treino import calcular_features, preparar_entrada, treinar
from plataforma.config import Configuracao
from simulador import Parametros
from simulador.parametros import MISTURA_PADRAO, ler_mistura


def analisar_regras(dados: DadosSimulados) -> pd.DataFrame:
    """Cada regra da decisão (``machine_learning.decisao.REGRAS``, as mesmas do stream) sozinha na janela de teste,
    contra o gabarito."""
    f = calcular_features(preparar_entrada(dados.transacoes), dados.med)
    f = f.merge(dados.gabarito, on="end_to_end_id", how="left")
    _, no_teste = dividir_no_tempo(f["data_hora"]).mascaras(f["data_hora"])
    teste = f[no_teste.to_numpy()]
    acionadas, fraude = sinais(teste), teste["fraude"].fillna(0).to_numpy() == 1
    linhas = []
    for regra, marca in zip(REGRAS, acionadas.T, strict=True):
        linhas.append(
            {
                "regra": regra.nome,
                "dura": regra.dura,
                "marcadas": int(marca.sum()),
                "taxa_alerta": marca.mean(),
                "precisao": fraude[marca].mean() if marca.any() else float("nan"),
                "recall": marca[fraude].mean(),
            }
        )
    return pd.DataFrame(linhas)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--clientes", type=int, default=20_000)
    args.add_argument("--dias", type=float, default=56.0)  # 8 semanas: ~39 dias de treino (docs/modelo.md)
    args.add_argument("--semente", type=int, default=42)
    args.add_argument("--dados", default="/tmp/detector-pix-medicao", help="pasta do MLflow desta medição")
    args.add_argument("--regras", action="store_true", help="só a análise das regras no teste (sem treino)")
    args.add_argument("--fracao-laranja-alugada", type=float, default=Parametros.fracao_laranja_alugada)
    args.add_argument(
        "--fracao-laranja-dormente", type=float, default=Parametros.fracao_laranja_dormente,
        help="com as duas frações em 0, toda laranja é nova (como no simulador de antes)",
    )  # fmt: skip
    args.add_argument("--mistura", type=ler_mistura, default=dict(MISTURA_PADRAO), help="padrao, original ou pesos")
    a = args.parse_args()
    inicio = time.monotonic()
    dados = simular(
        Parametros(
            semente=a.semente,
            clientes=a.clientes,
            dias=a.dias,
            fracao_laranja_alugada=a.fracao_laranja_alugada,
            fracao_laranja_dormente=a.fracao_laranja_dormente,
            mistura=a.mistura,
        )
    )
    print(f"simulação: {len(dados.transacoes)} transações, {len(dados.med)} MED ({time.monotonic() - inicio:.0f} s)")
    if a.regras:
        print(analisar_regras(dados).to_string(index=False))
        return
    r = treinar(dados.transacoes, Configuracao().com(dados_dir=a.dados), med=dados.med, gabarito=dados.gabarito)
    print(f"escolhido: {r.escolhido}; limiares: {r.limiares}; run {r.run_id}; versão {r.versao}")
    print(json.dumps(r.metricas, indent=2, ensure_ascii=False))
    print(f"tempo total: {time.monotonic() - inicio:.0f} s")


if __name__ == "__main__":
    main()
