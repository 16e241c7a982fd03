"""State and events to the controller over MQTT, spooled on disk while the broker is away.

The broker usually sits at headquarters, behind the very link that just failed, so every
message first goes into a small SQLite spool and a sender thread drains it whenever the MQTT
link is up. A message leaves the spool only after the broker acknowledged it (QoS 1), so a
broker outage or an agent restart loses nothing; the price is at-least-once delivery, which is
why every event carries a unique ``id`` for the consumer to de-duplicate. State is retained
and only the newest unsent state is kept: an old state is worth nothing once a newer one exists.

Topics and payload shapes are contracts: `core.contracts.backhaul` (docs/schemas/backhaul-*.json).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from core.config import MqttConfig
from core.contracts.backhaul import EVENT_KINDS
from core.migrate import migrate_file
from core.mqtt import MqttLink

log = logging.getLogger(__name__)

#: Oldest events are dropped past this many unsent messages (a week of flapping, not a leak).
SPOOL_LIMIT = 10_000
#: The spool's migrations (`core.migrate`): a branch router's file upgrades in place.
MIGRATIONS = {"backhaul": "agents.backhaul.migrations"}


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def new_event(branch: str, kind: str, **fields: Any) -> dict[str, Any]:
    """An event payload (without ``schema``/``sent_at``, which the MQTT link adds)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"kind: expected one of {EVENT_KINDS}, got {kind!r}")
    return {"id": str(uuid.uuid4()), "branch": branch, "kind": kind, "at": utc_now(), **fields}


class Spool:
    """Unsent messages in SQLite, oldest first; safe to use from two threads."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        migrate_file(self._db, MIGRATIONS)
        self._lock = threading.Lock()

    def put(self, topic: str, schema: str, payload: dict[str, Any], retain: bool) -> None:
        with self._lock:
            if retain:  # only the newest retained message of a topic is worth sending
                self._db.execute("DELETE FROM outbox WHERE topic = ? AND retain = 1", (topic,))
            self._db.execute("INSERT INTO outbox (topic, schema, payload, retain)"
                             " VALUES (?, ?, ?, ?)", (topic, schema, json.dumps(payload), retain))
            self._db.execute("DELETE FROM outbox WHERE id <= (SELECT MAX(id) FROM outbox) - ?",
                             (SPOOL_LIMIT,))

    def oldest(self, limit: int = 50) -> list[tuple[int, str, str, dict[str, Any], bool]]:
        with self._lock:
            rows = self._db.execute("SELECT id, topic, schema, payload, retain FROM outbox"
                                    " ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [(row[0], row[1], row[2], json.loads(row[3]), bool(row[4])) for row in rows]

    def remove(self, message_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (message_id,))

    def pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class TelemetrySender:
    """Drains the spool to the broker from its own thread; without a broker it only spools."""

    def __init__(self, spool: Spool, mqtt: MqttConfig, ack_timeout_s: float = 5.0) -> None:
        self.spool = spool
        self.ack_timeout_s = ack_timeout_s
        # A short keepalive: after a failover the broker connection may be stuck on the dead
        # path, and paho only notices after 1.5 keepalives.
        self.link = (MqttLink(mqtt, keepalive=10, reconnect_min_s=0.2, reconnect_max_s=5.0)
                     if mqtt.addresses() else None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backhaul-telemetry", daemon=True)
        self.sent = 0

    def start(self) -> None:
        if self.link is None:
            log.info("no MQTT broker configured: state and events stay in the spool")
            return
        self.link.start()
        self._thread.start()

    def send(self, topic: str, schema: str, payload: dict[str, Any], retain: bool) -> None:
        self.spool.put(topic, schema, payload, retain)
        self._wake.set()

    def close(self, drain_s: float = 1.0) -> None:
        """Give queued messages ``drain_s`` to leave, then stop."""
        if self.link is None:
            return
        if self.link.connected and self.spool.pending():
            self._wake.set()
            self._stop.wait(drain_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.ack_timeout_s + 1)
        self.link.stop()

    def _run(self) -> None:
        assert self.link is not None
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self.link.connected:
                self._drain()

    def _drain(self) -> None:
        """Send oldest first; stop at the first message the broker does not acknowledge."""
        assert self.link is not None
        while not self._stop.is_set() and self.link.connected:
            batch = self.spool.oldest()
            if not batch:
                return
            deliveries = [(row[0], self.link.publish_json(row[1], row[3], qos=1, retain=row[4],
                                                          schema=row[2])) for row in batch]
            for message_id, delivery in deliveries:
                if not delivery.wait(self.ack_timeout_s):
                    log.warning("broker did not acknowledge %s (%s); kept in the spool",
                                delivery.topic, delivery.reason)
                    return
                self.spool.remove(message_id)
                self.sent += 1


__all__ = ["Spool", "TelemetrySender", "new_event", "utc_now"]
