#!/usr/bin/env bash
# Provision one lab VM by role: the Debian peers that role needs and the project itself (from
# the lock, as `make run` installs it). The role script (vagrant/roles/<role>.sh) then writes
# the configs, installs the units and starts the services.
set -euo pipefail
role=$1
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
common="python3 python3-venv iproute2 nftables busybox"
case "$role" in
  controller) pkgs="$common mosquitto" ;;
  gateway)    pkgs="$common dnsmasq-base" ;;
  branch|hq)  pkgs="$common conntrack" ;;
  internet)   pkgs="$common" ;;
  client|branchhost) pkgs="python3 iproute2 busybox" ;;
esac
apt-get install -y -qq --no-install-recommends $pkgs
if [ "$role" != client ] && [ "$role" != branchhost ] && [ ! -x /opt/oasis-venv/bin/oasis ]; then
  python3 -m venv /opt/oasis-venv
  if [ -f /opt/oasis-edge/requirements.lock ]; then
    /opt/oasis-venv/bin/pip install -q --require-hashes -r /opt/oasis-edge/requirements.lock
    /opt/oasis-venv/bin/pip install -q --no-deps --no-build-isolation -e /opt/oasis-edge
  else
    /opt/oasis-venv/bin/pip install -q -e /opt/oasis-edge
  fi
  # The units run /usr/local/bin/oasis, oasis-gateway and oasis-backhaul.
  for command in oasis oasis-gateway oasis-backhaul; do
    ln -sf "/opt/oasis-venv/bin/$command" "/usr/local/bin/$command"
  done
fi
echo "provisioned $role"
