"""What a KPI report is made of, whatever shows it: a page, the REST API, CSV/XLSX, the PDF.

Each area (availability, usage, backhaul, service) builds one :class:`Section` for a
:class:`Period` and :class:`Filters`; the outputs only render sections. Labels are gettext
message ids (marked with :func:`reporting.i18n.N_`), translated by whoever renders them, so a
section is built once and shown in Arabic or English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.config import Config
from core.errors import CodedError
from core.localtime import day_start, local
from core.store import Store

Unit = Literal["percent", "seconds", "days", "count", "bytes", "bps", "ms", "ratio", "text"]
Status = Literal["green", "amber", "red", "none"]


class PeriodError(CodedError):
    """A period or filter that cannot be understood (an API answers 400 with it)."""


@dataclass(frozen=True)
class Period:
    """[start, end) in unix seconds, with the zone its days are reckoned in."""
    start: float
    end: float
    tz: str
    name: str  # how it was asked for: "30d", "month:2026-11", "week:2026-W47", "2026-11-01..2026-11-15"

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def days(self) -> list[dt.date]:
        """The local calendar days the period touches."""
        first, last = local(self.start, self.tz).date(), local(self.end - 1e-6, self.tz).date()
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    def previous(self) -> Period:
        """The period of the same length just before this one (for trends)."""
        return Period(2 * self.start - self.end, self.start, self.tz, f"before:{self.name}")

    @classmethod
    def parse(cls, text: str, tz: str, *, now: float) -> Period:
        """``1d``/``7d``/``30d``/``365d`` (ending now), ``month:YYYY-MM``, ``week:YYYY-Www``
        (ISO week, Sunday-first weeks are not used: the report week is the ISO week) or
        ``YYYY-MM-DD..YYYY-MM-DD`` (local days, both included)."""
        text = (text or "30d").strip()
        if m := re.fullmatch(r"(\d{1,3})d", text):
            days = int(m.group(1))
            if not 1 <= days <= 366:
                raise PeriodError("period.range", "a rolling period is 1 to 366 days", "period")
            return cls(now - days * 86400.0, now, tz, text)
        try:
            if m := re.fullmatch(r"month:(\d{4})-(\d{2})", text):
                first = dt.date(int(m.group(1)), int(m.group(2)), 1)
                after = (first + dt.timedelta(days=32)).replace(day=1)
            elif m := re.fullmatch(r"week:(\d{4})-W(\d{2})", text):
                first = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
                after = first + dt.timedelta(days=7)
            elif m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
                first = dt.date.fromisoformat(m.group(1))
                after = dt.date.fromisoformat(m.group(2)) + dt.timedelta(days=1)
                if after <= first or (after - first).days > 400:
                    raise PeriodError("period.range", "the last day must follow the first, "
                                      "at most 400 days apart", "period")
            else:
                raise PeriodError("period.unknown", "period: use 30d, month:2026-11, "
                                  "week:2026-W47 or 2026-11-01..2026-11-15", "period")
        except ValueError:
            raise PeriodError("period.date", "period: not a calendar date", "period") from None
        return cls(day_start(first, tz), day_start(after, tz), tz, text)


@dataclass(frozen=True)
class Filters:
    """Narrow a section; None means everything. Areas ignore filters that do not apply."""
    site: str | None = None       # site slug
    ap: int | None = None         # AP id
    category: str | None = None   # 940 service code
    branch: str | None = None     # backhaul branch id
    link: str | None = None       # backhaul link name (of the branch's links)


@dataclass(frozen=True)
class Target:
    """Green at or better than ``green``, amber down to ``amber``, red beyond.
    ``higher_is_better`` says which way "better" points."""
    green: float
    amber: float
    higher_is_better: bool = True

    def status(self, value: float | None) -> Status:
        if value is None:
            return "none"
        sign = 1 if self.higher_is_better else -1
        if sign * value >= sign * self.green:
            return "green"
        return "amber" if sign * value >= sign * self.amber else "red"


@dataclass
class Figure:
    """One headline number (a tile on the overview, a gauge in Prometheus)."""
    key: str              # stable id, e.g. "availability.fleet_percent"
    label: str            # msgid
    value: float | None   # None: no data in the period
    unit: Unit
    target: Target | None = None
    note: str = ""        # msgid, e.g. how it is computed in one line

    @property
    def status(self) -> Status:
        return self.target.status(self.value) if self.target else "none"


@dataclass(frozen=True)
class Column:
    key: str
    label: str            # msgid
    unit: Unit = "text"


@dataclass
class Table:
    key: str              # stable id, also the export's file name: "availability-aps"
    title: str            # msgid
    columns: list[Column]
    rows: list[dict[str, Any]]


@dataclass
class Series:
    label: str                         # msgid or a proper name (a site's name)
    points: list[tuple[float, float | None]]  # (unix seconds, value); None is a gap


@dataclass
class Chart:
    key: str
    title: str                         # msgid
    kind: Literal["line", "bar"]
    unit: Unit
    series: list[Series]
    marks: list[tuple[float, str]] = field(default_factory=list)  # (unix seconds, msgid)


@dataclass
class Section:
    area: str             # "availability" | "usage" | "backhaul" | "service"
    title: str            # msgid
    period: Period
    filters: Filters
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


#: An area's builder, ``build(store, config, period, filters)``: reads the store through its
#: domains' query functions (and reporting's own roll-ups), never writes.
Builder = Callable[[Store, Config, Period, Filters], Section]
