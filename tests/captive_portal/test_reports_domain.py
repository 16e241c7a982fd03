"""The 940 domain without HTTP or MQTT: priority rules, lifecycle, tracking numbers, the
all-or-nothing intake, status updates applied once, SMS texts per language, escalation."""

from __future__ import annotations

import time

import pytest

from captive_portal.reports import intake, notify, open311_keys, outbox
from captive_portal.reports.catalogue import (
    Category,
    CategoryError,
    get_category,
    list_categories,
    save_category,
)
from captive_portal.reports.config import ReportsConfig, load_reports_config
from captive_portal.reports.escalation import close_unanswered, escalate_overdue
from captive_portal.reports.intake import NewReport, ReportError, file_report
from captive_portal.reports.lifecycle import (
    STATUSES,
    TRANSITIONS,
    TransitionError,
    check_transition,
    open311_status,
)
from captive_portal.reports.notify import Notifier
from captive_portal.reports.priority import assess
from captive_portal.reports.records import get_report, timeline
from captive_portal.reports.workflow import apply_status_update, transition
from captive_portal.sms import SmsSendError, SmsService
from core.config import ConfigError
from tests.captive_portal.reports_pipeline import FAST, config_with, sms_config


@pytest.mark.parametrize("text, expected", [
    ("يوجد سلك مكشوف بجانب الالعاب", "urgent"),
    ("أسلاك مكشوفة عند المدخل", "urgent"),
    ("اسلاك مكشوفه عند المدخل", "urgent"),
    ("There is an EXPOSED WIRE near the swings", "urgent"),
    ("الممر غرق بالماء", "urgent"),
    ("Flooding at the south gate", "urgent"),
    ("طفل مصاب بسبب المقعد", "high"),
    ("The lamp is out", "normal"),
])
def test_keyword_rules_raise_the_default(text, expected):
    assert assess("normal", text)[0] == expected


def test_keyword_rules_never_lower_a_priority():
    assert assess("urgent", "nothing special")[0] == "urgent"
    assert assess("high", "a child was injured")[0] == "high"
    assert assess("low", "fine")[1] == []


def test_lifecycle_allows_only_valid_moves():
    path = ["received", "forwarded", "acknowledged", "assigned", "in_progress", "resolved",
            "reopened", "in_progress", "resolved", "closed"]
    for current, target in zip(path, path[1:]):
        check_transition(current, target)
    for bad in [("received", "resolved"), ("closed", "reopened"), ("resolved", "in_progress"),
                ("received", "nonsense")]:
        with pytest.raises(TransitionError):
            check_transition(*bad)
    assert set(TRANSITIONS) == set(STATUSES)
    assert [open311_status(s) for s in ("in_progress", "resolved", "rejected", "reopened")] == [
        "open", "closed", "closed", "open"]


def _new(**values) -> NewReport:
    base = dict(category="lighting", description="Lamp out", channel="portal", site="park-1")
    base.update(values)
    return NewReport(**base)


def test_tracking_numbers_are_sequential_per_year(store):
    jan_2026 = time.mktime((2026, 1, 2, 0, 0, 0, 0, 0, 0))
    jan_2027 = time.mktime((2027, 1, 2, 0, 0, 0, 0, 0, 0))
    first = file_report(store, _new(), FAST, now=jan_2026).tracking
    second = file_report(store, _new(), FAST, now=jan_2026).tracking
    next_year = file_report(store, _new(), FAST, now=jan_2027).tracking
    assert (first, second, next_year) == ("940-2026-000001", "940-2026-000002",
                                          "940-2027-000001")


def test_sla_due_time_follows_the_category_and_urgency(store):
    now = 1_800_000_000.0
    normal = file_report(store, _new(), FAST, now=now)
    urgent = file_report(store, _new(description="سلك مكشوف"), FAST, now=now)
    assert normal.due_at == now + 72 * 3600
    assert urgent.due_at == now + 72 * 3600 * FAST.urgent_sla_factor


