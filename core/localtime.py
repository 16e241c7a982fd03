"""Local time for people: the store keeps UTC unix seconds, pages, reports and business days
speak the municipality's zone (``[municipality] timezone``, Asia/Riyadh by default)."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo


@functools.lru_cache(maxsize=16)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone named ``name``; raises ``zoneinfo.ZoneInfoNotFoundError`` for an unknown name
    (the config section checks it at start-up)."""
    return zoneinfo.ZoneInfo(name)


def local(ts: float, tz: str) -> dt.datetime:
    """``ts`` (unix seconds) as an aware datetime in ``tz``."""
    return dt.datetime.fromtimestamp(ts, zone(tz))


def unix(moment: dt.datetime) -> float:
    """An aware datetime as unix seconds."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place on the time line")
    return moment.timestamp()


def day_start(day: dt.date, tz: str) -> float:
    """Unix seconds at local midnight starting ``day`` in ``tz``."""
    return dt.datetime.combine(day, dt.time(), zone(tz)).timestamp()


def show(ts: float | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``ts`` written for a reader in ``tz`` (empty for no time)."""
    return "" if ts is None else local(ts, tz).strftime(fmt)
