# Dois comandos para o usuário: `make demo` e `make test`. O resto é degrau deles.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALADO := $(VENV)/.instalado
PREPARADO := $(VENV)/.preparado

.PHONY: instalar binarios preparar test lint demo limpar

$(INSTALADO): pyproject.toml requisitos.lock
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else f"erro: o projeto precisa do Python 3.11+; {sys.executable} é {v.major}.{v.minor}. Use make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requisitos.lock -e '.[local,dev]'
	@touch $@

instalar: $(INSTALADO)

# Baixa uma vez os jars (Kafka, Delta, conector Kafka do Spark) para o cache; sem rede depois disso.
$(PREPARADO): $(INSTALADO)
	$(BIN)/detector-pix preparar
	@touch $@

# Prometheus, Pushgateway e Alertmanager reais (testes de monitoramento e demo): instala os pacotes Debian quando
# roda como root com apt-get; senão diz o que instalar (Debian/Ubuntu, macOS) e para.
binarios:
	@sh monitoramento/instalar_binarios.sh

preparar: $(PREPARADO) binarios

lint: instalar
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: preparar lint
	$(BIN)/python -m pytest

demo: preparar
	$(BIN)/detector-pix demo

limpar:
	-$(BIN)/detector-pix kafka parar
	rm -rf .dados
