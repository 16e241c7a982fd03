"""Read-only views of the monitoring tables (alerts, ap_events, metrics) for pages and the API.

The alert rows (`core.alerts`), the event recorder and the metrics writer own these tables; this
module shows what they return the way the pages and the API always have: times as ISO-8601.
"""

from __future__ import annotations

import dataclasses

from controller.monitoring import events as ap_events
from controller.monitoring import metrics
from core import alerts as alert_rows
from core.store import Store, iso, with_iso

ALERT_STATES = alert_rows.STATES


def alerts(store: Store, *, state: str = "open", ap_id: int | None = None,
           limit: int = 200) -> list[dict]:
    """Alerts newest first; ``state`` is open, cleared or all."""
    return [with_iso(row, "opened_at", "cleared_at", "acked_at")
            for row in alert_rows.alerts(store, state=state, ap_id=ap_id, limit=limit)]


def open_alert_counts(store: Store) -> dict[str, int]:
    """Open alerts per kind."""
    return alert_rows.open_counts(store)


def open_alert_aps(store: Store) -> set[int]:
    """Ids of the APs with at least one open alert (the dashboard lists them first)."""
    return alert_rows.alerting_aps(store)


def events(store: Store, ap_id: int, *, limit: int = 50) -> list[dict]:
    """An AP's events (traps, state changes), newest first, as JSON-ready dicts."""
    return [{**dataclasses.asdict(event), "at": iso(event.at)}
            for event in ap_events.recent_events(store, ap_id, limit)]


def metric_series(store: Store, ap_id: int, since: float, until: float) -> dict:
    """Chart points of one AP between ``since`` and ``until`` (unix seconds), oldest first.

    The metrics module picks raw samples for short spans and the hourly roll-up for long ones.
    """
    series = metrics.series(store, ap_id, since, until)
    return {"resolution": series.resolution,
            "points": [dataclasses.asdict(point) for point in series.points]}
