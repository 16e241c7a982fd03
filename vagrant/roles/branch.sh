#!/usr/bin/env bash
# Branch router: the backhaul agent over the primary and backup links. Smoke check at the end:
# the primary carries the traffic, the branch fails over when the primary loses carrier, and
# fails back after the hold-down.
ROLE=branch
. "$(dirname "$0")/common.sh"
primary_if=$(iface_of "${OASIS_LAB_PRIMARY_HQ%.*}.1")
backup_if=$(iface_of "${OASIS_LAB_BACKUP_HQ%.*}.1")
[ -n "$primary_if" ] && [ -n "$backup_if" ] || fail "primary or backup link not found"
sysctl -qw net.ipv4.ip_forward=1
for scope in all default; do sysctl -qw "net.ipv4.conf.$scope.rp_filter=0"; done
conf=$OASIS_LAB_ETC/backhaul.toml
cat > "$conf" <<TOML
[backhaul]
branch = "branch-lab"
interval_ms = 50
holddown_s = 2.0
probe_port = 7007
routes = ["$OASIS_LAB_HQ/32"]
spool = "$OASIS_LAB_STATE/backhaul-spool.db"
state_file = "$OASIS_LAB_STATE/backhaul-state.json"
state_every_s = 0.5

[[backhaul.links]]
name = "primary"
interface = "$primary_if"
gateway = "$OASIS_LAB_PRIMARY_HQ"
probe_peer = "$OASIS_LAB_HQ"
table = 101
priority = 10
fwmark = 0x101

[[backhaul.links]]
name = "backup"
interface = "$backup_if"
gateway = "$OASIS_LAB_BACKUP_HQ"
probe_peer = "$OASIS_LAB_HQ"
table = 102
priority = 20
fwmark = 0x102
TOML
say "config written: $conf"
"$OASIS" agent backhaul --help >/dev/null
"$OASIS" agent backhaul check-config --config "$conf"
service_user
if [ "$OASIS_LAB_MODE" = vm ] && [ -f "$OASIS_LAB_REPO/agents/backhaul/oasis-backhaul.service" ]; then
  start agent agents/backhaul/oasis-backhaul.service
else
  start agent "" "$OASIS" agent backhaul run --config "$conf"
fi
active() { "$OASIS" agent backhaul status --config "$conf" 2>/dev/null \
  | "$PYTHON" -c "import json, sys; sys.exit(json.load(sys.stdin).get('active_link') != sys.argv[1])" "$1"; }
wait_until 30 "primary active" active primary
say "smoke: primary active"
ip link set "$primary_if" down
wait_until 15 "failover to the backup" active backup
say "smoke: failed over to the backup when the primary lost carrier"
ip link set "$primary_if" up
wait_until 30 "failback to the primary" active primary
say "smoke: failed back to the primary after the hold-down"
