"""Reporting's own roll-ups of WiFi usage, so a long period's page sums days instead of reading
every session: per local day and level (each site, and '*' the whole network) the sessions,
visitors, bytes, online client-seconds and peak concurrent clients by local hour; per local
month the distinct visitors, returning visitors and the session lengths in 10-second buckets.

`refresh` rolls up the days and months that are over (with a margin, so the last sessions of
a day have ended and sent their byte counts) and is cheap to call often: the controller's
scheduler, `oasis report` and the history generator call it. `gather` gives the facts of a
period: whole rolled-up days from the roll-ups, the rest (the period's ragged ends, the days
since the last refresh, any AP filter) from the sessions. A page is right without any refresh,
only slower.
"""

from __future__ import annotations

import datetime as dt
import json

from captive_portal import usage as portal_usage
from core.localtime import day_start, local
from core.store import Store
from reporting.model import Period
from reporting.usage_facts import (
    LENGTH_BUCKET_S,
    Concurrency,
    Facts,
    Level,
    LocalClock,
    Scope,
    collect,
    sweep,
)

DAY = 86400.0
#: A day is rolled up once it has been over this long (sessions last an hour by default).
MARGIN_S = 6 * 3600.0
ALL = "*"


# ---- writing ------------------------------------------------------------------------------------

def refresh(store: Store, tz: str, now: float, *, since: float | None = None) -> int:
    """Roll up every local day (and month) over for `MARGIN_S` and not rolled up yet; returns
    the number of days written. In another zone than the last refresh, everything is redone;
    ``since`` redoes the days from then on (sessions were written into the past)."""
    state = store.conn.execute("SELECT tz, rolled_upto FROM kpi_usage_rollup").fetchone()
    if state is not None and since is not None and state[1] > since:
        state = (state[0], _midnight_before(since, tz))
    upto = local(now - MARGIN_S, tz).date()
    if state is None or state[0] != tz:
        with store.transaction() as conn:
            conn.execute("DELETE FROM kpi_usage_days")
            conn.execute("DELETE FROM kpi_usage_months")
            conn.execute("DELETE FROM kpi_usage_count_days")
            conn.execute("DELETE FROM kpi_usage_rollup")
        first = portal_usage.first_online_at(store)
        if first is None:
            return 0
        day = local(first, tz).date()
    else:
        day = local(state[1], tz).date()
    written = 0
    while day < upto:
        _roll_day(store, tz, day, now)
        written += 1
        day += dt.timedelta(days=1)
        if day.day == 1:
            _roll_month(store, tz, (day - dt.timedelta(days=1)).replace(day=1))
        with store.transaction() as conn:
            conn.execute("INSERT INTO kpi_usage_rollup (id, tz, rolled_upto) VALUES (1, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET tz = excluded.tz, "
                         "rolled_upto = excluded.rolled_upto", (tz, day_start(day, tz)))
    return written


