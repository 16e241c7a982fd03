"""Prometheus ``/metrics`` for the admin app.

Open to scrapers on loopback; from any other address it asks for an API token (any role) as
``Authorization: Bearer``, so exposing the admin port does not expose the park's AP inventory.
"""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from controller import auth
from controller.web import context, health, readers
from controller.web.errors import error_response
from controller.web.health import HealthCollector
from controller.web.prometheus import KpiCollector, SnapshotCollector
from core import inventory
from reporting import gauges

bp = Blueprint("metrics", __name__)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


@bp.route("/metrics")
def scrape():
    store = context.store()
    if not _loopback(request.remote_addr):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        try:
            user = auth.user_for_token(store, token)
        except auth.TokenExpired as exc:
            return error_response(401, exc.code, exc.message)
        if user is None:
            return error_response(401, "unauthorized", "a bearer API token is needed from "
                                  "addresses other than loopback")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(*health.current(store, context.runtime().links())))
    registry.register(SnapshotCollector(context.snapshot(), inventory.list_aps(store),
                                        readers.open_alert_counts(store)))
    registry.register(KpiCollector(gauges.current(store, context.runtime().config)))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
