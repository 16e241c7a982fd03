"""The gateway's book of authorised clients, kept in a small SQLite file.

The kernel's sets say *who* is allowed; the book says *why and for how long*: the portal's
session id, the end time, the data quota, the idle timeout and the rate class. It is written
on every allow and deny (one indexed row, so O(1) per login like the sets) and read back at
start-up, so a restarted agent goes on enforcing the same limits, and a gateway that rebooted
(empty sets) puts the clients whose sessions are still running back in.
"""

from __future__ import annotations

import math

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from agents.gateway.ruleset import RateClass
from core.contracts.gateway import SessionGrant
from core.migrate import migrate_file

#: The session book's migrations (`core.migrate`): a gateway's file upgrades in place.
MIGRATIONS = {"gateway": "agents.gateway.migrations"}

_FIELDS = ("mac", "ip", "session_id", "started_at", "expires_at", "quota_bytes",
           "idle_timeout_s", "rate_up_kbps", "rate_down_kbps", "bytes_up", "bytes_down",
           "last_seen")


@dataclass(frozen=True, slots=True)
class ClientSession:
    """One authorised client as the gateway enforces it: the portal's `SessionGrant` (under
    the same field names), when it started here, and its counters."""

    mac: str
    ip: str
    session_id: int
    started_at: float
    expires_at: float
    quota_bytes: int
    idle_timeout_s: int
    rate_up_kbps: int
    rate_down_kbps: int
    #: Counters as last read from the kernel, and when they last moved.
    bytes_up: int = 0
    bytes_down: int = 0
    last_seen: float = 0.0

    @classmethod
    def from_grant(cls, grant: SessionGrant, now: float) -> ClientSession:
        """A client allowed at ``now``, not yet counted."""
        return cls(grant.mac, grant.ip, grant.session_id, now, grant.expires_at,
                   grant.quota_bytes, grant.idle_timeout_s, grant.rate_up_kbps,
                   grant.rate_down_kbps, last_seen=now)

    @property
    def rate_class(self) -> RateClass | None:
        if not self.rate_up_kbps and not self.rate_down_kbps:
            return None
        return RateClass(self.rate_up_kbps, self.rate_down_kbps)

    @property
    def bytes_total(self) -> int:
        return self.bytes_up + self.bytes_down

    def seconds_left(self, now: float) -> int:
        """Whole seconds left, rounded up: 0 only once the kernel has let the client go."""
        return max(0, math.ceil(self.expires_at - now))

    def bytes_left(self) -> int | None:
        return None if not self.quota_bytes else max(0, self.quota_bytes - self.bytes_total)

    def with_counters(self, bytes_up: int, bytes_down: int, now: float) -> ClientSession:
        """This session with fresh counters; itself when they did not move (most clients, most
        sweeps: no new object, no write)."""
        if bytes_up == self.bytes_up and bytes_down == self.bytes_down:
            return self
        return replace(self, bytes_up=bytes_up, bytes_down=bytes_down, last_seen=now)


class SessionBook:
    """In-memory index (by MAC and by IP) written through to SQLite."""

    def __init__(self, path: str | Path):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Written through and read only at start-up: a small page cache is enough (SQLite's
        # default of 2 MB would be a tenth of the agent's memory at 10,000 clients).
        self._db.execute("PRAGMA cache_size=-256")
        migrate_file(self._db, MIGRATIONS)
        self._by_mac: dict[str, ClientSession] = {}
        self._mac_by_ip: dict[str, str] = {}
        for row in self._db.execute(f"SELECT {', '.join(_FIELDS)} FROM clients"):
            self._index(ClientSession(*row))

    def _index(self, session: ClientSession) -> None:
        self._by_mac[session.mac] = session
        self._mac_by_ip[session.ip] = session.mac

    def __len__(self) -> int:
        return len(self._by_mac)

    def __iter__(self):
        return iter(list(self._by_mac.values()))

    def by_mac(self, mac: str) -> ClientSession | None:
        return self._by_mac.get(mac)

    def by_ip(self, ip: str) -> ClientSession | None:
        mac = self._mac_by_ip.get(ip)
        return self._by_mac.get(mac) if mac else None

    def holding(self, mac: str, ip: str) -> set[ClientSession]:
        """The sessions (none, one or two) that hold this MAC or this IP."""
        return {s for s in (self.by_mac(mac), self.by_ip(ip)) if s is not None}

    def put(self, session: ClientSession) -> None:
        """Record ``session``; an older entry with the same MAC or IP is replaced."""
        for stale in self.holding(session.mac, session.ip):
            self._forget(stale)
        self._db.execute(
            f"INSERT OR REPLACE INTO clients ({', '.join(_FIELDS)}) VALUES "
            f"({', '.join('?' * len(_FIELDS))})",
            tuple(getattr(session, name) for name in _FIELDS))
        self._index(session)

    def remove(self, session: ClientSession) -> None:
        self._forget(session)

    def _forget(self, session: ClientSession) -> None:
        self._db.execute("DELETE FROM clients WHERE mac = ? OR ip = ?", (session.mac, session.ip))
        self._by_mac.pop(session.mac, None)
        if self._mac_by_ip.get(session.ip) == session.mac:
            del self._mac_by_ip[session.ip]

    def update_counters(self, sessions: list[ClientSession]) -> None:
        """Persist fresh counters in one transaction (accounting, not per packet)."""
        for session in sessions:
            self._by_mac[session.mac] = session
        self._db.execute("BEGIN")
        self._db.executemany(
            "UPDATE clients SET bytes_up = ?, bytes_down = ?, last_seen = ? WHERE mac = ?",
            [(s.bytes_up, s.bytes_down, s.last_seen, s.mac) for s in sessions])
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


__all__ = ["ClientSession", "SessionBook"]
