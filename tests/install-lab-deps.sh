#!/usr/bin/env bash
# Installs the real peers the tests talk to (Debian packages). As root it installs what is
# missing; otherwise it only reports, and the tests that need a missing peer skip -- unless
# CI=true, where they fail. The benchmarks' comparison peers (keepalived, FRR) are among them:
# the suite runs every benchmark's tiny mode (tests/test_bench_tiny.py).
set -uo pipefail

# executable:package -- what the tests call, and the package that ships it.
peers=(
  mosquitto:mosquitto mosquitto_passwd:mosquitto
  snmpd:snmpd snmpget:snmp snmptrap:snmp snmpbulkwalk:snmp
  sshd:openssh-server ssh-keygen:openssh-client
  nft:nftables ip:iproute2 dnsmasq:dnsmasq-base curl:curl busybox:busybox
  chromium:chromium conntrack:conntrack
  prometheus-snmp-exporter:prometheus-snmp-exporter
  systemd-analyze:systemd haproxy:haproxy
  vagrant:vagrant
  keepalived:keepalived bfdd:frr vtysh:frr ping:iputils-ping
  bearerbox:kannel smsbox:kannel fakesmsc:kannel-extras
  pdftotext:poppler-utils pdftoppm:poppler-utils
  initdb:postgresql pg_ctl:postgresql
  node:nodejs npm:npm
)
# Arabic glyphs in the browser screenshots; the libvirt provider `vagrant validate` checks the
# lab's Vagrantfile against (no executable to look for).
packages=(fonts-noto-core vagrant-libvirt)
# Kannel ships fakesmsc under /usr/lib/kannel in some releases; pdftotext and pdftoppm check the
# Arabic PDF report; PostgreSQL has its binaries under /usr/lib/postgresql/<major>/bin.

have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/lib/frr/$1" ] ||
    [ -x "/usr/lib/kannel/$1" ] || [ -x "/usr/lib/kannel/test/$1" ] ||
    compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null
}
need=()
for pair in "${peers[@]}"; do
  bin=${pair%%:*}; pkg=${pair##*:}
  have "$bin" || need+=("$pkg")
done
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# npm peers, each in a fixed folder outside the repository (tests find them there):
# node-smpp's SMPP server for the SMPP driver's tests (tests/peers_smpp.py).
npm_peers() {
  [ -f /opt/oasis-lab/smpp/node_modules/smpp/package.json ] && return 0
  if ! command -v npm >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "lab peer missing: node-smpp in /opt/oasis-lab/smpp (npm and root needed)" >&2
    [ "${CI:-}" = "true" ] && return 1
    return 0
  fi
  mkdir -p /opt/oasis-lab/smpp &&
    npm install --prefix /opt/oasis-lab/smpp --no-audit --no-fund --silent smpp@0.5.1
}
if [ ${#need[@]} -eq 0 ]; then npm_peers; exit $?; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "lab peers missing (root is needed to install them): ${need[*]}" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
echo "installing lab peers: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's maintainer scripts would start these services; the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null &&
  npm_peers
