"""Time spans for the network KPIs: unions, overlaps and per-day totals of [start, end) spans
in unix seconds, without walking every second or every day of a long span."""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections.abc import Iterable, Sequence

from core.localtime import day_start

Span = tuple[float, float]


def union(spans: Iterable[Span]) -> list[Span]:
    """The spans merged into disjoint ones, oldest first (empty spans dropped)."""
    merged: list[list[float]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def overlaps(start: float, end: float, spans: Sequence[Span]) -> list[Span]:
    """The parts of disjoint sorted ``spans`` inside [start, end)."""
    parts = []
    for a, b in spans:
        if a >= end:
            break
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            parts.append((lo, hi))
    return parts


def overlap(start: float, end: float, spans: Sequence[Span]) -> float:
    """Seconds of [start, end) inside disjoint sorted ``spans``."""
    return sum(hi - lo for lo, hi in overlaps(start, end, spans))


def day_edges(days: Sequence, tz: str) -> list[float]:
    """Local midnights starting each of ``days`` and the one after the last."""
    if not days:
        return []
    edges = [day_start(day, tz) for day in days]
    edges.append(day_start(days[-1] + dt.timedelta(days=1), tz))
    return edges


class DayTotals:
    """Seconds per local day of many spans: O(log days) per span, however long the span is
    (whole days in the middle of a span are counted through a difference array)."""

    def __init__(self, edges: Sequence[float]):
        self.edges = list(edges)
        n = max(len(self.edges) - 1, 0)
        self._partial = [0.0] * n
        self._whole = [0.0] * (n + 1)

    def add(self, start: float, end: float, weight: float = 1.0) -> None:
        edges = self.edges
        if len(edges) < 2:
            return
        start = max(start, edges[0])
        end = min(end, edges[-1])
        if end <= start:
            return
        i = bisect.bisect_right(edges, start) - 1
        if end <= edges[i + 1]:                     # most spans: within one day
            self._partial[i] += weight * (end - start)
            return
        j = bisect.bisect_left(edges, end) - 1      # the day holding the span's last instant
        self._partial[i] += weight * (edges[i + 1] - start)
        self._partial[j] += weight * (end - edges[j])
        if j > i + 1:
            self._whole[i + 1] += weight
            self._whole[j] -= weight

    def totals(self) -> list[float]:
        out, running = [], 0.0
        for k, partial in enumerate(self._partial):
            running += self._whole[k]
            out.append(partial + running * (self.edges[k + 1] - self.edges[k]))
        return out


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percent(part: float, whole: float) -> float | None:
    """``part`` of ``whole`` in percent; None when there is no whole (no data, not 0 or 100)."""
    return None if whole <= 0 else 100.0 * part / whole
