#!/bin/sh
# Prometheus, promtool, Pushgateway, Alertmanager e amtool reais: os testes de monitoramento e a demo sobem
# esses binários no loopback (sem Docker, sem mocks). Chamado por `make preparar` (e portanto por `make test` e
# `make demo`): se algum falta, instala os pacotes Debian quando roda como root com apt-get; senão, diz
# exatamente o que instalar e para.
set -eu

# binário:pacote Debian (o binário do Homebrew, no macOS, tem outro nome: veja localizar_binario em local.py)
NECESSARIOS="prometheus:prometheus promtool:prometheus prometheus-pushgateway:prometheus-pushgateway \
prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager"

tem() {
  command -v "$1" >/dev/null 2>&1
}

faltam=""
pacotes=""
for par in $NECESSARIOS; do
  binario=${par%%:*}
  pacote=${par#*:}
  alternativo=$(echo "$binario" | sed 's/^prometheus-//')   # Homebrew: pushgateway, alertmanager
  if tem "$binario" || { [ "$alternativo" != "$binario" ] && tem "$alternativo"; }; then
    continue
  fi
  faltam="$faltam $binario"
  case " $pacotes " in *" $pacote "*) ;; *) pacotes="$pacotes $pacote" ;; esac
done

[ -z "$faltam" ] && exit 0

if [ "$(id -u)" = 0 ] && tem apt-get; then
  echo "Instalando os pacotes Debian$pacotes (faltavam:$faltam)..."
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pacotes >/dev/null
  # O pacote Debian inicia os serviços do sistema (portas 9090, 9091, 9093): os testes e a demo sobem os próprios,
  # em portas livres; os do sistema só ocupariam a memória e as portas padrão.
  if tem systemctl && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus prometheus-pushgateway prometheus-alertmanager prometheus-node-exporter \
      >/dev/null 2>&1 || true
  fi
  for servico in prometheus prometheus-pushgateway prometheus-alertmanager prometheus-node-exporter; do
    if [ -x "/etc/init.d/$servico" ]; then "/etc/init.d/$servico" stop >/dev/null 2>&1 || true; fi
  done
  exit 0
fi

cat >&2 <<MENSAGEM
erro: faltam binários do Prometheus que os testes e a demo usam:$faltam
  Debian/Ubuntu: sudo apt-get install$pacotes
  macOS (Homebrew): brew install prometheus pushgateway alertmanager
Depois rode o make de novo.
MENSAGEM
exit 1
