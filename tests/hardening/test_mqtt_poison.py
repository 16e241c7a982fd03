"""Bad-input corpus for MQTT: every topic each component subscribes to, through a real Mosquitto.

The components run as they do in production, on one store and one broker: the controller
(`Controller`: adoption hellos, branch telemetry, and the 940 forwarder and status consumer on
their own link), the portal (`PortalRuntime`: gateway acks, accounting, session ends), a park
gateway's command channel (`GatewayControlChannel`; its kernel sets are `FakeNftables`, the lab
runs the real ones) and the reference back office (`BackOffice`). An attacker's client publishes:

- on every subscribed topic, whole payloads that are not what anyone expects (`GENERIC`: deep
  nesting, huge integers, NaN, invalid UTF-8, lone surrogates, truncated or empty JSON, 2 MB,
  odd JSON values, right data under a wrong schema...);
- the topic's own message with each field in turn replaced by each odd value (`ODD`: null,
  lists, objects, a 300 KB string, a 4,000-digit integer, 2^63, 1e400, -1, NUL...);
- retained poison on every topic before anything subscribes, met again on every reconnect (the
  broker is SIGKILLed and restarted).

After each topic's poison, its subscriber must still do its job (a login command still acked,
a report still forwarded and acked, a status update still applied, a branch state still
recorded, a hello still pending adoption...), and every link stays connected with no handler
error and no restart of its network loop. The cases are counted in `test_the_corpus_is_counted`
(docs/mqtt.md quotes the figures).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
from core.contracts import reports as report_contract
from core.contracts.backhaul import EVENT_SCHEMA, STATE_SCHEMA
from core.contracts.gateway import (
    ACCOUNTING_SCHEMA,
    ACK_SCHEMA,
    COMMAND_SCHEMA,
    SESSION_END_SCHEMA,
)
from core.contracts.signature import ClientClaim
from core.mqtt import MqttLink, iso_now
from core.secrets import SecretBox
from core.store import Store
from netconfig import adoption
from tests.agents.fake_nftables import FakeNftables
from tests.mosquitto import MosquittoBroker
from tests.support import free_port, free_udp_port, require_tool, wait_for

TIMEOUT = 20.0
GATEWAY = "gw1"
BRANCH = "branch-poison"

# -- the poison -----------------------------------------------------------------------------------

#: Whole payloads, the same on every topic (``{schema}`` is the topic's own schema id).
GENERIC: dict[str, bytes] = {
    "100,000 nested arrays": b"[" * 100_000,
    "100,000 nested objects": b'{"a":' * 100_000,
    "nested 33 deep": b"[" * 33 + b"]" * 33,
    "an integer of 5,000 digits": b"9" * 5000,
    "an integer of 5,000 digits in the message": b'{"schema": "{schema}", "id": ' + b"9" * 5000
                                                  + b"}",
    "NaN": b'{"schema": "{schema}", "n": NaN}',
    "Infinity": b"Infinity",
    "-Infinity in a list": b"[-Infinity]",
    "invalid UTF-8": b'{"schema": "{schema}", "s": "\xc3\x28"}',
    "UTF-8 of a surrogate": b'{"s": "\xed\xa0\x80"}',
    "an escaped lone surrogate": b'{"schema": "{schema}", "id": "\\ud800"}',
    "a byte-order mark": b'\xef\xbb\xbf{"schema": "{schema}"}',
    "truncated": b'{"schema": "{schema}", "ids": [1, 2',
    "two documents": b'{"a": 1}{"b": 2}',
    "not JSON at all": b"<xml>hello</xml>",
    "2 MB": b'{"schema": "{schema}", "s": "' + b"x" * 2_000_000 + b'"}',
    "900 KB of nulls": b"[" + b"null," * 180_000 + b"null]",
    "a list of 60,000 objects": b"[" + b'{"a": 1},' * 60_000 + b"{}]",
    "null": b"null",
    "a string": b'"reports"',
    "a number": b"42",
    "true": b"true",
    "an empty list": b"[]",
    "an empty object": b"{}",
    "the schema alone": b'{"schema": "{schema}"}',
    "a schema of another kind": b'{"schema": "alert/1", "id": "x"}',
    "a later schema version": b'{"schema": "{schema_name}/99", "id": "x"}',
    "a schema that is not a string": b'{"schema": ["{schema}"], "id": "x"}',
}

#: Values put in place of one field of a topic's real message (raw JSON text).
ODD: dict[str, str] = {
    "null": "null",
    "true": "true",
    "an empty list": "[]",
    "an empty object": "{}",
    "a list of lists": "[[1, [2, [3]]]]",
    "nested 25 deep": "[" * 25 + "]" * 25,
    "a string": '"poison"',
    "an empty string": '""',
    "a 300 KB string": '"' + "x" * 300_000 + '"',
    "a NUL": '"\\u0000"',
    "a right-to-left override": '"\\u202e\\u0627"',
    "a 4,000-digit integer": "9" * 4000,
    "2^63": "9223372036854775808",
    "-1": "-1",
    "1e400": "1e400",
    "-0.0": "-0.0",
    "0.5": "0.5",
}

_SENTINEL = "@@odd-value@@"


def _paths(value: Any, prefix: tuple = (), depth: int = 0) -> Iterator[tuple]:
    """Every key/index path into ``value``'s objects and lists, up to three levels."""
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        if depth < 2:
            yield from _paths(child, (*prefix, key), depth + 1)


