"""Template filters: how numbers and times read on the admin pages, in the reader's language.

Times are the store's unix seconds shown in the municipality's zone (``[municipality]
timezone``, `core.localtime`), never UTC, with the zone's offset written beside them; rates are
Mbit/s; durations and ages use the reader's units. Everything that must keep its left-to-right
order inside an Arabic sentence (times, numbers, addresses) comes back wrapped by ``ltr``.

Filters: ``when`` (a local date and time with its zone), ``day`` (a local date), ``ago``,
``duration``, ``mbps``, ``clients``, ``ltr``; ``utc`` is the old name of ``when`` (it shows local
time too). Globals: ``role_name``, ``state_name``, ``severity_name``, ``site_kind_name``.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from core import localtime


def ltr(value: object) -> Markup:
    """``value`` isolated left to right: an IP, a MAC, a code or a number inside Arabic text."""
    return Markup('<bdi dir="ltr">{}</bdi>').format(escape(value))


def mbps(bps: float | None) -> str:
    """Bits per second as Mbit/s with two decimals; an em dash when not measured yet."""
    return "—" if bps is None else f"{bps / 1e6:.2f}"


def duration(seconds: float | None) -> str:
    """An uptime as ``3d 4h 05m`` (minutes below an hour), in the reader's units."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)dd %(hours)dh %(minutes)02dm", days=days, hours=hours, minutes=minutes)
    if hours:
        return _("%(hours)dh %(minutes)02dm", hours=hours, minutes=minutes)
    return _("%(minutes)dm %(seconds)02ds", minutes=minutes, seconds=seconds % 60)


def ago(unix: float | str | None, now: float | None = None) -> str:
    """How long ago a unix time was, coarsely (``12s ago``, ``5m ago``); "never" for None."""
    if isinstance(unix, str):
        unix = iso_unix(unix)
    if unix is None:
        return _("never")
    delta = max(0, int((time.time() if now is None else now) - unix))
    if delta >= 86400:
        return _("%(n)dd ago", n=delta // 86400)
    if delta >= 3600:
        return _("%(n)dh ago", n=delta // 3600)
    if delta >= 60:
        return _("%(n)dm ago", n=delta // 60)
    return _("%(n)ds ago", n=delta)


def _zone() -> str:
    return current_app.extensions["oasis"].config.municipality.timezone


def _offset(moment) -> str:
    """The zone as a reader knows it: "+03" for Riyadh (zoneinfo's abbreviation), or "UTC"."""
    name = moment.tzname() or ""
    return "UTC" if name in ("UTC", "+00") else name


_ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")


def iso_unix(text: str) -> float | None:
    """ISO-8601 text (as the API and readers give times) as unix seconds; None if it is not."""
    if not _ISO.match(text):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def when(unix: float | str | None, seconds: bool = True) -> Markup | str:
    """A time (unix seconds, or ISO text from a reader) as the municipality's local date and
    time with its zone, left to right."""
    if unix is None or unix == "":
        return "—"
    if isinstance(unix, str):
        parsed = iso_unix(unix)
        if parsed is None:
            return ltr(unix)
        unix = parsed
    moment = localtime.local(float(unix), _zone())
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return ltr(f"{text} {_offset(moment)}")


def day(unix: float | str | None) -> Markup | str:
    """A stored time's local date."""
    if isinstance(unix, str):
        unix = iso_unix(unix)
    return "—" if unix is None else ltr(localtime.show(float(unix), _zone(), "%Y-%m-%d"))


def clients(value: int | None) -> str:
    return _("unknown") if value is None else str(value)


ROLE_NAMES = {"viewer": _l("viewer"), "operator": _l("operator"), "admin": _l("admin")}
STATE_NAMES = {"up": _l("up"), "down": _l("down"), "degraded": _l("degraded"),
               "unknown": _l("unknown"), "auth_failed": _l("auth failed"),
               "unreachable": _l("unreachable")}
SEVERITY_NAMES = {"critical": _l("critical"), "major": _l("major"), "minor": _l("minor"),
                  "warning": _l("warning"), "info": _l("info")}


SITE_KINDS = {"park": _l("park"), "walkway": _l("walkway"), "branch": _l("branch")}


def _named(names: dict, value: object) -> str:
    found = names.get(value)
    return str(found) if found is not None else str(value or "").replace("_", " ")


def role_name(role: str) -> str:
    return _named(ROLE_NAMES, role)


def state_name(state: str) -> str:
    return _named(STATE_NAMES, state)


def severity_name(severity: str) -> str:
    return _named(SEVERITY_NAMES, severity)


def site_kind_name(kind: str) -> str:
    return _named(SITE_KINDS, kind)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(mbps=mbps, duration=duration, ago=ago, when=when, utc=when,
                                 day=day, clients=clients, ltr=ltr)
    app.jinja_env.globals.update(role_name=role_name, state_name=state_name,
                                 severity_name=severity_name, site_kind_name=site_kind_name)
    from controller.web import narrate  # it formats with the filters above
    narrate.init_app(app)


__all__ = ["ago", "clients", "day", "duration", "init_app", "iso_unix", "ltr", "mbps",
           "role_name", "severity_name", "site_kind_name", "state_name", "when"]
