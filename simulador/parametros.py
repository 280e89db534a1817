"""Parâmetros do simulador: um objeto imutável, o mesmo na CLI, nos testes e na demo.

Por que tudo aqui: a semente e estes números determinam a saída byte a byte; qualquer botão novo
entra aqui para que a reprodutibilidade continue valendo.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

TIPOLOGIAS = (
    "falso_parente",
    "falsa_central",
    "sequestro_relampago",
    "account_takeover",
    "conta_laranja",
    "falso_qrcode",
    "valor_alto",
    "recebedor_comprometido",
    "pagador_comprometido",
    "mao_fantasma",
)
ABUSO_MED = "abuso_med"
LEGITIMA = "nenhuma"

# A mistura das seis primeiras tipologias, antes das mecânicas de generalização: ``--mistura original`` a reproduz
# byte a byte (as tipologias com peso 0 não sorteiam nada).
MISTURA_ORIGINAL: dict[str, float] = {
    "falso_parente": 0.20,
    "falsa_central": 0.18,
    "sequestro_relampago": 0.12,
    "account_takeover": 0.15,
    "conta_laranja": 0.20,
    "falso_qrcode": 0.15,
}
# Participação de cada tipologia nas transações fraudulentas (normalizada na hora do uso). As quatro mecânicas
# novas entram com peso modesto (1/6 das fraudes juntas): o modelo precisa vê-las para generalizar, sem que
# elas apaguem as seis de antes (docs/simulador.md).
MISTURA_PADRAO: dict[str, float] = MISTURA_ORIGINAL | {
    "valor_alto": 0.05,
    "recebedor_comprometido": 0.05,
    "pagador_comprometido": 0.05,
    "mao_fantasma": 0.05,
}
MISTURAS_NOMEADAS = {"padrao": MISTURA_PADRAO, "original": MISTURA_ORIGINAL}

# Tipos de entrada ruim injetados de propósito. Os 7 primeiros violam o contrato; os 2 últimos são
# mensagens válidas (deduplicação e watermark cuidam delas).
DEFEITOS = (
    "json_quebrado",
    "campo_ausente",
    "tipo_errado",
    "end_to_end_id_invalido",
    "documento_invalido",
    "valor_negativo",
    "chave_invalida",
    "duplicada",
    "atrasada",
)

INICIO_PADRAO = datetime(2026, 11, 2, tzinfo=UTC)  # uma segunda-feira


@dataclass(frozen=True)
class Parametros:
    """Botões do simulador. ``com(...)`` devolve uma cópia alterada."""

    semente: int = 42
    clientes: int = 20_000
    dias: float = 28.0
    inicio: datetime = INICIO_PADRAO
    taxa_fraude: float = 0.005  # fração das transações que são fraude
    mistura: dict[str, float] = field(default_factory=lambda: dict(MISTURA_PADRAO))
    pix_por_cliente_dia: float = 1.6  # média; cada cliente tem o seu hábito em torno dela
    fracao_med: float = 0.6  # fração das transações fraudulentas contestadas no MED
    taxa_abuso_med: float = 0.0004  # fração das transações legítimas com contestação falsa
    atraso_med_min_horas: float = 1.0
    atraso_med_max_dias: float = 80.0
    atraso_med_mediana_horas: float = 60.0
    taxa_invalidas: float = 0.0  # fração extra de mensagens defeituosas (0 = nenhuma)
    defeitos: tuple[str, ...] = DEFEITOS
    perfil_horario: bool = True  # False = intensidade constante (modo ao vivo, taxa estável)
    aceleracao: float = 1.0  # segundos simulados por segundo de relógio (modo ao vivo)
    alvo_por_lote: int = 50_000  # transações por lote gerado (desempenho)
    # Rajadas: (início, duração, fator) em segundos simulados desde o início; multiplicam o volume.
    rajadas: tuple[tuple[float, float, float], ...] = ()
    # De onde vem cada conta laranja ou de saque nova para o golpe (o resto é aberta na hora do golpe):
    # conta alugada/comprada de um cliente PF com histórico legítimo, ou conta aberta semanas antes
    # (identidade roubada) com pouca atividade até o primeiro uso. Por que: docs/simulador.md.
    fracao_laranja_alugada: float = 0.5
    fracao_laranja_dormente: float = 0.3
    # Botões das mecânicas (docs/simulador.md, "Tipologias"). Faixas (mín, máx) inclusivas.
    # conta_laranja: vítimas distintas, janela de recebimento (min) e fração repassada
    laranja_vitimas: tuple[int, int] = (5, 20)
    laranja_janela_min: tuple[float, float] = (20.0, 60.0)
    laranja_repasse: tuple[float, float] = (0.9, 0.98)
    # valor_alto: todo Pix do golpe fica acima do limiar (R$), até ``valor_alto_teto`` vezes ele
    valor_alto_limiar: float = 5_000.0
    valor_alto_teto: float = 6.0
    # recebedor_comprometido: um comerciante com histórico legítimo fica comprometido por tantas semanas
    recebedor_comprometido_semanas: float = 2.0
    recebedor_comprometido_historico_dias: float = 3.0
    # pagador_comprometido: conta tomada por tantos dias; Pix de golpe = fator x o valor habitual da conta
    pagador_comprometido_dias: float = 14.0
    pagador_comprometido_fator: float = 5.0
    pagador_comprometido_pix: tuple[int, int] = (3, 8)
    # mao_fantasma: rajada de muitos Pix em poucos minutos pelo aparelho da própria vítima
    mao_fantasma_pix: tuple[int, int] = (8, 25)
    mao_fantasma_minutos: float = 15.0

    def com(self, **mudancas: Any) -> Parametros:
        return replace(self, **mudancas)

    def __post_init__(self) -> None:
        if self.clientes < 50:
            raise ValueError(f"clientes precisa ser >= 50; recebido {self.clientes}")
        if self.dias <= 0:
            raise ValueError(f"dias precisa ser > 0; recebido {self.dias}")
        if not 0 <= self.taxa_fraude < 0.5:
            raise ValueError(f"taxa_fraude precisa estar em [0, 0.5); recebido {self.taxa_fraude}")
        if not 0 <= self.taxa_invalidas < 0.5:
            raise ValueError(f"taxa_invalidas precisa estar em [0, 0.5); recebido {self.taxa_invalidas}")
        if not 0 <= self.fracao_med <= 1:
            raise ValueError(f"fracao_med precisa estar em [0, 1]; recebido {self.fracao_med}")
        if not 0 < self.atraso_med_min_horas <= self.atraso_med_max_dias * 24:
            raise ValueError("atraso_med_min_horas precisa ser > 0 e <= atraso_med_max_dias * 24")
        desconhecidas = set(self.mistura) - set(TIPOLOGIAS)
        if desconhecidas or any(v < 0 for v in self.mistura.values()) or sum(self.mistura.values()) <= 0:
            raise ValueError(f"mistura inválida {self.mistura}; tipologias aceitas: {', '.join(TIPOLOGIAS)}")
        if set(self.defeitos) - set(DEFEITOS):
            raise ValueError(f"defeitos desconhecidos; aceitos: {', '.join(DEFEITOS)}")
        if any(len(r) != 3 or r[0] < 0 or r[1] <= 0 or r[2] <= 0 for r in self.rajadas):
            raise ValueError(f"rajadas: use (início_s >= 0, duração_s > 0, fator > 0); recebido {self.rajadas}")
        a, d = self.fracao_laranja_alugada, self.fracao_laranja_dormente
        if not (0 <= a <= 1 and 0 <= d <= 1 and a + d <= 1):
            raise ValueError(
                f"fracao_laranja_alugada e fracao_laranja_dormente em [0, 1], soma <= 1; recebido {a}, {d}"
            )
        for nome in ("laranja_vitimas", "laranja_janela_min", "laranja_repasse", "pagador_comprometido_pix",
                     "mao_fantasma_pix"):  # fmt: skip
            minimo, maximo = getattr(self, nome)
            if not 0 < minimo <= maximo:
                raise ValueError(f"{nome}: use (mínimo > 0, máximo >= mínimo); recebido {getattr(self, nome)}")
        if self.laranja_repasse[1] > 1:
            raise ValueError(f"laranja_repasse é uma fração (<= 1); recebido {self.laranja_repasse}")
        positivos = {
            "valor_alto_limiar": self.valor_alto_limiar,
            "recebedor_comprometido_semanas": self.recebedor_comprometido_semanas,
            "pagador_comprometido_dias": self.pagador_comprometido_dias,
            "mao_fantasma_minutos": self.mao_fantasma_minutos,
        }
        for nome, valor in positivos.items():
            if valor <= 0:
                raise ValueError(f"{nome} precisa ser > 0; recebido {valor}")
        if self.valor_alto_teto <= 1 or self.pagador_comprometido_fator <= 1:
            raise ValueError("valor_alto_teto e pagador_comprometido_fator precisam ser > 1")
        if self.recebedor_comprometido_historico_dias < 0:
            raise ValueError("recebedor_comprometido_historico_dias precisa ser >= 0")
        if self.inicio.tzinfo is None:
            raise ValueError("inicio precisa ter fuso horário (UTC)")


def ler_mistura(texto: str) -> dict[str, float]:
    """``falso_parente=2,conta_laranja=1`` -> pesos; tipologias omitidas ficam com peso 0.

    ``padrao`` e ``original`` (a mistura das seis primeiras tipologias) são atalhos.
    """
    if texto.strip() in MISTURAS_NOMEADAS:
        return dict(MISTURAS_NOMEADAS[texto.strip()])
    mistura = dict.fromkeys(TIPOLOGIAS, 0.0)
    for item in texto.split(","):
        nome, sep, peso = item.partition("=")
        nome = nome.strip()
        if not sep or nome not in mistura:
            raise ValueError(
                f"mistura: use tipologia=peso separados por vírgula (ou {' / '.join(MISTURAS_NOMEADAS)}); "
                f"tipologias: {', '.join(TIPOLOGIAS)}"
            )
        mistura[nome] = float(peso)
    return mistura
