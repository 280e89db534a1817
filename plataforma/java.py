"""Localiza o Java 17+ exigido pelo Spark e pelo broker Kafka local."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from plataforma.erros import ErroDeAmbiente

VERSAO_MINIMA = 17


@cache
def verificar_java(minimo: int = VERSAO_MINIMA) -> str:
    """Devolve o caminho do executável ``java`` ou explica por que não serve.

    Verificar antes de lançar a JVM troca o obscuro "Java gateway process exited" do PySpark por uma
    mensagem acionável.
    """
    java_home = os.environ.get("JAVA_HOME")
    candidato = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not candidato or not Path(candidato).exists():
        origem = f"JAVA_HOME={java_home}" if java_home else "PATH"
        raise ErroDeAmbiente(
            f"Java não encontrado ({origem}). O Spark e o broker Kafka local precisam do Java "
            f"{minimo} ou mais novo: instale o OpenJDK {minimo} (ex.: 'apt-get install openjdk-{minimo}-jdk-headless') "
            "e deixe 'java' no PATH ou defina JAVA_HOME."
        )
    saida = subprocess.run([candidato, "-version"], capture_output=True, text=True, check=False)
    texto = saida.stderr + saida.stdout
    achado = re.search(r'version "(\d+)(?:\.(\d+))?', texto)
    if not achado:
        raise ErroDeAmbiente(f"Não consegui ler a versão do Java em {candidato}: {texto.strip()[:200]}")
    principal = int(achado.group(1))
    if principal == 1:  # Java 8 e anteriores: "1.8.0_..."
        principal = int(achado.group(2) or 0)
    if principal < minimo:
        raise ErroDeAmbiente(
            f"Java {principal} em {candidato} é antigo demais: o Spark 4 e o Kafka 4 precisam do Java {minimo}+."
        )
    return candidato
