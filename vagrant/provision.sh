#!/usr/bin/env bash
# Provision one lab VM by role: installs the peers that role needs and the project itself.
set -euo pipefail
role=$1
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
common="python3 python3-venv iproute2 nftables"
case "$role" in
  controller) pkgs="$common mosquitto snmp" ;;
  gateway)    pkgs="$common dnsmasq" ;;
  branch|hq)  pkgs="$common conntrack" ;;
  internet)   pkgs="$common nginx" ;;
  client)     pkgs="iproute2 curl isc-dhcp-client" ;;
esac
apt-get install -y -qq $pkgs
if [ "$role" != client ] && [ "$role" != internet ]; then
  python3 -m venv /opt/oasis-venv
  /opt/oasis-venv/bin/pip install -q -e /opt/oasis-edge
  ln -sf /opt/oasis-venv/bin/oasis /usr/local/bin/oasis
fi
echo "provisioned $role"
