"""The status page (time and data left, where the visitor was going) and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, render_template, request, session

from captive_portal import access
from captive_portal.context import portal
from captive_portal.errors import PortalError
from captive_portal.sessions import Sessions
from captive_portal.views.common import SESSION_KEY, limit_posts

bp = Blueprint("status", __name__)


def _current():
    session_id = session.get(SESSION_KEY)
    if not isinstance(session_id, int):
        return None
    ctx = portal()
    return Sessions(ctx.store, ctx.clock).get(session_id)


@bp.get("/status")
def show():
    ctx = portal()
    visitor = _current()
    now = ctx.clock()
    return render_template(
        "status.html", visitor=visitor, active=bool(visitor and visitor.state == "active"),
        minutes_left=(visitor.seconds_left(now) + 59) // 60 if visitor else 0,
        megabytes_left=_megabytes(visitor.bytes_left()) if visitor else None,
        welcome=request.args.get("welcome") == "1", continue_to=session.get("continue_url"))


@bp.post("/logout")
def logout():
    limit_posts()
    visitor = _current()
    if visitor is None or visitor.state != "active":
        raise PortalError("no_session")
    access.revoke(portal(), visitor, "logout")
    session.pop(SESSION_KEY, None)
    return render_template("logged_out.html")


def _megabytes(value: int | None) -> int | None:
    return None if value is None else value // 1_000_000


def continue_url(url: str) -> str | None:
    """The visitor's original URL as a link target, only if it is plain http(s).

    The URL is signed by the gateway, but it is still what the visitor's device asked for:
    never a redirect (no open redirect through the portal), only a link, and never a
    ``javascript:`` or ``data:`` one, and never one carrying control characters.
    """
    if any(ch < " " or ch == "\x7f" for ch in url or ""):
        return None  # a CR/LF or other control character: not a URL anyone should follow
    parts = urlsplit(url or "")
    return url if parts.scheme in ("http", "https") and parts.hostname else None


__all__ = ["bp", "continue_url"]