def _replaced(template: dict, path: tuple, text: str) -> bytes:
    body = json.loads(json.dumps(template))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = _SENTINEL
    return json.dumps(body).replace(json.dumps(_SENTINEL), text).encode()


def cases_for(schema: str, template: dict) -> dict[str, bytes]:
    """Every poison case of one topic, by name."""
    name = schema.split("/")[0]
    cases = {case: data.replace(b"{schema}", schema.encode()).replace(
        b"{schema_name}", name.encode()) for case, data in GENERIC.items()}
    body = {"schema": schema, "sent_at": iso_now(), **template}
    cases["the message in a list"] = json.dumps([body]).encode()
    cases["the message as a JSON string"] = json.dumps(json.dumps(body)).encode()
    for path, (odd, text) in itertools.product(list(_paths(body)), ODD.items()):
        cases[f"{'.'.join(map(str, path))} = {odd}"] = _replaced(body, path, text)
    for key in template:
        cases[f"without {key}"] = json.dumps({k: v for k, v in body.items() if k != key}).encode()
    return cases


# -- the topics and what their subscribers must still do ------------------------------------------

@dataclass
class Topic:
    #: Topics to poison (relative to the prefix); a wildcard filter gets a second, unknown id.
    topics: tuple[str, ...]
    schema: str
    template: dict
    #: Which link subscribes: "portal", "agent", "reports", "controller" or "office".
    subscriber: str
    #: What must still work afterwards: a method of `System`.
    check: str
    cases: dict[str, bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.cases = cases_for(self.schema, self.template)

    @property
    def wildcard(self) -> bool:
        return len(self.topics) > 1


TOPICS: dict[str, Topic] = {topic.topics[0]: topic for topic in (
    Topic((f"gateway/{GATEWAY}/ack", "gateway/gw-unknown/ack"), ACK_SCHEMA,
          {"command_id": "c" * 32, "session_id": 424242, "action": "allow", "ok": True,
           "error": None, "nft_ms": 0.4}, "portal", "login"),
    Topic((f"gateway/{GATEWAY}/accounting", "gateway/gw-unknown/accounting"), ACCOUNTING_SCHEMA,
          {"gateway_id": GATEWAY, "part": 1, "parts": 1, "clients": [
              {"session_id": 424242, "mac": "02:00:00:00:aa:01", "ip": "10.77.0.201",
               "bytes_up": 1, "bytes_down": 2, "last_seen": 1_790_000_000.5}]},
          "portal", "accounting"),
    Topic((f"gateway/{GATEWAY}/session-end", "gateway/gw-unknown/session-end"),
          SESSION_END_SCHEMA,
          {"session_id": 424242, "mac": "02:00:00:00:aa:01", "ip": "10.77.0.201", "bytes_up": 1,
           "bytes_down": 2, "last_seen": 1_790_000_000.5, "reason": "expired",
           "at": 1_790_000_000.5}, "portal", "session_end"),
    Topic((f"gateway/{GATEWAY}/command",), COMMAND_SCHEMA,
          {"command_id": "p" * 32, "action": "allow", "valid_until": 4_000_000_000.0,
           "session_id": 424242, "mac": "02:00:00:00:aa:01", "ip": "10.77.0.201",
           "expires_at": 4_000_000_000.0, "quota_bytes": 0, "idle_timeout_s": 0,
           "rate_up_kbps": 0, "rate_down_kbps": 0}, "agent", "login"),
    Topic((report_contract.TOPIC_ACK,), report_contract.SCHEMA_ACK,
          {"ids": ["940-2026-000001", "940-0000-000000"]}, "reports", "report"),
    Topic((report_contract.TOPIC_STATUS,), report_contract.SCHEMA_STATUS,
          {"update_id": "u" * 32, "id": "940-0000-000000", "status": "assigned",
           "note": "crew on the way", "assigned_to": "team-3", "at": "2026-11-23T08:00:00+00:00"},
          "reports", "status"),
    Topic((report_contract.TOPIC_NEW,), report_contract.SCHEMA_REPORT,
          {"id": "940-9999-000001", "tracking": "940-9999-000001", "category": "lighting",
           "category_name": {"ar": "إنارة", "en": "Lighting"}, "team": "lighting",
           "priority": "normal", "priority_rules": [], "description": "poison",
           "channel": "open311", "locale": "ar",
           "location": {"site": None, "ap": None, "gateway_id": None, "lat": 25.38,
                        "long": 49.59, "source": "citizen", "address": None, "address_id": None},
           "reporter": {"phone": None, "name": None, "email": None}, "photos": [],
           "media_url": None, "created_at": "2026-11-23T08:00:00+00:00",
           "due_at": "2026-11-26T08:00:00+00:00"}, "office", "report"),
    Topic((report_contract.TOPIC_UPDATES,), report_contract.SCHEMA_UPDATE,
          {"id": "940-9999-000001:u1", "tracking": "940-9999-000001", "kind": "confirmed",
           "note": "poison", "at": "2026-11-23T08:00:00+00:00"}, "office", "report"),
    Topic((report_contract.TOPIC_ESCALATIONS,), report_contract.SCHEMA_ESCALATION,
          {"id": "940-9999-000001:e1", "tracking": "940-9999-000001", "level": 1,
           "due_at": "2026-11-26T08:00:00+00:00", "at": "2026-11-23T08:00:00+00:00"},
          "office", "report"),
    Topic((report_contract.TOPIC_STATUS_ACK,), report_contract.SCHEMA_STATUS_ACK,
          {"ids": ["u" * 32]}, "office", "status"),
    Topic((f"backhaul/{BRANCH}/state", "backhaul/branch-other/state"), STATE_SCHEMA,
          {"branch": BRANCH, "at": "2026-11-23T08:00:00.000+00:00", "active_link": "primary",
           "active_since": "2026-11-23T08:00:00.000+00:00", "failovers": 0, "spooled": 0,
           "links": [{"name": "primary", "interface": "eth1", "priority": 10, "state": "up",
                      "carrier": True, "loss_pct": 0.0, "rtt_ms": 1.2, "consecutive_misses": 0,
                      "probes_sent": 100, "replies": 100}]}, "controller", "backhaul"),
    Topic((f"backhaul/{BRANCH}/events", "backhaul/branch-other/events"), EVENT_SCHEMA,
          {"id": "e" * 36, "branch": BRANCH, "kind": "failover", "at":
           "2026-11-23T08:00:00.000+00:00", "from_link": "primary", "to_link": "backup",
           "reason": "primary down", "switch_ms": 1.4}, "controller", "backhaul"),
    Topic(("adoption/hello",), "hello/1",
          {"mac": "02:00:00:00:bb:01", "mgmt_ip": "127.0.0.250", "platform": "openwrt"},
          "controller", "hello"),
)}


# -- the system under poison ----------------------------------------------------------------------

class System:
    """Every MQTT user on one broker and store, and the checks that each still does its job."""

    def __init__(self, folder, broker: MosquittoBroker):
        self.broker = broker
        path = folder / "oasis.toml"
        path.write_text(f"""
[store]
path = "{folder / 'oasis.db'}"
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
        self.store = Store(self.config.resolve_path(self.config.store.path))
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


def _retained_poison() -> Iterator[tuple[str, bytes]]:
    """Retained poison: where the subscription has a wildcard (a topic with a second id), every
    generic case on a topic of its own (``gateway/retained-<n>/ack``...); elsewhere the worst
    case on the topic itself (a topic retains one message)."""
    for topic in TOPICS.values():
        if topic.wildcard:
            first = topic.topics[0].split("/")
            for n, data in enumerate(GENERIC.values()):
                yield "/".join([first[0], f"retained-{n}", *first[2:]]), data.replace(
                    b"{schema}", topic.schema.encode())
        else:
            yield topic.topics[0], GENERIC["100,000 nested arrays"]


@pytest.fixture(scope="module")
def system(tmp_path_factory) -> Iterator[System]:
    folder = tmp_path_factory.mktemp("mqtt-poison")
    # Saved every second rather than on every change: with megabytes of retained poison, a save
    # per message would make the broker, not the components, the thing measured.
    broker = MosquittoBroker(require_tool("mosquitto"), folder / "mosquitto",
                             extra_config="autosave_on_changes false\nautosave_interval 1\n")
    broker.start()
    built = System(folder, broker)
    try:
        built.start()
        for topic, data in _retained_poison():  # waiting for every subscriber, before it exists
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
    retained = sum(1 for _ in _retained_poison())
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
