"""The controller's side of backhaul failover: branch state, event history and failover alerts.

Branch agents (`agents/backhaul`) publish a retained state on ``backhaul/<branch>/state`` and
events on ``backhaul/<branch>/events``. `BackhaulMonitor` subscribes to both. MQTT handlers run on
the link's network thread, so they only check the payload and queue it; one worker thread owns a
`Store` (connections are not shared across threads), writes, and publishes alert changes after
the commit, as `controller.monitoring.alerts` does.

Delivery is at-least-once and an agent's spool may deliver events minutes late, so:
- an event is stored once, keyed on the agent's own event ``id``;
- the branch's current path comes from whichever is newer at the branch (``at``): the latest
  state or the latest switch event; an older message never overrides a newer fact;
- the failover alert follows that path (open while on a backup link, cleared back on the
  primary), so a failover missed while the controller was down is still caught by the
  retained state.

The tables are read and written by `controller.backhaul.records`. Branch alerts are rows of
``alerts`` (`core.alerts`) with ``ap_id`` NULL and the ``branch`` column set (migration 0040); a
partial unique index keeps one open alert per branch.

On several nodes every node's monitor subscribes and records (docs/scale-out.md): neither a
lease nor claims, because recording is idempotent. An event is stored once by its ``id``
whichever node stores it first, a state older than what the store has changes nothing, and the
unique open alert per branch lets only one node open or clear it (and publish that change).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.backhaul import records
from controller.monitoring.events import Publisher, publish_safely, topic_segment
from core import alerts as alert_rows
from core import inventory
from core.contracts.backhaul import (
    EVENT_SCHEMA,
    EVENT_TOPIC,
    STATE_SCHEMA,
    STATE_TOPIC,
    payload_schema,
)
from core.contracts.monitoring import ALERT_SCHEMA
from core.inventory import NotFound
from core.mqtt import InboundMessage, MqttLink
from core.store import Store, iso, now
from reporting import backhaul as kpi

log = logging.getLogger(__name__)

ALERT_KIND = "backhaul_failover"
ALERT_SEVERITY = "warning"
PRIMARY, BACKUP = "primary", "backup"
#: Events that say which link carries the traffic from their ``at`` on.
PATH_EVENTS = ("failover", "failback", "agent_started")


class PayloadError(ValueError):
    """A message that does not follow the agent's schema; it is logged, counted and dropped."""


def _check(payload: Any, schema: dict[str, Any], where: str = "") -> None:
    """The schema's required fields and the types this module relies on (not full JSON Schema:
    jsonschema is only a test dependency, and these are the fields the store and pages read)."""
    if not isinstance(payload, dict):
        raise PayloadError(f"{where or 'payload'}: expected an object")
    for name in schema.get("required", ()):
        if name not in payload:
            raise PayloadError(f"{where}{name}: required")
    for name, rule in schema.get("properties", {}).items():
        if name not in payload:
            continue
        value = payload[name]
        if "const" in rule and value != rule["const"]:
            raise PayloadError(f"{where}{name}: expected {rule['const']!r}")
        if "enum" in rule and value not in rule["enum"]:
            raise PayloadError(f"{where}{name}: expected one of {rule['enum']}")
        kind = rule.get("type")
        if kind == "string" and not isinstance(value, str):
            raise PayloadError(f"{where}{name}: expected a string")
        if "maxLength" in rule and isinstance(value, str) and len(value) > rule["maxLength"]:
            # Names and ids are keys in the store (PostgreSQL indexes no key over ~2.7 kB).
            raise PayloadError(f"{where}{name}: longer than {rule['maxLength']} characters")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise PayloadError(f"{where}{name}: expected a number")
        if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            raise PayloadError(f"{where}{name}: expected an integer")
        if kind == "boolean" and not isinstance(value, bool):
            raise PayloadError(f"{where}{name}: expected true or false")
        if kind == "array":
            if not isinstance(value, list):
                raise PayloadError(f"{where}{name}: expected an array")
            items = rule.get("items", {})
            for i, item in enumerate(value):
                if items.get("type") == "object":
                    _check(item, items, f"{where}{name}[{i}].")
                elif items.get("type") == "integer" and (isinstance(item, bool)
                                                         or not isinstance(item, int)):
                    raise PayloadError(f"{where}{name}[{i}]: expected an integer")
        if rule.get("format") == "date-time" and isinstance(value, str):
            parse_time(value, f"{where}{name}")


