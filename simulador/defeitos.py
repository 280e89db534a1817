"""Entrada ruim de propósito, para exercitar a quarentena, a deduplicação e o watermark.

As mensagens inválidas são cópias corrompidas de uma mensagem real, com um end_to_end_id próprio (não
entram no gabarito); duplicatas são cópias exatas; atrasadas são mensagens reais entregues horas
depois da sua data_hora. Cada uma sai marcada com o motivo que o validador do contrato deve dar.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from processamento import contrato
from simulador import identificadores as ids

if TYPE_CHECKING:
    from simulador.parametros import Parametros

# Motivo que o validador dá a cada tipo de defeito (com o campo, quando o defeito escolhe um).
MOTIVO_POR_DEFEITO = {
    "json_quebrado": contrato.JSON_INVALIDO,
    "campo_ausente": f"{contrato.CAMPO_AUSENTE}:<campo>",
    "tipo_errado": f"{contrato.TIPO_INVALIDO}:valor",
    "end_to_end_id_invalido": contrato.END_TO_END_ID_INVALIDO,
    "documento_invalido": f"{contrato.DOCUMENTO_INVALIDO}:pagador.documento",
    "valor_negativo": f"{contrato.VALOR_INVALIDO}:valor",
    "chave_invalida": contrato.CHAVE_INVALIDA,
    "duplicada": "",
    "atrasada": "",
}
CAMPOS_REMOVIVEIS = ("end_to_end_id", "data_hora", "valor", "forma_iniciacao", "pagador", "recebedor", "canal")
MINUTO = 60_000


@dataclass(frozen=True)
class Defeito:
    posicao: int  # índice da mensagem em Lote.transacoes
    tipo: str  # um de parametros.DEFEITOS
    motivo: str  # o único motivo esperado do validador ('' = mensagem válida)


def _json(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _corromper(tipo: str, linha: str, rng: np.random.Generator) -> tuple[str, str] | None:
    obj = json.loads(linha)
    if tipo != "end_to_end_id_invalido":
        obj["end_to_end_id"] = obj["end_to_end_id"][:21] + ids.textos_aleatorios(rng, 1, 11)[0]
    if tipo == "json_quebrado":
        texto = _json(obj)
        return texto[: int(rng.integers(1, len(texto) - 1))], contrato.JSON_INVALIDO
    if tipo == "campo_ausente":
        campo = CAMPOS_REMOVIVEIS[int(rng.integers(len(CAMPOS_REMOVIVEIS)))]
        del obj[campo]
        return _json(obj), f"{contrato.CAMPO_AUSENTE}:{campo}"
    if tipo == "tipo_errado":
        obj["valor"] = f"{obj['valor']:.2f}"
        return _json(obj), f"{contrato.TIPO_INVALIDO}:valor"
    if tipo == "end_to_end_id_invalido":
        end_to_end_id = obj["end_to_end_id"]
        variantes = (
            "e" + end_to_end_id[1:],
            end_to_end_id[:13] + "13" + end_to_end_id[15:],
            end_to_end_id[:-1],
            end_to_end_id[:-1] + "-",
            "E" + end_to_end_id[1:5] + "A" + end_to_end_id[6:],
        )
        obj["end_to_end_id"] = variantes[int(rng.integers(len(variantes)))]
        return _json(obj), contrato.END_TO_END_ID_INVALIDO
    if tipo == "documento_invalido":
        doc = obj["pagador"]["documento"]
        obj["pagador"]["documento"] = doc[:-1] + str((int(doc[-1]) + 1) % 10)
        return _json(obj), f"{contrato.DOCUMENTO_INVALIDO}:pagador.documento"
    if tipo == "valor_negativo":
        obj["valor"] = -obj["valor"]
        return _json(obj), f"{contrato.VALOR_INVALIDO}:valor"
    if tipo == "chave_invalida":
        if "chave" not in obj:
            return None
        chave, tipo_chave = obj["chave"], obj["tipo_chave"]
        if tipo_chave in ("CPF", "CNPJ"):
            obj["chave"] = chave[:-1] + str((int(chave[-1]) + 1) % 10)
        elif tipo_chave == "TELEFONE":
            obj["chave"] = chave[1:]
        else:
            obj["chave"] = chave.upper()
        return _json(obj), contrato.CHAVE_INVALIDA
    raise ValueError(tipo)


class FilaDeAtrasadas:
    """Mensagens reais retidas para sair num lote posterior (defeito ``atrasada``), em ordem de saída."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str, str, int]] = []  # (quando sai, seq, linha, chave, tempo)
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def reter(self, quando: int, linha: str, chave: str, tempo: int) -> None:
        self._seq += 1  # desempate estável: duas com o mesmo horário saem na ordem em que entraram
        heapq.heappush(self._heap, (quando, self._seq, linha, chave, tempo))

    def liberar(self, ate: int, todas: bool = False) -> list[tuple[str, str, int]]:
        """As que saem antes de ``ate`` (ou todas, no último lote): (linha, chave, tempo)."""
        saem = []
        while self._heap and (todas or self._heap[0][0] < ate):
            _, _, linha, chave, tempo = heapq.heappop(self._heap)
            saem.append((linha, chave, tempo))
        return saem


