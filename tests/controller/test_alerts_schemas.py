"""Alert and event payloads, as really published through Mosquitto, match docs/schemas/."""

from __future__ import annotations

import datetime as dt
import queue

import pytest

from controller.monitoring.alerts import AlertEvaluator
from controller.monitoring.events import record_event
from controller.monitoring.snapshot import ApState, ApStatus, Snapshot
from controller.settings import AlertsConfig
from core.config import MqttConfig
from core.mqtt import MqttLink
from tests.controller.alert_fleet import add_aps
from tests.schemas import validator

TIMEOUT = 10.0


def check_times(payload: dict, *keys: str) -> None:
    for key in keys:
        if payload.get(key) is not None:
            assert dt.datetime.fromisoformat(payload[key]).tzinfo is not None, key


@pytest.fixture
def link_pair(mosquitto):
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    sender = MqttLink(config, client_id="controller")
    receiver = MqttLink(config, client_id="watcher")
    for link in (sender, receiver):
        link.start()
        assert link.wait_connected(TIMEOUT)
    yield sender, receiver
    sender.stop()
    receiver.stop()


def test_published_alerts_and_events_match_their_schemas(store, link_pair):
    sender, receiver = link_pair
    received: queue.Queue = queue.Queue()
    assert receiver.subscribe("alerts/#", received.put).wait_active(TIMEOUT)
    assert receiver.subscribe("events/#", received.put).wait_active(TIMEOUT)
    ap, full = add_aps(store, ("park-01", None), ("park-02", 5))
    evaluator = AlertEvaluator(store, AlertsConfig(), sender.publish_json)

    snapshot = Snapshot()
    snapshot.put(ApStatus(ap_id=ap, name="park-01", state=ApState.DOWN, polled_at=1.0,
                          consecutive_failures=3, last_error="timeout"))
    snapshot.put(ApStatus(ap_id=full, name="park-02", state=ApState.UP, polled_at=1.0,
                          answered_at=1.0, clients=9, errors_ps=4.0))
    evaluator.on_cycle(snapshot, None, {ap: (ApState.UP, ApState.DOWN)})
    snapshot.put(ApStatus(ap_id=ap, name="park-01", state=ApState.UP, polled_at=2.0,
                          answered_at=2.0))
    evaluator.on_cycle(snapshot, None, {ap: (ApState.DOWN, ApState.UP)})
    record_event(store, ap, "linkDown", "trap", {"if_index": 1}, publish=sender.publish_json)
    record_event(store, None, "coldStart", "trap", {"source": "192.0.2.9"},
                 publish=sender.publish_json)

    messages = [received.get(timeout=TIMEOUT) for _ in range(8)]
    alerts = [m for m in messages if m.topic.startswith("alerts/")]
    events = [m for m in messages if m.topic.startswith("events/")]
    assert len(alerts) == 4 and len(events) == 4
    assert {m.topic for m in events} == {"events/park-01", "events/_unknown"}
    for name, group in (("alert", alerts), ("event", events)):
        checker = validator(name)
        for message in group:
            errors = list(checker.iter_errors(message.payload))
            assert not errors, (message.topic, [e.message for e in errors])
            check_times(message.payload, "sent_at", "opened_at", "cleared_at", "at")


@pytest.mark.parametrize("name, payload", [
    ("alert", {"schema": "alert/1", "alert_id": 1}),
    ("alert", {"schema": "alert/1", "sent_at": "x", "alert_id": 1, "ap_id": 1, "ap_name": "a",
               "kind": "ap_down", "severity": "critical", "status": "open",
               "opened_at": "x", "cleared_at": "x", "detail": {}}),
    ("event", {"schema": "event/2", "sent_at": "x", "event_id": 1, "ap_id": 1, "ap_name": "a",
               "at": "x", "kind": "state", "source": "poller", "detail": {"from": "up",
                                                                        "to": "down"}}),
])
def test_schemas_reject_wrong_payloads(name, payload):
    assert not validator(name).is_valid(payload)
