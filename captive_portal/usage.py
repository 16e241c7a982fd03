"""What the portal records for the WiFi usage KPIs, and the query functions reporting reads.

Three kinds of fact, none of them a MAC in clear:

- each session's **visitor**: a keyed hash of the device's MAC (`visitor_hash`), and the time
  it went **online** (the gateway's ack), on ``portal_sessions``;
- the **login funnel**: redirects that reached the portal, landing pages shown, login steps
  taken (terms accepted, code sent) and sessions online, as counters per site and hour;
- **login failures** by cause (the portal's error codes), the same way.

The counters are one row per site, hour and step (`count`): a single upsert, atomic in the
store, so every worker and node adds to the same row and none is lost or counted twice.

The hash key is derived from the portal's secret key (``portal.secret_key_file``, mode 0600,
the same file on every worker and node, which must agree on it for cookies anyway) rather than
kept in another file: one secret less to deploy and back up. The hash also takes the local
calendar month, so a device keeps one visitor id for a month (unique visitors per day and per
month, returning visitors within a month) and cannot be followed from one month to the next,
even by someone holding the key and a list of MACs, once the month is over.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.localtime import local
from core.store import Store

#: Funnel steps, in the order a visitor meets them.
FUNNEL = ("redirect", "portal", "step", "online")
#: How far back to look for sessions still online at a period's start: sessions expire after
#: ``portal.session_minutes`` (an hour by default); one longer than a day would be counted
#: online only from its last day.
LONGEST_SESSION_S = 86400.0
_KEY_LABEL = b"oasis-edge visitor hash v1"


def visitor_key(secret_key: bytes) -> bytes:
    """The HMAC key of visitor hashes, derived from the portal's secret key."""
    return hmac.new(secret_key, _KEY_LABEL, hashlib.sha256).digest()


