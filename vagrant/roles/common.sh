# Sourced by every role script. The same scripts provision a Vagrant VM and a host of the
# namespace lab; the topology's settings arrive as OASIS_LAB_* variables.
#
#   OASIS_LAB_MODE   vm (default): systemd, the project's units where the repository has them
#                    netns: no systemd inside a network namespace, processes started directly
#   OASIS_LAB_ETC    config folder (/etc/oasis in a VM)
#   OASIS_LAB_STATE  state folder (/var/lib/oasis in a VM)
#   OASIS_LAB_REPO   the checkout (/opt/oasis-edge in a VM, the synced folder)
#   OASIS            the oasis command; PYTHON the project's interpreter
set -euo pipefail

: "${OASIS_LAB_MODE:=vm}"
: "${OASIS_LAB_ETC:=/etc/oasis}"
: "${OASIS_LAB_STATE:=/var/lib/oasis}"
: "${OASIS_LAB_REPO:=/opt/oasis-edge}"
: "${OASIS:=oasis}"
: "${PYTHON:=/opt/oasis-venv/bin/python}"
mkdir -p "$OASIS_LAB_ETC" "$OASIS_LAB_STATE" "$OASIS_LAB_STATE/log"

say() { echo "[$(hostname 2>/dev/null || echo lab) ${ROLE:-role}] $*"; }
fail() { say "FAILED: $*" >&2; exit 1; }

# The interface holding an IPv4 address (links are found by address, not by name).
iface_of() { ip -o -4 addr show | awk -v a="$1" '{split($4, p, "/"); if (p[1] == a) print $2}'; }

# start NAME UNIT_FILE COMMAND... -- run a daemon until the machine stops.
# In a VM: the project's unit when the repository has it (installed, enabled, started), else a
# transient unit (systemd-run). In the namespace lab: in the background, its pid in
# $OASIS_LAB_STATE/pids so the lab stops exactly what it started.
start() {
  local name=$1 unit=$2; shift 2
  if [ "$OASIS_LAB_MODE" = vm ]; then
    if [ -n "$unit" ] && [ -f "$OASIS_LAB_REPO/$unit" ]; then
      install -m 0644 "$OASIS_LAB_REPO/$unit" /etc/systemd/system/
      systemctl daemon-reload
      systemctl enable --now "$(basename "$unit")"
      say "started $name with its unit $(basename "$unit")"
    else
      systemctl stop "oasis-lab-$name" 2>/dev/null || true
      systemd-run --unit "oasis-lab-$name" --collect -E OASIS_CONFIG="${OASIS_CONFIG:-}" "$@"
      say "started $name as transient unit oasis-lab-$name (no unit in the repository)"
    fi
  else
    setsid "$@" >>"$OASIS_LAB_STATE/log/$name.log" 2>&1 < /dev/null &
    echo "$!" >> "$OASIS_LAB_STATE/pids"
    say "started $name (pid $!)"
  fi
}

# wait_until SECONDS WHAT COMMAND... -- poll COMMAND until it succeeds.
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "no $what after ${seconds}s"
    sleep 0.2
  done
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# The user the project's units run as.
service_user() {
  [ "$OASIS_LAB_MODE" = vm ] || return 0
  id oasis >/dev/null 2>&1 || useradd --system --home-dir /var/lib/oasis --shell /usr/sbin/nologin oasis
  chown -R oasis:oasis "$OASIS_LAB_STATE"
  # Configs root's, readable by the service's group; key files the service's own, 0600.
  chgrp -R oasis "$OASIS_LAB_ETC"; chmod -R g+rX,o-rwx "$OASIS_LAB_ETC"
  for key in "$OASIS_LAB_ETC"/*.key; do
    [ -e "$key" ] && chown oasis "$key" && chmod 0600 "$key"
  done
  return 0
}
