"""WiFi usage KPIs: visitors, sessions, data volume, concurrent clients, the login funnel and
login failures, per period, site and AP (issue 12, item 2; definitions in docs/reporting.md).

Everything is read through the portal's query functions (`captive_portal.usage`); nothing here
writes. Sessions are summed on demand by SQL over an index that holds every column the page
reads (``portal_sessions_online``); concurrent clients come from one pass over the period's
sessions in time order (streamed, so memory stays flat whatever the period); the funnel and
failures are the portal's hourly counters.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from captive_portal import usage as portal_usage
from core import inventory
from core.config import Config
from core.localtime import day_start, local, show
from core.store import Store, now
from reporting.i18n import N_
from reporting.model import Chart, Column, Figure, Filters, Period, Section, Series, Table

AREA = "usage"

FUNNEL_LABELS = {
    "redirect": N_("Redirected to the portal"),
    "portal": N_("Portal page shown"),
    "step": N_("Terms accepted or code sent"),
    "online": N_("Online"),
}

#: The portal's error codes a login can fail with, and what the report calls them.
FAILURE_LABELS = {
    "code_invalid": N_("Wrong code"),
    "code_expired": N_("Code expired"),
    "code_attempts": N_("Too many wrong codes"),
    "code_format": N_("Code not typed as digits"),
    "phone_invalid": N_("Phone number not valid"),
    "terms_not_accepted": N_("Terms not accepted"),
    "sms_rate_phone": N_("Rate-limited: codes to one number"),
    "sms_rate_client": N_("Rate-limited: codes from one device"),
    "sms_resend_wait": N_("Rate-limited: code asked again too soon"),
    "sms_busy": N_("Rate-limited: SMS ceiling reached"),
    "too_many_requests": N_("Rate-limited: too many attempts"),
    "sms_failed": N_("SMS could not be sent"),
    "signature_missing": N_("Opened without a login link"),
    "signature_malformed": N_("Login link damaged"),
    "signature_invalid": N_("Bad signature"),
    "signature_stale": N_("Login link expired"),
    "signature_unknown_gateway": N_("Unknown gateway"),
    "gateway_unavailable": N_("Gateway timeout"),
    "csrf": N_("Form expired"),
}
OTHER_FAILURE = N_("Other")


def build(store: Store, config: Config, period: Period, filters: Filters) -> Section:
    """The usage section of ``period`` narrowed by ``filters`` (site, AP)."""
    scope = _Scope.of(store, filters)
    section = Section(AREA, N_("WiFi usage"), period, filters)
    clock = _LocalClock(period)
    at = now()
    days = portal_usage.daily_usage(store, period.start, period.end, clock.offset,
                                    gateways=scope.gateways, aps=scope.aps)
    visitors, returning = portal_usage.returning_visitors(
        store, period.start, period.end, clock.offset, gateways=scope.gateways, aps=scope.aps)
    median, _ended = portal_usage.median_session_seconds(
        store, period.start, period.end, gateways=scope.gateways, aps=scope.aps)
    concurrency = _Concurrency.sweep(
        portal_usage.online_spans(store, period.start, period.end, at,
                                  gateways=scope.gateways, aps=scope.aps),
        period.start, min(period.end, max(at, period.start)), clock, scope.site_of)
    counters = portal_usage.counts(store, period.start, period.end, sites=scope.sites)
    if scope.aps is not None:
        counters = []  # counted per site only: an AP filter cannot narrow them
    sessions = sum(d.sessions for d in days)
    down = sum(d.bytes_down for d in days)
    up = sum(d.bytes_up for d in days)
    # Days of the period so far (a month still running is averaged over its days gone by).
    day_count = len(Period(period.start, min(period.end, max(at, period.start + 1)), period.tz,
                           period.name).days())
    funnel = _funnel_totals(counters)
    failures = _failure_totals(counters)

    section.figures += [
        Figure("usage.visitors", N_("Unique visitors"), visitors, "count",
               note=N_("Distinct devices (keyed hash of the MAC, renewed each month)")),
        Figure("usage.visitors_per_day", N_("Unique visitors per day (average)"),
               _ratio(sum(d.visitors for d in days), day_count), "count"),
        Figure("usage.returning_visitors", N_("Returning visitors"),
               returning, "count",
               note=N_("Visitors online on two days or more of the period")),
        Figure("usage.sessions", N_("Sessions"), sessions, "count"),
        Figure("usage.median_session", N_("Median session length"), median, "seconds",
               note=N_("Over the sessions that went online in the period and have ended")),
        Figure("usage.bytes_down", N_("Data downloaded"), down, "bytes"),
        Figure("usage.bytes_up", N_("Data uploaded"), up, "bytes"),
        Figure("usage.concurrent_peak", N_("Peak concurrent clients"),
               concurrency.total.peak if concurrency.seconds else None, "count"),
        Figure("usage.concurrent_average", N_("Average concurrent clients"),
               concurrency.average(None), "count"),
        Figure("usage.funnel_conversion", N_("Redirects that ended online"),
               _percent(funnel.get("online", 0), funnel.get("redirect", 0)), "percent"),
        Figure("usage.login_failures", N_("Login failures"), sum(failures.values()), "count"),
    ]
    section.tables += [
        _days_table(days, clock),
        _sites_table(store, scope, period, concurrency),
        _hours_table(concurrency),
        _funnel_table(counters),
        _failures_table(failures),
    ]
    section.charts += [
        Chart("usage-visitors-daily", N_("Unique visitors per day"), "bar", "count",
              [Series(N_("Unique visitors"), [(clock.day_start(d.day), d.visitors)
                                              for d in days])]),
        Chart("usage-data-daily", N_("Data volume per day"), "bar", "bytes",
              [Series(N_("Downloaded"), [(clock.day_start(d.day), d.bytes_down) for d in days]),
               Series(N_("Uploaded"), [(clock.day_start(d.day), d.bytes_up) for d in days])]),
        Chart("usage-concurrent-hourly", N_("Concurrent clients by hour of day"), "line",
              "count", [
                  Series(N_("Average"), [(clock.hour_point(h), concurrency.hour_average(None, h))
                                         for h in range(24)]),
                  Series(N_("Peak"), [(clock.hour_point(h), concurrency.hour_peak(None, h))
                                      for h in range(24)])]),
    ]
    return section


# ---- scope: which gateways and AP identities a filter means ------------------------------------

class _Scope:
    def __init__(self, site_of: dict[str, str], gateways: list[str] | None,
                 aps: list[str] | None, sites: list[str] | None):
        self.site_of = site_of          # gateway id -> site slug ('' when none)
        self.gateways = gateways        # None: every gateway
        self.aps = aps                  # None: any AP
        self.sites = sites              # None: every site

    @classmethod
    def of(cls, store: Store, filters: Filters) -> _Scope:
        site_of = portal_usage.gateway_sites(store)
        gateways = sites = aps = None
        if filters.ap is not None:
            # The gateway signs the AP as the AP's DHCP option 82 names it: its name or MAC.
            ap = inventory.get_ap(store, filters.ap)
            aps = [v for v in (ap.get("name"), ap.get("mac")) if v]
        if filters.site:
            gateways = sorted(g for g, s in site_of.items() if s == filters.site)
            sites = [filters.site]
        return cls(site_of, gateways, aps, sites)


# ---- local time: Asia/Riyadh has no DST, so the period's offset is one number ------------------

class _LocalClock:
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

class _Level:
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

    def roll(self, hour: int) -> None:
        """Move to ``hour``: every hour begun on the way saw at least the current count."""
        if hour <= self.hour:
            return
        if self.count:
            for h in range(self.hour + 1, min(hour, self.hour + 24) + 1):
                self.hour_peak[h % 24] = max(self.hour_peak[h % 24], self.count)
        self.hour = hour

    def advance(self, ts: float, clock: _LocalClock) -> None:
        ends = self.ends
        while ends and ends[0] <= ts:
            self.roll(clock.hour_before(ends[0]))  # the hour it ends in saw it
            heapq.heappop(ends)
            self.count -= 1
        self.roll(clock.hour(ts))

    def start(self, ts: float, until: float, clock: _LocalClock) -> None:
        self.advance(ts, clock)
        self.count += 1
        heapq.heappush(self.ends, until)
        hod = self.hour % 24
        self.hour_peak[hod] = max(self.hour_peak[hod], self.count)
        if self.count > self.peak:
            self.peak, self.peak_at = self.count, ts


class _Concurrency:
    def __init__(self, start: float, end: float, clock: _LocalClock):
        self.clock = clock
        self.start, self.end = start, end
        self.total = _Level(clock.hour(start))
        self.sites: dict[str, _Level] = {}
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
              clock: _LocalClock, site_of: dict[str, str]) -> _Concurrency:
        self = cls(start, end, clock)
        first_hour = clock.hour(start)
        for online_at, until, gateway_id in spans:
            lo, hi = max(online_at, start), min(until, end)
            if hi <= lo:
                continue
            site = site_of.get(gateway_id, "")
            level = self.sites.get(site)
            if level is None:
                level = self.sites[site] = _Level(first_hour)
            for each in (self.total, level):
                each.start(lo, hi, clock)
            self._spread(lo, hi, level)
        for each in (self.total, *self.sites.values()):
            each.advance(end - 1e-6, clock)
        return self

    def _spread(self, lo: float, hi: float, level: _Level) -> None:
        """Add the session's online seconds to the hours of day they fall in."""
        offset = self.clock.offset
        while lo < hi:
            boundary = (math.floor((lo + offset) / 3600.0) + 1) * 3600.0 - offset
            piece = min(hi, boundary) - lo
            hod = math.floor((lo + offset) / 3600.0) % 24
            self.total.client_seconds[hod] += piece
            level.client_seconds[hod] += piece
            lo += piece

    def level(self, site: str | None) -> _Level | None:
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


