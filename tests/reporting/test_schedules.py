"""Reports on a schedule: when each period is due (Riyadh time), built once per (schedule,
period) whatever the number of callers, mailed to a real SMTP server (aiosmtpd) with the PDF of
the right period attached, retried while the relay is away, kept 0600 for download."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import threading

import pytest

from core.localtime import unix, zone
from core.mail import MailConfig
from core.store import Store
from reporting import areas, schedules
from tests.controller.web_harness import add_user, build_app, login
from tests.peers_smtp import smtp_server  # noqa: F401
from tests.reporting import kpi_sections
from tests.support import free_port, require_tool

TZ = "Asia/Riyadh"


def riyadh(text: str) -> float:
    return unix(dt.datetime.fromisoformat(text).replace(tzinfo=zone(TZ)))


@pytest.fixture(autouse=True)
def fake_areas(monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)


@pytest.fixture
def relay(config, smtp_server, tmp_path):  # noqa: F811
    mail = config.section(MailConfig)
    mail.host, mail.port, mail.sender = smtp_server.host, smtp_server.port, "kpi@amanah.example"
    config.reporting.reports_folder = str(tmp_path / "reports")
    return smtp_server


def monthly(store, **kw):
    values = {"name": "monthly-ar", "every": "month", "lang": "ar", "formats": ["pdf", "xlsx"],
              "recipients": ["director@amanah.example", "noc@amanah.example"],
              "actor": "test", "created_at": riyadh("2026-11-15T10:00")}
    return schedules.add_schedule(store, **(values | kw))


def test_when_periods_are_due():
    month = schedules.Schedule(1, "m", "month", "ar", ("pdf",), (), None, 7, 6, True,
                               riyadh("2026-11-15T10:00"))
    assert schedules.due_period(month, riyadh("2026-12-01T05:59"), TZ) is None
    assert schedules.due_period(month, riyadh("2026-12-01T06:00"), TZ).name == "month:2026-11"
    assert schedules.due_period(month, riyadh("2027-01-20T00:00"), TZ).name == "month:2026-12"
    week = schedules.Schedule(2, "w", "week", "en", ("pdf",), (), None, 7, 6, True,
                              riyadh("2026-11-15T10:00"))
    # ISO week 47 is Monday 16 to Sunday 22 November; it goes out on Sunday the 29th at 06:00
    # before then, the week before (due on the 22nd) is the latest due: it is caught up
    assert schedules.due_period(week, riyadh("2026-11-29T05:00"), TZ).name == "week:2026-W46"
    assert schedules.due_period(week, riyadh("2026-11-29T06:00"), TZ).name == "week:2026-W47"
    # a schedule made after a period fell due does not send that period
    late = schedules.Schedule(3, "l", "month", "ar", ("pdf",), (), None, 7, 6, True,
                              riyadh("2026-12-01T07:00"))
    assert schedules.due_period(late, riyadh("2026-12-01T08:00"), TZ) is None


def test_monthly_report_is_mailed_once_with_the_right_pdf(config, store, relay, tmp_path):
    monthly(store)
    at = riyadh("2026-12-01T06:30")
    worked = schedules.run_due(store, config, at=at)
    assert len(worked) == 1
    (recipients, message), = relay.wait(1)
    assert recipients == ["director@amanah.example", "noc@amanah.example"]
    assert "month:2026-11" in message["Subject"] and "أمانة الأحساء" in message["Subject"]
    assert message["Content-Language"] == "ar"
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(attachments) == {"kpi-month-2026-11-ar.pdf", "kpi-month-2026-11-ar.xlsx"}
    pdf_file = tmp_path / "mailed.pdf"
    pdf_file.write_bytes(attachments["kpi-month-2026-11-ar.pdf"])
    text = subprocess.run([require_tool("pdftotext"), str(pdf_file), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "2026-11-01 – 2026-11-30" in text and "مؤشرات الأداء الرئيسية" in text
    # again, later, from another connection: nothing more is sent
    other = Store(config.store_location())
    assert schedules.run_due(other, config, at=at + 3600) == []
    other.close()
    assert len(relay.envelopes) == 1
    (run,) = schedules.runs(store)
    assert run["status"] == "sent" and run["period"] == "month:2026-11"
    for row in schedules.recent_files(store):
        kept = schedules.kept_file(store, config, row["id"])
        assert kept is not None
        path = kept[0]["path"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_concurrent_schedulers_send_once(config, store, relay):
    monthly(store)
    at = riyadh("2026-12-01T07:00")
    barrier = threading.Barrier(3)
    results: list[list[int]] = []

    def tick():
        own = Store(config.store_location(), migrate=False)
        barrier.wait()
        results.append(schedules.run_due(own, config, at=at))
        own.close()

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(len(r) for r in results) == [0, 0, 1]
    relay.wait(1)
    assert len(relay.envelopes) == 1


def test_relay_away_is_retried_and_refused_recipient_fails(config, store, relay):
    monthly(store)
    mail = config.section(MailConfig)
    working_port, mail.port = mail.port, free_port()  # nothing listens there
    at = riyadh("2026-12-01T06:30")
    schedules.run_due(store, config, at=at)
    (run,) = schedules.runs(store)
    assert run["status"] == "retry" and run["attempts"] == 1 and "ConnectionRefused" in run["error"]
    mail.port = working_port
    schedules.run_due(store, config, at=at + 60)
    relay.wait(1)
    (run,) = schedules.runs(store)
    assert run["status"] == "sent" and run["attempts"] == 2

    relay.refuse.add("ops@amanah.example")
    monthly(store, name="weekly-en", every="week", lang="en", formats=["pdf"],
            recipients=["ops@amanah.example"])
    schedules.run_due(store, config, at=riyadh("2026-12-06T06:30"))
    weekly = next(r for r in schedules.runs(store) if r["name"] == "weekly-en")
    assert weekly["status"] == "failed" and "ops@amanah.example" in weekly["error"]
    assert weekly["period"] == "week:2026-W48"


def test_kept_reports_on_the_delivered_page(config, secrets, store, relay):
    monthly(store, recipients=[])
    schedules.run_due(store, config, at=riyadh("2026-12-02T00:00"))
    assert relay.envelopes == []  # no recipients: kept for download only
    add_user(store, "viewer", "viewer")
    client = build_app(config, secrets).test_client()
    login(client, "viewer")
    page = client.get("/kpi/delivered?lang=en").get_data(as_text=True)
    assert "monthly-ar" in page and "kpi-month-2026-11-ar.pdf" in page
    (pdf_row,) = [f for f in schedules.recent_files(store) if f["format"] == "pdf"]
    download = client.get(f"/kpi/delivered/{pdf_row['id']}")
    assert download.status_code == 200 and download.get_data().startswith(b"%PDF-")
    assert 'filename="kpi-month-2026-11-ar.pdf"' in download.headers["Content-Disposition"]
    assert "Runs not delivered" in page  # kept only: built, not mailed

    relay.refuse.add("ops@amanah.example")
    monthly(store, name="weekly-en", every="week", lang="en", formats=["pdf"],
            recipients=["ops@amanah.example"])
    schedules.run_due(store, config, at=riyadh("2026-12-06T06:30"))
    page = client.get("/kpi/delivered?lang=en").get_data(as_text=True)
    assert '<tr data-run-status="failed"><td>weekly-en</td>' in page
    assert "ops@amanah.example" in page


def test_schedule_values_are_checked(store):
    with pytest.raises(schedules.ScheduleError) as refused:
        monthly(store, recipients=["not an address"])
    assert refused.value.field == "recipients"
    monthly(store)
    with pytest.raises(schedules.ScheduleError) as duplicate:
        monthly(store)
    assert duplicate.value.field == "name"


def test_scheduler_thread_builds_what_is_due(config, store, relay):
    monthly(store, created_at=0.0)  # made long ago: last month's report is due now
    scheduler = schedules.Scheduler(lambda: Store(config.store_location(), migrate=False), config,
                                    interval_s=3600)
    scheduler.start()
    try:
        (_recipients, message), = relay.wait(1)
    finally:
        scheduler.stop()
    assert not scheduler.alive
    (run,) = schedules.runs(store)
    assert run["status"] == "sent" and run["period"] in message["Subject"]
