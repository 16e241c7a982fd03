"""Portal and gateway agent talking over a real Mosquitto: commands, acks, accounting and
session ends (the gateway's sets are `FakeNftables`; the lab uses the real ones)."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import jsonschema
import pytest
from cryptography.fernet import Fernet

from agents.gateway.config import GatewayConfig
from agents.gateway.control import GatewayControlChannel
from agents.gateway.enforcer import Enforcer, SessionEnd
from agents.gateway.sessions import ClientSession, SessionBook
from captive_portal.config import PortalConfig
from captive_portal.gateway_link import MqttGatewayControl
from captive_portal.gateways import register_gateway
from captive_portal.sessions import Sessions
from core.config import MqttConfig
from core.contracts.signature import ClientClaim
from core.mqtt import MqttLink
from core.secrets import SecretBox
from tests.agents.fake_nftables import FakeNftables
from tests.schemas import SCHEMAS
from tests.support import wait_for


@pytest.fixture
def wired(mosquitto, tmp_path, store):
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    tap = MqttLink(config, client_id="tap-test")
    seen: list = []
    tap.subscribe("gateway/#", lambda message: seen.append(message.payload))
    tap.start()
    assert tap.wait_connected(10)
    register_gateway(store, SecretBox(Fernet.generate_key()), "gw1")
    portal_link = MqttLink(config, client_id="portal-test")
    gateways = MqttGatewayControl(portal_link, lambda: store)
    gateways.start()
    agent_link = MqttLink(config, client_id="gateway-test")
    enforcer = Enforcer(GatewayConfig(), FakeNftables(), SessionBook(tmp_path / "gw.db"), [])
    enforcer.install()
    channel = GatewayControlChannel("gw1", agent_link, enforcer)
    channel.start()
    for link in (portal_link, agent_link):
        link.start()
        assert link.wait_connected(10)
    for link in (portal_link, agent_link):
        wait_for(lambda: all(s.active for s in link._subscriptions.values()), 10,
                 what="subscriptions")
    wait_for(lambda: all(s.active for s in tap._subscriptions.values()), 10, what="tap")
    yield store, gateways, channel, enforcer, seen
    tap.stop()
    portal_link.stop()
    agent_link.stop()
    store.close()


def open_session(store) -> int:
    claim = ClientClaim("gw1", "02:00:00:00:00:01", "10.77.0.100", "", int(time.time()))
    return Sessions(store, time.time).open(claim, "terms", None, "ar", PortalConfig())


def test_allow_is_acked_after_the_gateway_applied_it(wired):
    store, gateways, channel, enforcer, _ = wired
    session = open_session(store)
    ack = gateways.allow("gw1", session.grant(), timeout_s=5)
    assert ack.ok and ack.error is None and ack.nft_ms >= 0
    assert enforcer.client("10.77.0.100").session_id == session.id
    deny = gateways.deny("gw1", session.id, session.mac, session.ip, "logout", timeout_s=5)
    assert deny.ok and enforcer.clients() == []


def test_an_absent_gateway_times_out(wired):
    store, gateways, _, _, _ = wired
    started = time.monotonic()
    ack = gateways.allow("gw-missing", open_session(store).grant(), timeout_s=0.3)
    assert (ack.ok, ack.error) == (False, "timeout")
    assert time.monotonic() - started < 2


def test_a_refused_grant_comes_back_with_its_reason(wired):
    store, gateways, _, _, _ = wired
    session = open_session(store)
    expired = replace(session.grant(), expires_at=time.time() - 5)
    ack = gateways.allow("gw1", expired, timeout_s=5)
    assert (ack.ok, ack.error) == (False, "already_expired")


def test_accounting_and_session_ends_reach_the_portal(wired):
    store, gateways, channel, enforcer, _ = wired
    session = open_session(store)
    assert gateways.allow("gw1", session.grant(), timeout_s=5).ok
    Sessions(store, time.time).activate(session.id)
    enforcer.nft.sets["up"]["02:00:00:00:00:01 . 10.77.0.100"] = 1234
    enforcer.nft.sets["down"]["10.77.0.100"] = 5678
    enforcer.sweep()
    channel.publish_accounting(enforcer.clients())
    wait_for(lambda: Sessions(store, time.time).get(session.id).bytes_down == 5678, 5,
             what="accounting")
    client = enforcer.deny(session.mac)
    channel.publish_ends([SessionEnd(client, "quota", time.time())])
    wait_for(lambda: Sessions(store, time.time).get(session.id).state == "ended", 5,
             what="session end")
    assert Sessions(store, time.time).get(session.id).end_reason == "quota"


def test_every_message_matches_its_published_schema(wired):
    store, gateways, channel, enforcer, seen = wired
    session = open_session(store)
    gateways.allow("gw1", session.grant(), timeout_s=5)
    channel.publish_accounting(enforcer.clients())
    gateways.deny("gw1", session.id, session.mac, session.ip, "logout", timeout_s=5)
    ended = ClientSession(session.mac, session.ip, session.id, 0.0, session.expires_at, 0, 0,
                          0, 0, bytes_up=1)
    channel.publish_ends([SessionEnd(ended, "idle", time.time())])
    wait_for(lambda: {m.get("schema") for m in seen} >= {
        "gateway-command/1", "gateway-ack/1", "gateway-accounting/1", "gateway-session-end/1"},
        5, what="all four kinds of message")
    for message in seen:
        name = message["schema"].split("/")[0]
        schema = json.loads((SCHEMAS / f"{name}.json").read_text())
        jsonschema.validate(message, schema)