def _roll_day(store: Store, tz: str, day: dt.date, now: float) -> None:
    start, end = day_start(day, tz), day_start(day + dt.timedelta(days=1), tz)
    clock = LocalClock(Period(start, end, tz, day.isoformat()))
    site_of = portal_usage.gateway_sites(store)
    concurrency = sweep(store, Scope(site_of, None, None, None), start, end, now, clock,
                        Concurrency(start, end, clock))
    # Sites add up their gateways (a visitor at two gateways of one site counts at each).
    sums: dict[str, list[int]] = {}
    for gateway_id, n, visitors, down, up in portal_usage.gateway_usage(store, start, end):
        row = sums.setdefault(site_of.get(gateway_id, ""), [0, 0, 0, 0])
        for i, value in enumerate((n, visitors, down, up)):
            row[i] += value
    for whole in portal_usage.daily_usage(store, start, end, clock.offset):
        sums[ALL] = [whole.sessions, whole.visitors, whole.bytes_down, whole.bytes_up]
    rows = []
    for level in sorted(set(sums) | set(concurrency.sites) | {ALL}):
        n, visitors, down, up = sums.get(level, [0, 0, 0, 0])
        held = (concurrency.total if level == ALL else concurrency.sites.get(level)) or Level(0)
        if not n and not held.peak:
            continue
        rows.append((level, day.isoformat(), start, n, visitors, down, up,
                     json.dumps([round(x, 3) for x in held.client_seconds]),
                     json.dumps(held.hour_peak), held.peak, held.peak_at))
    counted = [(start, site, kind, item, n)
               for site, kind, item, n in portal_usage.counts(store, start, end)]
    with store.transaction() as conn:
        conn.execute("DELETE FROM kpi_usage_count_days WHERE day_start = ?", (start,))
        conn.executemany("INSERT INTO kpi_usage_count_days (day_start, site, kind, item, count) "
                         "VALUES (?, ?, ?, ?, ?)", counted)
        conn.execute("DELETE FROM kpi_usage_days WHERE day_start = ?", (start,))
        conn.executemany("INSERT INTO kpi_usage_days (level, day, day_start, sessions, visitors, "
                         "bytes_down, bytes_up, client_seconds, hour_peaks, peak, peak_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _roll_month(store: Store, tz: str, first: dt.date) -> None:
    start = day_start(first, tz)
    end = day_start((first + dt.timedelta(days=32)).replace(day=1), tz)
    offset = local(start, tz).utcoffset()
    seconds = offset.total_seconds() if offset else 0.0
    site_of = portal_usage.gateway_sites(store)
    levels: dict[str, list] = {}   # level -> [visitors, returning, lengths]
    for gateway_id, visitors, returning in portal_usage.gateway_visitors(store, start, end,
                                                                         seconds):
        held = levels.setdefault(site_of.get(gateway_id, ""), [0, 0, {}])
        held[0] += visitors
        held[1] += returning
    whole = portal_usage.returning_visitors(store, start, end, seconds)
    levels[ALL] = [whole[0], whole[1], portal_usage.length_histogram(store, start, end,
                                                                     LENGTH_BUCKET_S)]
    for gateway_id, lengths in portal_usage.gateway_length_histograms(
            store, start, end, LENGTH_BUCKET_S).items():
        held = levels.setdefault(site_of.get(gateway_id, ""), [0, 0, {}])
        for bucket, n in lengths.items():
            held[2][bucket] = held[2].get(bucket, 0) + n
    rows = [(level, start, end, visitors, returning, json.dumps(lengths))
            for level, (visitors, returning, lengths) in sorted(levels.items())]
    with store.transaction() as conn:
        conn.execute("DELETE FROM kpi_usage_months WHERE month_start = ?", (start,))
        conn.executemany("INSERT INTO kpi_usage_months (level, month_start, month_end, visitors, "
                         "returners, lengths) VALUES (?, ?, ?, ?, ?, ?)", rows)


# ---- reading ------------------------------------------------------------------------------------

def gather(store: Store, scope: Scope, period: Period, clock: LocalClock, now: float,
           concurrency: Concurrency) -> Facts:
    """The facts of ``period`` (adding its concurrent clients to ``concurrency``)."""
    end = min(period.end, max(now, period.start))
    state = store.conn.execute("SELECT tz, rolled_upto FROM kpi_usage_rollup").fetchone()
    days = [d for d in period.days() if day_start(d, period.tz) >= period.start]
    lo = day_start(days[0], period.tz) if days else period.end
    hi = lo
    if state is not None and state[0] == period.tz and scope.aps is None:
        hi = max(lo, min(state[1], _midnight_before(period.end, period.tz)))
    if hi - lo < 2 * DAY:
        facts = collect(store, scope, period.start, period.end, clock, exact_median=True)
        sweep(store, scope, period.start, end, now, clock, concurrency)
        facts.counters = portal_usage.counts(store, period.start, period.end, sites=scope.sites)
        return facts
    facts = Facts(lengths={})
    for edge_lo, edge_hi in ((period.start, lo), (hi, period.end)):
        if edge_hi > edge_lo:
            facts.add(collect(store, scope, edge_lo, edge_hi, clock, exact_median=False,
                              visitors=False))
            if min(edge_hi, end) > edge_lo:
                sweep(store, scope, edge_lo, min(edge_hi, end), now, clock, concurrency)
    _add_days(store, scope, lo, hi, facts, concurrency)
    facts.counters = _counters(store, scope, period, lo, hi)
    _add_visitors(store, scope, period, lo, hi, clock, facts)
    facts.days.sort(key=lambda d: d.day)
    return facts


def _counters(store: Store, scope: Scope, period: Period, lo: float, hi: float
              ) -> list[tuple[str, str, str, int]]:
    """The funnel and failure counters: rolled-up days in [lo, hi), the portal's hours around."""
    sql = ("SELECT site, kind, item, sum(count) FROM kpi_usage_count_days "
           "WHERE day_start >= ? AND day_start < ?")
    args: list = [lo, hi]
    if scope.sites is not None:
        sql += f" AND site IN ({', '.join('?' * len(scope.sites))})"
        args += scope.sites
    rows = list(store.conn.execute(sql + " GROUP BY site, kind, item", args))
    for edge_lo, edge_hi in ((period.start, lo), (hi, period.end)):
        if edge_hi > edge_lo:
            rows += portal_usage.counts(store, edge_lo, edge_hi, sites=scope.sites)
    return rows


def _midnight_before(ts: float, tz: str) -> float:
    """The last local midnight at or before ``ts``."""
    return day_start(local(ts, tz).date(), tz)


def _add_days(store: Store, scope: Scope, lo: float, hi: float, facts: Facts,
              concurrency: Concurrency) -> None:
    total = scope.sites[0] if scope.sites else ALL
    rows = store.conn.execute(
        "SELECT level, day_start, sessions, visitors, bytes_down, bytes_up, client_seconds, "
        "hour_peaks, peak, peak_at FROM kpi_usage_days WHERE day_start >= ? AND day_start < ? "
        "ORDER BY day_start", (lo, hi))
    for level, start, n, visitors, down, up, seconds, peaks, peak, peak_at in rows:
        held = Level(0)
        held.client_seconds = json.loads(seconds)
        held.hour_peak = json.loads(peaks)
        held.peak, held.peak_at = peak, peak_at
        if level == total:
            if n:  # as from the sessions: days without any are not listed
                facts.days.append(portal_usage.DayUsage(
                    concurrency.clock.hour(start) // 24, n, visitors, down, up))
            concurrency.total.merge(held)
        if level != ALL and (scope.sites is None or level in scope.sites):
            row = facts.sites.setdefault(level, [0, 0, 0, 0])
            row[0] += n
            row[2] += down
            row[3] += up
            concurrency.sites.setdefault(level, Level(0)).merge(held)


def _add_visitors(store: Store, scope: Scope, period: Period, lo: float, hi: float,
                  clock: LocalClock, facts: Facts) -> None:
    """Visitors, returning visitors and session lengths: whole months rolled up within
    [lo, hi), the rest of the period from the sessions (visitor ids never span two months,
    so the parts add up)."""
    total = scope.sites[0] if scope.sites else ALL
    months = list(store.conn.execute(
        "SELECT level, month_start, month_end, visitors, returners, lengths "
        "FROM kpi_usage_months WHERE month_start >= ? AND month_end <= ? ORDER BY month_start",
        (lo, hi)))
    covered = sorted({(start, end) for _l, start, end, *_ in months})
    assert facts.lengths is not None
    for level, _start, _end, visitors, returning, lengths in months:
        if level == total:
            facts.visitors += visitors
            facts.returning += returning
            for bucket, n in json.loads(lengths).items():
                facts.lengths[int(bucket)] = facts.lengths.get(int(bucket), 0) + n
        if level != ALL and (scope.sites is None or level in scope.sites):
            facts.sites.setdefault(level, [0, 0, 0, 0])[1] += visitors
    gaps, at = [], period.start
    for start, end in covered:
        if start > at:
            gaps.append((at, start))
        at = max(at, end)
    if period.end > at:
        gaps.append((at, period.end))
    narrow = {"gateways": scope.gateways, "aps": scope.aps}
    for gap_lo, gap_hi in gaps:
        visitors, returning = portal_usage.returning_visitors(store, gap_lo, gap_hi,
                                                              clock.offset, **narrow)
        facts.visitors += visitors
        facts.returning += returning
        for bucket, n in portal_usage.length_histogram(store, gap_lo, gap_hi, LENGTH_BUCKET_S,
                                                       **narrow).items():
            facts.lengths[bucket] = facts.lengths.get(bucket, 0) + n
        for gateway_id, _n, seen, _down, _up in portal_usage.gateway_usage(store, gap_lo, gap_hi,
                                                                           **narrow):
            facts.sites.setdefault(scope.site_of.get(gateway_id, ""), [0, 0, 0, 0])[1] += seen


__all__ = ["MARGIN_S", "gather", "refresh"]