# ---- tables -----------------------------------------------------------------------------------

def _days_table(days: list[portal_usage.DayUsage], clock: _LocalClock) -> Table:
    return Table("usage-days", N_("Visitors and data per day"), [
        Column("day", N_("Day")),
        Column("visitors", N_("Unique visitors"), "count"),
        Column("sessions", N_("Sessions"), "count"),
        Column("bytes_down", N_("Downloaded"), "bytes"),
        Column("bytes_up", N_("Uploaded"), "bytes"),
    ], [{"day": show(clock.day_start(d.day), clock.period.tz, "%Y-%m-%d"),
         "visitors": d.visitors, "sessions": d.sessions, "bytes_down": d.bytes_down,
         "bytes_up": d.bytes_up} for d in days])


def _sites_table(store: Store, scope: _Scope, period: Period, concurrency: _Concurrency) -> Table:
    per_site: dict[str, list[int]] = {}
    for gateway_id, n, visitors, down, up in portal_usage.gateway_usage(
            store, period.start, period.end, gateways=scope.gateways, aps=scope.aps):
        row = per_site.setdefault(scope.site_of.get(gateway_id, ""), [0, 0, 0, 0])
        for i, value in enumerate((n, visitors, down, up)):
            row[i] += value
    rows = []
    for site in sorted(set(per_site) | set(concurrency.sites)):
        n, visitors, down, up = per_site.get(site, [0, 0, 0, 0])
        level = concurrency.sites.get(site)
        rows.append({"site": site, "sessions": n, "visitors": visitors, "bytes_down": down,
                     "bytes_up": up, "concurrent_peak": level.peak if level else 0,
                     "concurrent_average": _round(concurrency.average(site))})
    return Table("usage-sites", N_("Usage by site"), [
        Column("site", N_("Site")),
        Column("sessions", N_("Sessions"), "count"),
        Column("visitors", N_("Unique visitors"), "count"),
        Column("bytes_down", N_("Downloaded"), "bytes"),
        Column("bytes_up", N_("Uploaded"), "bytes"),
        Column("concurrent_peak", N_("Peak concurrent clients"), "count"),
        Column("concurrent_average", N_("Average concurrent clients"), "count"),
    ], rows)


