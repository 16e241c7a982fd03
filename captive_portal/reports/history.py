"""Past reports written in bulk: a history whose lives are already decided (the KPI demo and
benchmark replay a month or a year of 940 reports through here).

A live report's life goes through `intake.file_report` and `workflow.move` one transaction at
a time, with MQTT to the back office in between; replaying 100,000 of them that way would take
hours. `insert_history` writes what those functions would have left behind (the report row in
its final state, its timeline, its citizen SMS with their delivery state) in one transaction,
with tracking numbers from the same yearly sequence. Nothing goes to the outbox: the back office
has long since heard of a past report.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from captive_portal.reports.escalation import ESCALATION_NOTE
from captive_portal.reports.lifecycle import SETTLED, check_transition
from core.store import Store


@dataclass
class PastReport:
    """A report and everything that happened to it, oldest first."""
    category: str
    channel: str                      # portal, open311, backoffice
    created_at: float
    due_at: float                     # SLA due time in force at the end (reset by reopens)
    priority: str
    team: str
    description: str
    site: str | None = None
    ap: str | None = None
    lat: float | None = None
    lon: float | None = None
    locale: str = "ar"
    phone: str | None = None          # E.164, verified
    #: (at, status, actor) after ``received`` (which is written at ``created_at``).
    moves: list[tuple[float, str, str]] = field(default_factory=list)
    #: (at, level) of SLA escalations.
    escalations: list[tuple[float, int]] = field(default_factory=list)
    #: (at, purpose, SMS state: queued, submitted, delivered, failed, expired).
    sms: list[tuple[float, str, str]] = field(default_factory=list)


def _check(report: PastReport) -> None:
    if report.sms and not report.phone:
        raise ValueError("a past report with SMS needs the phone they went to")
    status = "received"
    for _, target, _ in report.moves:
        check_transition(status, target)
        status = target


_SMS_COLUMNS = ("id", "to_number", "body", "purpose", "locale", "driver", "state", "attempts",
                "created_at", "updated_at", "submitted_at", "final_at")


def _sms_states(conn) -> dict:
    """The SMS table's words for the delivery states, and the columns it has: the states
    queued/submitted/delivered/failed/expired and their times came with portal migration 0090;
    a store before it says sent and abandoned and keeps no times."""
    columns = [d[0] for d in conn.execute("SELECT * FROM sms_messages LIMIT 0").description]
    if "submitted_at" in columns:
        return {"columns": _SMS_COLUMNS}
    return {"columns": _SMS_COLUMNS[:10], "submitted": "sent", "failed": "abandoned",
            "expired": "abandoned"}


def insert_history(store: Store, reports: Iterable[PastReport], *, driver: str = "history",
                   check: bool = True) -> int:
    """Write ``reports`` (checked against the lifecycle unless ``check`` is False); returns how
    many. One transaction: all of them or none."""
    report_rows: list[tuple] = []
    event_rows: list[tuple[int, float, str, str | None, str, str | None]] = []
    notification_rows: list[tuple] = []
    sms_rows: list[tuple] = []
    with store.transaction() as conn:
        states = _sms_states(conn)
        next_id = (conn.execute("SELECT max(id) FROM reports").fetchone()[0] or 0) + 1
        next_sms = (conn.execute("SELECT max(id) FROM sms_messages").fetchone()[0] or 0) + 1
        serials = dict(conn.execute("SELECT year, last FROM report_sequences"))
        written = 0
        for report in reports:
            if check:
                _check(report)
            report_id, next_id = next_id, next_id + 1
            year = time.gmtime(report.created_at).tm_year
            serials[year] = serials.get(year, 0) + 1
            tracking = f"940-{year}-{serials[year]:06d}"
            token = hashlib.sha256(f"history:{tracking}:{report_id}".encode()).hexdigest()[:16]
            status, updated = "received", report.created_at
            closure_issued = None
            level, escalated_at = 0, None
            event_rows.append((report_id, report.created_at, "status", "received",
                               report.channel, None))
            timeline = sorted([(at, 0, s, a) for at, s, a in report.moves]
                              + [(at, 1, str(lv), "sla") for at, lv in report.escalations])
            for at, kind, value, actor in timeline:
                updated = max(updated, at)
                if kind == 1:
                    level, escalated_at = int(value), at
                    event_rows.append((report_id, at, "escalation", None, "sla",
                                       f"{ESCALATION_NOTE}{value}"))
                    continue
                status = value
                if value == "resolved":
                    closure_issued = at
                if value == "reopened":
                    level, escalated_at = 0, None
                event_rows.append((report_id, at, "status", value, actor, None))
            for at, purpose, state in report.sms:
                sms_id, next_sms = next_sms, next_sms + 1
                submitted = at + 2 if state != "queued" else None
                final = at + 30 if state in ("delivered", "failed", "expired") else None
                sms_rows.append((sms_id, report.phone, f"{tracking} {purpose}", purpose,
                                 report.locale, driver, states.get(state, state),
                                 1 if submitted else 0, at, final or submitted or at,
                                 submitted, final)[:len(states["columns"])])
                notification_rows.append((report_id, report.phone, f"{tracking} {purpose}",
                                          purpose, report.locale, at, sms_id, at))
            report_rows.append((
                report_id, tracking, token, report.category, report.description,
                report.priority, status, report.channel, report.locale, report.site, report.ap,
                report.lat, report.lon, "browser" if report.lat is not None else "site",
                report.phone, 1 if report.phone else 0, report.team, report.created_at,
                updated, report.due_at, level, escalated_at,
                None if status != "resolved" else "0" * 64,
                closure_issued if status in SETTLED else None))
            written += 1
        conn.executemany(
            "INSERT INTO reports (id, tracking, token, category, description, priority, status, "
            "channel, locale, site, ap, lat, lon, location_source, phone, phone_verified, team, "
            "created_at, updated_at, due_at, escalation_level, escalated_at, closure_hash, "
            "closure_issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?)", report_rows)
        conn.executemany("INSERT INTO report_events (report_id, at, kind, status, actor, note) "
                         "VALUES (?, ?, ?, ?, ?, ?)", event_rows)
        columns = states["columns"]
        conn.executemany(f"INSERT INTO sms_messages ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' for _ in columns)})", sms_rows)
        conn.executemany(
            "INSERT INTO report_notifications (report_id, to_number, body, purpose, locale, "
            "created_at, sms_id, handed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", notification_rows)
        conn.executemany("INSERT INTO report_sequences (year, last) VALUES (?, ?) "
                         "ON CONFLICT(year) DO UPDATE SET last = excluded.last",
                         sorted(serials.items()))
    return written


__all__ = ["PastReport", "insert_history"]
