"""The figures a usage section is made of, gathered for a stretch of time: from the portal's
sessions and counters on demand (`collect`), or summed from reporting's roll-ups
(`reporting.usage_rollup`), and merged (`Facts.add`).

Concurrent clients come from one pass over the sessions in the order they went online, with a
heap of their ends per site: streamed, so memory holds only the sessions online at once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from captive_portal import usage as portal_usage
from core import inventory
from core.localtime import day_start, local
from core.store import Store
from reporting.model import Filters, Period

#: Session lengths are kept in buckets of this many seconds where a median is taken from a
#: roll-up (the median is then the middle of its bucket).
LENGTH_BUCKET_S = 10


# ---- scope: which gateways and AP identities a filter means ------------------------------------

class Scope:
    def __init__(self, site_of: dict[str, str], gateways: list[str] | None,
                 aps: list[str] | None, sites: list[str] | None):
        self.site_of = site_of          # gateway id -> site slug ('' when none)
        self.gateways = gateways        # None: every gateway
        self.aps = aps                  # None: any AP
        self.sites = sites              # None: every site

    @classmethod
    def of(cls, store: Store, filters: Filters) -> Scope:
        site_of = portal_usage.gateway_sites(store)
        gateways = sites = aps = None
        if filters.ap is not None:
            # The gateway signs the AP as the AP's DHCP option 82 names it: its name or MAC.
            try:
                ap = inventory.get_ap(store, filters.ap)
            except inventory.NotFound:
                ap = {}  # an AP not (or no longer) in the inventory: no session is behind it
            aps = [v for v in (ap.get("name"), ap.get("mac")) if v]
        if filters.site:
            gateways = sorted(g for g, s in site_of.items() if s == filters.site)
            sites = [filters.site]
        return cls(site_of, gateways, aps, sites)


# ---- local time: Asia/Riyadh has no DST, so the period's offset is one number ------------------

class LocalClock:
    """Local days and hours of the period. A zone whose offset changes inside the period (not
    Asia/Riyadh) is reckoned at the offset of the period's start: its days are off by an hour
    after the change."""

    def __init__(self, period: Period):
        self.period = period
        start = local(period.start, period.tz).utcoffset()
        self.offset = start.total_seconds() if start is not None else 0.0

    def day_start(self, day: int) -> float:
        return day * 86400.0 - self.offset

    def hour(self, ts: float) -> int:
        """Absolute local hour number (hours since the epoch, local)."""
        return math.floor((ts + self.offset) / 3600.0)

    def hour_before(self, ts: float) -> int:
        """The last hour begun strictly before ``ts`` (an end on the hour is not in the next)."""
        return math.ceil((ts + self.offset) / 3600.0) - 1

    def hour_point(self, hour_of_day: int) -> float:
        """The moment ``hour_of_day`` begins on the period's first local day (a chart's x)."""
        return day_start(self.period.days()[0], self.period.tz) + hour_of_day * 3600.0


# ---- concurrent clients -----------------------------------------------------------------------

class Level:
    """Online clients over time at one site (or the whole scope): client-seconds and the peak
    per local hour of day, and the overall peak."""

    __slots__ = ("client_seconds", "count", "ends", "hour", "hour_peak", "peak", "peak_at")

    def __init__(self, hour: int):
        self.count = 0
        self.ends: list[float] = []
        self.hour = hour
        self.client_seconds = [0.0] * 24
        self.hour_peak = [0] * 24
        self.peak = 0
        self.peak_at: float | None = None

    def merge(self, other: Level) -> None:
        for h in range(24):
            self.client_seconds[h] += other.client_seconds[h]
            self.hour_peak[h] = max(self.hour_peak[h], other.hour_peak[h])
        if other.peak > self.peak:
            self.peak, self.peak_at = other.peak, other.peak_at

    def roll(self, hour: int) -> None:
        """Move to ``hour``: every hour begun on the way saw at least the current count."""
        if hour <= self.hour:
            return
        if self.count:
            for h in range(self.hour + 1, min(hour, self.hour + 24) + 1):
                self.hour_peak[h % 24] = max(self.hour_peak[h % 24], self.count)
        self.hour = hour

    def advance(self, ts: float, clock: LocalClock) -> None:
        ends = self.ends
        while ends and ends[0] <= ts:
            self.roll(clock.hour_before(ends[0]))  # the hour it ends in saw it
            heapq.heappop(ends)
            self.count -= 1
        self.roll(clock.hour(ts))

    def start(self, ts: float, until: float, clock: LocalClock) -> None:
        self.advance(ts, clock)
        self.count += 1
        heapq.heappush(self.ends, until)
        hod = self.hour % 24
        self.hour_peak[hod] = max(self.hour_peak[hod], self.count)
        if self.count > self.peak:
            self.peak, self.peak_at = self.count, ts


class Concurrency:
    def __init__(self, start: float, end: float, clock: LocalClock):
        self.clock = clock
        self.start, self.end = start, end
        self.total = Level(clock.hour(start))
        self.sites: dict[str, Level] = {}
        self.seconds = max(0.0, end - start)
        # How many seconds of the period fall in each local hour of day.
        self.exposure = [0.0] * 24
        for h in range(clock.hour(start), clock.hour(end - 1e-6) + 1 if end > start else 0):
            lo = max(start, h * 3600.0 - clock.offset)
            hi = min(end, (h + 1) * 3600.0 - clock.offset)
            if hi > lo:
                self.exposure[h % 24] += hi - lo

    @classmethod
    def sweep(cls, spans: Iterable[tuple[float, float, str]], start: float, end: float,
              clock: LocalClock, site_of: dict[str, str]) -> Concurrency:
        self = cls(start, end, clock)
        first_hour = clock.hour(start)
        for online_at, until, gateway_id in spans:
            lo, hi = max(online_at, start), min(until, end)
            if hi <= lo:
                continue
            site = site_of.get(gateway_id, "")
            level = self.sites.get(site)
            if level is None:
                level = self.sites[site] = Level(first_hour)
            for each in (self.total, level):
                each.start(lo, hi, clock)
            self._spread(lo, hi, level)
        for each in (self.total, *self.sites.values()):
            each.advance(end - 1e-6, clock)
        return self

    def _spread(self, lo: float, hi: float, level: Level) -> None:
        """Add the session's online seconds to the hours of day they fall in."""
        offset = self.clock.offset
        while lo < hi:
            boundary = (math.floor((lo + offset) / 3600.0) + 1) * 3600.0 - offset
            piece = min(hi, boundary) - lo
            hod = math.floor((lo + offset) / 3600.0) % 24
            self.total.client_seconds[hod] += piece
            level.client_seconds[hod] += piece
            lo += piece

    def add(self, other: Concurrency) -> None:
        """Fold in the clients of another stretch of the same period."""
        for mine, theirs in [(self.total, other.total)] + [
                (self.sites.setdefault(site, Level(self.total.hour)), level)
                for site, level in other.sites.items()]:
            mine.merge(theirs)

    def level(self, site: str | None) -> Level | None:
        return self.total if site is None else self.sites.get(site)

    def average(self, site: str | None) -> float | None:
        level = self.level(site)
        if not self.seconds:
            return None
        return sum(level.client_seconds) / self.seconds if level else 0.0

    def hour_average(self, site: str | None, hod: int) -> float | None:
        level = self.level(site)
        if not self.exposure[hod]:
            return None
        return level.client_seconds[hod] / self.exposure[hod] if level else 0.0

    def hour_peak(self, site: str | None, hod: int) -> float | None:
        if not self.exposure[hod]:
            return None
        level = self.level(site)
        return level.hour_peak[hod] if level else 0



