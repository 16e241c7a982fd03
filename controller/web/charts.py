"""Line charts drawn on the server as inline SVG.

No chart library and no script: the page stays within a CSP without 'unsafe-inline' (SVG
presentation attributes such as ``stroke`` are not styles), and it renders the same without JS.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from core import localtime

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 26


@dataclass(frozen=True)
class Line:
    key: str          # field of each point
    label: str
    colour: str       # an SVG colour
    scale: float = 1.0  # multiply values by this before drawing (e.g. 1e-6 for Mbit/s)


@dataclass(frozen=True)
class Mark:
    """Something that happened, drawn behind the lines: an outage (a span, ``until`` set) or a
    reboot (an instant). ``label`` is its hover text."""

    kind: str           # "outage" or "reboot"
    at: float
    label: str
    until: float | None = None


#: How many hover columns a chart has at most: each names the time and values under it.
HOVER_COLUMNS = 96


def outages(points: Sequence[dict], label: Callable[[float, float], str],
            step: float | None = None) -> list[Mark]:
    """Spans where the AP (or most of a group) did not answer: runs of points whose
    ``up_ratio`` is under a half, each to the next point's time (or ``step`` after)."""
    marks: list[Mark] = []
    start: float | None = None
    for index, point in enumerate(points):
        ratio = point.get("up_ratio")
        down = ratio is not None and ratio < 0.5
        if down and start is None:
            start = float(point["at"])
        if start is not None and (not down or index == len(points) - 1):
            end = float(point["at"]) if not down else float(point["at"]) + (step or 0.0)
            if end > start:
                marks.append(Mark("outage", start, label(start, end), end))
            start = None
    return marks


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above ``value`` (an axis top that reads well)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _segments(points: Sequence[dict], line: Line) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value; a missing value breaks the line."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for point in points:
        value = point.get(line.key)
        if value is None:
            if current:
                runs.append(current)
            current = []
            continue
        current.append((float(point["at"]), float(value) * line.scale))
    if current:
        runs.append(current)
    return runs


def _hhmm(unix: float, tz: str | None = None) -> str:
    zone = localtime.zone(tz) if tz else dt.timezone.utc
    return dt.datetime.fromtimestamp(unix, zone).strftime("%m-%d %H:%M")


def zone_label(tz: str | None, at: float) -> str:
    """How the time axis names its zone: "UTC", or the local zone's abbreviation ("+03")."""
    if not tz:
        return "UTC"
    return dt.datetime.fromtimestamp(at, localtime.zone(tz)).tzname() or tz


def line_chart(points: Sequence[dict], lines: Sequence[Line], *, since: float, until: float,
               title: str, unit: str, fmt: Callable[[float], str] = "{:g}".format,
               tz: str | None = None, empty: str = "no data yet",
               marks: Sequence[Mark] = ()) -> Markup:
    """An SVG chart of ``lines`` over [since, until]; says ``empty`` when nothing was measured.

    The time axis is in the zone ``tz`` (the municipality's), named under the axis; UTC when
    none is given. Outages are shaded and reboots drawn as dashed lines, each with its hover
    text; hovering anywhere over the plot names the time and values there (an SVG <title>
    per column: no script, so the page keeps its CSP)."""
    runs = {line.key: _segments(points, line) for line in lines}
    values = [y for segs in runs.values() for seg in segs for _, y in seg]
    top = nice_ceiling(max(values, default=0.0))
    span = max(until - since, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - since) / span * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - min(v, top) / top * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
             f"<title>{escape(title)} ({escape(unit)})</title>"]
    for fraction in (0, 0.5, 1):
        gy = y(top * fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
                     f'stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#57606a">{escape(fmt(top * fraction))}</text>')
    for at, anchor in ((since, "start"), (until, "end")):
        parts.append(f'<text x="{x(at):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
                     f'font-size="11" fill="#57606a">{_hhmm(at, tz)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                 f'font-size="11" fill="#57606a">{escape(unit)}, '
                 f'{escape(zone_label(tz, until))}</text>')
    for mark in marks:
        if mark.until is not None:
            x0, x1 = max(x(mark.at), LEFT), min(x(mark.until), WIDTH - RIGHT)
            if x1 > x0:
                parts.append(f'<rect class="mark-outage" x="{x0:.1f}" y="{TOP}" '
                             f'width="{max(x1 - x0, 1.5):.1f}" height="{plot_h}" fill="#cf222e" '
                             f'fill-opacity="0.15"><title>{escape(mark.label)}</title></rect>')
        elif since <= mark.at <= until:
            parts.append(f'<line class="mark-reboot" x1="{x(mark.at):.1f}" x2="{x(mark.at):.1f}" '
                         f'y1="{TOP}" y2="{TOP + plot_h}" stroke="#8250df" stroke-width="1.5" '
                         f'stroke-dasharray="4 3"><title>{escape(mark.label)}</title></line>')
    if not values:
        parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
                     f'text-anchor="middle" font-size="13" fill="#57606a">{escape(empty)}</text>')
    for line in lines:
        for seg in runs[line.key]:
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in seg)
            if len(seg) == 1:
                parts.append(f'<circle cx="{x(seg[0][0]):.1f}" cy="{y(seg[0][1]):.1f}" r="2" '
                             f'fill="{line.colour}"/>')
            else:
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{line.colour}" '
                             'stroke-width="1.5" stroke-linejoin="round"/>')
    parts += _hover_columns(points, lines, since, span, plot_w, plot_h, fmt, unit, tz)
    parts.append("</svg>")
    return Markup("".join(parts))


def _hover_columns(points: Sequence[dict], lines: Sequence[Line], since: float, span: float,
                   plot_w: float, plot_h: float, fmt: Callable[[float], str], unit: str,
                   tz: str | None) -> list[str]:
    """Transparent columns over the plot, each titled with the latest point inside it."""
    width = plot_w / HOVER_COLUMNS
    latest: dict[int, dict] = {}
    for point in points:
        column = int((float(point["at"]) - since) / span * HOVER_COLUMNS)
        if 0 <= column < HOVER_COLUMNS and any(point.get(line.key) is not None
                                                for line in lines):
            latest[column] = point
    parts = []
    for column, point in sorted(latest.items()):
        said = [f"{line.label}: {fmt(float(point[line.key]) * line.scale)} {unit}"
                for line in lines if point.get(line.key) is not None]
        text = f"{_hhmm(float(point['at']), tz)} — " + ", ".join(said)
        parts.append(f'<rect class="hover" x="{LEFT + column * width:.1f}" y="{TOP}" '
                     f'width="{width:.1f}" height="{plot_h}" fill="#000" fill-opacity="0">'
                     f'<title>{escape(text)}</title></rect>')
    return parts