def parse_time(value: str, field: str = "at") -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{field}: not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def check_payload(kind: str, payload: Any, topic_branch: str) -> dict[str, Any]:
    """``payload`` if it is a valid ``state`` or ``event`` of ``topic_branch``, else PayloadError."""
    _check(payload, payload_schema()[kind])
    if payload["branch"] != topic_branch:
        raise PayloadError(f"branch: {payload['branch']!r} published on {topic_branch!r}'s topic")
    return payload


def primary_link(state: dict[str, Any] | None) -> str | None:
    """The preferred link: the lowest ``priority``, or the first listed when none is given."""
    links = (state or {}).get("links") or []
    if not links:
        return None
    ranked = sorted(enumerate(links), key=lambda il: (il[1].get("priority", il[0]), il[0]))
    return ranked[0][1]["name"]


@dataclass(frozen=True)
class BranchAlertChange:
    """A branch alert that opened or cleared, published like `controller.monitoring.alerts.AlertChange`."""

    alert_id: int
    branch: str
    status: str                 # "open" or "cleared"
    opened_at: float
    cleared_at: float | None
    detail: dict[str, Any]

    @property
    def topic(self) -> str:
        return f"alerts/branch-{topic_segment(self.branch)}"

    def payload(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "ap_id": None, "ap_name": f"branch-{self.branch}",
                "branch": self.branch, "kind": ALERT_KIND, "severity": ALERT_SEVERITY,
                "status": self.status, "opened_at": iso(self.opened_at),
                "cleared_at": iso(self.cleared_at), "detail": self.detail}


def unix_time(value: str) -> float:
    """A branch's ISO 8601 time (checked by `check_payload`) as unix seconds."""
    return parse_time(value).timestamp()


class BackhaulRecorder:
    """Writes states and events of branch agents into one thread's store."""

    def __init__(self, store: Store):
        self.store = store

    def record_state(self, state: dict[str, Any]) -> list[BranchAlertChange]:
        branch, at, heard = state["branch"], unix_time(state["at"]), now()
        with self.store.transaction() as conn:
            row = records.branch_for_update(conn, branch, heard)
            if row["state_at"] is not None and row["state_at"] > at:
                return []  # an older state delivered late
            records.save_state(conn, branch, state, at, heard)
            active = state["active_link"]
            path = PRIMARY if active == primary_link(state) else BACKUP
            detail = {"active_link": active, "at": state["at"], "reason": "state"}
            changes = self._set_path(conn, row, active, path, at, detail)
        kpi.record_state(self.store, state)
        return changes

    def record_event(self, event: dict[str, Any]) -> tuple[bool, list[BranchAlertChange]]:
        """Store ``event``; (False, []) when it was stored before (a redelivery)."""
        stored, changes = self._record_event(event)
        if stored:
            kpi.record_event(self.store, event)  # the backhaul KPIs keep their own copy
        return stored, changes

    def _record_event(self, event: dict[str, Any]) -> tuple[bool, list[BranchAlertChange]]:
        branch, at, heard = event["branch"], unix_time(event["at"]), now()
        with self.store.transaction() as conn:
            if not records.add_event(conn, event, at, heard):
                return False, []
            row = records.branch_for_update(conn, branch, heard)
            records.heard_from(conn, branch, heard)
            to_link = event.get("to_link")
            if event["kind"] not in PATH_EVENTS or not to_link:
                return True, []
            primary = primary_link(json.loads(row["state"]) if row["state"] else None)
            if primary is not None:
                path = PRIMARY if to_link == primary else BACKUP
            elif event["kind"] == "agent_started":
                return True, []  # no state yet: cannot tell which link is the primary
            else:
                path = BACKUP if event["kind"] == "failover" else PRIMARY
            detail: dict[str, Any] = {
                k: event[k] for k in ("kind", "from_link", "to_link", "reason", "switch_ms", "at")
                if k in event}
            return True, self._set_path(conn, row, to_link, path, at, detail)

    @staticmethod
    def _set_path(conn: sqlite3.Connection, row: dict[str, Any], active: str, path: str,
                  at: float, detail: dict[str, Any]) -> list[BranchAlertChange]:
        """Take the newer fact about the path, then open or clear the alert to match it."""
        if row["path_at"] is not None and row["path_at"] > at:
            return []
        branch = row["branch"]
        records.save_path(conn, branch, active, path, at)
        open_alert = alert_rows.find_open(conn, ALERT_KIND, branch=branch)
        when = now()
        if path == BACKUP and open_alert is None:
            alert_id = alert_rows.open_alert(conn, ALERT_KIND, ALERT_SEVERITY, detail, at=when,
                                             branch=branch)
            return [BranchAlertChange(alert_id, branch, "open", when, None, detail)]
        if path == PRIMARY and open_alert is not None:
            alert_rows.clear_alert(conn, open_alert.id, at=when)
            return [BranchAlertChange(open_alert.id, branch, "cleared", open_alert.opened_at,
                                      when, detail)]
        return []