# ---- what a stretch of time adds up to ----------------------------------------------------------

@dataclass
class Facts:
    """Sums over a stretch of the period (several merge with `add`)."""
    days: list[portal_usage.DayUsage] = field(default_factory=list)
    visitors: int = 0
    returning: int = 0
    #: Exact median (and count) when the whole period was read from the sessions...
    median: float | None = None
    ended: int = 0
    #: ...else the lengths in `LENGTH_BUCKET_S` buckets.
    lengths: dict[int, int] | None = None
    #: site -> [sessions, visitors, bytes down, bytes up]
    sites: dict[str, list[int]] = field(default_factory=dict)
    #: (site, kind, item, count) of the funnel and failure counters
    counters: list[tuple[str, str, str, int]] = field(default_factory=list)

    def add(self, other: Facts) -> None:
        self.days += other.days
        self.visitors += other.visitors
        self.returning += other.returning
        for site, row in other.sites.items():
            mine = self.sites.setdefault(site, [0, 0, 0, 0])
            for i, value in enumerate(row):
                mine[i] += value

    def median_seconds(self) -> float | None:
        if self.lengths is None:
            return self.median
        return histogram_median(self.lengths)


def histogram_median(lengths: dict[int, int]) -> float | None:
    """The median length, each length read as the middle of its bucket (of an even count, the
    mean of the middle two, as the exact median)."""
    total = sum(lengths.values())
    if not total:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})  # 0-based ranks of the middle
    found, seen = [], 0
    for bucket in sorted(lengths):
        seen += lengths[bucket]
        while wanted and wanted[0] < seen:
            wanted.pop(0)
            found.append((bucket + 0.5) * LENGTH_BUCKET_S)
    return sum(found) / len(found) if total % 2 == 0 else found[0]


def collect(store: Store, scope: Scope, start: float, end: float, clock: LocalClock, *,
            exact_median: bool, visitors: bool = True) -> Facts:
    """The facts of [start, end) read from the portal's sessions."""
    narrow = {"gateways": scope.gateways, "aps": scope.aps}
    facts = Facts(days=portal_usage.daily_usage(store, start, end, clock.offset, **narrow))
    if visitors:
        facts.visitors, facts.returning = portal_usage.returning_visitors(
            store, start, end, clock.offset, **narrow)
    if exact_median:
        facts.median, facts.ended = portal_usage.median_session_seconds(
            store, start, end, **narrow)
    else:
        facts.lengths = portal_usage.length_histogram(store, start, end, LENGTH_BUCKET_S,
                                                      **narrow)
    for gateway_id, n, seen, down, up in portal_usage.gateway_usage(store, start, end, **narrow):
        row = facts.sites.setdefault(scope.site_of.get(gateway_id, ""), [0, 0, 0, 0])
        for i, value in enumerate((n, seen if visitors else 0, down, up)):
            row[i] += value
    return facts


def sweep(store: Store, scope: Scope, start: float, end: float, now: float,
          clock: LocalClock, into: Concurrency) -> Concurrency:
    """Add the concurrent clients of [start, end) to ``into`` (whose exposure is the period's)."""
    part = Concurrency.sweep(
        portal_usage.online_spans(store, start, end, now, gateways=scope.gateways,
                                  aps=scope.aps),
        start, end, clock, scope.site_of)
    into.add(part)
    return into


__all__ = ["LENGTH_BUCKET_S", "Concurrency", "Facts", "Level", "LocalClock", "Scope", "collect",
           "histogram_median", "sweep"]
