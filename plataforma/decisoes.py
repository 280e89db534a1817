"""As três decisões possíveis para um Pix, declaradas uma vez.

Por que na plataforma: são parte do contrato de ``pix.decisoes`` e da ``gold_decisoes``, e quem as usa mora em
camadas diferentes. A decisão (``machine_learning``) as produz; as métricas (``monitoramento``, abaixo dela) criam
uma série por decisão desde a partida. A plataforma é a camada que as duas podem importar.
"""

from __future__ import annotations

APROVAR, REVISAR, BLOQUEAR = "APROVAR", "REVISAR", "BLOQUEAR"
DECISOES = (APROVAR, REVISAR, BLOQUEAR)  # em ordem de gravidade: tabelas e painéis as listam assim
