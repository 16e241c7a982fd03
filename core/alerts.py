"""Alert rows: at most one open alert of a kind per AP, or per branch (``ap_id`` NULL).

The controller's poll cycle, its backhaul monitor and netconfig's drift check all open and clear
alerts, and netconfig sits below the controller: so the reads and writes of the ``alerts``
table live here, at the bottom, while the table itself is created by the controller's
monitoring migrations (0002, 0040). Each watcher decides when its condition holds; these
functions only keep the rows. Times are unix seconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.store import Store, now

#: The states an alert listing can be asked for.
STATES = ("open", "cleared", "all")


@dataclass(frozen=True)
class OpenAlert:
    id: int
    opened_at: float


def find_open(conn: sqlite3.Connection, kind: str, *, ap_id: int | None = None,
              branch: str | None = None) -> OpenAlert | None:
    """The open alert of ``kind`` of one AP or one branch."""
    column, value = ("ap_id", ap_id) if branch is None else ("branch", branch)
    row = conn.execute(f"SELECT id, opened_at FROM alerts WHERE {column} = ? AND kind = ?"
                       " AND cleared_at IS NULL", (value, kind)).fetchone()
    return OpenAlert(*row) if row else None


def open_ap_alerts(conn: sqlite3.Connection) -> dict[tuple[int, str], OpenAlert]:
    """Every open alert of an AP, by (AP id, kind)."""
    return {(ap_id, kind): OpenAlert(alert_id, opened_at) for alert_id, ap_id, kind, opened_at in
            conn.execute("SELECT id, ap_id, kind, opened_at FROM alerts"
                         " WHERE cleared_at IS NULL AND ap_id IS NOT NULL")}


def open_alert(conn: sqlite3.Connection, kind: str, severity: str,
               detail: dict[str, Any] | None, *, at: float, ap_id: int | None = None,
               branch: str | None = None) -> int:
    """Open an alert inside the caller's transaction; returns its id."""
    cursor = conn.execute(
        "INSERT INTO alerts (ap_id, branch, kind, severity, opened_at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (ap_id, branch, kind, severity, at, json.dumps(detail, ensure_ascii=False)))
    assert cursor.lastrowid is not None  # set by every INSERT
    return cursor.lastrowid


def clear_alert(conn: sqlite3.Connection, alert_id: int, *, at: float) -> None:
    conn.execute("UPDATE alerts SET cleared_at = ? WHERE id = ?", (at, alert_id))


def set_ap_alert(store: Store, ap_id: int, kind: str, open_: bool,
                 detail: dict[str, Any] | None, severity: str = "warning") -> None:
    """Open the AP's alert of ``kind`` (or refresh the detail of the open one), or clear it,
    in a transaction of its own."""
    with store.transaction() as conn:
        current = find_open(conn, kind, ap_id=ap_id)
        if open_ and current:
            conn.execute("UPDATE alerts SET detail = ? WHERE id = ?",
                         (json.dumps(detail, ensure_ascii=False), current.id))
        elif open_:
            open_alert(conn, kind, severity, detail, at=now(), ap_id=ap_id)
        elif current:
            clear_alert(conn, current.id, at=now())


# ---- reading, for pages, the API and reports -----------------------------------------------

_LISTING = ("SELECT al.*, a.name AS ap_name, s.slug AS site FROM alerts al "
            "LEFT JOIN aps a ON a.id = al.ap_id LEFT JOIN sites s ON s.id = a.site_id")


def alerts(store: Store, *, state: str = "open", ap_id: int | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    """Alerts with their AP's name and site, the latest opened or cleared first; ``state`` is
    one of `STATES`."""
    where: list[str] = []
    args: list[object] = []
    if state == "open":
        where.append("al.cleared_at IS NULL")
    elif state == "cleared":
        where.append("al.cleared_at IS NOT NULL")
    if ap_id is not None:
        where.append("al.ap_id = ?")
        args.append(ap_id)
    sql = _LISTING + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY coalesce(al.cleared_at, al.opened_at) DESC, al.id DESC LIMIT ?"
    return _decoded(store.db.query(sql, [*args, limit]))


def open_by_severity(store: Store, ap_id: int | None = None) -> list[dict[str, Any]]:
    """Open alerts (of one AP or all), most severe and oldest first."""
    sql = ("SELECT al.id, al.ap_id, a.name, al.kind, al.severity, al.opened_at, al.detail "
           "FROM alerts al LEFT JOIN aps a ON a.id = al.ap_id WHERE al.cleared_at IS NULL")
    args: tuple = ()
    if ap_id is not None:
        sql += " AND al.ap_id = ?"
        args = (ap_id,)
    sql += (" ORDER BY CASE al.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,"
            " al.opened_at, al.id")
    return [{"alert_id": r[0], "ap_id": r[1], "ap_name": r[2], "kind": r[3], "severity": r[4],
             "opened_at": r[5], "detail": json.loads(r[6] or "{}")}
            for r in store.conn.execute(sql, args)]


def open_of_kind(store: Store, kind: str) -> list[dict[str, Any]]:
    """The open alerts of ``kind`` of APs, with the AP's name, by name."""
    return list(store.db.query(
        "SELECT al.*, a.name AS ap_name FROM alerts al JOIN aps a ON a.id = al.ap_id "
        "WHERE al.kind = ? AND al.cleared_at IS NULL ORDER BY a.name", [kind]))


def open_of_branch(store: Store, branch: str, kind: str) -> dict[str, Any] | None:
    """The branch's open alert of ``kind``: its id, ``opened_at`` and detail."""
    row = store.conn.execute("SELECT id, opened_at, detail FROM alerts WHERE branch = ?"
                             " AND kind = ? AND cleared_at IS NULL", (branch, kind)).fetchone()
    return ({"id": row[0], "opened_at": row[1], "detail": json.loads(row[2] or "{}")}
            if row else None)


def open_counts(store: Store) -> dict[str, int]:
    """Open alerts per kind."""
    rows = store.conn.execute("SELECT kind, count(*) FROM alerts WHERE cleared_at IS NULL "
                              "GROUP BY kind ORDER BY kind").fetchall()
    return {kind: n for kind, n in rows}


def alerting_aps(store: Store) -> set[int]:
    """Ids of the APs with at least one open alert."""
    return {r[0] for r in store.conn.execute(
        "SELECT DISTINCT ap_id FROM alerts WHERE cleared_at IS NULL AND ap_id IS NOT NULL")}


def _decoded(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row.get("detail"):
            try:
                row["detail"] = json.loads(row["detail"])
            except ValueError:
                pass  # keep the text as written
        out.append(row)
    return out


__all__ = ["STATES", "OpenAlert", "alerting_aps", "alerts", "clear_alert", "find_open",
           "open_alert", "open_ap_alerts", "open_by_severity", "open_counts", "open_of_branch",
           "open_of_kind", "set_ap_alert"]