def injetar_defeitos(
    p: Parametros,
    rng: np.random.Generator,
    atrasadas: FilaDeAtrasadas,
    linhas: list[str],
    chaves: list[str],
    tempos: list[int],
    t1: int,
    ultimo: bool,
) -> tuple[list[str], list[str], list[int], list[Defeito]]:
    """Mistura no lote as mensagens ruins; devolve as listas novas e onde ficou cada defeito."""
    n = len(linhas)
    extras: list[tuple[float, str, str, int, str, str]] = []  # (posição, linha, chave, tempo, tipo, motivo)
    for linha, chave, tempo in atrasadas.liberar(t1, todas=ultimo):
        extras.append((float(rng.uniform(0, n + 1)), linha, chave, tempo, "atrasada", ""))
    removidas: set[int] = set()
    if p.taxa_invalidas > 0 and n:
        k = int(rng.binomial(n, p.taxa_invalidas))
        tipos = rng.integers(0, len(p.defeitos), k).tolist()
        fontes = rng.integers(0, n, k).tolist()
        for tipo_i, j in zip(tipos, fontes, strict=True):
            tipo = p.defeitos[tipo_i]
            if tipo == "atrasada":
                if j in removidas:
                    continue
                if ultimo:  # não há lote depois: vai para o fim deste
                    extras.append((n + 1.0, linhas[j], chaves[j], tempos[j], tipo, ""))
                else:
                    quando = tempos[j] + int(rng.uniform(10, 360) * MINUTO)
                    atrasadas.reter(quando, linhas[j], chaves[j], tempos[j])
                removidas.add(j)
            elif tipo == "duplicada":
                extras.append((float(rng.uniform(j + 0.5, n + 0.5)), linhas[j], chaves[j], tempos[j], tipo, ""))
            else:
                if tipo == "chave_invalida" and ',"chave":' not in linhas[j]:
                    j = next((i for i in range(j, n) if ',"chave":' in linhas[i]), -1)
                    if j < 0:
                        continue
                corrompida = _corromper(tipo, linhas[j], rng)
                if corrompida is not None:
                    extras.append((float(rng.uniform(0, n)), corrompida[0], chaves[j], tempos[j], tipo, corrompida[1]))
    if not extras and not removidas:
        return linhas, chaves, tempos, []
    base = [(float(i), linhas[i], chaves[i], tempos[i], "", "") for i in range(n) if i not in removidas]
    todas = sorted(base + extras, key=lambda x: x[0])
    defeitos = [Defeito(i, x[4], x[5]) for i, x in enumerate(todas) if x[4]]
    return [x[1] for x in todas], [x[2] for x in todas], [x[3] for x in todas], defeitos
