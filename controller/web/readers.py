"""Read-only queries on the monitoring tables (alerts, ap_events, metrics) for pages and the API.

The alert engine, the event recorder and the metrics writer own these tables; the web app only
reads them, through these few functions, so a schema change touches one file here.
"""

from __future__ import annotations

import json
import time

from controller.store import Store

ALERT_STATES = ("open", "cleared", "all")
_ALERT_SELECT = ("SELECT al.*, a.name AS ap_name, s.slug AS site FROM alerts al "
                 "LEFT JOIN aps a ON a.id = al.ap_id LEFT JOIN sites s ON s.id = a.site_id")


def _decoded(row: dict) -> dict:
    if row.get("detail"):
        try:
            row["detail"] = json.loads(row["detail"])
        except ValueError:
            pass  # keep the text as written
    return row


def alerts(store: Store, *, state: str = "open", ap_id: int | None = None,
           limit: int = 200) -> list[dict]:
    """Alerts newest first; ``state`` is open, cleared or all."""
    where, args = [], []
    if state == "open":
        where.append("al.cleared_at IS NULL")
    elif state == "cleared":
        where.append("al.cleared_at IS NOT NULL")
    if ap_id is not None:
        where.append("al.ap_id = ?")
        args.append(ap_id)
    sql = _ALERT_SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY coalesce(al.cleared_at, al.opened_at) DESC, al.id DESC LIMIT ?"
    return [_decoded(r) for r in store.db.query(sql, [*args, limit])]


def open_alert_counts(store: Store) -> dict[str, int]:
    """Open alerts per kind."""
    rows = store.conn.execute("SELECT kind, count(*) FROM alerts WHERE cleared_at IS NULL "
                              "GROUP BY kind ORDER BY kind").fetchall()
    return {kind: n for kind, n in rows}


def open_alert_aps(store: Store) -> set[int]:
    """Ids of the APs with at least one open alert (the dashboard lists them first)."""
    return {r[0] for r in store.conn.execute(
        "SELECT DISTINCT ap_id FROM alerts WHERE cleared_at IS NULL AND ap_id IS NOT NULL")}


def events(store: Store, ap_id: int, *, limit: int = 50) -> list[dict]:
    """An AP's events (traps, state changes), newest first."""
    return [_decoded(r) for r in store.db.query(
        "SELECT id, at, kind, source, detail FROM ap_events WHERE ap_id = ? "
        "ORDER BY at DESC, id DESC LIMIT ?", [ap_id, limit])]


def metric_series(store: Store, ap_id: int, since: float, until: float, *,
                  raw_hours: int, now: float | None = None) -> dict:
    """Points of one AP between ``since`` and ``until`` (unix seconds), oldest first.

    Raw rows are kept for ``raw_hours`` only; a range reaching further back reads the hourly
    roll-up (averages), so a year-long chart stays a few thousand points.
    """
    now = time.time() if now is None else now
    if since >= now - raw_hours * 3600:
        rows = store.db.query(
            "SELECT at, up, clients, in_bps, out_bps, errors_ps FROM metrics_raw "
            "WHERE ap_id = ? AND at BETWEEN ? AND ? ORDER BY at", [ap_id, int(since), int(until)])
        return {"resolution": "raw", "points": list(rows)}
    rows = store.db.query(
        "SELECT hour AS at, CAST(up_samples AS REAL) / samples AS up, clients_avg AS clients, "
        "in_bps_avg AS in_bps, out_bps_avg AS out_bps, errors_ps_avg AS errors_ps "
        "FROM metrics_hourly WHERE ap_id = ? AND hour BETWEEN ? AND ? ORDER BY hour",
        [ap_id, int(since) - 3599, int(until)])
    return {"resolution": "hourly", "points": list(rows)}
