"""The notification outbox: each message written with the decision that made it, then claimed,
sent and marked by the worker. A message that fails is retried with a doubling backoff and given
up (``abandoned``) after ``max_attempts``; ``dedupe`` keeps a second write of the same message a
no-op. A claim moves the next attempt ahead before sending, so two workers never send the same
message, and one that dies mid-send leaves it to be retried when the claim runs out."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from core.store import Store

#: Seconds a claimed message is left to the worker that claimed it.
CLAIM_S = 120.0


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    destination: str
    locale: str
    alert_id: int | None
    kind: str
    payload: dict[str, Any]
    attempts: int


def enqueue(conn: sqlite3.Connection, *, dedupe: str, channel: str, destination: str,
            locale: str, kind: str, payload: dict[str, Any], at: float,
            alert_id: int | None = None) -> bool:
    """Add a message (inside the caller's transaction); False if it was already there."""
    return conn.execute(
        "INSERT OR IGNORE INTO notify_outbox (dedupe, channel, destination, locale, alert_id, "
        "kind, payload, state, attempts, next_attempt_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        (dedupe, channel, destination, locale, alert_id, kind,
         json.dumps(payload, ensure_ascii=False), at, at)).rowcount > 0


def claim_due(store: Store, at: float, limit: int = 50) -> list[Message]:
    """Messages due at ``at``, each claimed for `CLAIM_S` (only if no one claimed it since)."""
    conn = store.conn
    rows = conn.execute(
        "SELECT id, channel, destination, locale, alert_id, kind, payload, attempts, "
        "next_attempt_at FROM notify_outbox WHERE state = 'pending' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT ?", (at, limit)).fetchall()
    claimed = []
    for *fields, due in rows:
        if conn.execute("UPDATE notify_outbox SET next_attempt_at = ? WHERE id = ? AND "
                        "state = 'pending' AND next_attempt_at = ?",
                        (at + CLAIM_S, fields[0], due)).rowcount:
            fields[6] = json.loads(fields[6])
            claimed.append(Message(*fields))
    return claimed


def mark_sent(store: Store, message_id: int, at: float) -> None:
    store.conn.execute("UPDATE notify_outbox SET state = 'sent', sent_at = ?, attempts = "
                       "attempts + 1, last_error = NULL WHERE id = ?", (at, message_id))


def mark_failed(store: Store, message: Message, error: str, at: float, *, retry_in: float | None
                ) -> None:
    """A failed try: again after ``retry_in`` seconds, or given up when it is None."""
    store.conn.execute(
        "UPDATE notify_outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
        "next_attempt_at = ? WHERE id = ?",
        ("abandoned" if retry_in is None else "pending", error[:500],
         at if retry_in is None else at + retry_in, message.id))


def recent(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest messages, newest first, for the settings page and the API."""
    rows = store.db.query(
        "SELECT id, channel, destination, locale, alert_id, kind, state, attempts, created_at, "
        "sent_at, next_attempt_at, last_error FROM notify_outbox ORDER BY id DESC LIMIT ?",
        [limit])
    return list(rows)


def prune(store: Store, before: float) -> int:
    """Forget messages sent or given up before ``before``; returns how many."""
    return store.conn.execute("DELETE FROM notify_outbox WHERE state != 'pending' AND "
                              "created_at < ?", (before,)).rowcount


def counts(store: Store) -> dict[str, int]:
    return dict(store.conn.execute("SELECT state, count(*) FROM notify_outbox GROUP BY state"))


__all__ = ["CLAIM_S", "Message", "claim_due", "counts", "enqueue", "mark_failed", "mark_sent",
           "prune", "recent"]
