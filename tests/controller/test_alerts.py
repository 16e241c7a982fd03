"""Threshold alerts and state events from poll cycles, with a recording publisher."""

from __future__ import annotations

import json

import pytest

from controller.monitoring.alerts import AlertEvaluator, assess, open_alerts, state_changes
from controller.monitoring.events import recent_events, record_event, topic_segment
from controller.monitoring.poller import StateChange
from controller.monitoring.snapshot import ApState, ApStatus, Snapshot
from controller.settings import AlertsConfig
from core.store import iso
from tests.controller.alert_fleet import add_aps

NOW = 1_700_000_000.0


class PublishedLog:
    """Records what would go to MQTT: (topic suffix, payload, schema)."""

    def __init__(self):
        self.messages: list[tuple[str, dict, str]] = []

    def __call__(self, topic_suffix, payload, qos=1, retain=False, *, schema):
        self.messages.append((topic_suffix, payload, schema))

    def take(self) -> list[tuple[str, dict, str]]:
        taken, self.messages = self.messages, []
        return taken


def up(ap_id, name="park-01", **values) -> ApStatus:
    return ApStatus(ap_id=ap_id, name=name, state=ApState.UP, polled_at=NOW, answered_at=NOW,
                    **values)


def with_state(ap_id, state, name="park-01", **values) -> ApStatus:
    return ApStatus(ap_id=ap_id, name=name, state=state, polled_at=NOW, **values)


@pytest.fixture
def published():
    return PublishedLog()


@pytest.fixture
def evaluator(store, published):
    return AlertEvaluator(store, AlertsConfig(default_capacity=60, interface_errors_per_s=1.0),
                          published)


def alerts_table(store):
    return store.conn.execute(
        "SELECT ap_id, kind, severity, cleared_at IS NULL FROM alerts ORDER BY id").fetchall()


def test_down_opens_one_critical_alert_and_up_clears_it(store, evaluator, published):
    [ap] = add_aps(store, ("park-01", None))
    down = with_state(ap, ApState.DOWN, consecutive_failures=3, last_error="timeout")

    [opened] = evaluator.evaluate([down])
    assert evaluator.evaluate([down]) == []                     # still one open alert
    [cleared] = evaluator.evaluate([up(ap, clients=3)])

    assert alerts_table(store) == [(ap, "ap_down", "critical", 0)]
    assert (opened.status, cleared.status, cleared.alert_id) == ("open", "cleared", opened.alert_id)
    messages = published.take()
    assert [(t, p["status"], s) for t, p, s in messages] == [
        ("alerts/park-01", "open", "alert/1"), ("alerts/park-01", "cleared", "alert/1")]
    assert messages[0][1]["detail"] == {"state": "down", "consecutive_failures": 3,
                                        "last_error": "timeout"}
    assert messages[1][1]["cleared_at"] is not None


def test_auth_failure_is_its_own_warning(store, evaluator):
    [ap] = add_aps(store, ("park-01", None))
    [change] = evaluator.evaluate([with_state(ap, ApState.AUTH_FAILED, last_error="wrong key")])
    assert (change.kind, change.severity) == ("auth_failed", "warning")
    assert evaluator.evaluate([with_state(ap, ApState.DOWN)])[0].kind == "ap_down"
    assert [r[1] for r in alerts_table(store) if r[3]] == ["auth_failed", "ap_down"]


def test_capacity_from_the_ap_or_the_default_with_a_clearing_band(store, evaluator):
    own, default = add_aps(store, ("small", 10), ("big", None))
    changes = evaluator.evaluate([up(own, "small", clients=11), up(default, "big", clients=60)])
    assert [(c.ap_name, c.kind, c.detail) for c in changes] == [
        ("small", "clients_over_capacity", {"clients": 11, "capacity": 10})]

    assert evaluator.evaluate([up(own, "small", clients=10)]) == []   # inside the band: stays
    assert evaluator.evaluate([up(own, "small", clients=None)]) == []  # unknown: stays
    [cleared] = evaluator.evaluate([up(own, "small", clients=9)])
    assert cleared.status == "cleared"
    assert open_alerts(store) == []


