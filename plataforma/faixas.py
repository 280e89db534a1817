"""As três decisões possíveis para um Pix, sem dependência alguma.

Por que à parte de ``plataforma.decisoes``: o modelo registrado leva este módulo no seu ``code/`` (code_paths do
MLflow) e precisa carregar onde não há Spark; o esquema das decisões, em ``plataforma.decisoes``, importa o PySpark.
"""

from __future__ import annotations

APROVAR, REVISAR, BLOQUEAR = "APROVAR", "REVISAR", "BLOQUEAR"
DECISOES = (APROVAR, REVISAR, BLOQUEAR)  # em ordem de gravidade: tabelas e painéis as listam assim
