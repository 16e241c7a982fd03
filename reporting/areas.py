"""The KPI areas reporting knows, in the order every output shows them, and the overview.

Each area is a builder (`reporting.model.Builder`) with a title; the pages, the API, the exports,
the PDF, the schedules and the Prometheus gauges all walk this one registry, so a new area is a
module and a line here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from captive_portal.reports.catalogue import list_categories
from core.config import Config
from core.inventory import list_aps, list_sites
from core.store import Store
from reporting import availability, backhaul, service, usage
from reporting.i18n import N_
from reporting.model import Builder, Filters, Period, PeriodError, Section

#: How many figures of an area the overview shows when the area names none.
HEADLINE_COUNT = 4


@dataclass(frozen=True)
class Area:
    name: str
    title: str                 # msgid
    build: Builder
    #: Figure keys the overview shows, in order (empty: the area's first `HEADLINE_COUNT`).
    headline: tuple[str, ...] = ()
    #: Which filters apply (the pages offer only these).
    filters: tuple[str, ...] = field(default=("site",))

    def headline_figures(self, section: Section):
        if not self.headline:
            return section.figures[:HEADLINE_COUNT]
        keys = set(self.headline)
        return [f for f in section.figures if f.key in keys]


#: Every area, in display order.
AREAS = (
    Area("availability", N_("AP availability"), availability.build,
         ("availability.fleet_percent", "availability.outages", "availability.mttr",
          "availability.aps_below_target"), ("site", "ap")),
    Area("usage", N_("WiFi usage"), usage.build,
         ("usage.visitors", "usage.sessions", "usage.median_session", "usage.concurrent_peak"),
         ("site", "ap")),
    Area("backhaul", N_("Backhaul"), backhaul.build,
         ("backhaul.availability", "backhaul.failovers", "backhaul.backup_time",
          "backhaul.rtt_p95"), ("branch", "link")),
    Area("service", N_("940 service"), service.build,
         ("service.received", "service.sla_percent", "service.close_median_days",
          "service.backlog"), ("site", "category")),
)


def registry() -> tuple[Area, ...]:
    return AREAS


def area(name: str, areas: Sequence[Area] | None = None) -> Area:
    for candidate in areas if areas is not None else registry():
        if candidate.name == name:
            return candidate
    raise PeriodError("area.unknown", f"area: no KPI area {name!r}", "area")


def overview(store: Store, config: Config, period: Period, filters: Filters,
             areas: Sequence[Area] | None = None) -> Section:
    """The headline figures of every area (each keeps its area in its key) and each area's
    first chart."""
    section = Section("overview", N_("KPI overview"), period, filters)
    for item in areas if areas is not None else registry():
        built = item.build(store, config, period, filters)
        prefix = f"{item.name}."
        section.figures.extend(figure if figure.key.startswith(prefix)
                               else replace(figure, key=prefix + figure.key)
                               for figure in item.headline_figures(built))
        section.charts.extend(built.charts[:1])
    return section


def build_all(store: Store, config: Config, period: Period, filters: Filters,
              areas: Sequence[Area] | None = None) -> list[Section]:
    """Every area's section (the PDF and the workbook of a whole period)."""
    return [item.build(store, config, period, filters)
            for item in (areas if areas is not None else registry())]


@dataclass
class Choices:
    """What the filter controls offer: (value, Arabic name, English name)."""
    sites: list[tuple[str, str, str]]
    aps: list[tuple[str, str, str]]
    categories: list[tuple[str, str, str]]
    branches: list[tuple[str, str, str]]
    links: list[tuple[str, str, str]]


def choices(store: Store) -> Choices:
    sites = [(s["slug"], s.get("name_ar") or s["slug"], s.get("name_en") or s["slug"])
             for s in list_sites(store)]
    aps = [(str(a["id"]), a["name"], a["name"]) for a in list_aps(store)]
    categories = [(c.code, c.name_ar, c.name_en) for c in list_categories(store)]
    reported = backhaul.links(store)  # as the branch agents name them
    branches = sorted({branch for branch, _link, _priority in reported})
    names = sorted({link for _branch, link, _priority in reported})
    return Choices(sites, aps, categories, [(b, b, b) for b in branches],
                   [(n, n, n) for n in names])


def filters_from(values: dict[str, str | None]) -> Filters:
    """Filters from query-string values (empty means everything); a bad AP id is refused."""
    ap = (values.get("ap") or "").strip()
    if ap and not ap.isdigit():
        raise PeriodError("filter.ap", "ap: an AP id (digits)", "ap")
    return Filters(site=(values.get("site") or "").strip() or None,
                   ap=int(ap) if ap else None,
                   category=(values.get("category") or "").strip() or None,
                   branch=(values.get("branch") or "").strip() or None,
                   link=(values.get("link") or "").strip() or None)


def period_from(values: dict[str, str | None], tz: str, *, now: float) -> Period:
    """The period of the page controls: ``p`` (1d/7d/30d/365d/month/week/custom) with ``month``,
    ``week`` or ``from``/``to``; or ``period`` as `Period.parse` reads it."""
    choice = (values.get("p") or "").strip()
    if choice == "month" and values.get("month"):
        text = f"month:{values['month']}"
    elif choice == "week" and values.get("week"):
        text = f"week:{values['week']}"
    elif choice == "custom" and values.get("from") and values.get("to"):
        text = f"{values['from']}..{values['to']}"
    elif choice in ("1d", "7d", "30d", "365d"):
        text = choice
    else:
        text = (values.get("period") or "30d").strip()
    return Period.parse(text, tz, now=now)