def test_interface_errors_open_above_threshold_and_clear_below_half(store, evaluator):
    [ap] = add_aps(store, ("park-01", None))
    assert evaluator.evaluate([up(ap, errors_ps=1.0)]) == []
    assert evaluator.evaluate([up(ap, errors_ps=1.5)])[0].kind == "interface_errors"
    assert evaluator.evaluate([up(ap, errors_ps=0.8)]) == []
    assert evaluator.evaluate([up(ap, errors_ps=0.5)])[0].status == "cleared"


def test_unknown_state_gives_no_verdict():
    status = ApStatus(ap_id=1, name="x", clients=500, errors_ps=50.0)
    assert assess(status, 10, AlertsConfig()) == {}


def test_state_changes_become_events_and_are_published(store, evaluator, published):
    a, b = add_aps(store, ("park-01", None), ("walk/02", None))
    snapshot = Snapshot()
    snapshot.put(with_state(a, ApState.DOWN, last_error="timeout"))
    snapshot.put(up(b, "walk/02"))

    evaluator.on_cycle(snapshot, None, {a: (ApState.DEGRADED, ApState.DOWN)})
    evaluator.on_cycle(snapshot, None, [(b, None, "up")])

    rows = store.conn.execute("SELECT ap_id, kind, source, detail FROM ap_events ORDER BY id")
    assert [(r[0], r[1], r[2], json.loads(r[3])) for r in rows] == [
        (a, "state", "poller", {"from": "degraded", "to": "down", "last_error": "timeout"}),
        (b, "state", "poller", {"from": None, "to": "up", "last_error": None})]
    events = [(t, p["kind"], s) for t, p, s in published.take() if t.startswith("events/")]
    assert events == [("events/park-01", "state", "event/1"), ("events/walk_02", "state", "event/1")]


def test_state_changes_accept_the_pollers_shape_and_plain_ones():
    change = StateChange(3, "park-03", ApState.UP, ApState.DOWN, "timeout")
    assert state_changes([change]) == [(3, ApState.UP, ApState.DOWN)]
    assert state_changes({3: ("up", "down")}) == [(3, ApState.UP, ApState.DOWN)]
    assert state_changes([(3, None, ApState.UP)]) == [(3, None, ApState.UP)]
    assert state_changes(None) == []


def test_aps_no_longer_in_inventory_are_ignored(store, evaluator):
    add_aps(store, ("park-01", None))
    assert evaluator.evaluate([with_state(99, ApState.DOWN, "gone")], {99: ("up", "down")}) == []
    assert alerts_table(store) == []


def test_a_failing_publisher_does_not_lose_the_alert(store, caplog):
    [ap] = add_aps(store, ("park-01", None))

    def broken(topic_suffix, payload, qos=1, retain=False, *, schema):
        raise ConnectionError("broker away")

    evaluator = AlertEvaluator(store, AlertsConfig(), broken)
    assert len(evaluator.evaluate([with_state(ap, ApState.DOWN)])) == 1
    assert alerts_table(store) == [(ap, "ap_down", "critical", 1)]
    assert "could not publish alerts/park-01" in caplog.text


def test_record_event_from_a_trap(store, published):
    [ap] = add_aps(store, ("park-01", None))
    event = record_event(store, ap, "linkDown", "trap", {"if_index": 2}, publish=published)
    assert recent_events(store, ap)[0] == event
    [(topic, payload, schema)] = published.take()
    assert (topic, schema) == ("events/park-01", "event/1")
    assert payload == {"event_id": event.id, "ap_id": ap, "ap_name": "park-01",
                       "at": iso(event.at), "kind": "linkDown", "source": "trap",
                       "detail": {"if_index": 2}}


def test_topic_segment_is_one_safe_level():
    assert topic_segment("park/01+#") == "park_01__"
    assert topic_segment("حديقة-1") == "حديقة-1"
    assert topic_segment(None) == "_unknown"