def _hours_table(concurrency: _Concurrency) -> Table:
    rows = []
    for site in sorted(concurrency.sites):
        for hod in range(24):
            if not concurrency.exposure[hod]:
                continue
            rows.append({"site": site, "hour": f"{hod:02d}:00",
                         "average": _round(concurrency.hour_average(site, hod)),
                         "peak": concurrency.hour_peak(site, hod)})
    return Table("usage-concurrent-hours", N_("Concurrent clients by site and hour of day"), [
        Column("site", N_("Site")),
        Column("hour", N_("Hour")),
        Column("average", N_("Average concurrent clients"), "count"),
        Column("peak", N_("Peak concurrent clients"), "count"),
    ], rows)


def _funnel_totals(counters) -> dict[str, int]:
    totals: dict[str, int] = {}
    for _hour, _site, kind, item, n in counters:
        if kind == "funnel":
            totals[item] = totals.get(item, 0) + n
    return totals


def _failure_totals(counters) -> dict[str, int]:
    totals: dict[str, int] = {}
    for _hour, _site, kind, item, n in counters:
        if kind == "failure":
            totals[item] = totals.get(item, 0) + n
    return totals


def _funnel_table(counters) -> Table:
    per_site: dict[str, dict[str, int]] = {}
    for _hour, site, kind, item, n in counters:
        if kind == "funnel":
            steps = per_site.setdefault(site, {})
            steps[item] = steps.get(item, 0) + n
    rows = []
    for site, steps in sorted(per_site.items()):
        row: dict = {"site": site}
        row.update({step: steps.get(step, 0) for step in portal_usage.FUNNEL})
        row["conversion"] = _percent(steps.get("online", 0), steps.get("redirect", 0))
        rows.append(row)
    return Table("usage-funnel", N_("Login funnel by site"), [
        Column("site", N_("Site")),
        *(Column(step, FUNNEL_LABELS[step], "count") for step in portal_usage.FUNNEL),
        Column("conversion", N_("Redirects that ended online"), "percent"),
    ], rows)


def _failures_table(failures: dict[str, int]) -> Table:
    total = sum(failures.values())
    rows = [{"cause": FAILURE_LABELS.get(code, OTHER_FAILURE), "code": code, "count": n,
             "share": _percent(n, total)}
            for code, n in sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Table("usage-failures", N_("Login failures by cause"), [
        Column("cause", N_("Cause")),
        Column("code", N_("Error code")),
        Column("count", N_("Failures"), "count"),
        Column("share", N_("Share"), "percent"),
    ], rows)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def _percent(a: float, b: float) -> float | None:
    return round(100.0 * a / b, 2) if b else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


__all__ = ["AREA", "FAILURE_LABELS", "FUNNEL_LABELS", "build"]
