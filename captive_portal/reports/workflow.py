"""Changes to a report after intake: status moves, closure codes, phone checks, escalation.

Every change is one transaction holding the report update, its timeline event, the SMS it
causes (`report_notifications`) and, when the back office must hear of it, its outbox message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from captive_portal.reports import messages, outbox
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.intake import ReportError, due_time, queue_sms
from captive_portal.reports.lifecycle import STATUSES, TransitionError, check_transition
from captive_portal.reports.records import SELECT, Report
from core.contracts import reports as contract
from core.store import Store, iso

#: Longest back-office update id taken (the reference back office's are 32 hex digits).
UPDATE_ID_MAX = 200
#: How much of a status note and of an assignee's name a citizen's SMS carries: the update
#: stays within its segment budget (`captive_portal.sms.templates.BUDGETS`); the timeline keeps
#: them whole.
SMS_NOTE_MAX = 120
SMS_ASSIGNEE_MAX = 40


def _load(conn: sqlite3.Connection, tracking: str) -> Report | None:
    row = conn.execute(f"{SELECT} WHERE r.tracking = ?", (tracking,)).fetchone()
    return Report(*row) if row else None


def closure_hash(report_token: str, code: str) -> str:
    """Keyed by the report's random token, so equal codes of two reports hash differently."""
    return hashlib.sha256(f"{report_token}:{code}".encode()).hexdigest()


def _event(conn, report_id: int, now: float, kind: str, status: str | None, actor: str,
           note: str | None) -> int:
    return conn.execute(
        "INSERT INTO report_events (report_id, at, kind, status, actor, note) "
        "VALUES (?, ?, ?, ?, ?, ?)", (report_id, now, kind, status, actor, note)).lastrowid


