"""Hand-built KPI sections for the output tests (pages, API, exports, PDF, schedules): values
chosen so every rendering can be checked by eye and by assertion, independent of how the areas
compute them. ``fake_areas`` stands in for the registry in tests that patch it."""

from __future__ import annotations

from reporting.areas import Area
from reporting.model import (
    Chart,
    Column,
    Figure,
    Filters,
    Period,
    Section,
    Series,
    Table,
    Target,
)

RIYADH = "Asia/Riyadh"
#: Every builder call, (area, period name, filters), so tests can see what was asked.
CALLS: list[tuple[str, str, Filters]] = []


def availability(store, config, period: Period, filters: Filters) -> Section:
    CALLS.append(("availability", period.name, filters))
    day = 86400.0
    points = [(period.start + n * day, 99.5 - (n % 3)) for n in range(int(period.seconds // day))]
    rows = [{"ap": f"ap-{n:03d}", "site": "حديقة الملك فهد" if n % 2 else "Corniche",
             "percent": 100.0 - n * 0.5, "outages": n, "longest_s": n * 600.0}
            for n in range(1, 6)]
    if filters.site == "corniche":
        rows = [r for r in rows if r["site"] == "Corniche"]
    return Section(
        "availability", "AP availability", period, filters,
        figures=[Figure("availability.fleet_percent", "Fleet availability", 98.2, "percent",
                        Target(99.0, 97.0)),
                 Figure("availability.outages", "Outages", 12, "count"),
                 Figure("availability.mttr_s", "Mean time to repair", 3720.0, "seconds",
                        Target(1800.0, 3600.0, higher_is_better=False)),
                 Figure("availability.parent_down_s", "Parent down", None, "seconds")],
        tables=[Table("availability-aps", "Availability per AP",
                      [Column("ap", "Access point"), Column("site", "Site"),
                       Column("percent", "Availability", "percent"),
                       Column("outages", "Outages", "count"),
                       Column("longest_s", "Longest outage", "seconds")], rows)],
        charts=[Chart("availability-daily", "Fleet availability per day", "line", "percent",
                      [Series("Fleet", points)])])


def service(store, config, period: Period, filters: Filters) -> Section:
    CALLS.append(("service", period.name, filters))
    day = 86400.0
    return Section(
        "service", "940 service", period, filters,
        figures=[Figure("service.received", "Reports received", 340, "count"),
                 Figure("service.sla_percent", "Closed within SLA", 91.0, "percent",
                        Target(95.0, 90.0))],
        tables=[Table("service-backlog", "Backlog by age",
                      [Column("age", "Age"), Column("count", "Reports", "count")],
                      [{"age": "0-3", "count": 10}, {"age": "4-7", "count": 4},
                       {"age": "=cmd|' /C calc'!A0", "count": 1}])],
        charts=[Chart("service-received", "Reports received per day", "bar", "count",
                      [Series("Portal", [(period.start + n * day, float(n % 5))
                                         for n in range(7)]),
                       Series("Open311", [(period.start + n * day, 1.0) for n in range(7)])])])


def fake_areas() -> tuple[Area, ...]:
    return (Area("availability", "AP availability", availability, filters=("site", "ap")),
            Area("service", "940 service", service, filters=("site", "category")))


def sections(period: Period) -> list[Section]:
    return [area.build(None, None, period, Filters()) for area in fake_areas()]
