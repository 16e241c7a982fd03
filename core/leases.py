"""Leases in the store: work that one process of one node does at a time, and groups of
processes that split work among their live members.

A lease is a row (``leases``) naming its holder and when it runs out. Taking it is one
statement, an upsert whose update applies only when the row is the caller's own or has
expired, so two processes racing for it can never both win, on SQLite or PostgreSQL. A holder
renews well before expiry (every ``ttl / 3``); a holder that dies stops renewing, and after
``ttl`` another process takes over.

- `acquire` / `release`: one named lease (a singleton worker: the outbox forwarder, the SLA
  watcher, report schedules...). `Singleton` wraps the renewal for a worker's loop.
- `join` / `members`: membership of a group (the pollers): each member renews its own lease
  and reads the live members to decide its share (`owner_of`, rendezvous hashing, so when a
  member leaves only its own share moves).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable

from core.store import Store

__all__ = ["WORKER_TTL_S", "Hold", "Singleton", "acquire", "holder_id", "join", "leave",
           "members", "owner_of", "release"]

#: The default lease of a background worker (the forwarder, the SLA watcher, schedules...): a
#: standby looks at most once a second, so a dead holder's work resumes on another node within
#: ``WORKER_TTL_S + 1`` seconds, 13 s; the holder renews every 4 s (a third of it).
WORKER_TTL_S = 12.0

_ACQUIRE = (
    "INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
    "  acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
    "                     ELSE excluded.acquired_at END,"
    "  renewed_at = excluded.renewed_at, expires_at = excluded.expires_at"
    " WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.renewed_at"
    " RETURNING holder")

_PROCESS_NONCE = uuid.uuid4().hex[:8]
log = logging.getLogger(__name__)


def holder_id(role: str = "") -> str:
    """This process as a lease holder: ``<host>:<pid>:<nonce>[:<role>]``. The nonce tells a
    restarted process that got the same pid from the one before it."""
    base = f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_NONCE}"
    return f"{base}:{role}" if role else base


def acquire(store: Store, name: str, holder: str, ttl_s: float,
            now: float | None = None) -> bool:
    """Take or renew lease ``name`` for ``ttl_s`` seconds; False when another holder has it."""
    now = time.time() if now is None else now
    row = store.conn.execute(_ACQUIRE, (name, holder, now, now, now + ttl_s)).fetchone()
    return row is not None and row[0] == holder


def release(store: Store, name: str, holder: str) -> None:
    """Give lease ``name`` up at once (a clean stop), if ``holder`` still has it."""
    store.conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


def join(store: Store, group: str, holder: str, ttl_s: float, now: float | None = None) -> None:
    """Announce (or renew) ``holder`` as a live member of ``group``."""
    acquire(store, f"member:{group}:{holder}", holder, ttl_s, now)


def leave(store: Store, group: str, holder: str) -> None:
    release(store, f"member:{group}:{holder}", holder)


def members(store: Store, group: str, now: float | None = None) -> list[str]:
    """The live members of ``group``, sorted."""
    now = time.time() if now is None else now
    prefix = f"member:{group}:"
    rows = store.conn.execute(
        "SELECT holder FROM leases WHERE substr(name, 1, ?) = ? AND expires_at > ?"
        " ORDER BY holder", (len(prefix), prefix, now)).fetchall()
    return [r[0] for r in rows]


def owner_of(key: str, live: Iterable[str]) -> str | None:
    """The member that owns ``key`` (rendezvous hashing): every member computes the same
    answer from the same list, and a member's leaving moves only the keys it owned."""
    best, best_score = None, b""
    for member in live:
        score = hashlib.blake2b(f"{member}\0{key}".encode(), digest_size=8).digest()
        if best is None or score > best_score:
            best, best_score = member, score
    return best


class Singleton:
    """A worker's hold on lease ``name``: `held()` renews it when a third of the TTL has
    passed and says whether this process may do the work now.

    Between a renewal and the next, the holder may be a dead process for up to ``ttl_s``;
    that is the longest a singleton's work pauses when its node dies.
    """

    def __init__(self, store_factory: Callable[[], Store], name: str, *, ttl_s: float = 15.0,
                 holder: str | None = None, clock: Callable[[], float] = time.time):
        self.store_factory = store_factory
        self.name = f"singleton:{name}"
        self.ttl_s = ttl_s
        self.holder = holder or holder_id(name)
        self.clock = clock
        self._held_until = 0.0
        self._renewed_at = 0.0
        self._lock = threading.Lock()

    def held(self) -> bool:
        now = self.clock()
        with self._lock:
            if now < self._held_until and now - self._renewed_at < self.ttl_s / 3:
                return True
            store = self.store_factory()
            try:
                ok = acquire(store, self.name, self.holder, self.ttl_s, now)
            finally:
                store.close()
            self._renewed_at = now
            # Trust the lease a little less long than the store does: a clock step or a slow
            # statement must not leave two holders both sure of it.
            self._held_until = now + self.ttl_s * 0.8 if ok else 0.0
            return ok

    def release(self) -> None:
        with self._lock:
            if self._held_until:
                store = self.store_factory()
                try:
                    release(store, self.name, self.holder)
                finally:
                    store.close()
            self._held_until = 0.0


class Hold:
    """Lease ``name`` kept renewed by a thread while one long piece of work runs (a report
    build, a provisioning job): ``with Hold(...) as hold:`` takes it (``hold.ok``), renews it
    every ``ttl_s / 3`` and releases it at the end. ``hold.lost`` turns true if a renewal
    found another holder (the work should stop: someone else took it over). With ``keep``
    the lease is left to run out rather than released: a `Singleton`'s holder keeps it
    renewed through one long pass of its work this way, and holds it on after."""

    def __init__(self, store_factory: Callable[[], Store], name: str, holder: str, *,
                 ttl_s: float = WORKER_TTL_S, keep: bool = False):
        self.store_factory, self.name, self.holder, self.ttl_s = (store_factory, name, holder,
                                                                   ttl_s)
        self.keep = keep
        self.ok = False
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{name}", daemon=True)

    def _take(self) -> bool:
        store = self.store_factory()
        try:
            return acquire(store, self.name, self.holder, self.ttl_s)
        finally:
            store.close()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                if not self._take():
                    self.lost.set()
                    return
            except Exception as exc:  # a store hiccup: the next renewal tries again
                log.warning("lease %s not renewed: %s", self.name, exc)

    def __enter__(self) -> Hold:
        self.ok = self._take()
        if self.ok:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.ok:
            return
        self._stop.set()
        self._thread.join()
        if not self.lost.is_set() and not self.keep:
            store = self.store_factory()
            try:
                release(store, self.name, self.holder)
            finally:
                store.close()
