#!/usr/bin/env bash
# A park visitor's phone: DHCP with option 114, redirected, logs in, files a 940 report and
# sees it reach the back office. Exits non-zero on the first step that fails.
ROLE=client
. "$(dirname "$0")/common.sh"
lan_if=${OASIS_LAB_CLIENT_IF:-eth1}
lease=$OASIS_LAB_STATE/lease.env
hook=$OASIS_LAB_STATE/udhcpc.sh
cat > "$hook" <<'SH'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for net in $LAB_NETS; do ip route replace "$net" via "${router%% *}" dev "$interface"; done
    env > "$LEASE_OUT" ;;
esac
exit 0
SH
chmod +x "$hook"
# Only the lab's networks go through the gateway: a VM keeps its own default route.
env LEASE_OUT="$lease" LAB_NETS="$OASIS_LAB_CLIENT_ROUTES" busybox udhcpc -i "$lan_if" \
  -n -q -f -t 6 -T 1 -O 114 -s "$hook"
exec "${CLIENT_PYTHON:-python3}" "$(dirname "$0")/client_smoke.py" "$lease" \
  "http://$OASIS_LAB_INTERNET/hello"
