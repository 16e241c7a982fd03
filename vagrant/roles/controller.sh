#!/usr/bin/env bash
# Controller: Mosquitto (persistent), the store, the controller, the portal and the reference
# 940 back office (acknowledging every report, as a municipality's system would).
ROLE=controller
. "$(dirname "$0")/common.sh"
ctl=$OASIS_LAB_CONTROLLER
export OASIS_CONFIG=$OASIS_LAB_ETC/oasis.toml

cat > "$OASIS_CONFIG" <<TOML
[store]
path = "$OASIS_LAB_STATE/oasis.db"
key_file = "$OASIS_LAB_STATE/oasis.key"
[mqtt]
host = "$ctl"
port = $OASIS_LAB_MQTT_PORT
client_id = "oasis-controller"
[portal]
listen = "$ctl:$OASIS_LAB_PORTAL_PORT"
public_url = "http://$ctl:$OASIS_LAB_PORTAL_PORT/"
secret_key_file = "$OASIS_LAB_STATE/portal-secret.key"
# The lab serves the portal over plain HTTP (docs/operations.md puts it behind TLS).
secure_cookies = false
workers = 2
[sms]
driver = "console"
outbox = "$OASIS_LAB_STATE/sms-outbox.log"
TOML
chmod 0640 "$OASIS_CONFIG"
say "config written: $OASIS_CONFIG"

"$OASIS" migrate
"$OASIS" portal gateway-add "$OASIS_LAB_GATEWAY_ID" --name "Lab gateway" \
  --key "$OASIS_LAB_GATEWAY_KEY" >/dev/null
service_user

broker_conf=$OASIS_LAB_ETC/mosquitto-oasis.conf
cat > "$broker_conf" <<CONF
listener $OASIS_LAB_MQTT_PORT $ctl
allow_anonymous true
CONF
if [ "$OASIS_LAB_MODE" = vm ]; then
  # Debian's mosquitto.conf already keeps persistence in /var/lib/mosquitto.
  install -m 0644 "$broker_conf" /etc/mosquitto/conf.d/oasis.conf
  systemctl restart mosquitto
else
  mkdir -p "$OASIS_LAB_STATE/mosquitto"
  printf 'persistence true\npersistence_location %s/\nuser root\n' \
    "$OASIS_LAB_STATE/mosquitto" >> "$broker_conf"
  start mosquitto "" "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$broker_conf"
fi
wait_until 20 "broker on $ctl:$OASIS_LAB_MQTT_PORT" tcp_open "$ctl" "$OASIS_LAB_MQTT_PORT"

start controller controller/oasis-controller.service "$OASIS" run --no-portal
start portal captive_portal/oasis-portal.service "$OASIS" portal serve
start backoffice "" "$OASIS" backoffice run --db "$OASIS_LAB_STATE/backoffice.db" \
  --auto-acknowledge

healthz() { "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
  "http://$ctl:$OASIS_LAB_PORTAL_PORT/healthz"; }
wait_until 60 "healthy portal (broker link and 940 forwarder up)" healthz
say "smoke: the portal answers /healthz with its broker link and forwarder up"
