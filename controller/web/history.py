"""The history charts of an AP, a site and the whole network, as the pages draw them.

One place decides the range (the one asked for, else the shortest offered range that holds
every kept sample, up to a day: a fresh install's few minutes fill the chart instead of a
sliver at the end of an empty day), reads the series, marks outages and restarts, and names
everything in the reader's language and the municipality's time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from controller.monitoring import events, metrics
from controller.web import charts
from core import localtime

#: Chart ranges offered, in hours.
CHART_HOURS = (1, 6, 24, 168, 720)
DEFAULT_HOURS = 24


def pick_hours(asked: int | None, has_before: Callable[[float], bool], now: float) -> int:
    """``asked`` when it is offered; else the shortest range holding every kept sample
    (``has_before(t)``: is any older than t?), at most a day (an empty history: a day)."""
    if asked in CHART_HOURS:
        return asked
    if not has_before(now):
        return DEFAULT_HOURS                       # nothing measured yet
    return next((h for h in CHART_HOURS if h < DEFAULT_HOURS
                 and not has_before(now - h * 3600)), DEFAULT_HOURS)


def _time(unix: float, tz: str) -> str:
    return localtime.local(unix, tz).strftime("%m-%d %H:%M")


def draw(store, ap_ids: list[int], asked: int | None, tz: str, *, single: bool) -> dict:
    """The clients and traffic charts of one AP (``single``) or a group (a site, every AP).

    Returns the charts, the hours shown and the resolution read."""
    until = time.time()
    hours = pick_hours(asked, lambda cutoff: metrics.has_samples_before(store, ap_ids, cutoff),
                       until)
    since = until - hours * 3600
    if single and ap_ids:
        series = metrics.series(store, ap_ids[0], since, until)
    else:
        series = metrics.group_series(store, ap_ids, since, until)
    points = [dataclasses.asdict(p) for p in series.points]
    step = 3600.0 if series.resolution == "hourly" else None
    down_label = _("Down from %(start)s to %(end)s") if single else \
        _("Most access points down from %(start)s to %(end)s")
    marks = charts.outages(points, lambda a, b: down_label % {"start": _time(a, tz),
                                                              "end": _time(b, tz)}, step)
    restarted = events.restarts(store, ap_ids, since, until)
    if len(restarted) <= 50:        # past that the lines would hide the data
        marks += [charts.Mark("reboot", at, _("Restarted at %(when)s", when=_time(at, tz)))
                  for _ap, at in restarted]
    empty = _("no data yet")
    client_chart = charts.line_chart(
        points, [charts.Line("clients", _("clients"), "#0969da")], since=since, until=until,
        title=_("Associated clients"), unit=_("clients"), tz=tz, empty=empty, marks=marks)
    traffic_chart = charts.line_chart(
        points, [charts.Line("in_bps", _("download"), "#1a7f37", 1e-6),
                 charts.Line("out_bps", _("upload"), "#bc4c00", 1e-6)],
        since=since, until=until, title=_("Traffic"), unit="Mbit/s", fmt="{:.3g}".format, tz=tz,
        empty=empty, marks=marks)
    return {"client_chart": Markup(client_chart), "traffic_chart": Markup(traffic_chart),
            "hours": hours, "chart_hours": CHART_HOURS, "resolution": series.resolution,
            "resolution_name": _("hourly") if series.resolution == "hourly" else _("raw")}


#: What an interface is to the AP (`controller.monitoring.snapshot.interface_role`).
ROLE_NAMES = {"uplink": _l("uplink"), "radio": _l("radio"), "loopback": _l("loopback"),
              "other": _l("other")}


def interface_role_name(role: str) -> str:
    found = ROLE_NAMES.get(role)
    return str(found) if found is not None else role


def link_status(up: bool | None) -> Markup:
    """ifAdminStatus / ifOperStatus as a word, down in red; a dash when not read."""
    if up is None:
        return Markup("—")
    if up:
        return Markup('<span class="link-up">{}</span>').format(_("up"))
    return Markup('<span class="badge state-down">{}</span>').format(_("down"))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(interface_role_name=interface_role_name,
                                 link_status=link_status)


__all__ = ["CHART_HOURS", "DEFAULT_HOURS", "ROLE_NAMES", "draw", "init_app",
           "interface_role_name", "link_status", "pick_hours"]
