"""SLA escalation and automatic closure, one report at a time, each in its own transaction.

Level 1 when a report still open passes its SLA due time; level 2 ``level2_after_hours`` later.
Each escalation is a timeline event, an SMS to the level's configured contacts, and a message on
the escalation topic through the outbox (so the back office hears of it even after an outage).
A resolved report nobody confirms or disputes within ``auto_close_days`` is closed.
"""

from __future__ import annotations

from captive_portal.reports import messages, outbox
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.intake import queue_sms
from captive_portal.reports.lifecycle import SETTLED, TransitionError
from captive_portal.reports.workflow import _load, move
from core.contracts import reports as contract
from core.store import Store, iso

CONTACT_LOCALE = "ar"
#: The timeline note of an escalation, followed by the level (the service KPIs count by it).
ESCALATION_NOTE = "escalated to level "


def escalation_level_due(due_at: float, now: float, config: ReportsConfig) -> int:
    if now <= due_at:
        return 0
    return 2 if now > due_at + config.level2_after_hours * 3600 else 1


def escalate_overdue(store: Store, now: float, config: ReportsConfig, limit: int = 500) -> int:
    """Raise the escalation level of every overdue open report that needs it; returns how many."""
    settled = ", ".join("?" for _ in SETTLED)
    candidates = store.conn.execute(
        f"SELECT tracking FROM reports WHERE due_at < ? AND status NOT IN ({settled}) AND "
        f"(escalation_level = 0 OR (escalation_level = 1 AND due_at < ?)) "
        f"ORDER BY due_at LIMIT ?",
        (now, *sorted(SETTLED), now - config.level2_after_hours * 3600, limit)).fetchall()
    done = 0
    for (tracking,) in candidates:
        with store.transaction() as conn:
            report = _load(conn, tracking)
            if report is None or report.status in SETTLED:
                continue
            level = escalation_level_due(report.due_at, now, config)
            if level <= report.escalation_level:
                continue
            conn.execute("UPDATE reports SET escalation_level = ?, escalated_at = ?, "
                         "updated_at = ? WHERE id = ?", (level, now, now, report.id))
            conn.execute("INSERT INTO report_events (report_id, at, kind, status, actor, note) "
                         "VALUES (?, ?, 'escalation', NULL, 'sla', ?)",
                         (report.id, now, f"{ESCALATION_NOTE}{level}"))
            body = messages.text("escalation", CONTACT_LOCALE, level=level, tracking=tracking,
                                 category=report.category, priority=report.priority,
                                 due=iso(report.due_at))
            for contact in config.contacts_for(level):
                queue_sms(conn, report.id, contact, CONTACT_LOCALE, "escalation", body, now)
            message_id = f"{tracking}:e{level}"
            outbox.enqueue(conn, message_id=message_id, report_id=report.id,
                           topic=contract.TOPIC_ESCALATIONS, schema=contract.SCHEMA_ESCALATION,
                           body={"id": message_id, "tracking": tracking, "level": level,
                                 "category": report.category, "team": report.team,
                                 "priority": report.priority, "status": report.status,
                                 "due_at": iso(report.due_at), "escalated_at": iso(now),
                                 "contacts": config.contacts_for(level)}, now=now)
            done += 1
    return done


def close_unanswered(store: Store, now: float, config: ReportsConfig, limit: int = 500) -> int:
    """Close resolved reports whose closure code went unanswered; returns how many."""
    cutoff = now - config.auto_close_days * 86400
    candidates = store.conn.execute(
        "SELECT tracking FROM reports WHERE status = 'resolved' AND closure_issued_at < ? "
        "LIMIT ?", (cutoff, limit)).fetchall()
    done = 0
    for (tracking,) in candidates:
        with store.transaction() as conn:
            report = _load(conn, tracking)
            if report is None or report.status != "resolved":
                continue
            try:
                move(conn, report, "closed", actor="sla", now=now, config=config,
                     note="no answer from the citizen")
            except TransitionError:
                continue
            done += 1
    return done


__all__ = ["ESCALATION_NOTE", "close_unanswered", "escalate_overdue", "escalation_level_due"]
