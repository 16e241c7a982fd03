"""Rate limits kept in the store, so they hold across worker processes and nodes.

A limit counted in one process's memory is multiplied by the number of processes serving the
same clients (the portal runs ``portal.workers`` of them, and several nodes later). Here each
counted event is a row of ``rate_limit_events``; a check counts the key's rows inside the
window and adds one in the same write transaction, so two workers can never both take the
last place.

The window slides: ``limit`` events in any ``window_s`` seconds, exactly. A refused event is
not recorded (a flood cannot extend the ban, and a key never holds more than ``limit`` rows);
expired rows are deleted as new ones are written.

`hit` runs inside a transaction the caller already holds (to count with other writes that
must stand or fall together); `RateLimit` opens its own.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from core.store import Store


def hit(conn: sqlite3.Connection, key: str, limit: int, window_s: float, now: float) -> bool:
    """Count one event for ``key`` unless it already had ``limit`` in the last ``window_s``.

    Call inside a write transaction (``store.transaction()``): the count and the insert must
    not interleave with another worker's. Returns False, writing nothing, when over the limit.
    """
    conn.execute("DELETE FROM rate_limit_events WHERE expires_at <= ?", (now,))
    (count,) = conn.execute(
        "SELECT count(*) FROM rate_limit_events WHERE key = ? AND at > ?",
        (key, now - window_s)).fetchone()
    if count >= limit:
        return False
    conn.execute("INSERT INTO rate_limit_events (key, at, expires_at) VALUES (?, ?, ?)",
                 (key, now, now + window_s))
    return True


def recent(conn: sqlite3.Connection, key: str, window_s: float, now: float) -> int:
    """Events counted for ``key`` in the last ``window_s`` seconds (nothing is written)."""
    return conn.execute("SELECT count(*) FROM rate_limit_events WHERE key = ? AND at > ?",
                        (key, now - window_s)).fetchone()[0]


def wait(conn: sqlite3.Connection, key: str, limit: int, window_s: float, now: float) -> float:
    """Seconds until ``key`` may count another event (0.0 when it may now): when the oldest
    event that keeps it at ``limit`` leaves the window. For a ``Retry-After`` answer."""
    row = conn.execute("SELECT at FROM rate_limit_events WHERE key = ? AND at > ? ORDER BY at DESC"
                       " LIMIT 1 OFFSET ?", (key, now - window_s, limit - 1)).fetchone()
    return 0.0 if row is None else max(0.0, row[0] + window_s - now)


def clear(conn: sqlite3.Connection, key: str) -> None:
    """Forget every event of ``key`` (e.g. a user's failed sign-ins once the right password
    came from that address)."""
    conn.execute("DELETE FROM rate_limit_events WHERE key = ?", (key,))


class RateLimit:
    """``limit`` events per ``window_s`` seconds per key, under the name ``name``.

    ``stores()`` gives the calling thread's `Store` (one connection per thread); ``clock`` is
    wall-clock unix seconds, the time every process shares.
    """

    def __init__(self, stores: Callable[[], Store], name: str, limit: int, window_s: float,
                 clock: Callable[[], float] = time.time):
        if limit < 1 or window_s <= 0:
            raise ValueError(f"rate limit {name!r}: limit >= 1 and window_s > 0")
        self.stores = stores
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self.clock = clock

    def hit(self, key: str) -> bool:
        """Count an event for ``key``; False (and nothing counted) when over the limit."""
        with self.stores().transaction() as conn:
            return hit(conn, f"{self.name}:{key}", self.limit, self.window_s, self.clock())

    def used(self, key: str) -> int:
        """Events counted for ``key`` in the current window."""
        return recent(self.stores().conn, f"{self.name}:{key}", self.window_s, self.clock())


__all__ = ["RateLimit", "clear", "hit", "recent", "wait"]
