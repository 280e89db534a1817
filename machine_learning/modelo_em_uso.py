"""O modelo que decide agora: o champion do registro (com limiares) ou, sem ele, só as regras.

Por que separado do núcleo: o núcleo decide com o ``ModeloEmUso`` que recebe; quem o escolhe (e troca sem
reiniciar, e recusa um champion que não carrega) é o ``VigiaDoChampion``, fora do caminho quente.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from machine_learning.decisao import LIMIARES_SO_REGRAS, VERSAO_SO_REGRAS, pontuar_regras
from machine_learning.deriva import ReferenciaDeDeriva
from plataforma.config import Configuracao
from plataforma.mlflow_local import versao_por_alias
from processamento.features import COLUNAS_FEATURES

log = logging.getLogger("detector_pix.modelo")


@dataclass(frozen=True)
class ModeloEmUso:
    """O que pontua agora: a versão do champion (com limiares) ou, sem champion, só as regras."""

    versao: str  # número da versão no registro, ou VERSAO_SO_REGRAS
    modelo: object | None = None  # ModeloFraudePix (o python_model do pyfunc)

    @property
    def so_regras(self) -> bool:
        return self.modelo is None

    @property
    def limiares(self) -> dict[str, float]:
        return LIMIARES_SO_REGRAS if self.modelo is None else self.modelo.limiares

    @property
    def referencia_deriva(self) -> ReferenciaDeDeriva | None:
        """As distribuições do treino, gravadas com o modelo; só regras não tem referência."""
        dados = getattr(self.modelo, "referencia_deriva", None)  # modelo registrado antes da deriva: sem ela
        return None if dados is None else ReferenciaDeDeriva.de_dict(dados)

    def pontuar(self, features: pd.DataFrame) -> np.ndarray:
        if self.modelo is None:
            return pontuar_regras(features)
        return self.modelo.pontuar(features)  # o modelo escolhe as colunas com que foi treinado


def conferir_compatibilidade(modelo: object) -> None:
    """Pontua um Pix sintético com as colunas que o motor produz; levanta se o modelo não serve a este motor.

    Um champion treinado com uma coluna que o motor não produz (ou que devolve lixo) derrubaria cada lote, e o
    reinício cairia no mesmo lote: melhor recusá-lo aqui, fora do caminho quente, e seguir com as regras.
    """
    sonda = pd.DataFrame({nome: np.zeros(1, tipo) for nome, tipo in COLUNAS_FEATURES.items()})
    sonda = sonda.assign(valor=100.0, pagador_tipo_pessoa="PF", recebedor_tipo_pessoa="PF", forma_iniciacao="DICT")
    score = np.asarray(modelo.pontuar(sonda), dtype=np.float64)
    if score.shape != (1,) or not np.all((score >= 0) & (score <= 1)):
        raise ValueError(f"o modelo devolveu {score!r} para um Pix; esperado um score entre 0 e 1")


class VigiaDoChampion:
    """Confere o alias ``champion`` e carrega a versão nova fora do caminho quente (troca sem reiniciar).

    Degrada, nunca para: sem alias, ou com um champion que não carrega (artefato sumido, erro ao desserializar) ou
    que não serve a este motor, a decisão segue só com as regras (métrica ``so_regras`` e alerta
    DecisaoSoComRegras) e a versão é tentada de novo a cada ``intervalo_modelo_s``.
    """

    def __init__(self, cfg: Configuracao) -> None:
        self.nome = cfg.nome_modelo_registrado
        self.atual = ModeloEmUso(VERSAO_SO_REGRAS)
        self.recusada: str | None = None  # a versão com o alias que não pôde ser usada (None = nenhuma)

    def recusar(self, versao: str, erro: BaseException) -> None:
        """Volta às regras e anota a versão recusada; o aviso sai uma vez por versão."""
        if self.recusada != versao:
            log.error(
                "Champion %s versão %s recusado (%s: %s): decidindo SÓ COM AS REGRAS; tento de novo a cada "
                "intervalo_modelo_s.",
                self.nome,
                versao,
                type(erro).__name__,
                erro,
            )
        self.recusada = versao
        self.atual = ModeloEmUso(VERSAO_SO_REGRAS)

    def verificar(self) -> bool:
        """True se o modelo em uso mudou. Um registro fora do ar mantém o modelo atual (e avisa)."""
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            registrada = versao_por_alias(self.nome, "champion")  # None: sem alias ou sem modelo (código do MLflow)
        except MlflowException as erro:
            log.warning("Registro do MLflow indisponível (%s); sigo com %s.", erro, self._descrever())
            return False
        if registrada is None:
            self.recusada = None
            if not self.atual.so_regras:
                log.warning("O alias champion de %s sumiu: decidindo SÓ COM AS REGRAS até haver um.", self.nome)
                self.atual = ModeloEmUso(VERSAO_SO_REGRAS)
                return True
            if not getattr(self, "_avisado", False):
                log.warning("Nenhum champion de %s no registro: decidindo SÓ COM AS REGRAS até haver um.", self.nome)
                self._avisado = True
            return False
        versao = str(registrada.version)
        if versao == self.atual.versao:
            return False
        try:
            modelo = mlflow.pyfunc.load_model(f"models:/{self.nome}/{versao}").unwrap_python_model()
            conferir_compatibilidade(modelo)
        except Exception as erro:  # qualquer falha do modelo vira "só regras", nunca uma decisão a menos
            mudou = not self.atual.so_regras
            self.recusar(versao, erro)
            return mudou
        self.atual = ModeloEmUso(versao, modelo)
        self.recusada = None
        log.warning("Champion de %s agora é a versão %s: usado a partir do próximo lote.", self.nome, versao)
        return True

    def _descrever(self) -> str:
        return "só as regras" if self.atual.so_regras else f"a versão {self.atual.versao}"
