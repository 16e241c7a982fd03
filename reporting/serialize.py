"""Sections as JSON (the REST API, ``oasis report build --format json``): raw values, ISO times,
labels translated into the asked language beside their stable keys."""

from __future__ import annotations

from typing import Any

from core.store import iso
from reporting.format import Gettext
from reporting.model import Chart, Figure, Filters, Period, Section, Table


def period_json(period: Period) -> dict[str, Any]:
    return {"name": period.name, "start": iso(period.start), "end": iso(period.end),
            "timezone": period.tz}


def filters_json(filters: Filters) -> dict[str, Any]:
    return {"site": filters.site, "ap": filters.ap, "category": filters.category,
            "branch": filters.branch}


def figure_json(figure: Figure, _: Gettext) -> dict[str, Any]:
    target = figure.target
    return {"key": figure.key, "label": _(figure.label), "value": figure.value,
            "unit": figure.unit, "status": figure.status,
            "target": None if target is None else {
                "green": target.green, "amber": target.amber,
                "higher_is_better": target.higher_is_better}}


def table_json(table: Table, _: Gettext) -> dict[str, Any]:
    return {"key": table.key, "title": _(table.title),
            "columns": [{"key": c.key, "label": _(c.label), "unit": c.unit}
                        for c in table.columns],
            "rows": [{c.key: row.get(c.key) for c in table.columns} for row in table.rows]}


def chart_json(chart: Chart, _: Gettext) -> dict[str, Any]:
    return {"key": chart.key, "title": _(chart.title), "kind": chart.kind, "unit": chart.unit,
            "series": [{"label": _(s.label),
                        "points": [[iso(t), v] for t, v in s.points]} for s in chart.series]}


def section_json(section: Section, _: Gettext, *, tables: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "area": section.area, "title": _(section.title), "period": period_json(section.period),
        "filters": filters_json(section.filters),
        "figures": [figure_json(f, _) for f in section.figures]}
    if tables:
        body["tables"] = [table_json(t, _) for t in section.tables]
        body["charts"] = [chart_json(c, _) for c in section.charts]
    return body
