#!/usr/bin/env bash
# Park gateway: the agent (nftables, redirector, RFC 8908 API) and dnsmasq with option 114.
ROLE=gateway
. "$(dirname "$0")/common.sh"
lan_if=$(iface_of "$OASIS_LAB_GATEWAY_LAN")
[ -n "$lan_if" ] || fail "no interface holds $OASIS_LAB_GATEWAY_LAN"
conf=$OASIS_LAB_ETC/gateway.toml
printf '%s' "$OASIS_LAB_GATEWAY_KEY" > "$OASIS_LAB_ETC/gateway.key"
chmod 0600 "$OASIS_LAB_ETC/gateway.key"
cat > "$conf" <<TOML
[gateway]
gateway_id = "$OASIS_LAB_GATEWAY_ID"
lan_interface = "$lan_if"
lan_address = "$OASIS_LAB_GATEWAY_LAN"
portal_url = "http://$OASIS_LAB_CONTROLLER:$OASIS_LAB_PORTAL_PORT/"
hmac_key_file = "$OASIS_LAB_ETC/gateway.key"
state_db = "$OASIS_LAB_STATE/gateway.db"
ap_dir = "$OASIS_LAB_STATE/gateway-aps"
dhcp_range = "$OASIS_LAB_DHCP_RANGE"
dns_servers = ["$OASIS_LAB_INTERNET"]
[mqtt]
host = "$OASIS_LAB_CONTROLLER"
port = $OASIS_LAB_MQTT_PORT
client_id = "oasis-gateway-$OASIS_LAB_GATEWAY_ID"
TOML
say "config written: $conf (LAN $lan_if)"
"$OASIS" agent gateway --config "$conf" check-config
sysctl -qw net.ipv4.ip_forward=1
"$OASIS" agent gateway --config "$conf" dnsmasq-config --output "$OASIS_LAB_ETC/dnsmasq-oasis.conf" \
  --lease-file "$OASIS_LAB_STATE/dnsmasq.leases" --lease-hook "$OASIS_LAB_ETC/dnsmasq-lease-hook" \
  --pid-file "$OASIS_LAB_STATE/dnsmasq.pid"
service_user
if [ "$OASIS_LAB_MODE" = vm ] && [ -f "$OASIS_LAB_REPO/agents/gateway/oasis-gateway.service" ]; then
  # The unit reads /etc/oasis/gateway.toml, where this script wrote it.
  start agent agents/gateway/oasis-gateway.service
else
  start agent "" "$OASIS" agent gateway --config "$conf" run
fi
api=http://$OASIS_LAB_GATEWAY_LAN:8908/captive-portal/api
api_up() { "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$api"; }
wait_until 30 "RFC 8908 API at $api" api_up
start dnsmasq "" "$(command -v dnsmasq || echo /usr/sbin/dnsmasq)" -k \
  -C "$OASIS_LAB_ETC/dnsmasq-oasis.conf" --log-facility=- --user=root
say "smoke: the agent's RFC 8908 API answers at $api"