def test_a_failure_inside_intake_leaves_nothing_behind(store, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(intake.outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        file_report(store, _new(), FAST)
    tables = ("reports", "report_events", "report_outbox", "report_sequences")
    assert [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables] == [
        0, 0, 0, 0]


def test_unknown_and_inactive_categories_are_refused(store):
    with pytest.raises(ReportError) as caught:
        file_report(store, _new(category="volcano"), FAST)
    assert caught.value.code == "category_unknown"
    wifi = get_category(store, "wifi")
    save_category(store, Category(**{**wifi.__dict__, "active": 0}))
    assert "wifi" not in [c.code for c in list_categories(store)]
    with pytest.raises(ReportError):
        file_report(store, _new(category="wifi"), FAST)
    with pytest.raises(CategoryError):
        save_category(store, Category(**{**wifi.__dict__, "default_priority": "whenever"}))


def _verified(store, locale="ar"):
    return file_report(store, _new(phone="0551234567", phone_verified=True, locale=locale), FAST)


def _update(tracking, status, update_id, **extra):
    return {"update_id": update_id, "id": tracking, "status": status, **extra}


def test_status_updates_apply_once_and_refuse_invalid_moves(store):
    filed = _verified(store)
    now = time.time()
    with store.transaction() as conn:
        outcomes = [apply_status_update(conn, u, now=now, config=FAST) for u in (
            _update(filed.tracking, "acknowledged", "u1"),
            _update(filed.tracking, "acknowledged", "u1"),
            _update(filed.tracking, "assigned", "u2", assigned_to="Fahad"),
            _update(filed.tracking, "closed", "u3"),
            _update("940-2026-999999", "assigned", "u4"),
            {"status": "assigned"},
        )]
    assert outcomes == ["applied", "duplicate", "applied", "invalid_transition",
                        "unknown_report", "malformed"]
    report = get_report(store, tracking=filed.tracking)
    assert (report.status, report.assigned_to) == ("assigned", "Fahad")
    # a status is proof the back office has the report, even before its ack arrives
    assert outbox.counts(store.conn) == {"acknowledged": 1}
    statuses = [e.status for e in timeline(store, report.id) if e.kind == "status"]
    assert statuses == ["received", "forwarded", "acknowledged", "assigned"]


def test_citizen_sms_are_in_the_reporters_language(store):
    arabic, english = _verified(store, "ar"), _verified(store, "en")
    for filed in (arabic, english):
        for status in ("forwarded", "in_progress", "resolved"):
            transition(store, filed.tracking, status, actor="backoffice", now=time.time(),
                       config=FAST)
    bodies = dict(store.conn.execute(
        "SELECT locale || ':' || purpose, body FROM report_notifications "
        "WHERE purpose IN ('closure_code', 'report_received')"))
    assert "تمت معالجة بلاغك" in bodies["ar:closure_code"]
    assert "was resolved" in bodies["en:closure_code"]
    assert arabic.tracking in bodies["ar:report_received"]
    in_progress = [r[0] for r in store.conn.execute(
        "SELECT body FROM report_notifications WHERE body LIKE '%قيد التنفيذ%'")]
    assert len(in_progress) == 1


class FlakySmsDriver:
    """A provider that fails the first ``failures`` sends (a real outage, compressed)."""

    name = "flaky"

    def __init__(self, failures: int):
        self.failures = failures
        self.sent: list[tuple[str, str]] = []

    def send(self, message):
        if self.failures > 0:
            self.failures -= 1
            raise SmsSendError("provider unreachable")
        self.sent.append((message.to, message.body))
        return f"id-{len(self.sent)}"

    def start(self, on_receipt, on_incoming):
        pass

    def stop(self):
        pass


def test_failed_sms_are_recorded_and_retried_not_dropped(store, tmp_path):
    _verified(store)
    driver = FlakySmsDriver(failures=1)
    clock = [time.time()]
    sms = SmsService(lambda: store, driver, sms_config(tmp_path), clock=lambda: clock[0])
    assert Notifier(store, sms, lambda: clock[0]).deliver_pending() == 1
    # not accepted by the gateway: still queued, its next attempt due after the backoff
    assert store.conn.execute("SELECT state FROM sms_messages").fetchone()[0] == "queued"
    clock[0] += 60
    assert sms.retry_due() == 1
    assert store.conn.execute("SELECT state, attempts FROM sms_messages").fetchone() == (
        "submitted", 2)
    assert len(driver.sent) == 1
    assert Notifier(store, sms, lambda: clock[0]).deliver_pending() == 0


def test_escalation_levels_contacts_and_outbox(store):
    config = config_with(level1_contacts="+966500000001",
                         level2_contacts="+966500000002,+966500000003",
                         level2_after_hours=24)
    filed = file_report(store, _new(), config, now=1_800_000_000.0)
    assert escalate_overdue(store, filed.due_at - 1, config) == 0
    assert escalate_overdue(store, filed.due_at + 60, config) == 1
    assert escalate_overdue(store, filed.due_at + 120, config) == 0  # level 1 only once
    assert escalate_overdue(store, filed.due_at + 25 * 3600, config) == 1
    report = get_report(store, tracking=filed.tracking)
    assert report.escalation_level == 2
    contacts = [r[0] for r in store.conn.execute(
        "SELECT to_number FROM report_notifications WHERE purpose = 'escalation' ORDER BY id")]
    assert contacts == ["+966500000001", "+966500000002", "+966500000003"]
    messages = [r[0] for r in store.conn.execute(
        "SELECT message_id FROM report_outbox WHERE topic = 'reports/escalations' ORDER BY id")]
    assert messages == [f"{filed.tracking}:e1", f"{filed.tracking}:e2"]


def test_settled_reports_do_not_escalate_and_unanswered_resolutions_close(store):
    filed = file_report(store, _new(), FAST, now=1_800_000_000.0)
    for status in ("forwarded", "resolved"):
        transition(store, filed.tracking, status, actor="backoffice", now=1_800_000_100.0,
                   config=FAST)
    assert escalate_overdue(store, filed.due_at + 10 * 86400, FAST) == 0
    assert close_unanswered(store, 1_800_000_100.0 + 6 * 86400, FAST) == 0
    assert close_unanswered(store, 1_800_000_100.0 + 8 * 86400, FAST) == 1
    assert get_report(store, tracking=filed.tracking).status == "closed"


def test_reports_config_from_file_and_environment(tmp_path):
    path = tmp_path / "oasis.toml"
    path.write_text("[reports]\nresend_after_s = 3\nlevel1_contacts = \"+966500000001\"\n")
    config = load_reports_config(path, env={"OASIS_REPORTS_BATCH_SIZE": "42"})
    assert (config.resend_after_s, config.batch_size) == (3.0, 42)
    assert config.contacts_for(1) == ["+966500000001"]
    with pytest.raises(ConfigError, match="level2_contacts"):
        load_reports_config(path, env={"OASIS_REPORTS_LEVEL2_CONTACTS": "0500"})
    with pytest.raises(ConfigError, match="batch_size"):
        load_reports_config(path, env={"OASIS_REPORTS_BATCH_SIZE": "0"})
    assert ReportsConfig().max_description_chars == 4000


def test_the_outbox_window_holds_new_messages_while_acks_are_owed(store):
    for _ in range(5):
        file_report(store, _new(), FAST)
    now = time.time()
    first = outbox.due(store.conn, now, limit=10, window=3)
    assert len(first) == 3
    with store.transaction() as conn:
        outbox.mark_sent(conn, [(m.id, m.attempts) for m in first], now, 1.0, 4.0)
    assert outbox.due(store.conn, now, limit=10, window=3) == []  # window full, none due
    again = outbox.due(store.conn, now + 1.5, limit=10, window=3)
    assert [m.id for m in again] == [m.id for m in first]  # re-sends come first
    with store.transaction() as conn:
        outbox.acknowledge(conn, [first[0].message_id], now)
    with store.transaction() as conn:
        outbox.mark_sent(conn, [(m.id, m.attempts + 1) for m in again[1:]], now + 1.5, 1.0, 4.0)
    fresh = outbox.due(store.conn, now + 1.5, limit=10, window=3)
    assert len(fresh) == 1 and fresh[0].id not in {m.id for m in first}


def test_a_reports_messages_and_sms_as_the_admin_page_reads_them(store, tmp_path):
    filed = _verified(store)
    before = notify.of_report(store, filed.id)
    assert [(n.purpose, n.sms_state) for n in before] == [("report_received", None)]
    sms = SmsService(lambda: store, FlakySmsDriver(failures=1), sms_config(tmp_path))
    Notifier(store, sms, time.time).deliver_pending()
    notice = notify.of_report(store, filed.id)[0]
    assert (notice.to_number, notice.locale, notice.sms_state, notice.sms_attempts,
            notice.sms_error) == ("+966551234567", "ar", "queued", 1, "provider unreachable")
    message = outbox.of_report(store, filed.id)[0]
    assert (message.message_id, message.state, message.attempts, message.last_sent_at,
            message.acked_at) == (filed.tracking, "pending", 0, None, None)
    assert message.created_at == get_report(store, report_id=filed.id).created_at


def test_open311_keys_are_issued_once_and_kept_as_hashes(store):
    key = open311_keys.issue(store, "partner-app")
    assert open311_keys.client_of(store, key) == "partner-app"
    assert open311_keys.client_of(store, key + "x") is None
    stored = store.conn.execute("SELECT name, key_sha256, typeof(created_at) FROM "
                                "open311_keys").fetchone()
    assert stored[0] == "partner-app" and key not in stored[1] and stored[2] == "real"
