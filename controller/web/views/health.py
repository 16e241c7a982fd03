"""``/healthz`` of the admin app: 200 while every MQTT link of the controller and the 940
forwarder are up, 503 when one is down.

Open to anyone (monitors and load balancers need no token), but only loopback callers and
holders of an API token see the details (brokers, errors, the outbox's backlog), as for
``/metrics``.
"""

from __future__ import annotations

import ipaddress

from flask import Blueprint, request

from controller import auth
from controller.web import context, health
from core.health import answer

bp = Blueprint("health", __name__)


def _trusted() -> bool:
    try:
        if ipaddress.ip_address(request.remote_addr or "").is_loopback:
            return True
    except ValueError:
        pass
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    try:
        return bool(token) and auth.user_for_token(context.store(), token) is not None
    except auth.AuthError:  # an expired token is simply not trusted here
        return False


@bp.get("/healthz")
def healthz():
    links, forwarder = health.current(context.store(), context.runtime().links())
    body, status = answer(health.checks(links, forwarder), detailed=_trusted())
    return body, status, {"Cache-Control": "no-store"}


__all__ = ["bp"]
