"""Threshold alerts and AP state events, evaluated once per poll cycle from the snapshot.

An alert opens when a condition starts to hold and clears when it stops; the ``alerts`` table
(its rows kept by `core.alerts`) holds at most one open alert per AP and kind. Numeric alerts
clear only once the value falls clearly below the threshold (a hysteresis band), so an AP
hovering at its capacity does not open and clear an alert every minute. State alerts need no band: the poller already waits
``snmp.down_after`` failed polls before it calls an AP down. Each open and clear is published on
``alerts/<ap_name>`` after the cycle's transaction commits.

A planned maintenance window (`core.maintenance`) holds back new alerts of the APs it covers (an AP
rebooted for an upgrade is not an incident); alerts already open still clear, and a condition
that still holds when the window ends opens its alert at the next cycle.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from controller.monitoring.events import (
    Publisher,
    insert_event,
    publish_event,
    publish_safely,
    topic_segment,
)
from controller.monitoring.snapshot import RADIO, UPLINK, ApState, ApStatus, CycleStats, Snapshot
from controller.settings import AlertsConfig
from core import alerts as alert_rows
from core import inventory, maintenance
from core.alerts import OpenAlert
from core.alerts import open_by_severity as open_alerts
from core.contracts.monitoring import ALERT_SCHEMA
from core.store import Store, iso, now

#: Clients must fall to this share of capacity before a capacity alert clears.
CLIENTS_CLEAR_RATIO = 0.9
#: Interface errors must fall to this share of the threshold before the alert clears.
ERRORS_CLEAR_RATIO = 0.5


class StateChangeLike(Protocol):
    """What alerts read of `controller.monitoring.poller.StateChange`."""

    @property
    def ap_id(self) -> int: ...
    @property
    def old(self) -> ApState | None: ...
    @property
    def new(self) -> ApState: ...


#: The poller's changes as objects, ``(ap_id, old, new)`` tuples, or ``{ap_id: (old, new)}``.
StateChanges = Mapping[int, tuple] | Iterable[StateChangeLike | tuple]


class AlertKind(str, enum.Enum):
    AP_DOWN = "ap_down"
    AUTH_FAILED = "auth_failed"
    CLIENTS_OVER_CAPACITY = "clients_over_capacity"
    INTERFACE_ERRORS = "interface_errors"
    RADIO_DOWN = "radio_down"
    UPLINK_DOWN = "uplink_down"


SEVERITY = {
    AlertKind.AP_DOWN: "critical",
    AlertKind.AUTH_FAILED: "warning",
    AlertKind.CLIENTS_OVER_CAPACITY: "warning",
    AlertKind.INTERFACE_ERRORS: "warning",
    AlertKind.RADIO_DOWN: "warning",
    AlertKind.UPLINK_DOWN: "critical",
}

OPEN, CLEAR = "open", "cleared"
#: The event a poll that found the AP's uptime gone back records.
RESTART_EVENT = "rebooted"


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

    if answered and status.answered_at is not None and status.answered_at == status.polled_at:
        # Only an answer tells which links are down; a missed poll keeps the alerts as they are.
        for kind, role in ((AlertKind.RADIO_DOWN, RADIO), (AlertKind.UPLINK_DOWN, UPLINK)):
            down = [i.name for i in status.interfaces if i.role == role and i.oper_up is False]
            verdicts[kind] = Verdict(OPEN if down else CLEAR, {"interfaces": down})

    if status.clients is not None:
        values: dict[str, float] = {"clients": status.clients, "capacity": capacity}
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
    """An alert that opened or cleared in this cycle, as published (times ISO-8601)."""

    alert_id: int
    ap_id: int
    ap_name: str
    kind: str
    severity: str
    status: str
    opened_at: float
    cleared_at: float | None
    detail: dict[str, Any]

    @property
    def topic(self) -> str:
        return f"alerts/{topic_segment(self.ap_name)}"

    def payload(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "ap_id": self.ap_id, "ap_name": self.ap_name,
                "kind": self.kind, "severity": self.severity, "status": self.status,
                "opened_at": iso(self.opened_at), "cleared_at": iso(self.cleared_at),
                "detail": self.detail}


def state_changes(changed: StateChanges | None) -> list[tuple[int, ApState | None, ApState]]:
    """Normalise the poller's changes to ``(ap_id, old, new)``.

    Accepts `controller.monitoring.poller.StateChange` objects (``ap_id``, ``old``, ``new``), 3-tuples, or a
    mapping ``{ap_id: (old, new)}``.
    """
    if not changed:
        return []
    if isinstance(changed, Mapping):
        items = [(ap_id, *pair) for ap_id, pair in changed.items()]
    else:
        items = [tuple(c) if isinstance(c, tuple) else (c.ap_id, c.old, c.new) for c in changed]
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
                 changed_states: StateChanges | None = None) -> list[AlertChange]:
        """The poller's ``on_cycle`` callback: record state changes, then open/clear alerts."""
        return self.evaluate(snapshot.all(), changed_states)

    def evaluate(self, statuses: Iterable[ApStatus],
                 changed_states: StateChanges | None = None, *,
                 from_poll: bool = True) -> list[AlertChange]:
        """Open and clear alerts for ``statuses``; ``from_poll``: they are a poll cycle's (its
        restarts are recorded), not a trap's update of one AP."""
        at = now()
        by_id = {s.ap_id: s for s in statuses}
        with self.store.transaction() as conn:
            aps = inventory.names_and_capacities(conn)
            events = []
            for ap_id, old, new in state_changes(changed_states):
                if ap_id not in aps:
                    continue  # deleted while the cycle ran
                status = by_id.get(ap_id)
                detail = {"from": old.value if old else None, "to": new.value,
                          "last_error": status.last_error if status else None}
                events.append(insert_event(conn, ap_id, "state", "poller", detail, at=at,
                                           ap_name=aps[ap_id][0]))
            for ap_id, status in by_id.items():
                # A restart the poll saw (uptime gone back): logged even when the AP's
                # coldStart trap was lost on the way, and marked on its charts.
                if from_poll and status.rebooted and ap_id in aps:
                    events.append(insert_event(conn, ap_id, RESTART_EVENT, "poller",
                                               {"uptime_s": status.uptime_s}, at=at,
                                               ap_name=aps[ap_id][0]))
            open_now = alert_rows.open_ap_alerts(conn)
            held = maintenance.covered_aps(conn, at)
            changes = []
            for ap_id, status in by_id.items():
                if ap_id not in aps:
                    continue
                name, capacity = aps[ap_id]
                verdicts = assess(status, capacity or self.config.default_capacity, self.config)
                for kind, verdict in verdicts.items():
                    if verdict.status == OPEN and ap_id in held:
                        continue
                    change = self._apply(conn, ap_id, name, kind, verdict,
                                         open_now.get((ap_id, kind.value)), at)
                    if change:
                        changes.append(change)
        for event in events:
            publish_event(self.publish, event)
        for change in changes:
            publish_safely(self.publish, change.topic, change.payload(), ALERT_SCHEMA)
        return changes

    @staticmethod
    def _apply(conn, ap_id: int, name: str, kind: AlertKind, verdict: Verdict,
               open_alert: OpenAlert | None, at: float) -> AlertChange | None:
        severity = SEVERITY[kind]
        if verdict.status == OPEN and open_alert is None:
            alert_id = alert_rows.open_alert(conn, kind.value, severity, verdict.detail, at=at,
                                             ap_id=ap_id)
            return AlertChange(alert_id, ap_id, name, kind.value, severity, OPEN, at, None,
                               verdict.detail)
        if verdict.status == CLEAR and open_alert is not None:
            alert_rows.clear_alert(conn, open_alert.id, at=at)
            return AlertChange(open_alert.id, ap_id, name, kind.value, severity, CLEAR,
                               open_alert.opened_at, at, verdict.detail)
        return None


__all__ = ["ALERT_SCHEMA", "AlertChange", "AlertEvaluator", "AlertKind", "SEVERITY", "Verdict",
           "assess", "open_alerts", "state_changes"]
