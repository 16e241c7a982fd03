"""Is the 940 forwarder running, and how far behind is the back office? For every ``/healthz``.

The forwarder runs in the controller's process, while the portal's workers are processes of their
own (and, later, other nodes). So the forwarder writes a heartbeat row in the store about once a
second (`beat`), carrying the state of its MQTT link, and `forwarder_health` reads it with the
outbox's backlog. A forwarder whose last beat is older than `STALE_AFTER_S` is not running:
killed, hung, or unable to write the store. One that stopped cleanly says so (`stopped`).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import dataclass
from typing import Any

from captive_portal.reports import outbox
from core.health import Check
from core.mqtt import LinkHealth
from core.store import Store, iso

#: How often a running forwarder writes its heartbeat.
BEAT_EVERY_S = 1.0
#: A heartbeat older than this means the forwarder is gone (five missed beats: a busy store can
#: delay one write by a second or two).
STALE_AFTER_S = 5.0


def beat(conn: sqlite3.Connection, link: LinkHealth, started_at: float, now: float) -> None:
    """Record that the forwarder on ``link`` is alive at ``now``."""
    conn.execute(
        "INSERT INTO report_forwarder_heartbeats (client_id, pid, host, started_at, beat_at, "
        "stopped_at, connected, since, last_error) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?) "
        "ON CONFLICT(client_id) DO UPDATE SET pid = excluded.pid, host = excluded.host, "
        "started_at = excluded.started_at, beat_at = excluded.beat_at, stopped_at = NULL, "
        "connected = excluded.connected, since = excluded.since, "
        "last_error = excluded.last_error",
        (link.client_id, os.getpid(), socket.gethostname(), started_at, now,
         int(link.connected), link.since, link.last_error))


def stopped(conn: sqlite3.Connection, client_id: str, now: float) -> None:
    """The forwarder of ``client_id`` stopped on purpose."""
    conn.execute("UPDATE report_forwarder_heartbeats SET stopped_at = ?, connected = 0, "
                 "since = ? WHERE client_id = ?", (now, now, client_id))


@dataclass(frozen=True)
class ForwarderHealth:
    #: A forwarder beat within `STALE_AFTER_S` and did not stop.
    running: bool
    #: ...and its MQTT link is connected to the broker.
    connected: bool
    client_id: str | None
    beat_at: float | None
    since: float | None
    last_error: str | None
    #: Outbox messages the back office has not acked yet, and the oldest one's wait in seconds.
    outbox_depth: int
    oldest_unacked_s: float | None

    @property
    def ok(self) -> bool:
        return self.running and self.connected

    def as_dict(self) -> dict[str, Any]:
        return {"running": self.running, "connected": self.connected,
                "client_id": self.client_id, "heartbeat_at": iso(self.beat_at, "milliseconds"),
                "since": iso(self.since, "milliseconds"), "last_error": self.last_error,
                "outbox_depth": self.outbox_depth,
                "oldest_unacked_s": None if self.oldest_unacked_s is None
                else round(self.oldest_unacked_s, 1)}

    def check(self) -> Check:
        return Check("forwarder", self.ok, self.as_dict())


def forwarder_health(store: Store, now: float) -> ForwarderHealth:
    """The most recent forwarder's state and the outbox's backlog, as the store has them now."""
    conn = store.conn
    row = conn.execute(
        "SELECT client_id, beat_at, stopped_at, connected, since, last_error "
        "FROM report_forwarder_heartbeats ORDER BY beat_at DESC LIMIT 1").fetchone()
    depth, oldest = outbox.backlog(conn, now)
    if row is None:
        return ForwarderHealth(False, False, None, None, None, "no forwarder has run on this "
                               "store", depth, oldest)
    client_id, beat_at, stopped_at, connected, since, last_error = row
    running = stopped_at is None and now - beat_at <= STALE_AFTER_S
    if stopped_at is not None:
        last_error = "stopped"
    elif not running:
        last_error = f"no heartbeat for {now - beat_at:.0f} s"
    return ForwarderHealth(running, running and bool(connected), client_id, beat_at, since,
                           last_error, depth, oldest)


__all__ = ["BEAT_EVERY_S", "STALE_AFTER_S", "ForwarderHealth", "beat", "forwarder_health",
           "stopped"]
