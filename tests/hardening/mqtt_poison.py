"""The MQTT poison: what an attacker or a broken client can publish on every topic our components
subscribe to, shared by the corpus (test_mqtt_poison.py) and the fault run
(bench/reports_rate.py controller-fault).

`TOPICS` names each subscribed topic (a second id where the subscription has a wildcard), the
schema and a real message of that topic, which link subscribes, and what that subscriber must
still do afterwards; `Topic.cases` is every poison payload for it, by name.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.contracts import reports as report_contract
from core.contracts.backhaul import EVENT_SCHEMA, STATE_SCHEMA
from core.contracts.gateway import (
    ACCOUNTING_SCHEMA,
    ACK_SCHEMA,
    COMMAND_SCHEMA,
    SESSION_END_SCHEMA,
)
from core.mqtt import iso_now

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
          {"ids": ["940-0000-000001", "940-0000-000000"]}, "reports", "report"),
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


def retained_poison() -> Iterator[tuple[str, bytes]]:
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


__all__ = ["BRANCH", "GATEWAY", "GENERIC", "ODD", "TOPICS", "Topic", "cases_for",
           "retained_poison"]
