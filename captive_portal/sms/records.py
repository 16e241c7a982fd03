"""What the SMS pages read: the outbox with each message's delivery state, and citizens' SMS."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.store import Store

#: A code in an SMS body (4 to 10 digits standing alone, not part of a tracking number).
_CODE = re.compile(r"(?<![\d-])\d{4,10}(?![\d-])")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    to_number: str
    purpose: str
    locale: str
    driver: str
    state: str
    attempts: int
    encoding: str | None
    segments: int | None
    created_at: float
    submitted_at: float | None
    final_at: float | None
    last_error: str | None
    receipt_detail: str | None
    body: str


@dataclass(frozen=True)
class IncomingSms:
    id: int
    from_number: str
    body: str
    at: float
    outcome: str
    tracking: str | None


def masked(body: str) -> str:
    """``body`` with its codes hidden (login and closure codes are someone's key)."""
    return _CODE.sub(lambda m: "•" * len(m.group(0)), body.translate(_DIGITS))


def outbox(store: Store, *, state: str | None = None, purpose: str | None = None,
           limit: int = 300) -> list[OutboxMessage]:
    """The newest messages first, optionally of one delivery state and/or purpose."""
    where, args = [], []
    if state:
        where.append("state = ?")
        args.append(state)
    if purpose:
        where.append("purpose = ?")
        args.append(purpose)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return [OutboxMessage(*row) for row in store.conn.execute(
        "SELECT id, to_number, purpose, locale, driver, state, attempts, encoding, segments, "
        "created_at, submitted_at, final_at, last_error, receipt_detail, body "
        f"FROM sms_messages {clause} ORDER BY id DESC LIMIT ?", (*args, limit))]


def state_counts(store: Store, since: float) -> dict[str, int]:
    """Messages created since ``since`` per delivery state."""
    return dict(store.conn.execute(
        "SELECT state, count(*) FROM sms_messages WHERE created_at >= ? GROUP BY state",
        (since,)).fetchall())


def segment_total(store: Store, since: float) -> int:
    """Segments of the messages the gateway took since ``since`` (what the operator bills)."""
    return store.conn.execute(
        "SELECT coalesce(sum(segments), 0) FROM sms_messages WHERE created_at >= ? "
        "AND state IN ('submitted', 'delivered', 'failed', 'expired') "
        "AND submitted_at IS NOT NULL", (since,)).fetchone()[0]


def purposes(store: Store) -> list[str]:
    return [row[0] for row in store.conn.execute(
        "SELECT DISTINCT purpose FROM sms_messages ORDER BY purpose")]


def incoming(store: Store, limit: int = 100) -> list[IncomingSms]:
    """Citizens' SMS, newest first, with what each did."""
    return [IncomingSms(*row) for row in store.conn.execute(
        "SELECT i.id, i.from_number, i.body, i.at, i.outcome, r.tracking FROM sms_incoming i "
        "LEFT JOIN reports r ON r.id = i.report_id ORDER BY i.id DESC LIMIT ?", (limit,))]


__all__ = ["IncomingSms", "OutboxMessage", "incoming", "masked", "outbox", "purposes",
           "segment_total", "state_counts"]
