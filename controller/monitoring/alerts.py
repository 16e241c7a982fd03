"""Threshold alerts and AP state events, evaluated once per poll cycle from the snapshot.

An alert opens when a condition starts to hold and clears when it stops; the ``alerts`` table
keeps at most one open alert per AP and kind. Numeric alerts clear only once the value falls
clearly below the threshold (a hysteresis band), so an AP hovering at its capacity does not
open and clear an alert every minute. State alerts need no band: the poller already waits
``snmp.down_after`` failed polls before it calls an AP down. Each open and clear is published on
``alerts/<ap_name>`` after the cycle's transaction commits.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.monitoring.events import (
    Publisher,
    insert_event,
    publish_event,
    publish_safely,
    topic_segment,
)
from controller.monitoring.snapshot import ApState, ApStatus, CycleStats, Snapshot
from controller.settings import AlertsConfig
from core.contracts.monitoring import ALERT_SCHEMA
from core.store import Store, utcnow

#: Clients must fall to this share of capacity before a capacity alert clears.
CLIENTS_CLEAR_RATIO = 0.9
#: Interface errors must fall to this share of the threshold before the alert clears.
ERRORS_CLEAR_RATIO = 0.5


class AlertKind(str, enum.Enum):
    AP_DOWN = "ap_down"
    AUTH_FAILED = "auth_failed"
    CLIENTS_OVER_CAPACITY = "clients_over_capacity"
    INTERFACE_ERRORS = "interface_errors"


SEVERITY = {
    AlertKind.AP_DOWN: "critical",
    AlertKind.AUTH_FAILED: "warning",
    AlertKind.CLIENTS_OVER_CAPACITY: "warning",
    AlertKind.INTERFACE_ERRORS: "warning",
}

OPEN, CLEAR = "open", "cleared"


@dataclass(frozen=True)
class Verdict:
    """What one cycle says about one alert kind of one AP; no verdict means "keep as is"."""

    status: str                    # OPEN or CLEAR
    detail: dict[str, Any] = field(default_factory=dict)


def assess(status: ApStatus, capacity: int, config: AlertsConfig) -> dict[AlertKind, Verdict]:
    """The verdicts the latest poll of one AP supports (unknown values give no verdict)."""
    verdicts: dict[AlertKind, Verdict] = {}
    state = status.state
    if state is ApState.UNKNOWN:
        return verdicts
    answered = state in (ApState.UP, ApState.DEGRADED)
    if state is ApState.DOWN:
        verdicts[AlertKind.AP_DOWN] = Verdict(OPEN, {
            "state": state.value, "consecutive_failures": status.consecutive_failures,
            "last_error": status.last_error})
    else:
        verdicts[AlertKind.AP_DOWN] = Verdict(CLEAR, {"state": state.value})
    if state is ApState.AUTH_FAILED:
        verdicts[AlertKind.AUTH_FAILED] = Verdict(OPEN, {"last_error": status.last_error})
    elif answered:
        verdicts[AlertKind.AUTH_FAILED] = Verdict(CLEAR, {"state": state.value})

    if status.clients is not None:
        values = {"clients": status.clients, "capacity": capacity}
        if status.clients > capacity:
            verdicts[AlertKind.CLIENTS_OVER_CAPACITY] = Verdict(OPEN, values)
        elif status.clients <= capacity * CLIENTS_CLEAR_RATIO:
            verdicts[AlertKind.CLIENTS_OVER_CAPACITY] = Verdict(CLEAR, values)

    if status.errors_ps is not None:
        limit = config.interface_errors_per_s
        values = {"errors_ps": round(status.errors_ps, 3), "threshold": limit}
        if status.errors_ps > limit:
            verdicts[AlertKind.INTERFACE_ERRORS] = Verdict(OPEN, values)
        elif status.errors_ps <= limit * ERRORS_CLEAR_RATIO:
            verdicts[AlertKind.INTERFACE_ERRORS] = Verdict(CLEAR, values)
    return verdicts


@dataclass(frozen=True)
class AlertChange:
    """An alert that opened or cleared in this cycle, as published."""

    alert_id: int
    ap_id: int
    ap_name: str
    kind: str
    severity: str
    status: str
    opened_at: str
    cleared_at: str | None
    detail: dict[str, Any]

    @property
    def topic(self) -> str:
        return f"alerts/{topic_segment(self.ap_name)}"

    def payload(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "ap_id": self.ap_id, "ap_name": self.ap_name,
                "kind": self.kind, "severity": self.severity, "status": self.status,
                "opened_at": self.opened_at, "cleared_at": self.cleared_at,
                "detail": self.detail}


def state_changes(changed: Mapping[int, tuple] | Iterable[tuple] | None
                  ) -> list[tuple[int, ApState | None, ApState]]:
    """Normalise the poller's changes to ``(ap_id, old, new)``.

    Accepts `controller.monitoring.poller.StateChange` objects (``ap_id``, ``old``, ``new``), 3-tuples, or a
    mapping ``{ap_id: (old, new)}``.
    """
    if not changed:
        return []
    if isinstance(changed, Mapping):
        items = [(ap_id, *pair) for ap_id, pair in changed.items()]
    else:
        items = [(c.ap_id, c.old, c.new) if hasattr(c, "ap_id") else tuple(c) for c in changed]
    return [(int(ap_id), ApState(old) if old is not None else None, ApState(new))
            for ap_id, old, new in items]


class AlertEvaluator:
    """Turns each poll cycle into state events and alert opens/clears.

    Give it the store of the thread that calls `on_cycle` (the poller's): connections are not
    shared across threads. ``publish`` may be None (nothing is published) or any `Publisher`.
    """

    def __init__(self, store: Store, config: AlertsConfig, publish: Publisher | None = None):
        self.store = store
        self.config = config
        self.publish = publish

    def on_cycle(self, snapshot: Snapshot, cycle_stats: CycleStats | None = None,
                 changed_states: Mapping[int, tuple] | Iterable[tuple] | None = None
                 ) -> list[AlertChange]:
        """The poller's ``on_cycle`` callback: record state changes, then open/clear alerts."""
        return self.evaluate(snapshot.all(), changed_states)

    def evaluate(self, statuses: Iterable[ApStatus],
                 changed_states: Mapping[int, tuple] | Iterable[tuple] | None = None
                 ) -> list[AlertChange]:
        now = utcnow()
        by_id = {s.ap_id: s for s in statuses}
        with self.store.transaction() as conn:
            inventory = {row[0]: (row[1], row[2]) for row in
                         conn.execute("SELECT id, name, capacity FROM aps")}
            events = []
            for ap_id, old, new in state_changes(changed_states):
                if ap_id not in inventory:
                    continue  # deleted while the cycle ran
                status = by_id.get(ap_id)
                detail = {"from": old.value if old else None, "to": new.value,
                          "last_error": status.last_error if status else None}
                events.append(insert_event(conn, ap_id, "state", "poller", detail, at=now,
                                           ap_name=inventory[ap_id][0]))
            open_alerts = {(row[1], row[2]): (row[0], row[3]) for row in conn.execute(
                "SELECT id, ap_id, kind, opened_at FROM alerts WHERE cleared_at IS NULL")}
            changes = []
            for ap_id, status in by_id.items():
                if ap_id not in inventory:
                    continue
                name, capacity = inventory[ap_id]
                verdicts = assess(status, capacity or self.config.default_capacity, self.config)
                for kind, verdict in verdicts.items():
                    change = self._apply(conn, ap_id, name, kind, verdict,
                                         open_alerts.get((ap_id, kind.value)), now)
                    if change:
                        changes.append(change)
        for event in events:
            publish_event(self.publish, event)
        for change in changes:
            publish_safely(self.publish, change.topic, change.payload(), ALERT_SCHEMA)
        return changes

    @staticmethod
    def _apply(conn, ap_id: int, name: str, kind: AlertKind, verdict: Verdict,
               open_alert: tuple[int, str] | None, now: str) -> AlertChange | None:
        severity = SEVERITY[kind]
        if verdict.status == OPEN and open_alert is None:
            cursor = conn.execute(
                "INSERT INTO alerts (ap_id, kind, severity, opened_at, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (ap_id, kind.value, severity, now, json.dumps(verdict.detail, ensure_ascii=False)))
            return AlertChange(cursor.lastrowid, ap_id, name, kind.value, severity, OPEN, now,
                               None, verdict.detail)
        if verdict.status == CLEAR and open_alert is not None:
            alert_id, opened_at = open_alert
            conn.execute("UPDATE alerts SET cleared_at = ? WHERE id = ?", (now, alert_id))
            return AlertChange(alert_id, ap_id, name, kind.value, severity, CLEAR, opened_at,
                               now, verdict.detail)
        return None


def open_alerts(store: Store, ap_id: int | None = None) -> list[dict[str, Any]]:
    """Open alerts (of one AP or all), most severe and oldest first, for UI and API."""
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


__all__ = ["ALERT_SCHEMA", "AlertChange", "AlertEvaluator", "AlertKind", "SEVERITY", "Verdict",
           "assess", "open_alerts", "state_changes"]
