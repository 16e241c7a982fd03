"""The transactional outbox towards the back office, and the payloads it carries.

A message is written with ``enqueue`` inside the transaction that makes the change it announces
(a new report, a citizen's confirmation, an escalation), so either both exist or neither does.
The forwarder publishes due rows and the back office acks them by ``message_id`` (the report's
tracking number for a new report): only that ack marks a row *acknowledged*. A broker's PUBACK
does not: a broker drops queued messages and acks topics nobody reads.

Topics (relative to the MQTT prefix) and payload schemas are the contract in
`core.contracts.reports`, documented in docs/reports.md.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from captive_portal.reports.lifecycle import check_transition
from core.contracts import reports as contract
from core.store import Store, iso


def enqueue(conn: sqlite3.Connection, *, message_id: str, report_id: int, topic: str,
            schema: str, body: dict, now: float) -> None:
    """Add a message to the outbox (call inside the caller's transaction)."""
    payload = json.dumps({"schema": schema, **body}, ensure_ascii=False)
    conn.execute(
        "INSERT INTO report_outbox (message_id, report_id, topic, payload, state, attempts, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
        (message_id, report_id, topic, payload, now, now))


def report_body(values: dict, category_names: tuple[str, str], photo_urls: list[str]) -> dict:
    """The ``report/1`` payload of a new report (``values`` as stored)."""
    return {
        "id": values["tracking"],
        "tracking": values["tracking"],
        "category": values["category"],
        "category_name": {"ar": category_names[0], "en": category_names[1]},
        "team": values["team"],
        "priority": values["priority"],
        "priority_rules": values.get("priority_rules", []),
        "description": values["description"],
        "channel": values["channel"],
        "locale": values["locale"],
        "location": {"site": values.get("site"), "ap": values.get("ap"),
                     "gateway_id": values.get("gateway_id"), "lat": values.get("lat"),
                     "long": values.get("lon"), "source": values.get("location_source"),
                     "address": values.get("address"), "address_id": values.get("address_id")},
        "reporter": {"phone": values.get("phone") if values.get("phone_verified") else None,
                     "name": values.get("reporter_name"), "email": values.get("email")},
        "photos": photo_urls,
        "media_url": values.get("media_url"),
        "created_at": iso(values["created_at"]),
        "due_at": iso(values["due_at"]),
    }


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    message_id: str
    topic: str
    payload: str
    attempts: int


def due(conn: sqlite3.Connection, now: float, limit: int, window: int,
        resend: bool = True) -> list[OutboxMessage]:
    """Rows to publish now: re-sends whose backoff has passed (unless ``resend`` is false),
    then new rows while fewer than ``window`` messages await their ack (a back office that
    falls behind is not flooded)."""
    resend_rows = conn.execute(
        "SELECT id, message_id, topic, payload, attempts FROM report_outbox "
        "WHERE state = 'sent' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        (now, limit)).fetchall() if resend else []
    waiting = conn.execute("SELECT count(*) FROM report_outbox WHERE state = 'sent'"
                           ).fetchone()[0]
    room = min(limit - len(resend_rows), window - waiting)
    fresh = conn.execute(
        "SELECT id, message_id, topic, payload, attempts FROM report_outbox "
        "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        (now, room)).fetchall() if room > 0 else []
    return [OutboxMessage(*row) for row in resend_rows + fresh]


def mark_sent(conn: sqlite3.Connection, sent: Iterable[tuple[int, int]], now: float,
              first_s: float, max_s: float) -> None:
    """Record a publication of each (row id, attempts before) and when to try again."""
    conn.executemany(
        "UPDATE report_outbox SET state = 'sent', attempts = ?, last_sent_at = ?, "
        "next_attempt_at = ? WHERE id = ? AND state != 'acknowledged'",
        [(attempts + 1, now, now + min(max_s, first_s * 2 ** attempts), row_id)
         for row_id, attempts in sent])


def resend_all_now(conn: sqlite3.Connection, now: float) -> int:
    """Make every unacked row due: a new forwarder cannot know what its predecessor had in
    flight."""
    return conn.execute("UPDATE report_outbox SET next_attempt_at = ? WHERE state = 'sent'",
                        (now,)).rowcount


def acknowledge(conn: sqlite3.Connection, message_ids: Iterable[str], now: float,
                latencies: list[float] | None = None) -> int:
    """Mark messages acked by the back office; a new report moves received -> forwarded.

    Returns how many rows changed (acks for rows already acked or unknown change nothing);
    ``latencies`` collects, per changed row, the seconds since its last publication.
    """
    changed = 0
    for message_id in message_ids:
        row = conn.execute(
            "SELECT report_id, topic, last_sent_at FROM report_outbox WHERE message_id = ? "
            "AND state != 'acknowledged'", (message_id,)).fetchone()
        if row is None:
            continue
        conn.execute("UPDATE report_outbox SET state = 'acknowledged', acked_at = ? "
                     "WHERE message_id = ?", (now, message_id))
        changed += 1
        report_id, topic, last_sent_at = row
        if latencies is not None and last_sent_at is not None:
            latencies.append(now - last_sent_at)
        if topic == contract.TOPIC_NEW:
            mark_forwarded(conn, report_id, now)
    return changed


def mark_forwarded(conn: sqlite3.Connection, report_id: int, now: float) -> bool:
    status = conn.execute("SELECT status FROM reports WHERE id = ?", (report_id,)).fetchone()
    if status is None or status[0] != "received":
        return False
    check_transition("received", "forwarded")
    conn.execute("UPDATE reports SET status = 'forwarded', updated_at = ? WHERE id = ?",
                 (now, report_id))
    conn.execute("INSERT INTO report_events (report_id, at, kind, status, actor, note) "
                 "VALUES (?, ?, 'status', 'forwarded', 'forwarder', NULL)", (report_id, now))
    return True


class MessageState(NamedTuple):
    """A report's message to the back office and how far it got (unix seconds)."""

    message_id: str
    topic: str
    state: str
    attempts: int
    created_at: float
    last_sent_at: float | None
    acked_at: float | None


def of_report(store: Store, report_id: int) -> list[MessageState]:
    """The report's messages to the back office, oldest first."""
    return [MessageState(*row) for row in store.conn.execute(
        "SELECT message_id, topic, state, attempts, created_at, last_sent_at, acked_at "
        "FROM report_outbox WHERE report_id = ? ORDER BY id", (report_id,))]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT state, count(*) FROM report_outbox GROUP BY state"))


def backlog(conn: sqlite3.Connection, now: float) -> tuple[int, float | None]:
    """(messages the back office has not acked, seconds the oldest of them has waited)."""
    depth, oldest = conn.execute(
        "SELECT count(*), min(created_at) FROM report_outbox "
        "WHERE state IN ('pending', 'sent')").fetchone()
    return depth, None if oldest is None else max(0.0, now - oldest)


def most_sends_unacked(conn: sqlite3.Connection) -> int:
    """How many times the most re-sent message still waiting for its ack was published."""
    return conn.execute("SELECT coalesce(max(attempts), 0) FROM report_outbox "
                        "WHERE state = 'sent'").fetchone()[0]


__all__ = ["MessageState", "OutboxMessage", "acknowledge", "backlog", "counts", "due", "enqueue",
           "mark_forwarded", "mark_sent", "most_sends_unacked", "of_report", "report_body",
           "resend_all_now"]
