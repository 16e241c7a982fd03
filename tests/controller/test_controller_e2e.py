"""The controller process end to end: simulated APs over real SNMP, real Mosquitto, REST API.

Everything `oasis run` starts (minus the simulator subprocess, which runs in a thread here so
the test can drive it): the poller sees the APs come up, a reboot trap becomes an event, an
unreachable AP goes down and its alert is published on MQTT and shown by the API.
"""

import threading
import urllib.request
from pathlib import Path

import pytest

from core import inventory
from core.mqtt import MqttLink
from core.store import Store
from tests.controller.controller_harness import api, controller_config, running_controller
from tests.peers_smtp import smtp_server  # noqa: F401
from tests.support import wait_for

pytestmark = pytest.mark.store_backed  # the controller harness keeps its store

AP_COUNT = 6


@pytest.fixture
def running(tmp_path, mosquitto, smtp_server):  # noqa: F811
    config = controller_config(tmp_path, mosquitto, client_id="oasis-e2e", aps=AP_COUNT,
                               first_address="127.0.9.1", snmp_timeout=0.3)
    config.snmp.down_after = 2
    config.mail.host, config.mail.port = smtp_server.host, smtp_server.port
    # The demo seeds the simulator's sites and APs, one of them on SNMPv3.
    with running_controller(config) as (controller, simulator, token):
        yield config, controller, simulator, token


def test_controller_monitors_simulated_aps(running, mosquitto, smtp_server):  # noqa: F811
    config, controller, simulator, token = running
    alerts, got_alert = [], threading.Event()

    def on_alert(message):
        alerts.append(message.payload)
        if message.payload.get("kind") == "ap_down" and message.payload.get("status") == "open":
            got_alert.set()

    watcher = MqttLink(config.mqtt, client_id="e2e-watcher")
    watcher.start()
    try:
        assert watcher.wait_connected(10)
        subscription = watcher.subscribe("alerts/#", on_alert)
        assert subscription.wait_active(10)

        def all_up():
            aps = api(controller, token, "aps")["aps"]
            return len(aps) == AP_COUNT and all(a.get("state") == "up" for a in aps) and aps
        aps = wait_for(all_up, timeout=30, what="every simulated AP up")
        names = sorted(a["name"] for a in aps)
        v3 = [a for a in aps if a["snmp_version"] == "3"]
        assert v3, "the demo seeds at least one SNMPv3 AP and it is up"

        # A reboot sends coldStart from the AP's own address: an event on that AP.
        simulator.reboot(names[0])
        wait_for(lambda: any(e["kind"] == "coldStart"
                             for e in api(controller, token, f"aps/{names[0]}/events")["events"]),
                 timeout=15, what="coldStart event")

        # Unreachable: degraded, then down after snmp.down_after polls, with an alert on MQTT.
        simulator.set_reachable(names[1], False)
        wait_for(lambda: api(controller, token, f"aps/{names[1]}/status")["state"] == "down",
                 timeout=20, what="AP down")
        assert got_alert.wait(10), f"no ap_down alert on MQTT, got {alerts}"
        open_alerts = api(controller, token, "alerts?state=open")["alerts"]
        assert any(a["kind"] == "ap_down" for a in open_alerts)
        # The demo's on-call person is told by e-mail and SMS (critical), in Arabic.
        to, mail = smtp_server.wait(1, timeout=15)[0]
        assert to == ["noc@localhost"] and names[1] in mail["Subject"]
        assert mail["Content-Language"] == "ar"
        wait_for(lambda: names[1] in (Path(config.sms.outbox).read_text(encoding="utf-8")
                                      if Path(config.sms.outbox).exists() else ""),
                 timeout=10, what="the alert's SMS in the console outbox")

        # Back again: up, and the alert clears.
        simulator.set_reachable(names[1], True)
        wait_for(lambda: api(controller, token, f"aps/{names[1]}/status")["state"] == "up",
                 timeout=20, what="AP up again")
        wait_for(lambda: not any(a["kind"] == "ap_down"
                                 for a in api(controller, token, "alerts?state=open")["alerts"]),
                 timeout=10, what="ap_down cleared")
        # An AP the inventory does not know reboots: counted, not trusted, pending adoption.
        stranger = names[3]
        store = Store(config.store_location())
        try:
            inventory.remove_ap(store, stranger, "test")
            unknown_before = controller.monitoring.snapshot.traps_unknown_source
            simulator.reboot(stranger)
            wait_for(lambda: controller.monitoring.snapshot.traps_unknown_source > unknown_before,
                     timeout=10, what="trap from an unknown source counted")
            wait_for(lambda: store.conn.execute(
                "SELECT count(*) FROM pending_aps WHERE mgmt_ip = ?",
                (simulator.describe(stranger)["mgmt_ip"],)).fetchone()[0] == 1,
                timeout=10, what="unknown AP pending adoption")
            assert not any(e["kind"] == "coldStart"
                           for e in api(controller, token, f"aps/{names[2]}/events")["events"])
        finally:
            store.close()
        # An AP saying hello over MQTT from an adoption network is pending too.
        store = Store(config.store_location())
        try:
            hello = {"mac": "02:aa:bb:cc:dd:01", "mgmt_ip": "127.0.9.200", "platform": "openwrt"}
            assert watcher.publish_json("adoption/hello", hello, schema="hello/1").wait(10)
            wait_for(lambda: store.conn.execute(
                "SELECT source FROM pending_aps WHERE mac = ?", (hello["mac"],)).fetchone()
                == ("mqtt",), timeout=10, what="MQTT hello pending adoption")
        finally:
            store.close()
        metrics = urllib.request.urlopen(controller.admin_url + "metrics", timeout=5).read().decode()
        assert f'oasis_ap_up{{ap="{names[2]}"' in metrics
    finally:
        watcher.stop()