class BackhaulMonitor:
    """Subscribes to every branch agent and records what they say (see the module docstring).

    ``open_store`` is called once, on the worker thread. ``publish`` (e.g.
    `MqttLink.publish_json`) announces alert changes; None publishes nothing. `stats` counts
    messages: ``stored``, ``duplicate``, ``rejected``; `wait_handled` lets callers (and tests)
    wait until a number of messages has been dealt with, whatever became of them.
    """

    def __init__(self, open_store: Callable[[], Store], link: MqttLink,
                 publish: Publisher | None = None):
        self.open_store = open_store
        self.link = link
        self.publish = publish
        self._inbox: queue.Queue = queue.Queue()
        self._stats: Counter = Counter()
        self._handled = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="backhaul-monitor", daemon=True)
        # Running from construction on: the runtime creates it once the link exists and only
        # ever stops it.
        self._thread.start()
        self.subscriptions = [
            self.link.subscribe(STATE_TOPIC, lambda m: self._receive("state", m), qos=1),
            self.link.subscribe(EVENT_TOPIC, lambda m: self._receive("event", m), qos=1)]

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then end the worker (the link itself belongs to the caller)."""
        self._inbox.put(None)
        self._thread.join(timeout)

    @property
    def stats(self) -> dict[str, int]:
        with self._handled:
            return dict(self._stats)

    def wait_handled(self, count: int, timeout: float) -> bool:
        """True once ``count`` messages in all have been stored, skipped or rejected."""
        with self._handled:
            return self._handled.wait_for(lambda: self._stats["handled"] >= count, timeout)

    def _count(self, outcome: str) -> None:
        with self._handled:
            self._stats[outcome] += 1
            self._stats["handled"] += 1
            self._handled.notify_all()

    def _receive(self, kind: str, message: InboundMessage) -> None:
        """On the network thread: check and queue, nothing slow."""
        parts = message.topic.split("/")
        try:
            self._inbox.put((kind, check_payload(kind, message.payload, parts[1])))
        except PayloadError as exc:
            log.warning("dropped backhaul %s on %s: %s", kind, message.topic, exc)
            self._count("rejected")

    def _run(self) -> None:
        store = self.open_store()
        recorder = BackhaulRecorder(store)
        try:
            while (item := self._inbox.get()) is not None:
                self._count(self._record(recorder, *item))
        finally:
            store.close()

    def _record(self, recorder: BackhaulRecorder, kind: str, payload: dict[str, Any]) -> str:
        try:
            if kind == "state":
                outcome, changes = "stored", recorder.record_state(payload)
            else:
                stored, changes = recorder.record_event(payload)
                outcome = "stored" if stored else "duplicate"
        except (sqlite3.Error, PayloadError) as exc:
            log.error("could not record backhaul %s of %s: %s", kind, payload.get("branch"), exc)
            return "failed"
        except Exception:  # a bug on one message must not stop recording every branch
            log.exception("could not record backhaul %s of %s", kind, payload.get("branch"))
            return "failed"
        for change in changes:
            publish_safely(self.publish, change.topic, change.payload(), ALERT_SCHEMA)
        return outcome


# -- reading, for the pages and the API: times as ISO-8601, a branch's own with milliseconds --

_LINK_FIELDS = ("name", "interface", "priority", "state", "carrier", "loss_pct", "rtt_ms",
                "consecutive_misses")


def _branch_time(at: float | None) -> str | None:
    """A time of the branch's clock as the agent writes them (`agents.backhaul.telemetry`)."""
    return iso(at, "milliseconds")


