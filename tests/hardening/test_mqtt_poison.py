"""Bad-input corpus for MQTT: every topic each component subscribes to, through a real Mosquitto.

The components run as they do in production, on one store and one broker: the controller
(`Controller`: adoption hellos, branch telemetry, and the 940 forwarder and status consumer on
their own link), the portal (`PortalRuntime`: gateway acks, accounting, session ends), a park
gateway's command channel (`GatewayControlChannel`; its kernel sets are `FakeNftables`, the lab
runs the real ones) and the reference back office (`BackOffice`). An attacker's client publishes
(the poison is in mqtt_poison.py, which the fault run in bench/ publishes too):

- on every subscribed topic, whole payloads that are not what anyone expects (`GENERIC`: deep
  nesting, huge integers, NaN, invalid UTF-8, lone surrogates, truncated or empty JSON, 2 MB,
  odd JSON values, right data under a wrong schema...);
- the topic's own message with each field in turn replaced by each odd value (`ODD`: null,
  lists, objects, a 300 KB string, a 4,000-digit integer, 2^63, 1e400, -1, NUL...);
- retained poison on every topic before anything subscribes, met again on every reconnect (the
  broker is restarted).

After each topic's poison, its subscriber must still do its job (a login command still acked,
a report still forwarded and acked, a status update still applied, a branch state still
recorded, a hello still pending adoption...), and every link stays connected with no handler
error and no restart of its network loop. The cases are counted in `test_the_corpus_is_counted`
(docs/mqtt.md quotes the figures).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from agents.backhaul.telemetry import new_event
from agents.backoffice.office import BackOffice
from agents.gateway.config import GatewayConfig
from agents.gateway.control import GatewayControlChannel
from agents.gateway.enforcer import Enforcer
from agents.gateway.sessions import SessionBook
from captive_portal.config import PortalConfig, PortalSettings
from captive_portal.gateways import register_gateway
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.serve import PortalRuntime
from captive_portal.sessions import Sessions
from controller.backhaul import records
from controller.runtime import Controller
from core.config import MqttConfig, load_config
from core.contracts.backhaul import EVENT_SCHEMA, STATE_SCHEMA
from core.contracts.gateway import ACCOUNTING_SCHEMA, SESSION_END_SCHEMA
from core.contracts.signature import ClientClaim
from core.mqtt import MqttLink, iso_now
from core.secrets import SecretBox
from core.store import Store
from netconfig import adoption
from tests.agents.fake_nftables import FakeNftables
from tests.hardening.mqtt_poison import GATEWAY, GENERIC, ODD, TOPICS, retained_poison
from tests.mosquitto import MosquittoBroker
from tests.support import free_port, free_udp_port, require_tool, wait_for

pytestmark = pytest.mark.store_backed  # the system under poison keeps its store

TIMEOUT = 20.0

# -- the system under poison ----------------------------------------------------------------------

class System:
    """Every MQTT user on one broker and store, and the checks that each still does its job."""

    def __init__(self, folder, broker: MosquittoBroker, store_url: str = ""):
        self.broker = broker
        path = folder / "oasis.toml"
        path.write_text(f"""
