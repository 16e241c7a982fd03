"""Visitor sessions: opened by a login, closed by logout, a limit, or the gateway.

A session is *pending* from the login until the gateway acks the allow command, then *active*
until it *ended* (with a reason: logout, expired, quota, idle, replaced, gateway_failed...). A
device has at most one active session per gateway: a new login replaces the old one. Byte
counts and last-seen come from the gateway's accounting reports.

The device's MAC is kept only while the session is open (the gateway's allow and deny
commands name it); when the session ends it is erased from the row, and the store overwrites
what it frees (``secure_delete``), so the usage KPIs count visitors by their keyed hash
(``visitor``, `captive_portal.usage`) and no MAC stays in the store after the visit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from captive_portal.config import PortalConfig
from core.contracts.gateway import SessionGrant
from core.contracts.signature import ClientClaim
from core.store import Store

_COLUMNS = ("id", "gateway_id", "mac", "ip", "method", "phone", "locale", "state", "started_at",
            "expires_at", "quota_bytes", "idle_timeout_s", "rate_up_kbps", "rate_down_kbps",
            "bytes_up", "bytes_down", "last_seen", "ended_at", "end_reason")


@dataclass(frozen=True)
class VisitorSession:
    id: int
    gateway_id: str
    mac: str
    ip: str
    method: str
    phone: str | None
    locale: str
    state: str
    started_at: float
    expires_at: float
    quota_bytes: int
    idle_timeout_s: int
    rate_up_kbps: int
    rate_down_kbps: int
    bytes_up: int
    bytes_down: int
    last_seen: float | None
    ended_at: float | None
    end_reason: str | None
    #: The site of the gateway the session runs through (None if the gateway has none).
    site: str | None = None
    #: The AP the gateway saw the device behind (DHCP option 82), None if it did not know.
    ap: str | None = None

    def seconds_left(self, now: float) -> int:
        return max(0, int(self.expires_at - now)) if self.state == "active" else 0

    def bytes_left(self) -> int | None:
        """None when the session has no data quota."""
        if not self.quota_bytes:
            return None
        return max(0, self.quota_bytes - self.bytes_up - self.bytes_down)

    def grant(self) -> SessionGrant:
        """What the gateway must enforce for this session (the allow command's record)."""
        return SessionGrant(self.id, self.mac, self.ip, self.expires_at, self.quota_bytes,
                            self.idle_timeout_s, self.rate_up_kbps, self.rate_down_kbps)


#: What SQLite's INTEGER holds; a byte count or id beyond it is not a gateway's.
_INT_MAX = 2 ** 63 - 1
#: Longest end reason kept from a gateway (the agent's are one word).
REASON_MAX = 32


def _count(value: Any, name: str) -> int:
    """A byte count or id from a gateway: an integer from 0 to SQLite's maximum, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT_MAX:
        raise ValueError(f"{name}: expected an integer from 0 to 2^63-1")
    return value


def _time(value: Any, name: str) -> float | None:
    """A unix time from a gateway, or None when absent; ValueError when not a finite number."""
    if value is None:
        return None
    # Compared before any conversion: float() of a huge integer raises.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > 1e11 \
            or not math.isfinite(value):
        raise ValueError(f"{name}: expected unix seconds")
    return float(value)


@dataclass(frozen=True)
class SessionEnd:
    """A gateway's report that a session ended (``gateway-session-end/1``)."""

    session_id: int
    reason: str
    bytes_up: int
    bytes_down: int

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SessionEnd:
        """ValueError when a field is missing or of the wrong type or range."""
        reason = payload.get("reason", "ended")
        if not isinstance(reason, str) or not reason:
            raise ValueError("reason: expected a word")
        return cls(_count(payload.get("session_id"), "session_id"), reason[:REASON_MAX],
                   _count(payload.get("bytes_up", 0), "bytes_up"),
                   _count(payload.get("bytes_down", 0), "bytes_down"))


class Sessions:
    def __init__(self, store: Store, clock: Callable[[], float]):
        self.store = store
        self.clock = clock
        # Erasing a MAC must not leave its bytes in the page's free space.
        store.conn.execute("PRAGMA secure_delete = ON")

    def open(self, claim: ClientClaim, method: str, phone: str | None, locale: str,
             config: PortalConfig, visitor: str | None = None) -> VisitorSession:
        """A pending session for the claimed device, replacing its active one if any.

        A click-through records the version of the terms it accepted; ``visitor`` is the
        device's keyed hash (`captive_portal.usage.visitor_hash`).
        """
        now = self.clock()
        terms_version = config.terms_version if method == "terms" else None
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE portal_sessions SET state = 'ended', ended_at = ?, end_reason = "
                "'replaced', mac = '' WHERE gateway_id = ? AND mac = ? "
                "AND state IN ('active', 'pending')",
                (now, claim.gateway_id, claim.mac))
            cursor = conn.execute(
                "INSERT INTO portal_sessions (gateway_id, mac, ip, method, phone, locale, state, "
                "started_at, expires_at, quota_bytes, idle_timeout_s, rate_up_kbps, "
                "rate_down_kbps, terms_version, ap, visitor) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (claim.gateway_id, claim.mac, claim.ip, method, phone, locale, now,
                 now + config.session_minutes * 60, int(config.data_quota_mb * 1_000_000),
                 int(config.idle_timeout_minutes * 60), config.rate_up_kbps,
                 config.rate_down_kbps, terms_version, claim.ap or None, visitor))
            session_id = cursor.lastrowid
        opened = self.get(session_id)
        assert opened is not None  # inserted just above
        return opened

    def get(self, session_id: int) -> VisitorSession | None:
        row = self.store.conn.execute(
            f"SELECT {', '.join('s.' + c for c in _COLUMNS)}, g.site, s.ap FROM portal_sessions s "
            "LEFT JOIN portal_gateways g ON g.id = s.gateway_id WHERE s.id = ?",
            (session_id,)).fetchone()
        return VisitorSession(*row) if row else None

    def activate(self, session_id: int) -> bool:
        """The gateway acked: the session is online (False if it was no longer pending)."""
        at = self.clock()
        cursor = self.store.conn.execute(
            "UPDATE portal_sessions SET state = 'active', last_seen = ?, online_at = ? "
            "WHERE id = ? AND state = 'pending'", (at, at, session_id))
        return cursor.rowcount > 0

    def end(self, session_id: int, reason: str, *, bytes_up: int | None = None,
            bytes_down: int | None = None, gateway_id: str | None = None) -> bool:
        """Close a session once (later reports of the same end are ignored).

        ``gateway_id``, when given, is the gateway reporting the end: a session it does not
        run is left alone.
        """
        cursor = self.store.conn.execute(
            "UPDATE portal_sessions SET state = 'ended', ended_at = ?, end_reason = ?, mac = '', "
            "bytes_up = coalesce(?, bytes_up), bytes_down = coalesce(?, bytes_down) "
            "WHERE id = ? AND state != 'ended' AND (? IS NULL OR gateway_id = ?)",
            (self.clock(), reason, bytes_up, bytes_down, session_id, gateway_id, gateway_id))
        return cursor.rowcount > 0

    def account(self, gateway_id: str, entries: Iterable[Any]) -> tuple[int, int]:
        """Apply a gateway's accounting report to its own sessions.

        Returns (sessions updated, entries refused): an entry that is not an object with integer
        ``session_id``, ``bytes_up`` and ``bytes_down`` (and unix seconds or nothing as
        ``last_seen``) is skipped; the others are applied.
        """
        rows, refused = [], 0
        for entry in entries:
            try:
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                rows.append((_count(entry.get("bytes_up"), "bytes_up"),
                             _count(entry.get("bytes_down"), "bytes_down"),
                             _time(entry.get("last_seen"), "last_seen"),
                             _count(entry.get("session_id"), "session_id"), gateway_id))
            except ValueError:
                refused += 1
        if not rows:
            return 0, refused
        with self.store.transaction() as conn:
            cursor = conn.executemany(
                "UPDATE portal_sessions SET bytes_up = ?, bytes_down = ?, "
                "last_seen = coalesce(?, last_seen) WHERE id = ? AND gateway_id = ?", rows)
        return cursor.rowcount, refused

    def active_count(self, gateway_id: str) -> int:
        return self.store.conn.execute(
            "SELECT count(*) FROM portal_sessions WHERE gateway_id = ? AND state = 'active'",
            (gateway_id,)).fetchone()[0]


__all__ = ["SessionEnd", "Sessions", "VisitorSession"]
