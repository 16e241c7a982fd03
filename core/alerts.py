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

from core import audit
from core.errors import CodedError
from core.store import Store, now

#: The states an alert listing can be asked for.
STATES = ("open", "cleared", "all")


@dataclass(frozen=True)
class OpenAlert:
    id: int
    opened_at: float


def find_open(conn: sqlite3.Connection, kind: str, *, ap_id: int | None = None,
              branch: str | None = None, scope: str | None = None) -> OpenAlert | None:
    """The open alert of ``kind`` of one AP, one branch, or one scope (``reports``)."""
    column, value = (("scope", scope) if scope is not None else
                     ("ap_id", ap_id) if branch is None else ("branch", branch))
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
               branch: str | None = None, scope: str | None = None) -> int:
    """Open an alert inside the caller's transaction; returns its id."""
    cursor = conn.execute(
        "INSERT INTO alerts (ap_id, branch, scope, kind, severity, opened_at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ap_id, branch, scope, kind, severity, at, json.dumps(detail, ensure_ascii=False)))
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


def set_scope_alert(store: Store, scope: str, kind: str, open_: bool,
                    detail: dict[str, Any] | None, severity: str = "warning") -> str | None:
    """Open, refresh or clear the alert of ``kind`` of a whole ``scope`` (``reports``: the 940
    pipeline); returns ``"opened"`` or ``"cleared"`` when it changed, else None."""
    with store.transaction() as conn:
        current = find_open(conn, kind, scope=scope)
        if open_ and current:
            conn.execute("UPDATE alerts SET detail = ? WHERE id = ?",
                         (json.dumps(detail, ensure_ascii=False), current.id))
        elif open_:
            open_alert(conn, kind, severity, detail, at=now(), scope=scope)
            return "opened"
        elif current:
            clear_alert(conn, current.id, at=now())
            return "cleared"
    return None


# ---- acknowledging and silencing ------------------------------------------------------------

class AlertError(CodedError):
    """An acknowledgement or silence that cannot be kept as asked."""


def acknowledge(store: Store, alert_id: int, *, actor: str, note: str = "") -> None:
    """``actor`` takes the open alert ``alert_id`` (with a note); audited. Reminders stop."""
    with store.transaction() as conn:
        row = conn.execute("SELECT cleared_at, acked_at FROM alerts WHERE id = ?",
                           (alert_id,)).fetchone()
        if row is None:
            raise AlertError("alert.not_found", f"no alert {alert_id}")
        if row[1] is not None:
            raise AlertError("alert.already_acked", "this alert is already acknowledged")
        conn.execute("UPDATE alerts SET acked_by = ?, acked_at = ?, ack_note = ? WHERE id = ?",
                     (actor, now(), note.strip(), alert_id))
        audit.record(conn, actor, "alert.ack", "alert", alert_id, {"note": note.strip()})


@dataclass(frozen=True)
class Silence:
    id: int
    alert_id: int | None
    kind: str | None
    ap_id: int | None
    site_id: int | None
    starts_at: float
    ends_at: float
    reason: str
    created_by: str
    created_at: float

    def covers(self, alert_id: int, kind: str, ap_id: int | None, site_id: int | None,
               at: float) -> bool:
        """True if this silence covers that alert at ``at``."""
        if not self.starts_at <= at < self.ends_at:
            return False
        if self.alert_id is not None:
            return self.alert_id == alert_id
        return ((self.kind is None or self.kind == kind)
                and (self.ap_id is None or self.ap_id == ap_id)
                and (self.site_id is None or self.site_id == site_id))


def add_silence(store: Store, *, actor: str, ends_at: float, reason: str = "",
                starts_at: float | None = None, alert_id: int | None = None,
                kind: str | None = None, ap_id: int | None = None,
                site_id: int | None = None) -> int:
    """Silence one alert, or every alert of a kind and/or AP and/or site, until ``ends_at``;
    audited. Returns the silence's id."""
    start = now() if starts_at is None else starts_at
    if ends_at <= start:
        raise AlertError("silence.ends_before_start", "a silence must end after it starts",
                         "ends_at")
    if alert_id is None and kind is None and ap_id is None and site_id is None:
        raise AlertError("silence.nothing", "a silence names an alert, a kind, an AP or a site")
    if not reason.strip():
        raise AlertError("silence.reason", "say why this is silenced", "reason")
    with store.transaction() as conn:
        if alert_id is not None and conn.execute("SELECT 1 FROM alerts WHERE id = ?",
                                                 (alert_id,)).fetchone() is None:
            raise AlertError("alert.not_found", f"no alert {alert_id}")
        cursor = conn.execute(
            "INSERT INTO alert_silences (alert_id, kind, ap_id, site_id, starts_at, ends_at,"
            " reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (alert_id, kind, ap_id, site_id, start, ends_at, reason.strip(), actor, now()))
        silence_id = int(cursor.lastrowid or 0)
        audit.record(conn, actor, "alert.silence", "silence", silence_id,
                     {"alert_id": alert_id, "kind": kind, "ap_id": ap_id, "site_id": site_id,
                      "starts_at": start, "ends_at": ends_at, "reason": reason.strip()})
    return silence_id


def cancel_silence(store: Store, silence_id: int, *, actor: str) -> bool:
    """End a silence now; False if there is no such silence still in force or planned."""
    at = now()
    with store.transaction() as conn:
        changed = conn.execute(
            "UPDATE alert_silences SET cancelled_by = ?, cancelled_at = ?, ends_at = "
            "max(starts_at + 0.001, min(ends_at, ?)) WHERE id = ? AND cancelled_at IS NULL "
            "AND ends_at > ?", (actor, at, at, silence_id, at)).rowcount > 0
        if changed:
            audit.record(conn, actor, "alert.unsilence", "silence", silence_id)
    return changed


def silences(store: Store, *, at: float | None = None) -> list[dict[str, Any]]:
    """Silences in force or planned at ``at`` (now), with the names of what they cover."""
    moment = now() if at is None else at
    return list(store.db.query(
        "SELECT s.*, a.name AS ap_name, si.slug AS site FROM alert_silences s "
        "LEFT JOIN aps a ON a.id = s.ap_id LEFT JOIN sites si ON si.id = s.site_id "
        "WHERE s.ends_at > ? AND s.cancelled_at IS NULL ORDER BY s.starts_at, s.id", [moment]))


def silences_at(conn: sqlite3.Connection, at: float) -> list[Silence]:
    """The silences in force at ``at`` (inside a caller's transaction)."""
    return [Silence(*row) for row in conn.execute(
        "SELECT id, alert_id, kind, ap_id, site_id, starts_at, ends_at, reason, created_by,"
        " created_at FROM alert_silences WHERE starts_at <= ? AND ends_at > ?", (at, at))]


# ---- reading, for pages, the API and reports -----------------------------------------------

_LISTING = ("SELECT al.*, a.name AS ap_name, s.slug AS site, a.site_id AS site_id "
            "FROM alerts al LEFT JOIN aps a ON a.id = al.ap_id LEFT JOIN sites s ON s.id = a.site_id")


def get(store: Store, alert_id: int) -> dict[str, Any] | None:
    """One alert as `alerts` lists it, or None."""
    rows = _decoded(store.db.query(_LISTING + " WHERE al.id = ?", [alert_id]))
    return rows[0] if rows else None


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


def changed_between(conn: sqlite3.Connection, start: float,
                    end: float) -> dict[str, list[dict[str, Any]]]:
    """Alerts opened and alerts cleared in [start, end), oldest first, and how many are open
    at ``end`` (``still_open``): what a digest reports."""
    def rows(column: str) -> list[dict[str, Any]]:
        cursor = conn.execute(
            "SELECT al.id, al.kind, al.severity, a.name, al.branch, al.scope, al.opened_at,"
            " al.cleared_at FROM alerts al LEFT JOIN aps a ON a.id = al.ap_id"
            f" WHERE al.{column} >= ? AND al.{column} < ? ORDER BY al.{column}, al.id",
            (start, end))
        return [dict(zip(("alert_id", "kind", "severity", "ap_name", "branch", "scope",
                          "opened_at", "cleared_at"), row)) for row in cursor]
    still = conn.execute("SELECT count(*) FROM alerts WHERE opened_at < ? AND "
                         "(cleared_at IS NULL OR cleared_at >= ?)", (end, end)).fetchone()[0]
    return {"opened": rows("opened_at"), "cleared": rows("cleared_at"), "still_open": still}


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


__all__ = ["STATES", "AlertError", "OpenAlert", "Silence", "acknowledge", "add_silence",
           "alerting_aps", "alerts", "cancel_silence", "changed_between", "clear_alert", "find_open", "get",
           "open_alert", "open_ap_alerts", "open_by_severity", "open_counts", "open_of_branch",
           "open_of_kind", "set_ap_alert", "set_scope_alert", "silences", "silences_at"]
