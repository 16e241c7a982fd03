#!/usr/bin/env bash
# Installs the real peers the tests talk to (Debian packages). As root it installs
# what is missing; otherwise it only reports, and the tests that need a missing
# peer skip -- unless CI=true, where they fail.
set -uo pipefail
need=()
for pair in mosquitto:mosquitto snmpd:snmpd snmpget:snmp nft:nftables \
            prometheus-snmp-exporter:prometheus-snmp-exporter sshd:openssh-server \
            dnsmasq:dnsmasq-base ip:iproute2; do
  bin=${pair%%:*}; pkg=${pair##*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lab peers missing (need root to install): ${need[*]}" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
echo "installing lab peers: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