[store]
path = "{folder / 'oasis.db'}"
url = "{store_url}"
key_file = "{folder / 'oasis.key'}"
[admin]
listen = "127.0.0.1:{free_port()}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
client_id = "poison-controller"
[snmp]
trap_listen = "127.0.0.1:{free_udp_port()}"
[portal]
secret_key_file = "{folder / 'portal.key'}"
secure_cookies = false
[sms]
outbox = "{folder / 'sms.log'}"
[reports]
resend_after_s = 1.0
resend_max_s = 2.0
""")
        self.config = load_config(path, env={})
        self.store = Store(self.config.store_location())
        register_gateway(self.store, SecretBox.from_key_file(self.config.store.key_file), GATEWAY)
        mqtt = MqttConfig(host=broker.host, port=broker.port)
        self.controller = Controller(self.config, serve_portal=False)
        self.portal = PortalRuntime(self.config, PortalSettings.from_config(self.config))
        self.office = BackOffice(folder / "office.db", mqtt, host=broker.host, port=broker.port,
                                 resend_after_s=1.0)
        self.agent_link = MqttLink(mqtt, client_id="poison-gateway", clean_start=False,
                                   session_expiry_s=3600)
        self.enforcer = Enforcer(GatewayConfig(), FakeNftables(), SessionBook(folder / "gw.db"),
                                 [])
        self.enforcer.install()
        self.attacker = MqttLink(mqtt, client_id="poison-attacker")

    def start(self) -> None:
        self.attacker.start()
        assert self.attacker.wait_connected(TIMEOUT)

    def start_components(self) -> None:
        self.controller.start()
        self.portal.start()
        self.office.start()
        GatewayControlChannel(GATEWAY, self.agent_link, self.enforcer).start()
        self.agent_link.start()
        self.wait_ready()

    def wait_ready(self) -> None:
        for link in self.links.values():
            assert link.wait_connected(TIMEOUT), link
            wait_for(lambda link=link: all(s.active for s in link._subscriptions.values()),
                     TIMEOUT, what=f"the subscriptions of {link.client_id}")

    def stop(self) -> None:
        for stop in (self.portal.stop, self.office.stop, self.agent_link.stop,
                     self.controller.stop, self.attacker.stop, self.store.close):
            stop()

    @property
    def links(self) -> dict[str, MqttLink]:
        assert self.controller.link is not None and self.controller.reports is not None
        return {"portal": self.portal.link, "agent": self.agent_link,
                "reports": self.controller.reports.link, "controller": self.controller.link,
                "office": self.office.link}

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, topic: str, payloads: list[bytes], retain: bool = False) -> None:
        deliveries = [self.attacker.publish_raw(topic, data, retain=retain) for data in payloads]
        assert all(d.wait(TIMEOUT) for d in deliveries), [d for d in deliveries if not d.ok][:3]

    def healthy(self, name: str) -> None:
        health = self.links[name].health()
        assert health.connected, health
        assert (health.loop_restarts, health.handler_errors) == (0, 0), health

    # -- what each subscriber must still do ---------------------------------------------------

    def login(self) -> None:
        """The portal commands the gateway and the gateway acks: a visitor gets online."""
        mac = "02:00:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
        claim = ClientClaim(GATEWAY, mac, "10.77.0.100", "", int(time.time()))
        session = Sessions(self.store, time.time).open(claim, "terms", None, "ar", PortalConfig())
        ack = self.portal.gateways.allow(GATEWAY, session.grant(), timeout_s=TIMEOUT)
        assert ack.ok, ack
        self.session = session

    def accounting(self) -> None:
        self.login()
        session = self.session
        body = {"gateway_id": GATEWAY, "part": 1, "parts": 1, "clients": [
            {"session_id": session.id, "mac": session.mac, "ip": session.ip, "bytes_up": 123,
             "bytes_down": 456, "last_seen": round(time.time(), 3)}]}
        assert self.attacker.publish_json(f"gateway/{GATEWAY}/accounting", body,
                                          schema=ACCOUNTING_SCHEMA).wait(TIMEOUT)
        wait_for(lambda: self._session(session.id).bytes_down == 456, TIMEOUT,
                 what="the accounting to be applied")

    def session_end(self) -> None:
        self.login()
        session = self.session
        body = {"session_id": session.id, "mac": session.mac, "ip": session.ip, "bytes_up": 7,
                "bytes_down": 8, "reason": "expired", "at": time.time()}
        assert self.attacker.publish_json(f"gateway/{GATEWAY}/session-end", body,
                                          schema=SESSION_END_SCHEMA).wait(TIMEOUT)
        wait_for(lambda: self._session(session.id).state == "ended", TIMEOUT,
                 what="the session end to be applied")

    def _session(self, session_id: int):
        found = Sessions(self.store, time.time).get(session_id)
        assert found is not None
        return found

    def report(self) -> str:
        """A new report reaches the back office, which stores it and acks it by id."""
        filed = file_report(self.store, NewReport(category="lighting", description="Lamp out",
                                                  channel="open311", lat=25.38, lon=49.59),
                            self.config.reports)
        assert self.controller.reports is not None
        self.controller.reports.forwarder.wake()
        wait_for(lambda: self.store.conn.execute(
            "SELECT o.state FROM report_outbox o JOIN reports r ON r.id = o.report_id "
            "WHERE r.tracking = ?", (filed.tracking,)).fetchone()[0] == "acknowledged",
            TIMEOUT, what="the report to be forwarded and acked")
        assert filed.tracking in self.office.received_ids()
        return filed.tracking

    def status(self) -> None:
        """The back office's status update is applied, acked, and the office sees the ack."""
        tracking = self.report()
        update_id = self.office.move(tracking, "acknowledged", note="seen")
        assert self.office.wait_status_acked(update_id, TIMEOUT)
        assert self.store.conn.execute("SELECT status FROM reports WHERE tracking = ?",
                                       (tracking,)).fetchone()[0] == "acknowledged"

    def backhaul(self) -> None:
        branch = f"branch-live-{uuid.uuid4().hex[:6]}"
        state = {"branch": branch, "at": iso_now(), "active_link": "primary",
                 "active_since": iso_now(), "failovers": 0, "spooled": 0,
                 "links": [{"name": "primary", "interface": "eth1", "priority": 10,
                            "state": "up", "carrier": True, "loss_pct": 0.0, "rtt_ms": 1.0,
                            "consecutive_misses": 0, "probes_sent": 1, "replies": 1}]}
        assert self.attacker.publish_json(f"backhaul/{branch}/state", state,
                                          schema=STATE_SCHEMA).wait(TIMEOUT)
        event = new_event(branch, "agent_started", to_link="primary")
        assert self.attacker.publish_json(f"backhaul/{branch}/events", event,
                                          schema=EVENT_SCHEMA).wait(TIMEOUT)
        wait_for(lambda: (records.branch(self.store, branch) or {}).get("state_at"), TIMEOUT,
                 what="the branch state to be recorded")
        wait_for(lambda: records.events(self.store, branch, 10), TIMEOUT,
                 what="the branch event to be recorded")

    def hello(self) -> None:
        mac = "02:00:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
        assert self.attacker.publish_json("adoption/hello", {"mac": mac, "mgmt_ip": "127.0.0.77",
                                                             "platform": "openwrt"},
                                          schema="hello/1").wait(TIMEOUT)
        wait_for(lambda: any(row["mac"] == mac for row in adoption.pending(self.store)),
                 TIMEOUT, what="the hello to be pending adoption")

    def everything_works(self) -> None:
        for check in ("login", "accounting", "session_end", "report", "status", "backhaul",
                      "hello"):
            getattr(self, check)()
        for name in self.links:
            self.healthy(name)


