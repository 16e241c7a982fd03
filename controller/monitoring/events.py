"""AP events (traps, state changes): one row in ``ap_events`` and one message on MQTT.

The poller's state changes and the trap receiver's traps both end here, so an event looks the
same wherever it came from. The row is committed before the message is published: a subscriber
never hears of an event the store does not have. Publishing is best effort (QoS 1, no outbox);
the store is the record, MQTT the notification.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Protocol

from core import inventory
from core.contracts.monitoring import EVENT_SCHEMA
from core.store import Store, iso, now

log = logging.getLogger(__name__)

#: Topic segment for events whose source address matches no AP.
UNKNOWN_AP = "_unknown"


class Publisher(Protocol):
    """What alerts and events need from MQTT; `core.mqtt.MqttLink.publish_json` fits."""

    def __call__(self, topic_suffix: str, payload: dict[str, Any], qos: int = 1,
                 retain: bool = False, *, schema: str) -> object: ...


def topic_segment(name: str | None) -> str:
    """An AP name made safe as one topic level (no '/', '+', '#', NUL; never empty)."""
    if not name:
        return UNKNOWN_AP
    return "".join("_" if c in "/+#\x00" else c for c in name)


def publish_safely(publish: Publisher | None, topic_suffix: str, payload: dict[str, Any],
                   schema: str) -> None:
    """Publish, logging instead of raising: the store already holds the truth."""
    if publish is None:
        return
    try:
        publish(topic_suffix, payload, schema=schema)
    except Exception:  # a broker problem must not undo or abort the poll cycle
        log.exception("could not publish %s", topic_suffix)


@dataclass(frozen=True)
class ApEvent:
    """An event as stored (``at`` in unix seconds); `payload` is how it is published."""

    id: int
    ap_id: int | None
    ap_name: str | None
    at: float
    kind: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return f"events/{topic_segment(self.ap_name)}"

    def payload(self) -> dict[str, Any]:
        return {"event_id": self.id, "ap_id": self.ap_id, "ap_name": self.ap_name,
                "at": iso(self.at), "kind": self.kind, "source": self.source, "detail": self.detail}


def insert_event(conn: sqlite3.Connection, ap_id: int | None, kind: str, source: str,
                 detail: dict[str, Any] | None = None, *, at: float | None = None,
                 ap_name: str | None = None) -> ApEvent:
    """Insert an event inside the caller's transaction; nothing is published."""
    at = now() if at is None else at
    detail = detail or {}
    if ap_name is None and ap_id is not None:
        ap_name = inventory.ap_name(conn, ap_id)
    cursor = conn.execute(
        "INSERT INTO ap_events (ap_id, at, kind, source, detail) VALUES (?, ?, ?, ?, ?)",
        (ap_id, at, kind, source, json.dumps(detail, ensure_ascii=False)))
    assert cursor.lastrowid is not None  # set by every INSERT
    return ApEvent(cursor.lastrowid, ap_id, ap_name, at, kind, source, detail)


def publish_event(publish: Publisher | None, event: ApEvent) -> None:
    publish_safely(publish, event.topic, event.payload(), EVENT_SCHEMA)


def record_event(store: Store, ap_id: int | None, kind: str, source: str,
                 detail: dict[str, Any] | None = None, *, at: float | None = None,
                 publish: Publisher | None = None) -> ApEvent:
    """Store an event in its own transaction, then publish it on ``events/<ap_name>``."""
    with store.transaction() as conn:
        event = insert_event(conn, ap_id, kind, source, detail, at=at)
    publish_event(publish, event)
    return event


def recent_events(store: Store, ap_id: int, limit: int = 50) -> list[ApEvent]:
    """The AP's latest events, newest first (for the AP page and the API)."""
    ap_name = inventory.ap_name(store.conn, ap_id)
    rows = store.conn.execute(
        "SELECT id, at, kind, source, detail FROM ap_events WHERE ap_id = ? "
        "ORDER BY at DESC, id DESC LIMIT ?", (ap_id, limit)).fetchall()
    return [ApEvent(r[0], ap_id, ap_name, r[1], r[2], r[3], json.loads(r[4] or "{}"))
            for r in rows]


#: What an AP's restart is recorded as: its coldStart/warmStart traps, and "rebooted" from a
#: poll that found its uptime gone back (the same restart may come both ways).
RESTART_KINDS = ("coldStart", "warmStart", "rebooted")
#: A restart seen again within this many seconds (trap and poll) is the same restart.
SAME_RESTART_S = 600.0


def restarts(store: Store, ap_ids: list[int] | None, since: float, until: float,
             limit: int = 500) -> list[tuple[int, float]]:
    """(AP id, time) of the restarts of these APs (all with None) in ``[since, until)``, oldest
    first: their coldStart/warmStart traps and the polls that found their uptime gone back,
    one restart counted once (`SAME_RESTART_S`)."""
    where = "" if ap_ids is None else f" AND ap_id IN ({', '.join('?' * len(ap_ids))})"
    if ap_ids == []:
        return []
    rows = store.conn.execute(
        "SELECT ap_id, at FROM ap_events WHERE kind IN (?, ?, ?) AND at >= ? AND at < ?"
        + where + " ORDER BY at LIMIT ?",
        (*RESTART_KINDS, since, until, *(ap_ids or []), limit)).fetchall()
    restarts_seen: list[tuple[int, float]] = []
    last: dict[int, float] = {}
    for ap_id, at in rows:
        if ap_id in last and at - last[ap_id] < SAME_RESTART_S:
            continue
        last[ap_id] = at
        restarts_seen.append((ap_id, at))
    return restarts_seen


__all__ = ["ApEvent", "EVENT_SCHEMA", "Publisher", "UNKNOWN_AP", "insert_event",
           "publish_event", "publish_safely", "record_event", "recent_events", "restarts",
           "topic_segment"]
