"""Planned maintenance windows: the alert engine holds back alerts for what a window covers, and
the KPI reports leave its time out of availability. A window covers one AP, one site, or the whole
network (neither given). Times are unix seconds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from core import audit
from core.errors import CodedError
from core.store import Store, now


class MaintenanceError(CodedError):
    """A window that cannot be kept as asked (ends before it starts, names an AP and a site)."""


@dataclass(frozen=True)
class Window:
    id: int
    ap_id: int | None
    site_id: int | None
    starts_at: float
    ends_at: float
    reason: str
    created_by: str
    created_at: float

    def covers(self, ap_id: int, site_id: int, at: float) -> bool:
        """True if this window covers AP ``ap_id`` (at site ``site_id``) at time ``at``."""
        if not self.starts_at <= at < self.ends_at:
            return False
        if self.ap_id is not None:
            return self.ap_id == ap_id
        if self.site_id is not None:
            return self.site_id == site_id
        return True


def add(store: Store, *, starts_at: float, ends_at: float, actor: str, reason: str = "",
        ap_id: int | None = None, site_id: int | None = None) -> Window:
    """Plan a window; audited in the same transaction."""
    if ends_at <= starts_at:
        raise MaintenanceError("maintenance.ends_before_start",
                               "a maintenance window must end after it starts")
    if ap_id is not None and site_id is not None:
        raise MaintenanceError("maintenance.ap_and_site",
                               "a maintenance window covers one AP or one site, not both")
    created = now()
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO maintenance_windows (ap_id, site_id, starts_at, ends_at, reason, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ap_id, site_id, starts_at, ends_at, reason, actor, created))
        window_id = int(cursor.lastrowid or 0)
        audit.record(conn, actor, "maintenance.add", "maintenance", window_id,
                     {"ap_id": ap_id, "site_id": site_id, "starts_at": starts_at,
                      "ends_at": ends_at, "reason": reason})
    return Window(window_id, ap_id, site_id, starts_at, ends_at, reason, actor, created)


def add_past(conn: sqlite3.Connection, windows: Iterable[tuple[float, float, str, float]],
             *, actor: str) -> int:
    """Write network-wide windows of the past in bulk, ``(starts_at, ends_at, reason,
    created_at)`` each, inside the caller's transaction (the KPI history generators); not
    audited: nobody planned them."""
    cursor = conn.executemany(
        "INSERT INTO maintenance_windows (ap_id, site_id, starts_at, ends_at, reason, "
        "created_by, created_at) VALUES (NULL, NULL, ?, ?, ?, ?, ?)",
        [(start, end, reason, actor, created) for start, end, reason, created in windows])
    return cursor.rowcount


def remove(store: Store, window_id: int, *, actor: str) -> bool:
    """Cancel a window; False if there was none with that id."""
    with store.transaction() as conn:
        gone = conn.execute("DELETE FROM maintenance_windows WHERE id = ?",
                            (window_id,)).rowcount > 0
        if gone:
            audit.record(conn, actor, "maintenance.remove", "maintenance", window_id)
    return gone


def overlapping(store: Store, start: float, end: float) -> list[Window]:
    """Every window that overlaps [start, end), oldest start first."""
    rows = store.db.query(
        "SELECT * FROM maintenance_windows WHERE starts_at < ? AND ends_at > ? "
        "ORDER BY starts_at, id", [end, start])
    return _windows(rows)


def active(store: Store, at: float | None = None) -> list[Window]:
    """The windows in force at ``at`` (now by default)."""
    moment = now() if at is None else at
    return overlapping(store, moment, moment + 1e-6)


def covering(conn: sqlite3.Connection, ap_id: int, site_id: int, at: float) -> bool:
    """True if a window covers this AP at ``at`` (inside a caller's transaction)."""
    row = conn.execute(
        "SELECT 1 FROM maintenance_windows WHERE starts_at <= ? AND ends_at > ? AND "
        "((ap_id IS NULL AND site_id IS NULL) OR ap_id = ? OR site_id = ?) LIMIT 1",
        (at, at, ap_id, site_id)).fetchone()
    return row is not None


def covered_aps(conn: sqlite3.Connection, at: float) -> set[int]:
    """Ids of every AP a window covers at ``at`` (inside a caller's transaction)."""
    return {row[0] for row in conn.execute(
        "SELECT a.id FROM aps a JOIN maintenance_windows w ON w.starts_at <= ? AND w.ends_at > ?"
        " AND ((w.ap_id IS NULL AND w.site_id IS NULL) OR w.ap_id = a.id"
        " OR w.site_id = a.site_id)", (at, at))}


def _windows(rows: Iterable[dict]) -> list[Window]:
    return [Window(r["id"], r["ap_id"], r["site_id"], r["starts_at"], r["ends_at"], r["reason"],
                   r["created_by"], r["created_at"]) for r in rows]
