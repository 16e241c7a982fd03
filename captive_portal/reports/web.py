"""Mounts the 940 report pages on the portal app (`init_app`, called by `create_app`)."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from captive_portal.reports.context import init_context
from captive_portal.reports.views import allow_photos, bp

#: Riyadh keeps UTC+3 all year (no daylight saving).
RIYADH = dt.timezone(dt.timedelta(hours=3))


def report_time(ts: float) -> str:
    """Unix seconds as the local time a visitor in Al-Ahsa reads."""
    return dt.datetime.fromtimestamp(ts, RIYADH).strftime("%Y-%m-%d %H:%M")


def init_app(app: Flask) -> None:
    init_context(app)
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, allow_photos)
    app.jinja_env.filters["report_time"] = report_time


__all__ = ["init_app"]
