"""O painel do Grafana (``detector-pix.json``) desenhado num PNG a partir de um Prometheus, sem Grafana.

Por que: sem Docker o laptop não tem Grafana, mas tem Prometheus (pacote Debian). Este módulo lê o JSON
provisionado, roda a **mesma PromQL** de cada alvo com ``query_range`` e desenha a grade do painel (``gridPos``
de 24 colunas, linhas ``row`` como títulos de seção). A demo termina mostrando o que a operação veria, e uma
consulta do JSON que não devolve nada aparece como "sem dados" em vez de passar despercebida.

As variáveis do Grafana viram valores pela mesma regra do Grafana, com o intervalo mínimo igual ao intervalo
de raspagem do Prometheus:

- ``$__interval`` = o passo da ``query_range`` (um ponto por passo, nunca menor que a raspagem);
- ``$__rate_interval`` = ``max($__interval + raspagem, 4 × raspagem)``: a janela do ``rate()`` sempre cobre
  pelo menos duas raspagens, mesmo com uma falhando;
- ``$__range`` = a janela inteira (fim − início, arredondada para cima, em segundos).

Uso avulso, contra o Prometheus do ``docker compose`` ou do ``python -m monitoramento.local``::

    python -m monitoramento.painel --prometheus http://127.0.0.1:9090 --minutos 30
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from plataforma.config import RAIZ_PROJETO
from plataforma.erros import ErroDeAmbiente

ARQUIVO_PAINEL = RAIZ_PROJETO / "monitoramento" / "grafana" / "dashboards" / "detector-pix.json"
PONTOS_POR_SERIE = 300  # como um painel de ~300 px no Grafana: o passo cresce com a janela
SEM_DADOS = "sem dados"

# Uma chamada à API HTTP do Prometheus: (caminho, **parâmetros) -> campo "data". PrometheusLocal.api serve.
ApiPrometheus = Callable[..., Any]

# Cores com nome do Grafana (tema escuro) e a paleta clássica das séries.
CORES_GRAFANA = {
    "green": "#73BF69",
    "red": "#F2495C",
    "orange": "#FF9830",
    "yellow": "#FADE2A",
    "blue": "#5794F2",
    "purple": "#B877D9",
    "text": "#CCCCDC",
}
PALETA = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642")
FUNDO, FUNDO_PAINEL, BORDA, TEXTO, TEXTO_FRACO = "#111217", "#181B1F", "#2C3235", "#CCCCDC", "#8E8E8E"


# Variáveis e formatação (funções puras) --------------------------------------------------------------
def duracao_promql(segundos: float) -> str:
    """Duração no formato do PromQL: ``4s``, ``1500ms`` (o PromQL não aceita ``1.5s``)."""
    milis = round(segundos * 1000)
    return f"{milis // 1000}s" if milis % 1000 == 0 else f"{milis}ms"


def segundos_da_duracao(texto: str) -> float:
    """``15s``, ``1m30s``, ``500ms`` -> segundos (o formato do ``scrape_interval``)."""
    partes = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", texto.strip())
    if not partes or "".join(n + u for n, u in partes) != texto.strip():
        raise ValueError(f"duração do Prometheus inválida: {texto!r}")
    fator = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * fator[u] for n, u in partes)


@dataclass(frozen=True)
class Janela:
    """O intervalo de tempo desenhado e o passo da ``query_range``."""

    inicio: float  # epoch (s)
    fim: float
    passo_s: float
    raspagem_s: float

    @classmethod
    def para(cls, inicio: float, fim: float, raspagem_s: float, pontos: int = PONTOS_POR_SERIE) -> Janela:
        """Passo inteiro em segundos, nunca menor que a raspagem: mais pontos que raspagens seriam só repetição."""
        passo = max(raspagem_s, math.ceil(max(fim - inicio, 1.0) / pontos))
        return cls(inicio, fim, float(passo), raspagem_s)

    @property
    def duracao_s(self) -> int:
        return math.ceil(self.fim - self.inicio)

    def variaveis(self) -> dict[str, str]:
        """As variáveis globais do Grafana que uma expressão de painel pode usar."""
        rate = max(self.passo_s + self.raspagem_s, 4 * self.raspagem_s)
        return {
            "__interval": duracao_promql(self.passo_s),
            "__interval_ms": str(round(self.passo_s * 1000)),
            "__rate_interval": duracao_promql(rate),
            "__rate_interval_ms": str(round(rate * 1000)),
            "__range": duracao_promql(self.duracao_s),
            "__range_s": str(self.duracao_s),
            "__range_ms": str(self.duracao_s * 1000),
        }


_VARIAVEL = re.compile(r"\$(?:\{(__\w+)\}|(__\w+))")


def substituir_variaveis(expr: str, variaveis: Mapping[str, str]) -> str:
    """Troca ``$__x`` e ``${__x}``; uma variável desconhecida fica como está (o Prometheus então recusa e diz)."""

    def trocar(m: re.Match[str]) -> str:
        return variaveis.get(m.group(1) or m.group(2), m.group(0))

    return _VARIAVEL.sub(trocar, expr)


def formatar_legenda(formato: str, rotulos: Mapping[str, str], expr: str = "") -> str:
    """``legendFormat`` como o Grafana: ``{{rotulo}}`` vira o valor (ou vazio); sem formato, o seletor da série."""
    if formato and formato != "__auto":
        return re.sub(r"\{\{\s*([^}]+?)\s*\}\}", lambda m: rotulos.get(m.group(1), ""), formato)
    nome = rotulos.get("__name__", "")
    resto = sorted((k, v) for k, v in rotulos.items() if k != "__name__")
    if not resto:
        return nome or expr
    return nome + "{" + ", ".join(f'{k}="{v}"' for k, v in resto) + "}"


def _numero(valor: float) -> str:
    """Até três algarismos significativos, vírgula decimal, sem zeros à direita."""
    absoluto = abs(valor)
    casas = 0 if absoluto >= 100 or absoluto == 0 else 1 if absoluto >= 10 else 2 if absoluto >= 0.01 else 4
    texto = f"{valor:.{casas}f}"
    if "." in texto:
        texto = texto.rstrip("0").rstrip(".")
    return "0" if texto in ("-0", "") else texto.replace(".", ",")


def _curto(valor: float) -> str:
    for limite, sufixo in ((1e9, " bi"), (1e6, " mi"), (1e3, " mil")):
        if abs(valor) >= limite:
            return _numero(valor / limite) + sufixo
    return _numero(valor)


def formatar_valor(valor: float, unidade: str) -> str:
    """Um valor na unidade do painel (``percentunit``, ``s``, ``reqps``, ``short``); outras unidades como ``short``."""
    if not math.isfinite(valor):
        return "—" if math.isnan(valor) else ("∞" if valor > 0 else "-∞")
    if unidade == "percentunit":
        return _numero(valor * 100) + "%"
    if unidade == "percent":
        return _numero(valor) + "%"
    if unidade == "s":
        absoluto = abs(valor)
        if 0 < absoluto < 1:
            return _numero(valor * 1000) + " ms"
        if absoluto < 120:
            return _numero(valor) + " s"
        return _numero(valor / 60) + " min" if absoluto < 7200 else _numero(valor / 3600) + " h"
    if unidade == "reqps":
        return _curto(valor) + "/s"
    return _curto(valor)


def cor_grafana(nome: str | None) -> str:
    if not nome:
        return TEXTO
    return CORES_GRAFANA.get(nome.removeprefix("semi-dark-").removeprefix("dark-").removeprefix("light-"), nome)


# O JSON do painel ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alvo:
    ref: str
    expr: str
    legenda: str


@dataclass(frozen=True)
class Painel:
    """O que o desenho usa de um painel do Grafana."""

    id: int
    tipo: str
    titulo: str
    grade: tuple[int, int, int, int]  # x, y, w, h em unidades do gridPos
    alvos: tuple[Alvo, ...] = ()
    unidade: str = "short"
    limiares: tuple[tuple[float | None, str], ...] = ()  # (a partir de, cor); o primeiro é a base (None)
    mapeamentos: tuple[tuple[float, str, str], ...] = ()  # (valor, texto, cor)
    minimo: float | None = None
    linhas_de_limiar: bool = False
    empilhado: bool = False
    opacidade: float = 0.0
    modo_cor: str = "value"
    legenda_direita: bool = False
    ultimo_na_legenda: bool = False


def _painel(bruto: Mapping[str, Any]) -> Painel:
    padrao = bruto.get("fieldConfig", {}).get("defaults", {})
    custom = padrao.get("custom", {})
    opcoes = bruto.get("options", {})
    legenda = opcoes.get("legend", {})
    grade = bruto.get("gridPos", {})
    mapeamentos = [
        (float(valor), str(m.get("text", valor)), str(m.get("color", "")))
        for mapa in padrao.get("mappings", [])
        if mapa.get("type") == "value"
        for valor, m in mapa.get("options", {}).items()
    ]
    return Painel(
        id=int(bruto.get("id", 0)),
        tipo=str(bruto.get("type", "")),
        titulo=str(bruto.get("title", "")),
        grade=(int(grade.get("x", 0)), int(grade.get("y", 0)), int(grade.get("w", 12)), int(grade.get("h", 8))),
        alvos=tuple(
            Alvo(str(a.get("refId", "")), str(a["expr"]), str(a.get("legendFormat", "")))
            for a in bruto.get("targets", [])
            if a.get("expr") and not a.get("hide")
        ),
        unidade=str(padrao.get("unit", "short")),
        limiares=tuple(
            (p.get("value"), str(p.get("color", ""))) for p in padrao.get("thresholds", {}).get("steps", [])
        ),
        mapeamentos=tuple(mapeamentos),
        minimo=padrao.get("min"),
        linhas_de_limiar=custom.get("thresholdsStyle", {}).get("mode", "off") != "off",
        empilhado=custom.get("stacking", {}).get("mode", "none") not in ("none", ""),
        opacidade=float(custom.get("fillOpacity", 0)) / 100,
        modo_cor=str(opcoes.get("colorMode", "value")),
        legenda_direita=legenda.get("placement") == "right",
        ultimo_na_legenda=bool({"lastNotNull", "last"} & set(legenda.get("calcs", []))),
    )


def ler_painel(caminho: Path = ARQUIVO_PAINEL) -> tuple[str, list[Painel]]:
    """Título e painéis do JSON; os painéis de dentro de uma ``row`` recolhida entram também."""
    bruto = json.loads(Path(caminho).read_text(encoding="utf-8"))
    paineis: list[Painel] = []
    for p in bruto.get("panels", []):
        paineis.append(_painel(p))
        paineis.extend(_painel(filho) for filho in p.get("panels", []))
    return str(bruto.get("title", "")), paineis


# Consulta ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Serie:
    nome: str
    tempos: tuple[float, ...]
    valores: tuple[float, ...]

    @property
    def tem_dados(self) -> bool:
        return any(math.isfinite(v) for v in self.valores)

    @property
    def ultimo(self) -> float:
        """O último valor finito (``lastNotNull`` do Grafana); NaN se não houver."""
        return next((v for v in reversed(self.valores) if math.isfinite(v)), math.nan)


@dataclass
class PainelConsultado:
    painel: Painel
    executadas: list[str] = field(default_factory=list)  # a PromQL de cada alvo depois da substituição
    series: list[Serie] = field(default_factory=list)
    erro: str = ""

    @property
    def tem_dados(self) -> bool:
        return any(s.tem_dados for s in self.series)


def consultar_alvo(api: ApiPrometheus, alvo: Alvo, janela: Janela) -> tuple[str, list[Serie]]:
    """A PromQL executada e as séries da ``query_range`` (uma por combinação de rótulos)."""
    expr = substituir_variaveis(alvo.expr, janela.variaveis())
    dados = api(
        "/api/v1/query_range", query=expr, start=f"{janela.inicio:.3f}", end=f"{janela.fim:.3f}",
        step=duracao_promql(janela.passo_s),
    )  # fmt: skip
    series = [
        Serie(
            formatar_legenda(alvo.legenda, r["metric"], alvo.expr),
            tuple(float(t) for t, _ in r["values"]),
            tuple(float(v) for _, v in r["values"]),
        )
        for r in dados["result"]
    ]
    return expr, sorted(series, key=lambda s: s.nome)


def consultar(api: ApiPrometheus, paineis: Sequence[Painel], janela: Janela) -> list[PainelConsultado]:
    """Todos os alvos de todos os painéis; um alvo que falha marca o painel, não interrompe os outros."""
    consultados = []
    for painel in paineis:
        consultado = PainelConsultado(painel)
        for alvo in painel.alvos:
            try:
                expr, series = consultar_alvo(api, alvo, janela)
            except (ErroDeAmbiente, OSError, KeyError, ValueError) as erro:
                consultado.executadas.append(substituir_variaveis(alvo.expr, janela.variaveis()))
                consultado.erro = str(erro)
                continue
            consultado.executadas.append(expr)
            consultado.series.extend(series)
        consultados.append(consultado)
    return consultados


def api_http(url: str) -> ApiPrometheus:
    """Um Prometheus qualquer pela URL (a mesma interface de ``PrometheusLocal.api``)."""

    def api(caminho: str, **parametros: str) -> Any:
        endereco = f"{url.rstrip('/')}{caminho}" + (f"?{urlencode(parametros)}" if parametros else "")
        try:
            with urllib.request.urlopen(endereco, timeout=10) as resposta:
                return json.load(resposta)["data"]
        except urllib.error.HTTPError as erro:
            raise ErroDeAmbiente(f"Prometheus recusou {endereco}: {erro.read().decode(errors='replace')}") from None
        except urllib.error.URLError as erro:
            raise ErroDeAmbiente(f"Prometheus não respondeu em {url}: {erro.reason}") from None

    return api


def intervalo_de_raspagem(api: ApiPrometheus) -> float:
    """O ``scrape_interval`` global do Prometheus (padrão 1 min), lido da configuração em uso."""
    configuracao = yaml.safe_load(api("/api/v1/status/config")["yaml"]) or {}
    return segundos_da_duracao(str(configuracao.get("global", {}).get("scrape_interval", "1m")))


# Desenho -------------------------------------------------------------------------------------------------
PX_COLUNA_LARGURA = 1800 / 24  # figura de 1800 px de grade: 24 colunas
PX_LINHA = 36  # uma unidade de altura do gridPos (o Grafana usa 30 px + margem)
PX_MARGEM = 8
PX_CABECALHO = 70
DPI = 100
FONTE = 8.5  # eixos e legendas, em pontos: legível com a imagem reduzida à largura de uma página


@dataclass(frozen=True)
class Retangulo:
    """Área em pixels, origem no canto superior esquerdo da figura."""

    x: float
    y: float
    w: float
    h: float


class _Tela:
    """A figura e a conversão de pixels (topo para baixo) em frações da figura (base para cima)."""

    def __init__(self, linhas: int) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.largura = 24 * PX_COLUNA_LARGURA + 2 * PX_MARGEM
        self.altura = PX_CABECALHO + linhas * PX_LINHA + 2 * PX_MARGEM
        self.figura = Figure(figsize=(self.largura / DPI, self.altura / DPI), dpi=DPI, facecolor=FUNDO)
        FigureCanvasAgg(self.figura)

    def fracao(self, r: Retangulo) -> list[float]:
        return [r.x / self.largura, 1 - (r.y + r.h) / self.altura, r.w / self.largura, r.h / self.altura]

    def eixos(self, r: Retangulo) -> Any:
        return self.figura.add_axes(self.fracao(r))

    def texto(self, x: float, y: float, texto: str, **estilo: Any) -> Any:
        return self.figura.text(x / self.largura, 1 - y / self.altura, texto, **estilo)

    def caixa(self, r: Retangulo, cor: str, borda: str | None = None) -> None:
        from matplotlib.patches import FancyBboxPatch

        x, y, w, h = self.fracao(r)
        self.figura.add_artist(
            FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.003", transform=self.figura.transFigure,
                           facecolor=cor, edgecolor=borda or cor, linewidth=1, zorder=-1)
        )  # fmt: skip


def _area(painel: Painel) -> Retangulo:
    x, y, w, h = painel.grade
    return Retangulo(
        PX_MARGEM + x * PX_COLUNA_LARGURA + PX_MARGEM / 2,
        PX_CABECALHO + PX_MARGEM + y * PX_LINHA + PX_MARGEM / 2,
        w * PX_COLUNA_LARGURA - PX_MARGEM,
        h * PX_LINHA - PX_MARGEM,
    )


def _cor_do_valor(painel: Painel, valor: float) -> str | None:
    """A cor do mapeamento do valor, senão a do limiar alcançado; None sem limiares."""
    for alvo, _texto, cor in painel.mapeamentos:
        if valor == alvo and cor:
            return cor_grafana(cor)
    if not painel.limiares or not math.isfinite(valor):
        return None
    cor = painel.limiares[0][1]
    for limite, cor_limiar in painel.limiares:
        if limite is None or valor >= limite:
            cor = cor_limiar
    return cor_grafana(cor)


def _texto_do_valor(painel: Painel, valor: float) -> str:
    for alvo, texto, _cor in painel.mapeamentos:
        if valor == alvo:
            return texto
    return formatar_valor(valor, painel.unidade)


def _tempos(tempos: Sequence[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t) for t in tempos]  # fuso local, como o "browser" do Grafana


def _eixo_do_tempo(eixos: Any, janela: Janela) -> None:
    from matplotlib.dates import AutoDateLocator, DateFormatter

    eixos.set_xlim(datetime.fromtimestamp(janela.inicio), datetime.fromtimestamp(janela.fim))
    eixos.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=7))
    eixos.xaxis.set_major_formatter(DateFormatter("%H:%M:%S" if janela.duracao_s <= 1800 else "%H:%M"))


def _estilizar(eixos: Any, unidade: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    eixos.set_facecolor(FUNDO_PAINEL)
    for lado in eixos.spines.values():
        lado.set_visible(False)
    eixos.tick_params(colors=TEXTO_FRACO, labelsize=FONTE, length=0)
    eixos.grid(True, color=BORDA, linewidth=0.6)
    eixos.yaxis.set_major_locator(MaxNLocator(nbins=4))
    eixos.yaxis.set_major_formatter(FuncFormatter(lambda v, _: formatar_valor(v, unidade)))
    eixos.margins(x=0, y=0.1)


def _sem_dados(tela: _Tela, r: Retangulo, consultado: PainelConsultado) -> None:
    motivo = "erro na consulta" if consultado.erro else SEM_DADOS
    tela.texto(r.x + r.w / 2, r.y + r.h / 2 + 4, motivo, ha="center", va="center", fontsize=15,
               color=CORES_GRAFANA["orange"], fontstyle="italic", fontweight="bold")  # fmt: skip
    expr = consultado.painel.alvos[0].expr if consultado.painel.alvos else ""
    limite = int(r.w / 6.5)
    expr = expr if len(expr) <= limite else expr[: limite - 1] + "…"
    tela.texto(r.x + r.w / 2, r.y + r.h / 2 + 26, expr, ha="center", va="center", fontsize=7.5,
               color=TEXTO_FRACO, family="monospace")  # fmt: skip


PX_POR_CARACTERE = 0.83 * FONTE  # largura média de um caractere da legenda (DejaVu Sans, 100 dpi)


def _colunas_da_legenda(rotulos: Sequence[str], largura: float) -> int:
    """Quantas entradas da legenda cabem lado a lado."""
    entrada = 34 + PX_POR_CARACTERE * max((len(r) for r in rotulos), default=1)
    return max(1, min(len(rotulos), int(largura / entrada)))


def _limites_y(painel: Painel, menor: float, maior: float) -> tuple[float, float] | None:
    """Eixo y como o Grafana: começa no ``min`` do painel (ou em 0, se nada é negativo) e mostra os limiares."""
    if not (math.isfinite(menor) and math.isfinite(maior)):
        return None
    baixo = painel.minimo if painel.minimo is not None else (0.0 if menor >= 0 else menor)
    alto = maior
    if painel.linhas_de_limiar:  # a linha de limiar fica visível mesmo com os valores bem abaixo dela
        alto = max([alto, *(1.15 * v for v, _ in painel.limiares if v is not None)])
    if alto <= baixo:  # série constante (zero, por exemplo): uma faixa de 1 acima
        alto = baixo + 1
    return baixo, alto + 0.1 * (alto - baixo)


def _desenhar_serie_temporal(tela: _Tela, r: Retangulo, c: PainelConsultado, janela: Janela) -> None:
    import numpy as np

    p = c.painel
    series = [s for s in c.series if s.tem_dados]
    rotulos = [s.nome + (f"  {formatar_valor(s.ultimo, p.unidade)}" if p.ultimo_na_legenda else "") for s in series]
    fonte_legenda, direita = FONTE, 0.0
    if p.legenda_direita:  # legenda em tabela à direita: até 40% da largura, fonte menor se preciso
        direita = min(0.4 * r.w, 40 + PX_POR_CARACTERE * max(len(t) for t in rotulos))
        fonte_legenda = max(6.0, FONTE * direita / (40 + PX_POR_CARACTERE * max(len(t) for t in rotulos)))
    colunas = _colunas_da_legenda(rotulos, r.w - 70)
    linhas_legenda = 0 if p.legenda_direita else math.ceil(len(series) / colunas)
    area = Retangulo(r.x + 62, r.y + 30, r.w - 62 - 14 - direita, r.h - 30 - 26 - 16 * linhas_legenda)
    eixos = tela.eixos(area)
    _estilizar(eixos, p.unidade)
    _eixo_do_tempo(eixos, janela)
    grade = sorted({t for s in series for t in s.tempos})
    x = np.array(_tempos(grade))
    base = np.zeros(len(grade))
    menor, maior = math.inf, -math.inf
    for i, (serie, rotulo) in enumerate(zip(series, rotulos, strict=True)):
        cor = PALETA[i % len(PALETA)]
        valores = dict(zip(serie.tempos, serie.valores, strict=True))
        y = np.array([valores.get(t, np.nan) for t in grade], dtype=float)
        if p.empilhado:
            y = base + np.nan_to_num(y)
            eixos.fill_between(x, base, y, color=cor, alpha=p.opacidade or 0.3, linewidth=0)
            base = y
        elif p.opacidade:
            eixos.fill_between(x, 0, y, color=cor, alpha=p.opacidade, linewidth=0)
        eixos.plot(x, y, color=cor, linewidth=1.4, label=rotulo)
        # Ponto sem vizinho (uma raspagem entre buracos) não vira linha: desenhado como ponto, como no Grafana.
        finito = np.isfinite(y)
        isolado = finito & ~np.r_[False, finito[:-1]] & ~np.r_[finito[1:], False]
        eixos.plot(x[isolado], y[isolado], "o", color=cor, markersize=3.5, clip_on=False)
        if finito.any():
            menor, maior = min(menor, float(np.nanmin(y))), max(maior, float(np.nanmax(y)))
    if p.linhas_de_limiar:
        for limite, cor in p.limiares:
            if limite is not None:
                eixos.axhline(limite, color=cor_grafana(cor), linestyle="--", linewidth=1.1)
    limites = _limites_y(p, menor, maior)
    if limites:
        eixos.set_ylim(*limites)
    estilo = {"frameon": False, "labelcolor": TEXTO, "handlelength": 1.2, "borderaxespad": 0}
    if p.legenda_direita:
        eixos.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), ncol=1, fontsize=fonte_legenda, **estilo)
    else:
        eixos.legend(loc="upper left", bbox_to_anchor=(0, -20 / area.h), ncol=colunas, fontsize=FONTE, **estilo)


def _desenhar_estatistica(tela: _Tela, r: Retangulo, c: PainelConsultado, janela: Janela) -> None:
    """Último valor (``lastNotNull``) de cada série, colorido pelos limiares e mapeamentos.

    A linha do tempo ao fundo sai sempre (o Grafana só a desenha com ``graphMode: area``): numa imagem estática,
    sem passar o mouse, é o único jeito de ver como o valor chegou ali.
    """
    p = c.painel
    series = [s for s in c.series if s.tem_dados]
    largura = r.w / len(series)
    for i, serie in enumerate(series):
        celula = Retangulo(r.x + i * largura, r.y + 28, largura, r.h - 28)
        cor = _cor_do_valor(p, serie.ultimo)
        cor_texto = cor if (cor and p.modo_cor == "value") else TEXTO
        if cor and p.modo_cor == "background":
            tela.caixa(Retangulo(celula.x + 6, celula.y, celula.w - 12, celula.h - 6), cor)
            cor_texto = "#FFFFFF"
        faisca = tela.eixos(Retangulo(celula.x + 8, celula.y + celula.h * 0.55, celula.w - 16, celula.h * 0.45 - 8))
        faisca.set_axis_off()
        faisca.plot(_tempos(serie.tempos), serie.valores, color=cor_texto, alpha=0.35, linewidth=1.2)
        _eixo_do_tempo(faisca, janela)
        texto = _texto_do_valor(p, serie.ultimo)
        alto = (celula.h - (18 if len(series) > 1 else 0)) * 0.5
        tamanho = min(alto, (celula.w - 24) / (0.72 * max(len(texto), 1))) * 72 / DPI  # ~0,72 em por caractere
        meio = celula.y + celula.h * (0.42 if len(series) > 1 else 0.4)
        tela.texto(celula.x + celula.w / 2, meio, texto, ha="center", va="center", fontsize=max(tamanho, 9),
                   color=cor_texto, fontweight="bold")  # fmt: skip
        if len(series) > 1 or p.alvos[0].legenda:
            tela.texto(celula.x + celula.w / 2, celula.y + 12, serie.nome, ha="center", va="center", fontsize=8.5,
                       color=cor_texto)  # fmt: skip


def _desenhar_painel(tela: _Tela, c: PainelConsultado, janela: Janela) -> None:
    r = _area(c.painel)
    if c.painel.tipo == "row":
        tela.texto(r.x + 4, r.y + r.h / 2 + 2, c.painel.titulo, va="center", fontsize=13, color=TEXTO,
                   fontweight="bold")  # fmt: skip
        return
    tela.caixa(r, FUNDO_PAINEL, BORDA)
    tela.texto(r.x + 10, r.y + 16, c.painel.titulo, va="center", fontsize=11, color=TEXTO, fontweight="bold")
    if not c.tem_dados:
        _sem_dados(tela, r, c)
    elif c.painel.tipo == "stat":
        _desenhar_estatistica(tela, r, c, janela)
    else:
        _desenhar_serie_temporal(tela, r, c, janela)


def _hora(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%d/%m/%Y %H:%M:%S")


def _descrever_janela(janela: Janela) -> str:
    v = janela.variaveis()
    return (
        f"{_hora(janela.inicio)} a {_hora(janela.fim)[-8:]} ({janela.duracao_s} s), passo {v['__interval']}, "
        f"$__rate_interval = {v['__rate_interval']} (raspagem a cada {duracao_promql(janela.raspagem_s)})"
    )


def desenhar(titulo: str, consultados: Sequence[PainelConsultado], janela: Janela, destino: Path, origem: str) -> Path:
    """O PNG com a grade do painel: título, janela de tempo e um quadro por painel na posição do ``gridPos``."""
    linhas = max((c.painel.grade[1] + c.painel.grade[3] for c in consultados), default=1)
    tela = _Tela(linhas)
    tela.texto(PX_MARGEM + 4, 26, titulo, va="center", fontsize=17, color=TEXTO, fontweight="bold")
    subtitulo = _descrever_janela(janela) + (f"  ·  Prometheus {origem}" if origem else "")
    tela.texto(PX_MARGEM + 4, 52, subtitulo, va="center", fontsize=9.5, color=TEXTO_FRACO)
    tela.texto(tela.largura - PX_MARGEM - 4, 26, "PromQL do detector-pix.json, sem Grafana", ha="right",
               va="center", fontsize=9, color=TEXTO_FRACO, fontstyle="italic")  # fmt: skip
    for consultado in consultados:
        _desenhar_painel(tela, consultado, janela)
    destino.parent.mkdir(parents=True, exist_ok=True)
    tela.figura.savefig(destino, dpi=DPI, facecolor=FUNDO)
    return destino


def escrever_html(
    titulo: str, consultados: Sequence[PainelConsultado], janela: Janela, png: Path, destino: Path
) -> Path:
    """Página estática: a imagem e, para cada painel, a PromQL do JSON e a executada."""
    linhas = []
    for c in consultados:
        if c.painel.tipo == "row":
            linhas.append(f'<tr class="secao"><th colspan="3">{html.escape(c.painel.titulo)}</th></tr>')
            continue
        estado = ("com dados" if c.tem_dados else SEM_DADOS) + (f" (erro: {c.erro})" if c.erro else "")
        consultas = "".join(
            f"<code>{html.escape(a.expr)}</code>" + (f"<br><small>executada: <code>{html.escape(e)}</code></small>"
                                                    if e != a.expr else "") + "<br>"
            for a, e in zip(c.painel.alvos, c.executadas, strict=False)
        )  # fmt: skip
        classe = "ok" if c.tem_dados else "falta"
        linhas.append(
            f"<tr><td>{html.escape(c.painel.titulo)}</td><td class='{classe}'>{html.escape(estado)}</td>"
            f"<td>{consultas}</td></tr>"
        )
    pagina = f"""<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>{html.escape(titulo)}</title>
