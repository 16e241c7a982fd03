"""Report schedules on two nodes sharing one store (docs/scale-out.md): one scheduler works at
a time (the lease ``singleton:report-schedules``) and each period's report is mailed once to a
real SMTP server (aiosmtpd); when that node stops another takes over within the lease's TTL; a
run a dead node left half-built is built again and mailed once, a run a live node is building
is left to it."""

from __future__ import annotations

import time

import pytest

from core.leases import acquire
from core.mail import MailConfig
from core.store import Store
from reporting import areas, schedules
from tests.peers_smtp import smtp_server  # noqa: F401
from tests.reporting import kpi_sections
from tests.support import wait_for

#: Longer than a tick that builds and mails the report, so one node keeps the lease
#: throughout (a longer tick would let the other tick too, finding nothing to do).
TTL_S = 3.0
DAY = 86400.0


@pytest.fixture(autouse=True)
def fake_areas(monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)


@pytest.fixture
def relay(config, smtp_server, tmp_path):  # noqa: F811
    mail = config.section(MailConfig)
    mail.host, mail.port, mail.sender = smtp_server.host, smtp_server.port, "kpi@amanah.example"
    config.reporting.reports_folder = str(tmp_path / "reports")
    return smtp_server


def monthly(store, created_at: float):
    """A monthly schedule made long enough ago that last month's report is due now."""
    return schedules.add_schedule(store, name="monthly-ar", every="month", lang="ar",
                                  formats=["pdf"], recipients=["director@amanah.example"],
                                  actor="test", created_at=created_at)


def _scheduler(config) -> schedules.Scheduler:
    location = config.store_location()
    scheduler = schedules.Scheduler(lambda: Store(location, migrate=False), config,
                                    interval_s=0.2, ttl_s=TTL_S)
    scheduler.start()
    return scheduler


def test_two_schedulers_mail_each_period_once_and_the_other_takes_over(config, store, relay):
    monthly(store, time.time() - 70 * DAY)
    nodes = [_scheduler(config), _scheduler(config)]
    try:
        relay.wait(1)
        wait_for(lambda: schedules.runs(store)[0]["status"] == "sent", timeout=10,
                 what="the run marked sent")
        # a tick is counted when it returns, after it marked the run sent
        wait_for(lambda: any(n.ticks for n in nodes), timeout=10, what="the tick to end")
        working = [n for n in nodes if n.ticks]
        assert len(working) == 1, [n.ticks for n in nodes]
        standby = next(n for n in nodes if n is not working[0])
        stopped_at = time.monotonic()
        working[0].stop()
        wait_for(lambda: standby.ticks > 0, timeout=TTL_S + 2, what="the takeover")
        assert time.monotonic() - stopped_at < TTL_S + 1
        assert len(relay.envelopes) == 1 and len(schedules.runs(store)) == 1
    finally:
        for node in nodes:
            node.stop()


def _half_built(store, config, schedule, at: float) -> int:
    """A run as a node that died mid-build leaves it: ``building``, a partial file on disk."""
    period = schedules.due_period(schedule, at, "Asia/Riyadh")
    run_id = store.conn.execute(
        "INSERT INTO report_runs (schedule_id, period, status, started_at) "
        "VALUES (?, ?, 'building', ?) RETURNING id", (schedule.id, period.name, at - 60)
    ).fetchone()[0]
    folder = schedules.reports_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    stem = schedules.file_stem(period, "ar")
    (folder / f"{schedule.id}-{run_id}-{stem}.pdf").write_bytes(b"%PDF-1.7 half")
    return run_id


def test_a_run_a_dead_node_left_half_built_is_built_again_and_mailed_once(config, store,
                                                                         relay):
    at = time.time()
    schedule = monthly(store, at - 70 * DAY)
    run_id = _half_built(store, config, schedule, at)
    assert schedules.run_due(store, config, at=at, ttl_s=TTL_S) == [run_id]
    (_, message), = relay.wait(1)
    pdf = next(p.get_content() for p in message.iter_attachments())
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000  # the whole report, not the stub
    (run,) = schedules.runs(store)
    assert (run["id"], run["status"]) == (run_id, "sent")
    assert schedules.run_due(store, config, at=at + 60, ttl_s=TTL_S) == []
    assert len(relay.envelopes) == 1


def test_a_run_a_live_node_is_building_is_left_to_it(config, store, relay):
    at = time.time()
    schedule = monthly(store, at - 70 * DAY)
    run_id = _half_built(store, config, schedule, at)
    assert acquire(store, f"report-run:{run_id}", "other-node:1:live", 60.0)
    assert schedules.run_due(store, config, at=at, ttl_s=TTL_S) == []
    (run,) = schedules.runs(store)
    assert run["status"] == "building" and relay.envelopes == []
