"""The 940 pipeline on two nodes sharing one store and one real Mosquitto (docs/scale-out.md):
one forwarder publishes at a time (each report reaches the back office once, in one copy) and
the other takes over within the lease's TTL when the first stops or is SIGKILLed; every node
consumes the status topic and each update is applied once; one SLA watcher escalates.

Two `ReportsService` in this process (or one in a subprocess, to be killed) stand for two
nodes: each opens its own connections to the store file, as two machines would to PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from agents.backoffice.office import BackOffice
from captive_portal.reports.forwarder import ReportForwarder
from captive_portal.reports.service import ReportsService
from core.contracts.reports import TOPIC_ESCALATIONS, TOPIC_NEW
from tests.captive_portal.reports_pipeline import (
    FAST,
    all_acked,
    file_many,
    mqtt_config,
    outbox_states,
    sms_config,
)
from tests.support import wait_for

pytestmark = pytest.mark.slow

TTL_S = 3.0
NODES = replace(FAST, lease_ttl_s=TTL_S)
LEASE = f"singleton:{ReportForwarder.LEASE}"


@pytest.fixture
def office(tmp_path, mosquitto):
    backoffice = BackOffice(tmp_path / "backoffice.db", mqtt_config(mosquitto),
                            resend_after_s=0.5)
    backoffice.start()
    assert backoffice.wait_ready(10)
    yield backoffice
    backoffice.stop()


def _node(store, broker, tmp_path, name: str, config=NODES) -> ReportsService:
    """A node's 940 pipeline: its own MQTT client ids, as each node's config gives them."""
    (tmp_path / name).mkdir(exist_ok=True)
    service = ReportsService(store.location, replace(mqtt_config(broker), client_id=f"ctl-{name}"),
                             replace(config, client_id=f"reports-{name}"),
                             sms_config=sms_config(tmp_path / name), poll_s=0.05)
    service.start()
    return service


def _holder(store) -> str | None:
    row = store.conn.execute("SELECT holder FROM leases WHERE name = ? AND expires_at > ?",
                             (LEASE, time.time())).fetchone()
    return row[0] if row else None


def _delivered_once(store, office, trackings) -> None:
    wait_for(lambda: all_acked(store, len(trackings)), timeout=60, what="every outbox row acked")
    received = office.received_ids(TOPIC_NEW)
    assert sorted(received) == sorted(trackings)  # each held once by the back office
    assert outbox_states(store) == {"acknowledged": len(trackings)}


def test_one_forwarder_of_two_publishes_and_the_other_takes_over_when_it_stops(
        store, mosquitto, tmp_path, office):
    first, second = (_node(store, mosquitto, tmp_path, n) for n in ("a", "b"))
    try:
        trackings = file_many(store, 300, NODES)
        first.forwarder.wake()
        second.forwarder.wake()
        _delivered_once(store, office, trackings)
        working = [s for s in (first, second) if s.forwarder.published]
        assert len(working) == 1, "both nodes published"
        # One publisher, no takeover: every report crossed the broker once.
        assert office.copies() == len(trackings)
        holder, standby = working[0], ({first, second} - {working[0]}).pop()
        assert _holder(store) == holder.forwarder.lease.holder

        holder.stop()  # a clean stop gives the lease up: no TTL to wait
        stopped_at = time.monotonic()
        wait_for(lambda: standby.forwarder.active, timeout=TTL_S + 2, what="the takeover")
        assert time.monotonic() - stopped_at < TTL_S  # the standby's next look, not the TTL
        more = file_many(store, 100, NODES)
        standby.forwarder.wake()
        _delivered_once(store, office, trackings + more)
        assert standby.forwarder.published >= len(more)
    finally:
        first.stop()
        second.stop()


def _node_process(tmp_path, store, broker) -> subprocess.Popen:
    config = tmp_path / "node-a.toml"
    where = "url" if store.backend == "postgresql" else "path"
    config.write_text(f'[store]\n{where} = "{store.location}"\nkey_file = "{tmp_path}/k.key"\n'
                      f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
                      f'client_id = "ctl-a"\n[reports]\nclient_id = "reports-a"\n'
                      f'lease_ttl_s = {TTL_S}\nresend_after_s = 1.0\nresend_max_s = 2.0\n'
                      f'batch_size = 20\n')
    env = {**os.environ, "OASIS_SMS_OUTBOX": str(tmp_path / "sms-a.jsonl")}
    env.pop("OASIS_CONFIG", None)
    code = ("from controller.cli import cli; from controller.cli.reports import reports; "
            "cli.add_command(reports); cli()")
    with (tmp_path / "node-a.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-c", code, "--config", str(config), "reports",
                                 "forward"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=os.getcwd())


def test_a_sigkilled_forwarder_node_is_replaced_within_the_lease_ttl(store, mosquitto,
                                                                     tmp_path, office):
    trackings = file_many(store, 300, NODES)
    process = _node_process(tmp_path, store, mosquitto)
    standby = None
    try:
        wait_for(lambda: (_holder(store) or "").split(":")[1:2] == [str(process.pid)],
                 timeout=30, what="the subprocess to hold the forwarder's lease")
        standby = _node(store, mosquitto, tmp_path, "b")
        wait_for(lambda: outbox_states(store).get("acknowledged", 0) >= 50, timeout=60,
                 what="forwarding under way")
        assert not standby.forwarder.active and standby.forwarder.published == 0
        process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        process.wait(10)
        assert outbox_states(store).get("acknowledged", 0) < len(trackings), \
            "the node finished before it was killed"
        wait_for(lambda: standby.forwarder.active, timeout=TTL_S + 3, interval=0.02,
                 what="the standby to take the lease")
        takeover_s = time.monotonic() - killed_at
        assert takeover_s <= TTL_S + 1.0, takeover_s
        trackings += file_many(store, 50, NODES)
        standby.forwarder.wake()
        _delivered_once(store, office, trackings)
        assert standby.forwarder.takeovers == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if standby is not None:
            standby.stop()


def test_every_node_consumes_status_updates_and_each_is_applied_once(store, mosquitto,
                                                                     tmp_path, office):
    nodes = [_node(store, mosquitto, tmp_path, n) for n in ("a", "b")]
    try:
        trackings = file_many(store, 40, NODES, phone="0551234567", phone_verified=True)
        _delivered_once(store, office, trackings)
        updates = [office.move(t, status) for t in trackings
                   for status in ("acknowledged", "in_progress")]
        wait_for(lambda: office.pending_status_updates() == 0, timeout=30,
                 what="every status update acked")
        # Both nodes saw every update; the store applied each once.
        for node in nodes:
            wait_for(lambda node=node: sum(node.status.outcomes.values()) >= len(updates),
                     timeout=20, what="every update seen by each node")
        applied = sum(n.status.outcomes.get("applied", 0) for n in nodes)
        duplicates = sum(n.status.outcomes.get("duplicate", 0) for n in nodes)
        # Each node met each update at least once (the back office re-sends one not acked yet).
        assert applied == len(updates) and duplicates >= len(updates)
        rows = dict(store.conn.execute(
            "SELECT outcome, count(*) FROM report_status_updates GROUP BY outcome"))
        assert rows == {"applied": len(updates)}
        events = store.conn.execute(
            "SELECT count(*) FROM report_events WHERE kind = 'status' AND actor = 'backoffice'"
        ).fetchone()[0]
        assert events == len(updates)
        # The citizen SMS of each change: decided once, handed once, by either node.
        wait_for(lambda: store.conn.execute(
            "SELECT count(*) FROM report_notifications WHERE handed_at IS NULL").fetchone()[0]
            == 0, timeout=20, what="every notification handed over")
        decided = store.conn.execute(
            "SELECT count(*), count(handed_at), count(DISTINCT sms_id) FROM report_notifications "
            "WHERE purpose = 'report_status'").fetchone()
        assert decided[0] > 0 and decided[0] == decided[1] == decided[2]
        sent = store.conn.execute("SELECT count(*) FROM sms_messages WHERE purpose = "
                                  "'report_status'").fetchone()[0]
        assert sent == decided[0]
    finally:
        for node in nodes:
            node.stop()


def test_one_sla_watcher_of_two_escalates_and_the_other_takes_over(store, mosquitto,
                                                                   tmp_path, office):
    fast_sla = replace(NODES, sla_check_interval_s=0.2, level1_contacts="+966500000001")
    nodes = [_node(store, mosquitto, tmp_path, n, fast_sla) for n in ("a", "b")]
    try:
        trackings = file_many(store, 10, fast_sla)
        store.conn.execute("UPDATE reports SET due_at = ?", (time.time() - 60,))
        wait_for(lambda: store.conn.execute(
            "SELECT count(*) FROM reports WHERE escalation_level = 1").fetchone()[0]
            == len(trackings), timeout=10, what="every overdue report escalated")
        working = [n for n in nodes if n.sla.passes]
        assert len(working) == 1, [n.sla.passes for n in nodes]
        escalations = store.conn.execute(
            "SELECT count(*) FROM report_events WHERE kind = 'escalation'").fetchone()[0]
        sms = store.conn.execute("SELECT count(*) FROM report_notifications WHERE purpose = "
                                 "'escalation'").fetchone()[0]
        assert escalations == sms == len(trackings)
        standby = (set(nodes) - set(working)).pop()
        working[0].stop()
        wait_for(lambda: standby.sla.passes > 0, timeout=TTL_S + 2,
                 what="the other watcher to take over")
        wait_for(lambda: len(office.received_ids(TOPIC_ESCALATIONS)) >= len(trackings),
                 timeout=20, what="the escalations at the back office")
    finally:
        for node in nodes:
            node.stop()
