"""Erros do ambiente local com mensagens que dizem o quê, onde e como resolver."""


class ErroDeAmbiente(RuntimeError):
    """O ambiente local não permite continuar (Java ausente, porta ocupada, broker parado...)."""
