"""Template filters: how numbers read on the admin pages (rates in Mbit/s, uptimes, ages)."""

from __future__ import annotations

import datetime as dt
import time

from flask import Flask


def mbps(bps: float | None) -> str:
    """Bits per second as Mbit/s with two decimals; an em dash when not measured yet."""
    return "—" if bps is None else f"{bps / 1e6:.2f}"


def duration(seconds: float | None) -> str:
    """An uptime as ``3d 4h 05m`` (minutes below an hour)."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds % 60:02d}s"


def ago(unix: float | None, now: float | None = None) -> str:
    """How long ago a unix time was, coarsely (``12s ago``, ``5m ago``); "never" for None."""
    if unix is None:
        return "never"
    delta = max(0, int((time.time() if now is None else now) - unix))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            return f"{delta // size}{unit} ago"
    return f"{delta}s ago"


def utc(unix: float | None) -> str:
    if unix is None:
        return "—"
    return dt.datetime.fromtimestamp(unix, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def clients(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(mbps=mbps, duration=duration, ago=ago, utc=utc, clients=clients)