def move(conn: sqlite3.Connection, report: Report, target: str, *, actor: str, now: float,
         config: ReportsConfig, note: str | None = None, assigned_to: str | None = None) -> None:
    """Apply one lifecycle move inside the caller's transaction (TransitionError if invalid)."""
    check_transition(report.status, target)
    fields = {"status": target, "updated_at": now, "status_note": note}
    if assigned_to:
        fields["assigned_to"] = assigned_to
    code = None
    if target == "resolved":
        code = "".join(secrets.choice("0123456789") for _ in range(6))
        fields.update(closure_hash=closure_hash(report.token, code), closure_issued_at=now,
                      closure_attempts=0)
    if target == "reopened":
        sla_hours = conn.execute("SELECT sla_hours FROM report_categories WHERE code = ?",
                                 (report.category,)).fetchone()[0]
        fields.update(due_at=due_time(now, sla_hours, report.priority, config),
                      escalation_level=0, escalated_at=None, closure_hash=None)
    if target == "closed":
        fields["closure_hash"] = None
    conn.execute(f"UPDATE reports SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                 [*fields.values(), report.id])
    event_id = _event(conn, report.id, now, "status", target, actor,
                      note if not assigned_to else f"{assigned_to}: {note or ''}".strip(": "))
    if report.notify_to:
        locale = report.locale
        if code is not None:
            body = messages.text("closure_code", locale, tracking=report.tracking, code=code)
            purpose = "closure_code"
        elif target == "closed":
            body = messages.text("report_closed", locale, tracking=report.tracking)
            purpose = "report_status"
        else:
            status = messages.status_name(target, locale)
            if assigned_to:
                status = f"{status} ({assigned_to[:SMS_ASSIGNEE_MAX]})"
            kind = "report_status_note" if note else "report_status"
            body = messages.text(kind, locale, tracking=report.tracking, status=status,
                                 note=(note or "")[:SMS_NOTE_MAX])
            purpose = "report_status"
        queue_sms(conn, report.id, report.notify_to, locale, purpose, body, now)
    if actor in ("citizen", "sla", "admin"):
        # The back office moves its own reports; it must hear of moves made here.
        outbox.enqueue(conn, message_id=f"{report.tracking}:u{event_id}", report_id=report.id,
                       topic=contract.TOPIC_UPDATES, schema=contract.SCHEMA_UPDATE,
                       body={"id": f"{report.tracking}:u{event_id}",
                             "tracking": report.tracking, "status": target, "actor": actor,
                             "note": note, "at": iso(now)}, now=now)


def transition(store: Store, tracking: str, target: str, *, actor: str, now: float,
               config: ReportsConfig, note: str | None = None, assigned_to: str | None = None,
               also: Callable[[sqlite3.Connection], None] | None = None) -> Report:
    """Move one report (ReportError ``report_unknown``; TransitionError if not allowed).

    ``also(conn)`` runs in the same transaction (the admin app's audit entry).
    """
    with store.transaction() as conn:
        report = _load(conn, tracking)
        if report is None:
            raise ReportError("report_unknown", "tracking")
        move(conn, report, target, actor=actor, now=now, config=config, note=note,
             assigned_to=assigned_to)
        if also is not None:
            also(conn)
        moved = _load(conn, tracking)
        assert moved is not None  # loaded above, in this transaction
        return moved


def apply_status_update(conn: sqlite3.Connection, update: dict, *, now: float,
                        config: ReportsConfig) -> str:
    """Apply one ``report-status/1`` message inside the caller's transaction, once.

    Returns the outcome (applied, duplicate, unknown_report, invalid_transition, malformed).
    A status for a report whose ack has not been seen yet is itself proof of delivery.
    """
    update_id = update.get("update_id")
    tracking = update.get("id") or update.get("tracking")
    status = update.get("status")
    if not isinstance(update_id, str) or not 0 < len(update_id) <= UPDATE_ID_MAX \
            or not isinstance(tracking, str) or status not in STATUSES:
        return "malformed"
    # The update's id is claimed first, by one insert: with every node subscribed to the status
    # topic (docs/scale-out.md) two nodes may apply the same update at once, and the second
    # insert waits for the first transaction and then finds the id taken.
    if conn.execute("INSERT INTO report_status_updates (update_id, report_id, applied_at, "
                    "outcome) VALUES (?, NULL, ?, 'applying') ON CONFLICT (update_id) DO NOTHING "
                    "RETURNING update_id", (update_id, now)).fetchone() is None:
        return "duplicate"
    report = _load(conn, tracking)
    outcome = "unknown_report"
    if report is not None:
        outbox.acknowledge(conn, [tracking], now)
        report = _load(conn, tracking)
        assert report is not None  # loaded above, in this transaction
        note = update.get("note") if isinstance(update.get("note"), str) else None
        assignee = update.get("assigned_to") if isinstance(update.get("assigned_to"), str) else None
        try:
            move(conn, report, status, actor="backoffice", now=now, config=config,
                 note=(note or None) and note[:1000], assigned_to=assignee and assignee[:200])
            outcome = "applied"
        except TransitionError:
            outcome = "invalid_transition"
            _event(conn, report.id, now, "note", None, "backoffice",
                   f"ignored status {status} (report was {report.status})")
    conn.execute("UPDATE report_status_updates SET report_id = ?, outcome = ? WHERE update_id = ?",
                 (report.id if report else None, outcome, update_id))
    return outcome


@dataclass(frozen=True)
class ClosureResult:
    ok: bool
    code: str            # closed, reopened, closure_code_invalid, closure_locked, ...
    attempts_left: int = 0


def answer_closure(store: Store, tracking: str, code: str, confirm: bool, *, now: float,
                   config: ReportsConfig, phone: str | None = None) -> ClosureResult:
    """The citizen confirms (closed) or disputes (reopened) a resolution with the code.

    A wrong code counts against the report whatever the visitor does next, so the attempts are
    committed even though nothing else changes; at ``closure_max_attempts`` the code is locked.
    """
    with store.transaction() as conn:
        report = _load(conn, tracking)
        if report is None or (report.phone and phone and report.phone != phone):
            return ClosureResult(False, "report_unknown")
        if report.status != "resolved" or not report.closure_hash:
            return ClosureResult(False, "closure_not_pending")
        if report.closure_attempts >= config.closure_max_attempts:
            return ClosureResult(False, "closure_locked")
        cleaned = "".join(ch for ch in (code or "") if not ch.isspace())[:12]
        if not hmac.compare_digest(report.closure_hash, closure_hash(report.token, cleaned)):
            attempts = report.closure_attempts + 1
            conn.execute("UPDATE reports SET closure_attempts = ? WHERE id = ?",
                         (attempts, report.id))
            _event(conn, report.id, now, "closure", None, "citizen", "wrong closure code")
            left = config.closure_max_attempts - attempts
            return ClosureResult(False, "closure_code_invalid" if left else "closure_locked", left)
        target = "closed" if confirm else "reopened"
        move(conn, report, target, actor="citizen", now=now, config=config,
             note="confirmed by the citizen" if confirm else "disputed by the citizen")
    return ClosureResult(True, target)


def verify_phone(store: Store, tracking: str, *, now: float) -> None:
    """The reporter proved the number: receipt SMS now, status SMS from here on."""
    with store.transaction() as conn:
        report = _load(conn, tracking)
        if report is None or not report.phone or report.phone_verified:
            return
        conn.execute("UPDATE reports SET phone_verified = 1, updated_at = ? WHERE id = ?",
                     (now, report.id))
        event_id = _event(conn, report.id, now, "phone", None, "citizen", "phone verified")
        queue_sms(conn, report.id, report.phone, report.locale, "report_received",
                  messages.text("report_received", report.locale, tracking=tracking), now)
        outbox.enqueue(conn, message_id=f"{tracking}:u{event_id}", report_id=report.id,
                       topic=contract.TOPIC_UPDATES, schema=contract.SCHEMA_UPDATE,
                       body={"id": f"{tracking}:u{event_id}", "tracking": tracking,
                             "status": report.status, "actor": "citizen",
                             "phone": report.phone, "note": "phone verified", "at": iso(now)},
                       now=now)


def closure_awaiting(store: Store, phone: str, code: str) -> tuple[str | None, str | None]:
    """For a citizen's SMS reply: ``(matching, latest)`` tracking numbers among the resolved
    reports of ``phone`` awaiting a closure answer: the one whose code is ``code`` (None if
    none), and the most recent one (None if none awaits). Nothing is counted or changed."""
    matching = latest = None
    rows = store.conn.execute(
        f"{SELECT} WHERE r.status = 'resolved' AND r.closure_hash IS NOT NULL "
        "AND r.phone = ? ORDER BY r.closure_issued_at DESC, r.id DESC", (phone,)).fetchall()
    for row in rows:
        report = Report(*row)
        latest = latest or report.tracking
        if matching is None and report.closure_hash and hmac.compare_digest(
                report.closure_hash, closure_hash(report.token, code)):
            matching = report.tracking
    return matching, latest


__all__ = ["ClosureResult", "answer_closure", "apply_status_update", "closure_awaiting",
           "closure_hash", "move", "transition", "verify_phone"]
