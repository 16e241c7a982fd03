"""Business time for the 940 KPIs: the Saudi weekend (Friday and Saturday) and the holidays of
``[reporting]``, reckoned in the municipality's zone.

How a moment counts: **a business day is a whole local calendar day** (00:00 to 24:00 local)
that is neither a weekend day nor a holiday; every second of it is a business second, every
second of a weekend day or holiday counts nothing. There are no office hours: the 940 back
office and its contractors work in shifts, and a report filed at 23:00 on a Thursday has waited
one business hour when Friday begins. A partial day therefore counts for the share of it that
elapsed: filed Thursday 20:00 and acknowledged Sunday 08:00 is 4 h + 8 h = 0.5 business days.
Business days are business seconds / 86,400.

`BusinessCalendar.seconds(a, b)` is O(log n) after a one-off table of the days it spans (built
lazily, a year at a time), so it is cheap enough for every report of a year.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

from core.localtime import day_start, local

DAY = 86400.0


class BusinessCalendar:
    """Business seconds between instants in one zone, given the weekend and the holidays."""

    def __init__(self, tz: str, weekend: Iterable[int] = (5, 6),
                 holidays: Iterable[dt.date] = ()):
        self.tz = tz
        self.weekend = frozenset(weekend)
        self.holidays = frozenset(holidays)
        if len(self.weekend) >= 7:
            raise ValueError("weekend: at least one business day a week")
        self._first: dt.date | None = None
        self._starts: list[float] = []     # local midnight of each day, then the day after
        self._business: list[bool] = []    # whether each day is a business day
        self._before: list[float] = []     # business seconds from the first day to each start

    @classmethod
    def from_config(cls, config) -> BusinessCalendar:
        """From a loaded config: ``[municipality] timezone`` and ``[reporting]``."""
        return cls(config.municipality.timezone, config.reporting.weekend_days(),
                   config.reporting.holiday_dates())

    def is_business_day(self, day: dt.date) -> bool:
        return day.isoweekday() not in self.weekend and day not in self.holidays

    def _cover(self, ts: float) -> None:
        """Extend the day table so that it spans ``ts`` (whole years at a time)."""
        if self._starts and self._starts[0] <= ts < self._starts[-1]:
            return
        day = local(ts, self.tz).date()
        first = dt.date(day.year, 1, 1)
        last = dt.date(day.year + 1, 1, 1)
        if self._first is not None:
            first = min(first, self._first)
            last = max(last, self._first + dt.timedelta(days=len(self._business)))
        self._first = first
        days = [first + dt.timedelta(days=n) for n in range((last - first).days)]
        self._starts = [day_start(d, self.tz) for d in days] + [day_start(last, self.tz)]
        self._business = [self.is_business_day(d) for d in days]
        self._before = [0.0]
        for n, business in enumerate(self._business):
            length = self._starts[n + 1] - self._starts[n]
            self._before.append(self._before[-1] + (length if business else 0.0))

    def seconds(self, start: float, end: float) -> float:
        """Business seconds in [start, end); negative when ``end`` is before ``start``."""
        starts = self._starts
        if not (starts and starts[0] <= start < starts[-1] and starts[0] <= end < starts[-1]):
            self._cover(start)
            self._cover(end)
            starts = self._starts
        # Business seconds before end less those before start (a year's KPIs ask 200,000 times).
        before, business = self._before, self._business
        n = bisect.bisect_right(starts, end) - 1
        m = bisect.bisect_right(starts, start) - 1
        return (before[n] + (end - starts[n] if business[n] else 0.0)
                - before[m] - (start - starts[m] if business[m] else 0.0))

    def days(self, start: float, end: float) -> float:
        """Business days (business seconds / 86,400) in [start, end)."""
        return self.seconds(start, end) / DAY


__all__ = ["DAY", "BusinessCalendar"]
