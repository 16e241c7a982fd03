"""Enforcement: allow and deny clients in the nft sets, and end sessions at their limits.

The kernel ends a session at its duration on its own (element timeouts). Data quotas and idle
timeouts need the counters, so `sweep` reads them every ``enforce_interval_s`` (one listing of
each counted set, whatever the number of clients) and denies the clients over a limit. Every
end is returned as a `SessionEnd` for the controller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.gateway.config import GatewayConfig
from agents.gateway.nft import Nftables, NftError
from agents.gateway.ruleset import (
    FAMILY,
    RateClass,
    allow_script,
    base_script,
    delete_table_script,
    deny_script,
    rate_class_script,
)
from agents.gateway.sessions import ClientSession, SessionBook
from core.contracts.gateway import SessionGrant
from core.contracts.signature import normalise_mac
from core.errors import CodedError

log = logging.getLogger(__name__)


class GrantError(CodedError, ValueError):
    """An allow command the gateway cannot carry out; ``code`` goes back in the ack."""

    code_in_text = True


@dataclass(frozen=True)
class SessionEnd:
    session: ClientSession
    #: expired, quota, idle, logout (or the controller's reason), removed
    reason: str
    at: float


class Enforcer:
    """Owns the table and the book; every method is safe to call from any thread."""

    def __init__(self, config: GatewayConfig, nft: Nftables, book: SessionBook,
                 garden: list[str], clock: Callable[[], float] = time.time):
        self.config = config
        self.nft = nft
        self.book = book
        self.garden = garden
        self.clock = clock
        self._lock = threading.RLock()
        self._rate_classes: set[str] = set()

    # -- table -----------------------------------------------------------------------------

    def install(self) -> list[SessionEnd]:
        """Create or refresh the table, keeping authorised clients (see `ruleset`).

        Sessions in the book that ended while the agent was away are returned as ends; those
        still running but missing from the kernel (the gateway rebooted) are put back.
        """
        with self._lock:
            self.nft.run(base_script(self.config, self.garden))
            self._rate_classes.clear()
            now = self.clock()
            in_kernel = self._counters("up")
            ends = []
            for session in self.book:
                if session.expires_at <= now:
                    self._delete_quietly(session)
                    self.book.remove(session)
                    ends.append(SessionEnd(session, "expired", now))
                    continue
                if session.rate_class is not None:
                    self._ensure_rate_class(session.rate_class)
                if f"{session.mac} . {session.ip}" not in in_kernel:
                    log.info("restoring client %s (%s) after a reboot", session.mac, session.ip)
                    self.nft.run(allow_script(self.config.table, session.mac, session.ip,
                                              int((session.expires_at - now) * 1000),
                                              session.rate_class))
            return ends

    def teardown(self) -> None:
        """Remove the whole table: every visitor is captive again (not done on restart)."""
        with self._lock:
            if self.nft.table_exists(FAMILY, self.config.table):
                self.nft.run(delete_table_script(self.config.table))

    # -- allow / deny ----------------------------------------------------------------------

    def allow(self, command: Mapping[str, Any]) -> tuple[ClientSession, float]:
        """Authorise a client from an allow command; returns it and the nft time in ms."""
        try:
            grant = SessionGrant.from_payload(command)
        except (KeyError, TypeError, ValueError) as exc:
            raise GrantError("bad_command", str(exc)) from None
        session = ClientSession.from_grant(grant, self.clock())
        mac, ip = session.mac, session.ip
        remaining_ms = int((session.expires_at - session.started_at) * 1000)
        if remaining_ms <= 0:
            raise GrantError("already_expired")
        with self._lock:
            if len(self.book) >= self.config.max_clients and not self.book.by_mac(mac):
                raise GrantError("gateway_full")
            started = time.perf_counter()
            for previous in self.book.holding(mac, ip):
                self._delete_quietly(previous)
            if session.rate_class is not None:
                self._ensure_rate_class(session.rate_class)
            try:
                self.nft.run(allow_script(self.config.table, mac, ip, remaining_ms,
                                          session.rate_class))
            except NftError as exc:
                raise GrantError("nft_failed", str(exc)) from None
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.book.put(session)
        return session, elapsed_ms

    def deny(self, mac: str, ip: str | None = None) -> ClientSession | None:
        """Remove a client (by MAC, or by IP when given); returns its session if it had one."""
        with self._lock:
            session = self.book.by_mac(normalise_mac(mac))
            if session is None and ip:
                session = self.book.by_ip(ip)
            if session is None:
                return None
            self._delete_quietly(session)
            self.book.remove(session)
            return session

    def _delete_quietly(self, session: ClientSession) -> None:
        """Delete a client's elements; ones the kernel already expired are skipped."""
        table = self.config.table
        try:
            self.nft.run(deny_script(table, session.mac, session.ip, session.rate_class))
            return
        except NftError:
            pass  # some element is gone already: delete the others one by one
        for line in deny_script(table, session.mac, session.ip, session.rate_class).splitlines():
            try:
                self.nft.run(line)
            except NftError:
                continue

    def _ensure_rate_class(self, rate: RateClass) -> None:
        if rate.name in self._rate_classes:
            return
        if len(self._rate_classes) >= self.config.max_rate_classes:
            raise GrantError("too_many_rate_classes", rate.name)
        self.nft.run(rate_class_script(self.config.table, rate, self.config.max_clients))
        self._rate_classes.add(rate.name)

    # -- limits and accounting -------------------------------------------------------------

    def _counters(self, set_name: str) -> dict[str, int]:
        return {element.key: element.bytes
                for element in self.nft.counted_elements(FAMILY, self.config.table, set_name)}

    def sweep(self) -> list[SessionEnd]:
        """Refresh counters from the kernel and end sessions past a limit.

        The pass over all clients runs without the lock (logins must not wait behind it);
        only the changes are applied under it, each to a session still in the book as seen.
        """
        listed_at = self.clock()
        up = self._counters("up")
        down = self._counters("down")
        now = self.clock()
        with self._lock:
            snapshot = list(self.book)
        verdicts: list[tuple[ClientSession, ClientSession, str | None]] = []
        for seen in snapshot:
            if seen.started_at >= listed_at:
                continue  # allowed while the sets were being listed
            key = f"{seen.mac} . {seen.ip}"
            if key not in up or seen.expires_at <= now:
                verdicts.append((seen, seen, "expired" if seen.expires_at <= now + 1
                                 else "removed"))
                continue
            session = seen.with_counters(up[key], down.get(seen.ip, 0), now)
            if session.quota_bytes and session.bytes_total >= session.quota_bytes:
                verdicts.append((seen, session, "quota"))
            elif session.idle_timeout_s and now - session.last_seen >= session.idle_timeout_s:
                verdicts.append((seen, session, "idle"))
            elif session is not seen:
                verdicts.append((seen, session, None))
        ends: list[SessionEnd] = []
        with self._lock:
            fresh = []
            for seen, session, reason in verdicts:
                if self.book.by_mac(seen.mac) is not seen:
                    continue  # replaced or denied meanwhile
                if reason is None:
                    fresh.append(session)
                else:
                    ends.append(self._end(session, reason, now))
            self.book.update_counters(fresh)
        for end in ends:
            log.info("session %s of %s ended: %s", end.session.session_id, end.session.mac,
                     end.reason)
        return ends

    def _end(self, session: ClientSession, reason: str, now: float) -> SessionEnd:
        self._delete_quietly(session)
        self.book.remove(session)
        return SessionEnd(session, reason, now)

    def client(self, ip: str) -> ClientSession | None:
        with self._lock:
            return self.book.by_ip(ip)

    def clients(self) -> list[ClientSession]:
        with self._lock:
            return list(self.book)


__all__ = ["Enforcer", "GrantError", "SessionEnd"]
