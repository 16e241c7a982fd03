"""The controller's backhaul monitor against a real Mosquitto, fed the way a branch agent feeds it.

Messages are built with the agent's own helpers (`agents.backhaul.telemetry`) and published with
the same QoS and retain flags, so a change to the agent's payloads shows here.
"""

from __future__ import annotations

import json
import queue

import pytest

from controller.backhaul.service import (
    ALERT_KIND,
    BackhaulMonitor,
    BackhaulRecorder,
    PayloadError,
    branch_events,
    check_payload,
    get_branch,
    list_branches,
)
from controller.monitoring.alerts import AlertChange
from core.config import MqttConfig
from core.contracts.backhaul import EVENT_SCHEMA, STATE_SCHEMA, event_topic, state_topic
from core.mqtt import MqttLink
from core.store import Store
from tests.controller.branch_payloads import BRANCH, state, switch
from tests.schemas import validator

TIMEOUT = 10.0


class Agent:
    """Publishes like `agents.backhaul.telemetry.TelemetrySender`: QoS 1, state retained."""

    def __init__(self, link: MqttLink):
        self.link = link

    def state(self, payload: dict) -> None:
        assert self.link.publish_json(state_topic(payload["branch"]), payload, qos=1,
                                      retain=True, schema=STATE_SCHEMA).wait(TIMEOUT)

    def event(self, payload: dict) -> None:
        assert self.link.publish_json(event_topic(payload["branch"]), payload, qos=1,
                                      schema=EVENT_SCHEMA).wait(TIMEOUT)

    def raw(self, topic: str, data: bytes) -> None:
        assert self.link.publish_raw(topic, data, qos=1).wait(TIMEOUT)


@pytest.fixture
def links(mosquitto):
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    made = [MqttLink(config, client_id=name) for name in ("controller", "agent", "watcher")]
    for link in made:
        link.start()
        assert link.wait_connected(TIMEOUT)
    yield made
    for link in made:
        link.stop()


@pytest.fixture
def alerts_seen(links):
    received: queue.Queue = queue.Queue()
    assert links[2].subscribe("alerts/#", received.put).wait_active(TIMEOUT)
    return received


def start_monitor(config, link: MqttLink) -> BackhaulMonitor:
    location = config.store_location()
    monitor = BackhaulMonitor(lambda: Store(location), link, publish=link.publish_json)
    for subscription in monitor.subscriptions:
        assert subscription.wait_active(TIMEOUT)
    return monitor


def alerts(store) -> list[dict]:
    return list(store.db.query("SELECT * FROM alerts ORDER BY id"))


def test_failover_and_failback_are_stored_and_alerted(config, store, links, alerts_seen):
    controller, agent_link, _ = links
    agent = Agent(agent_link)
    agent.state(state("primary", 0))  # retained before the controller listens
    monitor = start_monitor(config, controller)
    try:
        assert monitor.wait_handled(1, TIMEOUT)
        assert get_branch(store, BRANCH)["path"] == "primary"
        assert alerts(store) == []

        failover = switch("failover", 5)
        agent.event(failover)
        assert monitor.wait_handled(2, TIMEOUT)
        [alert] = alerts(store)
        assert (alert["branch"], alert["kind"], alert["severity"], alert["ap_id"],
                alert["cleared_at"]) == (BRANCH, ALERT_KIND, "warning", None, None)
        branch = get_branch(store, BRANCH)
        assert (branch["path"], branch["active_link"]) == ("backup", "backup")
        assert branch["alert"]["alert_id"] == alert["id"]

        opened = alerts_seen.get(timeout=TIMEOUT)
        assert opened.topic == f"alerts/branch-{BRANCH}"
        assert opened.payload["schema"] == "alert/1"
        # The shape of the AP alerts (controller.monitoring.alerts), plus the branch.
        ap_keys = set(AlertChange(1, 1, "x", "k", "warning", "open", 0.0, None, {}).payload())
        assert set(opened.payload) - {"schema", "sent_at"} == ap_keys | {"branch"}
        assert (opened.payload["status"], opened.payload["kind"],
                opened.payload["detail"]["from_link"]) == ("open", ALERT_KIND, "primary")

        agent.event(switch("failback", 65))
        assert monitor.wait_handled(3, TIMEOUT)
        [alert] = alerts(store)
        assert alert["cleared_at"] is not None
        cleared = alerts_seen.get(timeout=TIMEOUT)
        assert (cleared.payload["status"], cleared.payload["alert_id"]) == ("cleared", alert["id"])
        schema = alert_validator()
        for message in (opened, cleared):
            errors = [e.message for e in schema.iter_errors(message.payload)]
            assert not errors, f"branch alert does not match docs/schemas/alert.json: {errors}"
        assert get_branch(store, BRANCH)["path"] == "primary"

        history = branch_events(store, BRANCH)
        assert [e["kind"] for e in history] == ["failback", "failover"]
        assert [e["backup_s"] for e in history] == [60.0, 60.0]
        assert history[1]["event_id"] == failover["id"]
        assert monitor.stats == {"stored": 3, "handled": 3}
        # the backhaul KPIs got their copy: a minute on the backup link
        assert store.conn.execute(
            "SELECT path, ended_at - started_at FROM kpi_backhaul_path_intervals"
            " WHERE path = 'backup'").fetchall() == [("backup", 60.0)]
    finally:
        monitor.stop()


