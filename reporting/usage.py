"""WiFi usage KPIs: visitors, sessions, data volume, concurrent clients, the login funnel and
login failures, per period, site and AP (issue 12, item 2; definitions in docs/reporting.md).

Everything is read through the portal's query functions (`captive_portal.usage`) and
reporting's own roll-ups (`reporting.usage_rollup`); nothing here writes. Days that are rolled
up are summed from the roll-ups; the rest of a period is read from the sessions by SQL over an
index holding every column the page reads (``portal_sessions_online``), and its concurrent
clients from one streamed pass over its sessions (`reporting.usage_facts`). The funnel and the
failures are the portal's hourly counters, summed by SQL.
"""

from __future__ import annotations

from captive_portal import usage as portal_usage
from core.config import Config
from core.localtime import show
from core.store import Store, now
from reporting import usage_rollup
from reporting.i18n import N_
from reporting.model import Chart, Column, Figure, Filters, Period, Section, Series, Table
from reporting.usage_facts import Concurrency, Facts, LocalClock, Scope

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
    scope = Scope.of(store, filters)
    section = Section(AREA, N_("WiFi usage"), period, filters)
    clock = LocalClock(period)
    at = now()
    concurrency = Concurrency(period.start, min(period.end, max(at, period.start)), clock)
    facts = usage_rollup.gather(store, scope, period, clock, at, concurrency)
    days = facts.days
    counters = facts.counters
    if scope.aps is not None:
        counters = []  # counted per site only: an AP filter cannot narrow them
    sessions = sum(d.sessions for d in days)
    # Days of the period so far (a month still running is averaged over its days gone by).
    day_count = len(Period(period.start, min(period.end, max(at, period.start + 1)), period.tz,
                           period.name).days())
    funnel = _totals(counters, "funnel")
    failures = _totals(counters, "failure")

    section.figures += [
        Figure("usage.visitors", N_("Unique visitors"), facts.visitors, "count",
               note=N_("Distinct devices (keyed hash of the MAC, renewed each month)")),
        Figure("usage.visitors_per_day", N_("Unique visitors per day (average)"),
               _ratio(sum(d.visitors for d in days), day_count), "count"),
        Figure("usage.returning_visitors", N_("Returning visitors"), facts.returning, "count",
               note=N_("Visitors online on two days or more of the period")),
        Figure("usage.sessions", N_("Sessions"), sessions, "count"),
        Figure("usage.median_session", N_("Median session length"), facts.median_seconds(),
               "seconds",
               note=N_("Over the sessions that went online in the period and have ended")),
        Figure("usage.bytes_down", N_("Data downloaded"), sum(d.bytes_down for d in days),
               "bytes"),
        Figure("usage.bytes_up", N_("Data uploaded"), sum(d.bytes_up for d in days), "bytes"),
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
        _sites_table(facts, concurrency),
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


# ---- tables -----------------------------------------------------------------------------------

def _days_table(days: list[portal_usage.DayUsage], clock: LocalClock) -> Table:
    return Table("usage-days", N_("Visitors and data per day"), [
        Column("day", N_("Day")),
        Column("visitors", N_("Unique visitors"), "count"),
        Column("sessions", N_("Sessions"), "count"),
        Column("bytes_down", N_("Downloaded"), "bytes"),
        Column("bytes_up", N_("Uploaded"), "bytes"),
    ], [{"day": show(clock.day_start(d.day), clock.period.tz, "%Y-%m-%d"),
         "visitors": d.visitors, "sessions": d.sessions, "bytes_down": d.bytes_down,
         "bytes_up": d.bytes_up} for d in days])


def _sites_table(facts: Facts, concurrency: Concurrency) -> Table:
    rows = []
    for site in sorted(set(facts.sites) | set(concurrency.sites)):
        n, visitors, down, up = facts.sites.get(site, [0, 0, 0, 0])
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


def _hours_table(concurrency: Concurrency) -> Table:
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


def _totals(counters, kind: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for _site, of_kind, item, n in counters:
        if of_kind == kind:
            totals[item] = totals.get(item, 0) + n
    return totals


def _funnel_table(counters) -> Table:
    per_site: dict[str, dict[str, int]] = {}
    for site, kind, item, n in counters:
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
