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

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 26


@dataclass(frozen=True)
class Line:
    key: str          # field of each point
    label: str
    colour: str       # an SVG colour
    scale: float = 1.0  # multiply values by this before drawing (e.g. 1e-6 for Mbit/s)


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


def _hhmm(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.timezone.utc).strftime("%m-%d %H:%M")


def line_chart(points: Sequence[dict], lines: Sequence[Line], *, since: float, until: float,
               title: str, unit: str, fmt: Callable[[float], str] = "{:g}".format) -> Markup:
    """An SVG chart of ``lines`` over [since, until]; says "no data" when nothing was measured."""
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
                     f'font-size="11" fill="#57606a">{_hhmm(at)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                 f'font-size="11" fill="#57606a">{escape(unit)}, UTC</text>')
    if not values:
        parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
                     'text-anchor="middle" font-size="13" fill="#57606a">no data yet</text>')
    for line in lines:
        for seg in runs[line.key]:
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in seg)
            if len(seg) == 1:
                parts.append(f'<circle cx="{x(seg[0][0]):.1f}" cy="{y(seg[0][1]):.1f}" r="2" '
                             f'fill="{line.colour}"/>')
            else:
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{line.colour}" '
                             'stroke-width="1.5" stroke-linejoin="round"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