<style>
body {{ font-family: sans-serif; background: {FUNDO}; color: {TEXTO}; margin: 1.5em; }}
img {{ max-width: 100%; border: 1px solid {BORDA}; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 1em; }}
td, th {{ border-bottom: 1px solid {BORDA}; padding: .4em; text-align: left; vertical-align: top; }}
code {{ color: #9AC9F5; }} .ok {{ color: {CORES_GRAFANA["green"]}; }} .falta {{ color: {CORES_GRAFANA["orange"]}; }}
tr.secao th {{ padding-top: 1.2em; font-size: 1.1em; }}
</style></head><body>
<h1>{html.escape(titulo)}</h1>
<p>{html.escape(_descrever_janela(janela))}. As consultas são as do painel do Grafana
(<code>monitoramento/grafana/dashboards/detector-pix.json</code>), com as variáveis do Grafana substituídas.</p>
<img src="{html.escape(png.name)}" alt="{html.escape(titulo)}">
<h2>Consultas</h2>
<table><tr><th>painel</th><th>estado</th><th>PromQL</th></tr>
{chr(10).join(linhas)}
</table></body></html>
"""
    destino.write_text(pagina, encoding="utf-8")
    return destino


@dataclass(frozen=True)
class ResultadoDoPainel:
    png: Path
    html: Path | None
    com_dados: tuple[str, ...]
    sem_dados: tuple[str, ...]  # títulos, com o erro da consulta quando houve


def renderizar_painel(
    api: ApiPrometheus,
    janela: Janela,
    pasta: Path,
    *,
    arquivo_painel: Path = ARQUIVO_PAINEL,
    com_html: bool = True,
    origem: str = "",
) -> ResultadoDoPainel:
    """Consulta cada painel do JSON na janela e grava ``painel.png`` (e ``painel.html``) em ``pasta``."""
    titulo, paineis = ler_painel(arquivo_painel)
    consultados = consultar(api, paineis, janela)
    png = desenhar(titulo, consultados, janela, Path(pasta) / "painel.png", origem)
    pagina = escrever_html(titulo, consultados, janela, png, Path(pasta) / "painel.html") if com_html else None
    com_alvos = [c for c in consultados if c.painel.alvos]
    return ResultadoDoPainel(
        png=png,
        html=pagina,
        com_dados=tuple(c.painel.titulo for c in com_alvos if c.tem_dados),
        sem_dados=tuple(
            c.painel.titulo + (f" (erro: {c.erro})" if c.erro else "") for c in com_alvos if not c.tem_dados
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Desenha o painel a partir de um Prometheus já rodando (compose, ``monitoramento.local`` ou outro)."""
    from plataforma.config import carregar_configuracao

    parser = argparse.ArgumentParser(prog="python -m monitoramento.painel", description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="URL do Prometheus")
    parser.add_argument("--minutos", type=float, default=60, help="janela até agora, em minutos")
    parser.add_argument("--saida", type=Path, default=None, help="pasta do PNG e do HTML (padrão: <dados>/painel)")
    args = parser.parse_args(argv)
    api = api_http(args.prometheus)
    try:
        fim = time.time()
        janela = Janela.para(fim - args.minutos * 60, fim, intervalo_de_raspagem(api))
        pasta = args.saida or carregar_configuracao().pasta_dados / "painel"
        resultado = renderizar_painel(api, janela, pasta, origem=args.prometheus)
    except ErroDeAmbiente as erro:
        print(f"erro: {erro}", file=sys.stderr)
        return 1
    print(f"Painel renderizado: {resultado.png} (página: {resultado.html})")
    if resultado.sem_dados:
        print("Sem dados na janela: " + "; ".join(resultado.sem_dados))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
