"""KPI gauges on /metrics: the same values as the areas give for the last 30 days, kept in the
store and recomputed only when older than `reporting.gauges.MAX_AGE_S`."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from core.config import MunicipalityConfig
from reporting import availability, gauges, service
from reporting.history import availability as availability_history
from reporting.history import service as service_history
from reporting.model import Filters, Period
from tests.controller.web_harness import build_app

DAY = 86400.0


def samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_kpi_gauges_on_metrics(config, secrets, store):
    now = time.time()
    availability_history.seed(store, start=now - 31 * DAY, end=now, aps=8)
    service_history.replay(store, config, now - 31 * DAY, now, reports=300)
    scraped = samples(build_app(config, secrets).test_client().get("/metrics")
                      .get_data(as_text=True))
    computed_at = store.conn.execute("SELECT max(computed_at) FROM kpi_gauges").fetchone()[0]
    period = Period.parse("30d", config.section(MunicipalityConfig).timezone, now=computed_at)
    aps = availability.build(store, config, period, Filters())
    fleet = aps.figure("availability.fleet_percent").value
    assert 0 < fleet <= 100
    assert scraped[("oasis_kpi_fleet_availability_30d_percent", ())] == fleet
    sites = {r["site"] or "": r["availability"] for r in aps.table("availability-sites").rows}
    assert {dict(k[1])["site"]: v for k, v in scraped.items()
            if k[0] == "oasis_kpi_site_availability_30d_percent"} == sites
    reports = service.build(store, config, period, Filters())
    assert scraped[("oasis_kpi_940_sla_30d_percent", ())] == \
        reports.figure("service.sla_percent").value
    backlog = {k[1][0][1]: v for k, v in scraped.items() if k[0] == "oasis_kpi_940_backlog"}
    assert set(backlog) == {"0-3", "4-7", "8-30", "31+"}
    assert sum(backlog.values()) == reports.figure("service.backlog").value

    # kept: a second scrape within MAX_AGE_S reads the same rows, computes nothing
    again = gauges.current(store, config, at=computed_at + 60)
    assert store.conn.execute("SELECT max(computed_at) FROM kpi_gauges").fetchone()[0] \
        == computed_at
    assert {(g.name, tuple(g.labels.items())): g.value for g in again} == {
        k: v for k, v in scraped.items() if k[0].startswith("oasis_kpi_")}
    later = computed_at + gauges.MAX_AGE_S + 1
    gauges.current(store, config, at=later)
    assert store.conn.execute("SELECT max(computed_at) FROM kpi_gauges").fetchone()[0] == later
