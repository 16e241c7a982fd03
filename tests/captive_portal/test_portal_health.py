"""The portal's /healthz: its MQTT link and the 940 forwarder, true to what is running.

The forwarder runs in another process in a park (the controller); its heartbeat in the store is
what the portal reads. Here a real `PortalRuntime` and a real `ReportsService` share a store and
a real Mosquitto, and each is taken away in turn.
"""

from __future__ import annotations

import time

import pytest

from captive_portal.config import PortalSettings
from captive_portal.reports import health
from captive_portal.reports.service import ReportsService
from captive_portal.serve import PortalRuntime
from core.config import load_config
from core.mqtt import LinkHealth
from core.store import Store
from tests.captive_portal.portal_harness import Portal
from tests.captive_portal.reports_pipeline import FAST, file_many, mqtt_config
from tests.support import wait_for

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

TIMEOUT = 15.0


def _link(connected: bool = True) -> LinkHealth:
    return LinkHealth("oasis-reports", "127.0.0.1:1883", connected, time.time() - 60,
                      None if connected else "disconnected: unspecified", None, 0, 0, 0, 0)


def _beat(store: Store, at: float, connected: bool = True) -> None:
    with store.transaction() as conn:
        health.beat(conn, _link(connected), at - 100, at)


def test_the_forwarder_check_follows_its_heartbeat(tmp_path):
    portal = Portal(tmp_path)
    reply = portal.client.get("/healthz")
    assert reply.status_code == 503
    assert reply.json["checks"]["forwarder"]["running"] is False
    assert reply.headers["Cache-Control"] == "no-store"

    file_many(portal.store, 3)
    _beat(portal.store, time.time())
    reply = portal.client.get("/healthz")
    assert reply.status_code == 200 and reply.json["status"] == "ok"
    forwarder = reply.json["checks"]["forwarder"]
    assert (forwarder["running"], forwarder["connected"], forwarder["outbox_depth"]) == (
        True, True, 3)
    assert forwarder["oldest_unacked_s"] >= 0

    _beat(portal.store, time.time(), connected=False)  # running, but away from the broker
    assert portal.client.get("/healthz").status_code == 503

    _beat(portal.store, time.time() - health.STALE_AFTER_S - 1)  # killed: the beats stopped
    reply = portal.client.get("/healthz")
    assert reply.status_code == 503
    assert "no heartbeat" in reply.json["checks"]["forwarder"]["last_error"]
    # A load balancer's question: can this process log visitors in?
    assert portal.client.get("/healthz?scope=local").status_code == 200


def test_visitors_get_the_verdicts_only(tmp_path):
    portal = Portal(tmp_path)
    _beat(portal.store, time.time())
    reply = portal.client.get("/healthz", environ_base={"REMOTE_ADDR": "10.77.0.100"})
    assert reply.status_code == 200
    assert reply.json == {"status": "ok", "checks": {"forwarder": {"ok": True}}}


@pytest.fixture
def running(tmp_path, mosquitto):
    path = tmp_path / "oasis.toml"
    path.write_text(f"""
[store]
path = "{tmp_path / 'oasis.db'}"
key_file = "{tmp_path / 'oasis.key'}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
[portal]
secret_key_file = "{tmp_path / 'portal.key'}"
secure_cookies = false
""")
    config = load_config(path, env={})
    portal = PortalRuntime(config, PortalSettings.from_config(config))
    reports = ReportsService(config.store_location(), mqtt_config(mosquitto), FAST,
                             poll_s=0.1)
    portal.start()
    reports.start()
    client = portal.app.test_client()
    yield client, portal, reports
    reports.stop()
    portal.stop()


def _state(client, path: str = "/healthz") -> tuple[int, dict]:
    reply = client.get(path)
    return reply.status_code, reply.json


def test_healthz_tells_the_truth_as_parts_go_and_come_back(running, mosquitto):
    client, portal, reports = running
    wait_for(lambda: _state(client)[0] == 200, TIMEOUT, what="a healthy portal")
    status, body = _state(client)
    link = body["checks"][f"mqtt:{portal.link.client_id}"]
    assert link["connected"] and link["last_error"] is None
    assert link["broker"] == f"{mosquitto.host}:{mosquitto.port}"

    mosquitto.stop()
    wait_for(lambda: _state(client)[0] == 503, TIMEOUT, what="the broker's absence to show")
    status, body = _state(client)
    link = body["checks"][f"mqtt:{portal.link.client_id}"]
    assert not link["connected"] and link["last_error"]
    wait_for(lambda: not _state(client)[1]["checks"]["forwarder"]["connected"], TIMEOUT,
             what="the forwarder's link to show down")

    mosquitto.start()
    wait_for(lambda: _state(client)[0] == 200, TIMEOUT, what="health after the broker's return")

    reports.stop()
    status, body = _state(client)
    assert status == 503 and body["checks"]["forwarder"]["last_error"] == "stopped"
    assert _state(client, "/healthz?scope=local")[0] == 200