def visitor_hash(key: bytes, mac: str, at: float, tz: str) -> str:
    """The visitor id of the device ``mac`` at time ``at``: HMAC-SHA256 over the local month
    and the normalised MAC, 128 bits in hex. Stable within a local calendar month."""
    month = local(at, tz).strftime("%Y-%m")
    digest = hmac.new(key, f"{month}|{mac.lower()}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def hour_of(ts: float) -> float:
    """Start of the (UTC) hour holding ``ts``; local hours coincide where the zone's offset is
    whole hours (Asia/Riyadh)."""
    return math.floor(ts / 3600.0) * 3600.0


def site_of_gateway(store: Store, gateway_id: str | None) -> str:
    """The site slug of a registered gateway, '' for an unknown gateway or one without site."""
    if not gateway_id:
        return ""
    row = store.conn.execute("SELECT site FROM portal_gateways WHERE id = ?",
                             (gateway_id,)).fetchone()
    return (row[0] or "") if row else ""


def count(store: Store, at: float, site: str, kind: str, item: str, n: int = 1) -> None:
    """Add ``n`` to the counter of ``item`` (a funnel step or an error code) at ``site``."""
    store.conn.execute(
        "INSERT INTO portal_usage_counts (hour, site, kind, item, count) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (hour, site, kind, item) DO UPDATE SET count = count + excluded.count",
        (hour_of(at), site, kind, item, n))


#: The columns of a past session as `record_history` takes them.
HISTORY_COLUMNS = ("gateway_id", "ap", "visitor", "method", "locale", "online_at", "ended_at",
                   "end_reason", "bytes_down", "bytes_up")


def record_history(store: Store, sessions: Iterable[tuple], counters: Iterable[tuple]) -> None:
    """Write past sessions (tuples in `HISTORY_COLUMNS` order, all ended, no MAC) and counter
    increments ((hour, site, kind, item, n)) in one transaction: the demo's and the
    benchmark's history (`reporting.history.usage`)."""
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO portal_sessions (gateway_id, ap, visitor, method, locale, online_at, "
            "ended_at, end_reason, bytes_down, bytes_up, mac, ip, state, started_at, "
            "expires_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '', "
            "'0.0.0.0', 'ended', ?6, max(?6 + 3600, ?7), ?7)", sessions)
        conn.executemany(
            "INSERT INTO portal_usage_counts (hour, site, kind, item, count) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hour, site, kind, item) "
            "DO UPDATE SET count = count + excluded.count", counters)


# ---- query functions (reporting reads the portal's usage data only through these) ------------

def first_online_at(store: Store) -> float | None:
    """When the first session went online (None: no session yet): where a roll-up starts."""
    row = store.conn.execute("SELECT min(online_at) FROM portal_sessions "
                             "WHERE online_at IS NOT NULL").fetchone()
    return None if row is None else row[0]


def gateway_sites(store: Store) -> dict[str, str]:
    """Every registered gateway's site ('' when it has none)."""
    return {gid: site or "" for gid, site in
            store.conn.execute("SELECT id, site FROM portal_gateways")}


def _narrow(sql: str, args: list, gateways: list[str] | None,
            aps: list[str] | None) -> tuple[str, list]:
    """``sql`` narrowed to sessions through ``gateways`` and behind one of ``aps`` (the AP
    identities the gateway signs: the AP's name or MAC); None: any."""
    if gateways is not None:
        sql += f" AND gateway_id IN ({', '.join('?' * len(gateways))})"
        args = args + gateways
    if aps is not None:
        sql += f" AND ap IN ({', '.join('?' * len(aps))})"
        args = args + aps
    return sql, args


@dataclass(frozen=True)
class DayUsage:
    day: int           # index of the local day: floor((online_at + offset) / 86400)
    sessions: int
    visitors: int
    bytes_down: int
    bytes_up: int


def daily_usage(store: Store, start: float, end: float, offset_s: float, *,
                gateways: list[str] | None = None, aps: list[str] | None = None) -> list[DayUsage]:
    """Sessions that went online in [start, end), per local day (``offset_s``: the zone's
    constant UTC offset over the period): count, distinct visitors, bytes down and up (a
    session's bytes count on the day it went online)."""
    sql = ("SELECT CAST((online_at + ?) / 86400 AS INTEGER) AS d, count(*), "
           "count(DISTINCT visitor), total(bytes_down), total(bytes_up) FROM portal_sessions "
           "WHERE online_at >= ? AND online_at < ?")
    args: list = [offset_s, start, end]
    sql, args = _narrow(sql, args, gateways, aps)
    rows = store.conn.execute(sql + " GROUP BY d ORDER BY d", args)
    return [DayUsage(d, n, v, int(down), int(up)) for d, n, v, down, up in rows]


def gateway_usage(store: Store, start: float, end: float, *,
                  gateways: list[str] | None = None, aps: list[str] | None = None
                  ) -> list[tuple[str, int, int, int, int]]:
    """(gateway id, sessions, distinct visitors, bytes down, bytes up) of the sessions that
    went online in [start, end), per gateway."""
    sql = ("SELECT gateway_id, count(*), count(DISTINCT visitor), total(bytes_down), "
           "total(bytes_up) FROM portal_sessions WHERE online_at >= ? AND online_at < ?")
    sql, args = _narrow(sql, [start, end], gateways, aps)
    return [(g, n, v, int(down), int(up))
            for g, n, v, down, up in store.conn.execute(sql + " GROUP BY gateway_id", args)]


def returning_visitors(store: Store, start: float, end: float, offset_s: float, *,
                       gateways: list[str] | None = None, aps: list[str] | None = None) -> tuple[int, int]:
    """(distinct visitors, of whom online on two local days or more) among sessions online
    in [start, end)."""
    sql = ("SELECT count(*), count(*) FILTER (WHERE days > 1) FROM (SELECT visitor, "
           "count(DISTINCT CAST((online_at + ?) / 86400 AS INTEGER)) AS days "
           "FROM portal_sessions WHERE online_at >= ? AND online_at < ? AND visitor IS NOT NULL")
    sql, args = _narrow(sql, [offset_s, start, end], gateways, aps)
    total, returning = store.conn.execute(sql + " GROUP BY visitor)", args).fetchone()
    return total or 0, returning or 0


def gateway_visitors(store: Store, start: float, end: float, offset_s: float
                     ) -> list[tuple[str, int, int]]:
    """(gateway id, distinct visitors, of whom online on two local days or more) among sessions
    online in [start, end), per gateway."""
    return list(store.conn.execute(
        "SELECT gateway_id, count(*), count(*) FILTER (WHERE days > 1) FROM ("
        "SELECT gateway_id, visitor, count(DISTINCT CAST((online_at + ?) / 86400 AS INTEGER)) "
        "AS days FROM portal_sessions WHERE online_at >= ? AND online_at < ? "
        "AND visitor IS NOT NULL GROUP BY gateway_id, visitor) GROUP BY gateway_id",
        (offset_s, start, end)))


def gateway_length_histograms(store: Store, start: float, end: float, bucket_s: int
                              ) -> dict[str, dict[int, int]]:
    """`length_histogram` per gateway."""
    found: dict[str, dict[int, int]] = {}
    for gateway_id, bucket, n in store.conn.execute(
            "SELECT gateway_id, CAST(max(ended_at - online_at, 0) / ? AS INTEGER) AS b, "
            "count(*) FROM portal_sessions WHERE online_at >= ? AND online_at < ? "
            "AND ended_at IS NOT NULL GROUP BY gateway_id, b", (bucket_s, start, end)):
        found.setdefault(gateway_id, {})[bucket] = n
    return found


def median_session_seconds(store: Store, start: float, end: float, *,
                           gateways: list[str] | None = None,
                           aps: list[str] | None = None) -> tuple[float | None, int]:
    """(median length, number) of the sessions that went online in [start, end) and have ended:
    ``ended_at - online_at``. The median of an even count is the mean of the middle two."""
    where = "online_at >= ? AND online_at < ? AND ended_at IS NOT NULL"
    where, args = _narrow(where, [start, end], gateways, aps)
    (n,) = store.conn.execute(f"SELECT count(*) FROM portal_sessions WHERE {where}",
                              args).fetchone()
    if not n:
        return None, 0
    middle = [v for (v,) in store.conn.execute(
        f"SELECT max(ended_at - online_at, 0) AS s FROM portal_sessions WHERE {where} "
        "ORDER BY s LIMIT ? OFFSET ?", args + [2 - n % 2, (n - 1) // 2])]
    return sum(middle) / len(middle), n


def online_spans(store: Store, start: float, end: float, now: float, *,
                 gateways: list[str] | None = None, aps: list[str] | None = None
                 ) -> Iterator[tuple[float, float, str]]:
    """(online_at, until, gateway_id) of every session online at some time in [start, end),
    in order of ``online_at``; ``until`` is the end, or for a session still open the earlier of
    its expiry and ``now``. Streamed: a year of sessions is never held in memory."""
    where = "online_at >= ? AND online_at < ? AND coalesce(ended_at, min(expires_at, ?)) > ?"
    where, args = _narrow(where, [start - LONGEST_SESSION_S, end, now, start], gateways, aps)
    yield from store.conn.execute(
        f"SELECT online_at, coalesce(ended_at, min(expires_at, ?)), gateway_id "
        f"FROM portal_sessions WHERE {where} ORDER BY online_at", [now] + args)


def counts(store: Store, start: float, end: float, *, sites: list[str] | None = None
           ) -> list[tuple[str, str, str, int]]:
    """(site, kind, item, total) of the funnel and failure counters of the hours that begin in
    [start, end) (periods begin on the hour: local midnights in whole-hour zones)."""
    sql = ("SELECT site, kind, item, sum(count) FROM portal_usage_counts "
           "WHERE hour >= ? AND hour < ?")
    args: list = [start, end]
    if sites is not None:
        sql += f" AND site IN ({', '.join('?' * len(sites))})"
        args += sites
    return list(store.conn.execute(sql + " GROUP BY site, kind, item", args))


def length_histogram(store: Store, start: float, end: float, bucket_s: int, *,
                     gateways: list[str] | None = None, aps: list[str] | None = None
                     ) -> dict[int, int]:
    """Ended sessions that went online in [start, end), by length in ``bucket_s`` buckets
    (bucket n holds lengths from n * bucket_s up to the next)."""
    where = "online_at >= ? AND online_at < ? AND ended_at IS NOT NULL"
    where, args = _narrow(where, [start, end], gateways, aps)
    return dict(store.conn.execute(
        f"SELECT CAST(max(ended_at - online_at, 0) / ? AS INTEGER) AS b, count(*) "
        f"FROM portal_sessions WHERE {where} GROUP BY b", [bucket_s] + args))


__all__ = [
    "FUNNEL",
    "HISTORY_COLUMNS",
    "DayUsage",
    "count",
    "counts",
    "daily_usage",
    "gateway_length_histograms",
    "gateway_sites",
    "gateway_usage",
    "gateway_visitors",
    "hour_of",
    "length_histogram",
    "median_session_seconds",
    "online_spans",
    "record_history",
    "returning_visitors",
    "site_of_gateway",
    "visitor_hash",
    "visitor_key",
]
