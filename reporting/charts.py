"""A section's charts as inline SVG, drawn on the server for the pages and the PDF.

No script and no style attribute: presentation attributes only, so the admin's CSP (no
'unsafe-inline') holds and WeasyPrint draws the same picture. In Arabic the time axis runs right
to left, as Arabic reports read; the SVG is laid out with ``direction="ltr"`` so the anchors of
its labels mean the same in an RTL page (text inside still follows its own script's order).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from core.localtime import show
from reporting import format as fmt
from reporting.format import Gettext
from reporting.model import Chart, Series

WIDTH, HEIGHT = 720, 240
SIDE, EDGE, TOP, BOTTOM = 64, 14, 30, 28
PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#0969da", "#bf3989",
           "#57606a")
MUTED = "#57606a"
#: A chart names its marks (maintenance, switches) when it has at most this many.
MARK_LABELS = 4


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


def _floor_for(values: list[float], unit: str) -> float:
    """Percentages that all sit high (availability) get an axis that starts near them."""
    low = min(values, default=0.0)
    if unit == "percent" and low > 50:
        return max(0.0, math.floor((low - 0.5) / 5) * 5)
    return 0.0


def _time_format(span: float) -> str:
    return "%H:%M" if span <= 2 * 86400 else "%m-%d" if span <= 120 * 86400 else "%Y-%m"


def _runs(series: Series) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for at, value in series.points:
        if value is None:
            runs.append([])
        else:
            runs[-1].append((float(at), float(value)))
    return [run for run in runs if run]


def svg(chart: Chart, *, _: Gettext, rtl: bool, tz: str, since: float, until: float) -> Markup:
    """``chart`` over [since, until] as an SVG element; says so when it has no data."""
    values = [float(v) for s in chart.series for _t, v in s.points if v is not None]
    points = sorted({float(t) for s in chart.series for t, v in s.points})
    if chart.kind == "bar" and points:
        # A bar is centred on its point; leave half a slot either side of the outer ones.
        slot = min((b - a for a, b in itertools.pairwise(points)), default=until - since) or 1.0
        since, until = min(since, points[0] - slot / 2), max(until, points[-1] + slot / 2)
    else:
        slot = 1.0
    low = _floor_for(values, chart.unit)
    top = low + nice_ceiling(max(values, default=0.0) - low) if values else 1.0
    span = max(until - since, 1.0)
    plot_w, plot_h = WIDTH - SIDE - EDGE, HEIGHT - TOP - BOTTOM
    axis_x = WIDTH - SIDE if rtl else SIDE  # the value axis sits where reading starts
    left_edge, right_edge = (EDGE, WIDTH - SIDE) if rtl else (SIDE, WIDTH - EDGE)

    def x(t: float) -> float:
        offset = (t - since) / span * plot_w
        return (WIDTH - SIDE - offset) if rtl else (SIDE + offset)

    def y(v: float) -> float:
        return TOP + plot_h - (min(max(v, low), top) - low) / (top - low) * plot_h

    title = _(chart.title)
    parts = [(f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
              f'height="{HEIGHT}" role="img" direction="ltr" xmlns="http://www.w3.org/2000/svg" '
              f'aria-label="{escape(title)}" data-chart="{escape(chart.key)}">'),
             f"<title>{escape(title)}</title>"]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        level = low + (top - low) * fraction
        gy = y(level)
        parts.append(f'<line x1="{left_edge}" x2="{right_edge}" y1="{gy:.1f}" y2="{gy:.1f}" '
                     'stroke="#d0d7de" stroke-width="1"/>')
        label_x = axis_x + 6 if rtl else axis_x - 6
        parts.append(f'<text x="{label_x}" y="{gy + 4:.1f}" '
                     f'text-anchor="{"start" if rtl else "end"}" font-size="11" '
                     f'fill="{MUTED}">{escape(fmt.value(level, chart.unit, _))}</text>')
    pattern = _time_format(until - since)
    first_anchor, last_anchor = ("end", "start") if rtl else ("start", "end")
    for at, anchor in ((since, first_anchor), (until, last_anchor)):
        parts.append(f'<text x="{x(at):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
                     f'font-size="11" fill="{MUTED}">{escape(show(at, tz, pattern))}</text>')
    if not values:
        parts.append(f'<text x="{WIDTH / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
                     f'font-size="13" fill="{MUTED}">{escape(_("No data in this period"))}</text>')
    parts.extend(_legend(chart.series, _, rtl))
    count = max(len(chart.series), 1)
    bar_w = max(1.0, slot / span * plot_w * 0.8 / count)
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        if chart.kind == "bar":
            parts.extend(_bars(series, colour, index, count, bar_w, x, y, low, rtl))
            continue
        for run in _runs(series):
            if len(run) == 1:
                parts.append(f'<circle cx="{x(run[0][0]):.1f}" cy="{y(run[0][1]):.1f}" r="2.5" '
                             f'fill="{colour}"/>')
            else:
                coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                             'stroke-width="1.6" stroke-linejoin="round"/>')
    marks = [(at, label) for at, label in chart.marks if since <= at <= until]
    for at, label in marks:
        parts.append(f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{TOP}" '
                     f'y2="{TOP + plot_h}" stroke="{MUTED}" stroke-dasharray="3 3"/>')
        if len(marks) <= MARK_LABELS:  # more labels than that would overlap: lines only
            parts.append(f'<text x="{x(at) + (-3 if rtl else 3):.1f}" y="{TOP + 10}" '
                         f'text-anchor="{"end" if rtl else "start"}" font-size="10" '
                         f'fill="{MUTED}">{escape(_(label))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _bars(series: Series, colour: str, index: int, count: int, bar_w: float, x, y,
          low: float, rtl: bool) -> list[str]:
    out = []
    shift = (index - (count - 1) / 2) * bar_w * (-1 if rtl else 1)
    for at, value in series.points:
        if value is None:
            continue
        left = x(float(at)) + shift - bar_w / 2
        top_y, base_y = y(float(value)), y(low)
        out.append(f'<rect x="{left:.1f}" y="{top_y:.1f}" width="{bar_w:.1f}" '
                   f'height="{max(base_y - top_y, 0.0):.1f}" fill="{colour}"/>')
    return out


def _legend(series: Sequence[Series], _: Gettext, rtl: bool) -> list[str]:
    """Series names across the top, from the reading side."""
    out, cursor = [], (WIDTH - SIDE if rtl else SIDE)
    for index, item in enumerate(series[:8]):
        label = _(item.label)
        colour = PALETTE[index % len(PALETTE)]
        width = 18 + 7 * len(label)
        box_x = cursor - 10 if rtl else cursor
        text_x = cursor - 14 if rtl else cursor + 14
        out.append(f'<rect x="{box_x}" y="8" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{text_x}" y="17" text-anchor="{"end" if rtl else "start"}" '
                   f'font-size="11" fill="#24292f">{escape(label)}</text>')
        cursor += -width if rtl else width
    return out
