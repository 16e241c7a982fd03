"""KPI gauges for Prometheus: fleet and site availability, backhaul availability, the 940 SLA
share (all over the last 30 days) and the 940 backlog by age.

They are computed from the areas' builders (which read roll-ups and raw facts) at most every
`MAX_AGE_S` seconds and kept in the store (``kpi_gauges``): a scrape every 15 s then costs one
small read, and every worker and node of the admin app answers with the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.config import Config, MunicipalityConfig
from core.store import Store, now
from reporting import availability, backhaul, service
from reporting.model import Filters, Period, Section

#: How old the kept values may be before a scrape recomputes them.
MAX_AGE_S = 300.0


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    labels: dict[str, str]
    value: float


def _figure(section: Section, key: str) -> float | None:
    try:
        return section.figure(key).value
    except StopIteration:
        return None


def compute(store: Store, config: Config, at: float) -> list[Gauge]:
    period = Period.parse("30d", config.section(MunicipalityConfig).timezone, now=at)
    everything = Filters()
    gauges: list[Gauge] = []
    aps = availability.build(store, config, period, everything)
    fleet = _figure(aps, "availability.fleet_percent")
    if fleet is not None:
        gauges.append(Gauge("oasis_kpi_fleet_availability_30d_percent",
                            "Share of scheduled time the APs answered, last 30 days "
                            "(planned maintenance excluded)", {}, fleet))
    for row in aps.table("availability-sites").rows:
        if row.get("availability") is not None:
            gauges.append(Gauge("oasis_kpi_site_availability_30d_percent",
                                "Share of scheduled time a site's APs answered, last 30 days",
                                {"site": str(row.get("site") or "")}, row["availability"]))
    links = backhaul.build(store, config, period, everything)
    value = _figure(links, "backhaul.availability")
    if value is not None:
        gauges.append(Gauge("oasis_kpi_backhaul_availability_30d_percent",
                            "Share of monitored time the branches had a link up, last 30 days",
                            {}, value))
    reports = service.build(store, config, period, everything)
    value = _figure(reports, "service.sla_percent")
    if value is not None:
        gauges.append(Gauge("oasis_kpi_940_sla_30d_percent", "Share of 940 reports closed in "
                            "the last 30 days within their category's SLA", {}, value))
    labels = {label: key for key, label, _lo, _hi in service.AGE_BUCKETS}
    for row in reports.table("service-backlog-age").rows:
        gauges.append(Gauge("oasis_kpi_940_backlog", "Open 940 reports by age in days",
                            {"age": labels.get(row["bucket"], str(row["bucket"]))},
                            float(row["reports"])))
    return gauges


def current(store: Store, config: Config, *, at: float | None = None,
            max_age_s: float = MAX_AGE_S) -> list[Gauge]:
    """The kept gauges, recomputed first when older than ``max_age_s``."""
    at = now() if at is None else at
    newest = store.conn.execute("SELECT max(computed_at) FROM kpi_gauges").fetchone()[0]
    if newest is None or newest < at - max_age_s:
        gauges = compute(store, config, at)
        with store.transaction() as conn:
            conn.execute("DELETE FROM kpi_gauges")
            conn.executemany(
                "INSERT OR REPLACE INTO kpi_gauges (name, labels, help, value, computed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(g.name, json.dumps(g.labels, sort_keys=True), g.help, g.value, at)
                 for g in gauges])
            if not gauges:  # remember that there was nothing, not to recompute each scrape
                conn.execute("INSERT INTO kpi_gauges VALUES ('', '{}', '', 0, ?)", (at,))
        return gauges
    return [Gauge(name, help_, json.loads(labels), value) for name, labels, help_, value in
            store.conn.execute("SELECT name, labels, help, value FROM kpi_gauges "
                               "WHERE name != '' ORDER BY name, labels")]