def test_redelivered_event_is_stored_once(config, store, links, alerts_seen):
    controller, agent_link, _ = links
    agent = Agent(agent_link)
    monitor = start_monitor(config, controller)
    try:
        failover = switch("failover", 5)
        agent.event(failover)
        agent.event(failover)  # QoS 1: the agent resends when a PUBACK was lost
        assert monitor.wait_handled(2, TIMEOUT)
        assert store.conn.execute("SELECT count(*) FROM backhaul_events").fetchone()[0] == 1
        assert store.conn.execute("SELECT count(*) FROM kpi_backhaul_events").fetchone()[0] == 1
        assert len(alerts(store)) == 1
        assert monitor.stats == {"stored": 1, "duplicate": 1, "handled": 2}
        assert alerts_seen.get(timeout=TIMEOUT).payload["status"] == "open"
        assert alerts_seen.empty()
    finally:
        monitor.stop()


def alert_validator():
    return validator("alert")


def test_bad_payloads_are_counted_and_do_not_stop_the_monitor(config, store, links):
    controller, agent_link, _ = links
    agent = Agent(agent_link)
    monitor = start_monitor(config, controller)
    try:
        agent.raw(state_topic(BRANCH), b"not json at all")  # dropped by the link itself
        agent.raw(state_topic(BRANCH), b"[1, 2, 3]")
        agent.raw(event_topic(BRANCH), json.dumps({"schema": EVENT_SCHEMA}).encode())
        wrong_kind = {**switch("failover", 1), "kind": "meltdown"}
        agent.event(wrong_kind)
        agent.event({**switch("failover", 1), "at": "yesterday"})
        other = {**state("primary", 1, branch="branch-c"), "schema": STATE_SCHEMA}
        agent.raw(state_topic("branch-b"), json.dumps(other).encode())  # not its own topic
        agent.state({**state("primary", 1), "links": [{"name": "primary"}]})
        links = state("primary", 1)["links"]
        agent.state({**state("primary", 1), "links": [{**links[0], "priority": "high"}]})
        agent.state(state("backup", 2, primary_state="down"))
        assert monitor.wait_handled(8, TIMEOUT)
        assert monitor.stats == {"rejected": 7, "stored": 1, "handled": 8}
        assert [b["branch"] for b in list_branches(store)] == [BRANCH]
        assert store.conn.execute("SELECT count(*) FROM backhaul_events").fetchone()[0] == 0
    finally:
        monitor.stop()


def test_names_and_ids_longer_than_the_schema_allows_are_refused():
    """Link names and event ids are keys in the store; the schema bounds them (128 characters),
    so a poisoned message is refused, not a failed write (PostgreSQL indexes no ~3 kB key)."""
    good = {**state("primary", 1), "schema": STATE_SCHEMA}
    long_link = {**good, "links": [{**good["links"][0], "name": "p" * 129}, good["links"][1]]}
    with pytest.raises(PayloadError, match=r"links\[0\]\.name: longer than 128"):
        check_payload("state", long_link, BRANCH)
    edge = {**good, "links": [{**good["links"][0], "name": "p" * 128}, good["links"][1]]}
    assert check_payload("state", edge, BRANCH) is edge
    event = {**switch("failover", 1), "schema": EVENT_SCHEMA}
    with pytest.raises(PayloadError, match="id: longer than 128"):
        check_payload("event", {**event, "id": "e" * 129}, BRANCH)
    with pytest.raises(PayloadError, match="to_link: longer than 128"):
        check_payload("event", {**event, "to_link": "b" * 4000}, BRANCH)


def test_the_state_alone_tells_the_path(store):
    """A failover the controller never heard of (it was down) is caught by the retained state;
    a state older than what is known changes nothing."""
    recorder = BackhaulRecorder(store)
    [opened] = recorder.record_state({**state("backup", 10), "schema": STATE_SCHEMA})
    assert (opened.status, opened.detail["reason"]) == ("open", "state")
    assert recorder.record_state(state("primary", 5)) == []  # late and stale
    assert get_branch(store, BRANCH)["path"] == "backup"
    [cleared] = recorder.record_state(state("primary", 20))
    assert (cleared.status, cleared.alert_id) == ("cleared", opened.alert_id)


def test_a_late_switch_event_does_not_override_a_newer_state(store):
    recorder = BackhaulRecorder(store)
    assert recorder.record_state(state("primary", 100)) == []
    stored, changes = recorder.record_event(switch("failover", 50))
    assert stored and changes == []
    assert get_branch(store, BRANCH)["path"] == "primary"
    [failover] = branch_events(store, BRANCH)
    assert (failover["backup_s"], failover["ongoing"]) == (None, False)  # its end is unknown
