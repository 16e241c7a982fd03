"""The ``config_drift`` alert: at most one open per AP (the alerts table's unique index)."""

from __future__ import annotations

import json

from core.store import Store, utcnow

ALERT_KIND = "config_drift"


def set_alert(store: Store, ap_id: int, open_: bool, detail: dict | None) -> None:
    """Open (or refresh) the AP's drift alert, or clear it."""
    now = utcnow()
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM alerts WHERE ap_id = ? AND kind = ? AND cleared_at IS "
                           "NULL", (ap_id, ALERT_KIND)).fetchone()
        if open_ and row:
            conn.execute("UPDATE alerts SET detail = ? WHERE id = ?",
                         (json.dumps(detail, ensure_ascii=False), row[0]))
        elif open_:
            conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at, detail) "
                         "VALUES (?, ?, 'warning', ?, ?)",
                         (ap_id, ALERT_KIND, now, json.dumps(detail, ensure_ascii=False)))
        elif row:
            conn.execute("UPDATE alerts SET cleared_at = ? WHERE id = ?", (now, row[0]))
