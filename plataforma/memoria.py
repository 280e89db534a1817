"""Coletor de lixo do Python num processo de latência baixa.

Por que: o processo da decisão carrega Spark, MLflow, pandas e scikit-learn (centenas de milhares de objetos que
vivem até o fim). Cada coleta da geração mais velha percorre todos eles: medido aqui, pausas de 250 a 370 ms no
meio do laço, o p99 inteiro da decisão. ``gc.freeze`` tira esses objetos das coletas; os do laço, de vida curta,
seguem coletados normalmente.
"""

from __future__ import annotations

import gc


def congelar_objetos_da_partida(coletar: bool = True) -> int:
    """Coleta (se ``coletar``) e deixa o que sobrou fora das próximas coletas. Devolve quantos ficaram de fora.

    Chamar depois da partida (e de carregar um modelo novo): um ciclo de objetos congelados que vire lixo depois
    não é mais coletado, então só o que vive até o fim deve estar vivo neste instante. Com o laço rodando,
    ``coletar=False``: a coleta completa seria a própria pausa que se quer evitar (o pouco lixo congelado junto
    é o preço).
    """
    if coletar:
        gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