@pytest.fixture(scope="module")
def system(tmp_path_factory, module_store_url) -> Iterator[System]:
    folder = tmp_path_factory.mktemp("mqtt-poison")
    # Saved every second rather than on every change: with megabytes of retained poison, a save
    # per message would make the broker, not the components, the thing measured.
    broker = MosquittoBroker(require_tool("mosquitto"), folder / "mosquitto",
                             extra_config="autosave_on_changes false\nautosave_interval 1\n")
    broker.start()
    built = System(folder, broker, module_store_url)
    try:
        built.start()
        for topic, data in retained_poison():  # waiting for every subscriber, before it exists
            built.publish(topic, [data], retain=True)
        built.start_components()
        yield built
    finally:
        built.stop()
        broker.stop()


# -- the cases ------------------------------------------------------------------------------------

def test_retained_poison_waiting_at_start_stops_nothing(system):
    system.everything_works()


@pytest.mark.parametrize("name", TOPICS)
def test_poison_on_every_subscribed_topic(system, name):
    topic = TOPICS[name]
    link = system.links[topic.subscriber]
    before = link.health().received
    payloads = list(topic.cases.values())
    for target in topic.topics:
        system.publish(target, payloads)
    wait_for(lambda: link.health().received >= before + len(payloads) * len(topic.topics),
             TIMEOUT, what=f"{link.client_id} to receive the poison")
    getattr(system, topic.check)()
    system.healthy(topic.subscriber)


def test_retained_poison_met_again_after_a_broker_restart(system):
    """The broker restarts (saving its retained messages on the way down): every link
    reconnects, subscribes again and meets every retained poison again; all still works."""
    for topic in TOPICS.values():  # another retained poison in place of the first
        system.publish(topic.topics[0], [topic.cases["an escaped lone surrogate"]], retain=True)
    connections = {name: link.connections for name, link in system.links.items()}
    system.broker.restart(hard=False)
    for name, link in system.links.items():
        wait_for(lambda link=link, name=name: link.connections > connections[name], TIMEOUT,
                 what=f"{name} to reconnect")
    system.wait_ready()
    system.everything_works()


def test_the_corpus_is_counted(system):
    per_topic = {name: len(topic.cases) * len(topic.topics) for name, topic in TOPICS.items()}
    retained = sum(1 for _ in retained_poison())
    total = sum(per_topic.values()) + retained
    print(f"\nMQTT poison corpus: {total} cases ({retained} retained), per topic:")
    for name, count in per_topic.items():
        print(f"  {name}: {count}")
    assert len(GENERIC) == 28 and len(ODD) == 17
    assert total > 4000
    for name in system.links:
        system.healthy(name)
    # What the links handed on was checked before use: nothing failed further down either.
    assert system.controller.backhaul is not None
    assert "failed" not in system.controller.backhaul.stats
