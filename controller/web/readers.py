"""Read-only views of the monitoring tables (alerts, ap_events, metrics) for pages and the API.

The alert engine, the event recorder and the metrics writer own these tables. Events and chart
series come from their modules; alert listings are queried here because the pages and the API
also show cleared alerts and the site of each, which `controller.monitoring.alerts.open_alerts` does not.
"""

from __future__ import annotations

import dataclasses
import json

from controller.monitoring import events as ap_events
from controller.monitoring import metrics
from core.store import Store

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
    """An AP's events (traps, state changes), newest first, as JSON-ready dicts."""
    return [dataclasses.asdict(event) for event in ap_events.recent_events(store, ap_id, limit)]


def metric_series(store: Store, ap_id: int, since: float, until: float) -> dict:
    """Chart points of one AP between ``since`` and ``until`` (unix seconds), oldest first.

    The metrics module picks raw samples for short spans and the hourly roll-up for long ones.
    """
    series = metrics.series(store, ap_id, since, until)
    return {"resolution": series.resolution,
            "points": [dataclasses.asdict(point) for point in series.points]}
