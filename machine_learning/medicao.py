"""Medição do ``docs/modelo.md``: simulação padrão (semente fixa), divisão honesta, treino e registro.

Uso: ``.venv/bin/python -m machine_learning.medicao [--clientes 20000] [--dias 28] [--dados /tmp/medicao]``.
"""

from __future__ import annotations

import argparse
import json
import time

from machine_learning.dados_simulados import simular
from machine_learning.treino import treinar
from plataforma.config import Configuracao
from simulador import Parametros


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--clientes", type=int, default=20_000)
    args.add_argument("--dias", type=float, default=28.0)
    args.add_argument("--semente", type=int, default=42)
    args.add_argument("--dados", default="/tmp/detector-pix-medicao", help="pasta do MLflow desta medição")
    a = args.parse_args()
    inicio = time.monotonic()
    dados = simular(Parametros(semente=a.semente, clientes=a.clientes, dias=a.dias))
    print(f"simulação: {len(dados.transacoes)} transações, {len(dados.med)} MED ({time.monotonic() - inicio:.0f} s)")
    r = treinar(dados.transacoes, Configuracao().com(dados_dir=a.dados), med=dados.med, gabarito=dados.gabarito)
    print(f"escolhido: {r.escolhido}; limiares: {r.limiares}; run {r.run_id}; versão {r.versao}")
    print(json.dumps(r.metricas, indent=2, ensure_ascii=False))
    print(f"tempo total: {time.monotonic() - inicio:.0f} s")


if __name__ == "__main__":
    main()
