"""The demo's way in for a visitor (`/demo/visitor`, only with ``PortalSettings.demo``) and the
demo's gateway that acks the portal's commands over a real Mosquitto and enforces nothing."""

from __future__ import annotations

import pytest

import time
from urllib.parse import parse_qs, urlsplit

from cryptography.fernet import Fernet

from agents.gateway.demo import DemoGateway
from captive_portal import create_app
from captive_portal.config import PortalConfig, PortalSettings
from captive_portal.demo import DEMO_GATEWAY
from captive_portal.gateway_link import MqttGatewayControl
from captive_portal.gateways import register_gateway
from captive_portal.sessions import Sessions
from core.config import MqttConfig
from core.contracts.signature import ClientClaim
from core.mqtt import MQTT_V5, MqttLink
from core.secrets import SecretBox
from core.store import Store
from tests.captive_portal.portal_harness import FakeGatewayControl
from tests.support import wait_for

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

TIMEOUT = 10.0


def portal_app(tmp_path, *, demo: bool):
    settings = PortalSettings(demo=demo)
    settings.portal.secure_cookies = False
    settings.sms.outbox = str(tmp_path / "sms.jsonl")
    box = SecretBox(Fernet.generate_key())
    store = Store(tmp_path / "portal.db")
    register_gateway(store, box, DEMO_GATEWAY)
    store.close()
    gateway = FakeGatewayControl()
    app = create_app(settings, store_path=str(tmp_path / "portal.db"), secret_box=box,
                     gateway=gateway, secret_key=b"k" * 32, testing=True)
    return app.test_client(), gateway


def test_a_demo_visitor_is_a_fresh_device_signed_for_the_demo_gateway(tmp_path):
    client, gateway = portal_app(tmp_path, demo=True)
    macs = set()
    for _ in range(2):
        response = client.get("/demo/visitor")
        assert response.status_code == 303
        target = urlsplit(response.headers["Location"])
        params = {k: v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        assert target.path == "/" and params["gw"] == DEMO_GATEWAY
        macs.add(params["mac"])
        landing = client.get("/", query_string=params)
        assert landing.status_code == 200  # the signature verifies
    assert len(macs) == 2  # a new phone each time
    # The root without a gateway's parameters sends the browser in the same way.
    root = client.get("/")
    assert root.status_code == 303 and root.headers["Location"].endswith("/demo/visitor")
    # ...and the terms click-through then asks the (here recorded) gateway to allow it.
    page = client.get("/demo/visitor", follow_redirects=True).get_data(as_text=True)
    assert 'action="/login/terms"' in page


def test_without_the_demo_flag_there_is_no_way_in_but_a_gateway(tmp_path):
    client, _ = portal_app(tmp_path, demo=False)
    assert client.get("/demo/visitor").status_code == 404
    root = client.get("/")
    assert root.status_code == 400  # the link without a gateway's signature, as in a park


def test_the_demo_gateway_acks_allow_and_deny_for_itself_only(mosquitto, tmp_path):
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    store = Store(tmp_path / "portal.db")
    box = SecretBox(Fernet.generate_key())
    register_gateway(store, box, DEMO_GATEWAY)
    portal_link = MqttLink(config, client_id="portal-test")
    gateways = MqttGatewayControl(portal_link, lambda: store)
    gateways.start()
    demo = DemoGateway(DEMO_GATEWAY, config, host=mosquitto.host, port=mosquitto.port,
                       protocol=MQTT_V5)
    demo.start()
    portal_link.start()
    try:
        for link in (portal_link, demo.link):
            assert link.wait_connected(TIMEOUT)
            wait_for(lambda link=link: all(s.active for s in link._subscriptions.values()),
                     TIMEOUT, what="subscriptions")
        claim = ClientClaim(DEMO_GATEWAY, "02:00:00:00:00:07", "10.77.0.7", "", int(time.time()))
        session = Sessions(store, time.time).open(claim, "terms", None, "ar", PortalConfig())
        ack = gateways.allow(DEMO_GATEWAY, session.grant(), TIMEOUT)
        assert ack.ok and ack.error is None
        assert demo.enforcer.book.by_mac("02:00:00:00:00:07") is not None
        assert gateways.deny(DEMO_GATEWAY, session.id, claim.mac, claim.ip, "logout",
                             TIMEOUT).ok
        assert demo.enforcer.book.by_mac("02:00:00:00:00:07") is None
        # Another gateway's commands are not the demo's to answer.
        assert gateways.allow("gw-elsewhere", session.grant(), 1.0).error == "timeout"
        assert demo.control.commands_applied == 2
    finally:
        portal_link.stop()
        demo.stop()
        store.close()
