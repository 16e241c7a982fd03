"""How busy a simulated AP is: clients by time of day and byte counters that only move forward.

Every number is a pure function of (time, AP seed), so two reads at the same instant agree and a
later read is never smaller. Octets are the integral of a rate that follows the park's day in
Al-Ahsa (local time Asia/Riyadh: empty at dawn, busiest after sunset when the heat breaks); the
integral is exact (piecewise-linear profile), and noise enters as a small, strictly increasing
warp of time, so counters stay monotonic without remembering earlier reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

_RIYADH: tzinfo
try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    _RIYADH = ZoneInfo("Asia/Riyadh")
except (ImportError, ZoneInfoNotFoundError):  # no tz database: Riyadh has kept +03 since 1947
    _RIYADH = timezone(timedelta(hours=3))

DAY = 86400.0
HOUR = 3600.0
#: Seconds east of UTC; Asia/Riyadh has no daylight saving time, so one constant is exact.
# typeshed's utcoffset() is Optional for naive datetimes; an aware one always has an offset.
LOCAL_OFFSET = datetime.now(_RIYADH).utcoffset().total_seconds()  # type: ignore[union-attr]

#: Share of an AP's peak client count at the start of each local hour (0..23), for a public park
#: in Al-Ahsa: near empty before dawn prayers, a morning walk, a hot quiet afternoon, families
#: from sunset to late evening.
PARK_DAY = (0.55, 0.40, 0.25, 0.12, 0.06, 0.05, 0.10, 0.18, 0.22, 0.24, 0.25, 0.26,
            0.28, 0.28, 0.30, 0.36, 0.50, 0.70, 0.86, 0.96, 1.00, 0.97, 0.85, 0.70)


class DayProfile:
    """A piecewise-linear daily level with an exact running integral."""

    def __init__(self, hourly: tuple[float, ...] = PARK_DAY):
        if len(hourly) != 24:
            raise ValueError("a day profile needs 24 hourly levels")
        self.hourly = hourly
        self.cumulative = [0.0]
        for hour in range(24):
            area = (hourly[hour] + hourly[(hour + 1) % 24]) / 2 * HOUR
            self.cumulative.append(self.cumulative[-1] + area)
        self.day_total = self.cumulative[24]

    def _split(self, t: float) -> tuple[int, int, float]:
        """(local day number, hour, seconds into the hour) of unix time ``t``."""
        local = t + LOCAL_OFFSET
        day = math.floor(local / DAY)
        into_day = local - day * DAY
        hour = min(int(into_day // HOUR), 23)
        return day, hour, into_day - hour * HOUR

    def level(self, t: float) -> float:
        _, hour, into = self._split(t)
        start, stop = self.hourly[hour], self.hourly[(hour + 1) % 24]
        return start + (stop - start) * into / HOUR

    def area_between(self, t0: float, t1: float) -> float:
        """Integral of the level over [t0, t1] in level-seconds (exact, and small numbers)."""
        day0, hour0, into0 = self._split(t0)
        day1, hour1, into1 = self._split(t1)
        return (day1 - day0) * self.day_total + self._into_day(hour1, into1) \
            - self._into_day(hour0, into0)

    def _into_day(self, hour: int, into: float) -> float:
        start, stop = self.hourly[hour], self.hourly[(hour + 1) % 24]
        return self.cumulative[hour] + start * into + (stop - start) * into * into / (2 * HOUR)


def unit_hash(*parts: int) -> float:
    """A deterministic value in [0, 1) from integers (seed, minute, ...): cheap, no state."""
    h = 0x9E3779B9
    for part in parts:
        h = ((h ^ (part & 0xFFFFFFFFFFFF)) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return (h & 0xFFFFFF) / 0x1000000


@dataclass(frozen=True)
class TimeWarp:
    """w(t) = t + sum(A sin(wt + phi)) with sum(A w) < 1: strictly increasing, so F(w(t)) moves
    forward whenever F does, while its rate wobbles by +/- ``depth``."""

    terms: tuple[tuple[float, float, float], ...]  # (amplitude s, angular speed rad/s, phase)

    @classmethod
    def seeded(cls, seed: int, depth: float = 0.3) -> "TimeWarp":
        periods = (47.0, 131.0, 293.0)
        share = depth / len(periods)
        terms = tuple((share * p / (2 * math.pi), 2 * math.pi / p,
                       2 * math.pi * unit_hash(seed, i)) for i, p in enumerate(periods))
        return cls(terms)

    def __call__(self, t: float) -> float:
        return t + sum(a * math.sin(w * t + phi) for a, w, phi in self.terms)


@dataclass(frozen=True)
class TrafficStream:
    """Octets through one interface in one direction: ``peak_rate`` bytes/s at the day's peak plus
    ``background`` bytes/s that never stops (beacons, management, DNS)."""

    profile: DayProfile
    warp: TimeWarp
    peak_rate: float
    background: float

    def octets_between(self, t0: float, t1: float) -> float:
        if t1 <= t0:
            return 0.0
        w0, w1 = self.warp(t0), self.warp(t1)
        return self.peak_rate * self.profile.area_between(w0, w1) + self.background * (w1 - w0)


def client_count(profile: DayProfile, peak_clients: int, seed: int, t: float) -> int:
    """Associated clients now: the day's level times the AP's peak, jittered per minute."""
    jitter = 0.85 + 0.3 * unit_hash(seed, int(t // 60))
    return max(0, round(peak_clients * profile.level(t) * jitter))
