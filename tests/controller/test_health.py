"""The admin app's /healthz and the health samples of /metrics: the controller's MQTT links and
the 940 forwarder, as they are (a real `Controller` on a real Mosquitto, the broker taken away
and given back)."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from captive_portal.reports import health as forwarder
from controller import auth
from controller.runtime import Controller
from core.config import load_config
from core.mqtt import LinkHealth
from core.store import Store
from tests.captive_portal.reports_pipeline import file_many
from tests.controller.web_harness import add_user
from tests.support import free_port, free_udp_port, wait_for

TIMEOUT = 15.0


def _beat(store: Store, at: float) -> None:
    link = LinkHealth("oasis-reports", "127.0.0.1:1883", True, at - 60, None, None, 0, 0, 0, 0)
    with store.transaction() as conn:
        forwarder.beat(conn, link, at - 100, at)


def test_the_app_alone_reports_the_forwarder_from_its_heartbeat(client, store):
    reply = client.get("/healthz")
    assert reply.status_code == 503
    assert reply.json["checks"]["forwarder"]["last_error"] == "no forwarder has run on this store"
    file_many(store, 2)
    _beat(store, time.time())
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.json["status"] == "ok"
    assert reply.json["checks"]["forwarder"]["outbox_depth"] == 2
    _beat(store, time.time() - forwarder.STALE_AFTER_S - 1)
    assert client.get("/healthz").status_code == 503


def test_details_need_loopback_or_a_token(client, store):
    _beat(store, time.time())
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get("/healthz", environ_base=remote).json == {
        "status": "ok", "checks": {"forwarder": {"ok": True}}}
    add_user(store, "monitor", "viewer")
    token = auth.create_token(store, "monitor", "healthz", "test")
    detailed = client.get("/healthz", environ_base=remote,
                          headers={"Authorization": f"Bearer {token}"}).json
    assert detailed["checks"]["forwarder"]["running"] is True


@pytest.fixture
def controller(tmp_path, mosquitto):
    path = tmp_path / "oasis.toml"
    admin_port = free_port()
    path.write_text(f"""
[store]
path = "{tmp_path / 'oasis.db'}"
key_file = "{tmp_path / 'oasis.key'}"
[admin]
listen = "127.0.0.1:{admin_port}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
client_id = "health-controller"
[snmp]
trap_listen = "127.0.0.1:{free_udp_port()}"
[portal]
listen = "127.0.0.1:{free_port()}"
secret_key_file = "{tmp_path / 'portal.key'}"
secure_cookies = false
[sms]
outbox = "{tmp_path / 'sms.log'}"
""")
    running = Controller(load_config(path, env={}))
    running.start()
    yield running, admin_port
    running.stop()


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    reply = conn.getresponse()
    return reply.status, reply.read().decode()


def _health(port: int) -> tuple[int, dict]:
    status, body = _get(port, "/healthz")
    return status, json.loads(body)


def _samples(port: int) -> dict[tuple, float]:
    text = _get(port, "/metrics")[1]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_controller_reports_each_link_and_the_forwarder(controller, mosquitto):
    running, port = controller
    wait_for(lambda: _health(port)[0] == 200, TIMEOUT, what="a healthy controller")
    _, body = _health(port)
    links = {"mqtt:health-controller", "mqtt:oasis-reports", "mqtt:health-controller-portal"}
    assert links | {"forwarder"} == set(body["checks"])
    got = _samples(port)
    for name in ("health-controller", "oasis-reports", "health-controller-portal"):
        assert got[("oasis_mqtt_link_up", (("client_id", name),))] == 1
        assert got[("oasis_mqtt_link_loop_restarts_total", (("client_id", name),))] == 0
    assert got[("oasis_reports_forwarder_up", ())] == 1
    assert got[("oasis_reports_outbox_depth", ())] == 0

    mosquitto.stop()
    wait_for(lambda: _health(port)[0] == 503, TIMEOUT, what="the broker's absence to show")
    wait_for(lambda: not any(_health(port)[1]["checks"][name]["connected"] for name in links),
             TIMEOUT, what="every link to show down")
    assert _samples(port)[("oasis_mqtt_link_up", (("client_id", "oasis-reports"),))] == 0
    file_many(Store(running.config.store_location()), 1)
    wait_for(lambda: _samples(port)[("oasis_reports_outbox_oldest_unacked_seconds", ())] > 0,
             TIMEOUT, what="the backlog to age")
    assert _samples(port)[("oasis_reports_outbox_depth", ())] == 1

    mosquitto.start()
    wait_for(lambda: _health(port)[0] == 200, TIMEOUT, what="health after the broker's return")


def test_healthz_and_metrics_say_which_broker_each_link_is_on(tmp_path, mosquitto_pair):
    a, b = mosquitto_pair
    brokers = [f"{a.host}:{a.port}", f"{b.host}:{b.port}"]
    config = load_config(env={})
    config.store.path = str(tmp_path / "oasis.db")
    config.store.key_file = str(tmp_path / "oasis.key")
    config.admin.listen = f"127.0.0.1:{free_port()}"
    config.portal.listen = f"127.0.0.1:{free_port()}"
    config.portal.secret_key_file = str(tmp_path / "portal.key")
    config.sms.outbox = str(tmp_path / "sms.log")
    config.snmp.trap_listen = f"127.0.0.1:{free_udp_port()}"
    config.mqtt.brokers, config.mqtt.client_id = brokers, "two-brokers"
    running = Controller(config)
    running.start()
    try:
        port = int(running.admin_url.rstrip("/").rsplit(":", 1)[1])
        links = ("mqtt:two-brokers", "mqtt:oasis-reports", "mqtt:two-brokers-portal")

        def on(broker: str) -> bool:
            status, body = _health(port)
            return status == 200 and all(body["checks"][name]["broker"] == broker
                                         for name in links)

        wait_for(lambda: on(brokers[0]), TIMEOUT, what="every link healthy on A")
        a.kill()
        wait_for(lambda: on(brokers[1]), TIMEOUT, what="every link healthy on B")
        checks = _health(port)[1]["checks"]
        assert all(checks[name]["brokers"] == brokers and checks[name]["failovers"] == 1
                   for name in links)
        got = _samples(port)
        assert got[("oasis_mqtt_link_broker",
                    (("broker", brokers[1]), ("client_id", "oasis-reports")))] == 1
        assert got[("oasis_mqtt_link_broker",
                    (("broker", brokers[0]), ("client_id", "oasis-reports")))] == 0
        assert got[("oasis_mqtt_link_failovers_total", (("client_id", "oasis-reports"),))] == 1
    finally:
        running.stop()
