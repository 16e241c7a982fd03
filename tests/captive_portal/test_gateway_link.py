"""The portal's side of the gateway link over a real Mosquitto: a gateway speaks only for itself.

Two registered gateways, ``gw1`` and ``gw2``, publish as the agents would (a plain link stands in
for each agent: what matters here is what arrives on their topics, not nftables).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet

from captive_portal.config import PortalConfig
from captive_portal.gateway_link import MqttGatewayControl
from captive_portal.gateways import register_gateway
from captive_portal.sessions import Sessions, VisitorSession
from core.config import MqttConfig
from core.contracts.gateway import (
    ACCOUNTING_SCHEMA,
    ACK_SCHEMA,
    SESSION_END_SCHEMA,
    topic,
)
from core.contracts.signature import ClientClaim
from core.mqtt import InboundMessage, MqttLink
from core.secrets import SecretBox
from core.store import Store
from tests.support import wait_for

TIMEOUT = 10.0


@dataclass
class Wired:
    store: Store
    gateways: MqttGatewayControl
    agent: MqttLink
    commands: queue.Queue

    def session(self, gateway_id: str, mac: str) -> VisitorSession:
        claim = ClientClaim(gateway_id, mac, "10.77.0.100", "", int(time.time()))
        opened = Sessions(self.store, time.time).open(claim, "terms", None, "ar", PortalConfig())
        Sessions(self.store, time.time).activate(opened.id)
        return opened

    def state(self, session_id: int) -> VisitorSession:
        found = Sessions(self.store, time.time).get(session_id)
        assert found is not None
        return found

    def publish(self, gateway_id: str, kind: str, body: dict, schema: str) -> None:
        assert self.agent.publish_json(topic(gateway_id, kind), body, schema=schema).wait(TIMEOUT)

    def settled(self) -> None:
        """Wait until the portal has handled everything published so far: a marker session-end
        for a session of ``gw1`` (published last, on the same topic tree) has been applied."""
        marker = self.session("gw1", "02:00:00:00:99:99")
        self.publish("gw1", "session-end", {"session_id": marker.id, "reason": "marker"},
                     SESSION_END_SCHEMA)
        wait_for(lambda: self.state(marker.id).state == "ended", TIMEOUT, what="the marker")


@pytest.fixture
def wired(mosquitto, tmp_path):
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    store = Store(tmp_path / "portal.db")
    box = SecretBox(Fernet.generate_key())
    for gateway_id in ("gw1", "gw2"):
        register_gateway(store, box, gateway_id)
    portal_link = MqttLink(config, client_id="portal-test")
    gateways = MqttGatewayControl(portal_link, lambda: store)
    gateways.start()
    agent = MqttLink(config, client_id="agents-test")
    commands: queue.Queue[InboundMessage] = queue.Queue()
    subscription = agent.subscribe("gateway/+/command", commands.put)
    for link in (portal_link, agent):
        link.start()
        assert link.wait_connected(TIMEOUT)
    wait_for(lambda: all(s.active for s in portal_link._subscriptions.values()), TIMEOUT,
             what="the portal's subscriptions")
    assert subscription.wait_active(TIMEOUT)
    yield Wired(store, gateways, agent, commands)
    portal_link.stop()
    agent.stop()
    store.close()


def test_a_session_end_touches_only_sessions_of_the_gateway_in_the_topic(wired):
    """Defect 10: gw2's session-end named a session of gw1 and ended it."""
    ours = wired.session("gw1", "02:00:00:00:00:01")
    wired.publish("gw2", "session-end", {"session_id": ours.id, "reason": "expired",
                                         "bytes_up": 1, "bytes_down": 2}, SESSION_END_SCHEMA)
    wired.settled()
    assert wired.state(ours.id).state == "active"

    wired.publish("gw1", "session-end", {"session_id": ours.id, "reason": "expired",
                                         "bytes_up": 10, "bytes_down": 20}, SESSION_END_SCHEMA)
    wait_for(lambda: wired.state(ours.id).state == "ended", TIMEOUT, what="the session end")
    ended = wired.state(ours.id)
    assert (ended.end_reason, ended.bytes_up, ended.bytes_down) == ("expired", 10, 20)


def test_accounting_updates_only_the_gateways_own_sessions_and_skips_bad_entries(wired):
    ours = wired.session("gw1", "02:00:00:00:00:01")
    theirs = wired.session("gw2", "02:00:00:00:00:02")
    wired.publish("gw2", "accounting", {"gateway_id": "gw2", "part": 1, "parts": 1, "clients": [
        {"session_id": ours.id, "bytes_up": 666, "bytes_down": 666},    # not gw2's
        {"session_id": theirs.id, "bytes_up": 2 ** 80, "bytes_down": 1},  # beyond INTEGER
        {"session_id": theirs.id, "bytes_up": "7", "bytes_down": 1},       # a string
        {"session_id": theirs.id, "bytes_up": 5, "bytes_down": 6, "last_seen": [1]},
        None, [], "x", 3,
        {"session_id": theirs.id, "bytes_up": 7, "bytes_down": 8, "last_seen": time.time()},
    ]}, ACCOUNTING_SCHEMA)
    wait_for(lambda: wired.state(theirs.id).bytes_up == 7, TIMEOUT, what="the accounting")
    assert wired.state(theirs.id).bytes_down == 8
    assert (wired.state(ours.id).bytes_up, wired.state(ours.id).bytes_down) == (0, 0)


def test_an_ack_counts_only_from_the_gateway_commanded(wired):
    """gw2 acking the command sent to gw1 lets nobody through; a reply from gw1 does."""
    session = wired.session("gw1", "02:00:00:00:00:01")

    def answer(from_gateway: str, **fields) -> None:
        command = wired.commands.get(timeout=TIMEOUT).payload
        wired.publish(from_gateway, "ack", {"command_id": command["command_id"], "ok": True,
                                            **fields}, ACK_SCHEMA)

    replier = threading.Thread(target=answer, args=("gw2",))
    replier.start()
    assert wired.gateways.allow("gw1", session.grant(), timeout_s=1.5).error == "timeout"
    replier.join()

    # Odd fields in the right gateway's ack read as absent, never as a crash.
    replier = threading.Thread(target=answer, args=("gw1",),
                               kwargs={"error": {"x": 1}, "nft_ms": "fast"})
    replier.start()
    ack = wired.gateways.allow("gw1", session.grant(), timeout_s=TIMEOUT)
    replier.join()
    assert ack.ok and ack.error is None and ack.nft_ms is None
