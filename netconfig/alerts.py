"""The ``config_drift`` alert: at most one open per AP (the alerts table's unique index)."""

from __future__ import annotations

from core import alerts
from core.store import Store

ALERT_KIND = "config_drift"


def set_alert(store: Store, ap_id: int, open_: bool, detail: dict | None) -> None:
    """Open (or refresh) the AP's drift alert, or clear it."""
    alerts.set_ap_alert(store, ap_id, ALERT_KIND, open_, detail)
