#!/usr/bin/env bash
# Headquarters: the far end of both backhaul links, answering the branch's probes.
ROLE=hq
. "$(dirname "$0")/common.sh"
ip addr replace "$OASIS_LAB_HQ/32" dev lo
sysctl -qw net.ipv4.ip_forward=1
for scope in all default; do sysctl -qw "net.ipv4.conf.$scope.rp_filter=0"; done
start responder agents/backhaul/oasis-backhaul-responder.service \
  "$OASIS" agent backhaul responder --listen "0.0.0.0:7007"
say "smoke: the responder listens on $OASIS_LAB_HQ:7007"