def _branch_view(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    state = json.loads(row["state"]) if row["state"] else {}
    last = records.last_switch(store, row["branch"])
    site = inventory.site_by_slug(store, row["branch"], kind="branch")
    alert = alert_rows.open_of_branch(store, row["branch"], ALERT_KIND)
    return {
        "branch": row["branch"],
        "site": ({"slug": site["slug"], "name_en": site["name_en"], "name_ar": site["name_ar"]}
                 if site else None),
        "path": row["path"], "active_link": row["active_link"],
        "path_at": _branch_time(row["path_at"]),
        "primary_link": primary_link(state),
        "links": [{k: link.get(k) for k in _LINK_FIELDS} for link in state.get("links", [])],
        "failovers": state.get("failovers"), "spooled": state.get("spooled"),
        "state_at": _branch_time(row["state_at"]), "updated_at": iso(row["updated_at"]),
        "last_change": _event_view(last) if last else None,
        "alert": ({"alert_id": alert["id"], "kind": ALERT_KIND, "severity": ALERT_SEVERITY,
                   "opened_at": iso(alert["opened_at"]), "detail": alert["detail"]}
                  if alert else None),
    }


def _event_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": row["event_id"], "branch": row["branch"], "at": _branch_time(row["at"]),
            "kind": row["kind"], "link": row["link"], "from_link": row["from_link"],
            "to_link": row["to_link"], "reason": row["reason"],
            "detail": json.loads(row["detail"]), "received_at": iso(row["received_at"])}


def list_branches(store: Store) -> list[dict[str, Any]]:
    """Every branch heard from: those on a backup link first, then by id."""
    return [_branch_view(store, row) for row in records.branches(store)]


def get_branch(store: Store, branch: str) -> dict[str, Any]:
    row = records.branch(store, branch)
    if row is None:
        raise NotFound("branch", branch)
    return _branch_view(store, row)


def branch_events(store: Store, branch: str, limit: int = 100) -> list[dict[str, Any]]:
    """The branch's events, newest first. Failovers and failbacks carry ``backup_s``: how long
    that stay on the backup lasted (up to now, with ``ongoing``, when it has not ended)."""
    stays = _backup_stays(store, branch, on_backup=get_branch(store, branch)["path"] == BACKUP)
    events = []
    for row in records.events(store, branch, limit):
        event = _event_view(row)
        event["backup_s"], event["ongoing"] = stays.get(row["event_id"], (None, False))
        events.append(event)
    return events


def _backup_stays(store: Store, branch: str, on_backup: bool
                  ) -> dict[str, tuple[float | None, bool]]:
    """event id -> (seconds on the backup, still there) for the events opening/closing a stay.
    A failover while already on a backup (to a third link) continues the same stay. A stay with
    no failback while the branch is back on the primary (the event was lost) has no duration."""
    stays: dict[str, tuple[float | None, bool]] = {}
    opened: tuple[str, float] | None = None
    for event_id, kind, at in records.switches(store, branch):
        if kind == "failover" and opened is None:
            opened = (event_id, at)
        elif kind == "failback" and opened is not None:
            seconds = round(at - opened[1], 3)
            stays[opened[0]] = stays[event_id] = (seconds, False)
            opened = None
    if opened is not None and on_backup:
        stays[opened[0]] = (round(now() - opened[1], 3), True)
    return stays


__all__ = [
    "ALERT_KIND",
    "BACKUP",
    "EVENT_SCHEMA",
    "PRIMARY",
    "STATE_SCHEMA",
    "BackhaulMonitor",
    "BackhaulRecorder",
    "BranchAlertChange",
    "PayloadError",
    "branch_events",
    "check_payload",
    "get_branch",
    "list_branches",
    "primary_link",
]
