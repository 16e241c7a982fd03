"""The digest: one mail per period (``[alerts] digest_every_h``, counted from local midnight in
the municipality's zone) to every active person on the rota who takes it, listing what opened
and what cleared in the period. A period is decided once (``notify_digests``); an empty period
sends nothing."""

from __future__ import annotations

import math

from controller.notify import outbox, rota
from core import alerts as alert_rows
from core import localtime
from core.store import Store


def last_period(at: float, every_h: float, tz: str) -> tuple[float, float]:
    """The latest whole period ending at or before ``at``: (start, end), unix seconds.

    Periods are counted from the local midnight of ``at``'s day, so a 24 h digest covers a local
    day and a 12 h digest ends at local noon and midnight."""
    every = every_h * 3600
    midnight = localtime.day_start(localtime.local(at, tz).date(), tz)
    end = midnight + math.floor((at - midnight) / every) * every
    return end - every, end


def decide(store: Store, at: float, every_h: float, tz: str) -> int:
    """Queue the digest of the latest whole period unless it was decided; returns the number of
    mails queued."""
    start, end = last_period(at, every_h, tz)
    with store.transaction() as conn:
        if conn.execute("INSERT OR IGNORE INTO notify_digests (period_end, period_start,"
                        " decided_at) VALUES (?, ?, ?)", (end, start, at)).rowcount == 0:
            return 0
        summary = alert_rows.changed_between(conn, start, end)
        if not summary["opened"] and not summary["cleared"]:
            return 0
        payload = {"start": start, "end": end, **summary}
        queued = 0
        for person in rota.people(conn):
            if person.active and person.digest and person.email:
                queued += outbox.enqueue(conn, dedupe=f"digest:{end}:{person.email}",
                                         channel="email", destination=person.email,
                                         locale=person.locale, kind="digest", payload=payload,
                                         at=at)
    return queued


__all__ = ["decide", "last_period"]
