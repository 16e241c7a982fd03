"""Pages that need no login: terms of use and the health check."""

from __future__ import annotations

import ipaddress
import time

from flask import Blueprint, render_template, request

from captive_portal.context import portal
from captive_portal.reports.health import forwarder_health
from core.health import answer, link_check

bp = Blueprint("pages", __name__)


@bp.get("/terms")
def terms():
    return render_template("terms.html")


@bp.get("/healthz")
def healthz():
    """200 while this portal's MQTT links and the 940 forwarder are up, else 503.

    ``?scope=local`` checks only what this process runs (its MQTT links): what a load balancer
    should ask, since a portal whose forwarder is down still logs visitors in and keeps their
    reports. Details (brokers, errors, the outbox's backlog) go to loopback callers only: the
    portal faces the park's visitors.
    """
    ctx = portal()
    checks = [link_check(link) for link in ctx.links()]
    if request.args.get("scope") != "local":
        checks.append(forwarder_health(ctx.store, time.time()).check())
    body, status = answer(checks, detailed=_loopback(request.remote_addr))
    return body, status, {"Cache-Control": "no-store"}


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


__all__ = ["bp"]
