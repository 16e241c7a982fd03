"""/api/v1 monitoring reads: AP status and metrics, events, alerts, the dashboard, the audit log.

All of it comes from the poller's snapshot and the monitoring tables; nothing here polls a device.
"""

from __future__ import annotations

import datetime as dt
import math
import time

from flask import Blueprint, jsonify, request

from controller.web import context, overview, readers
from controller.web.api.common import int_arg, require
from controller.web.errors import ApiError
from core import audit, inventory

bp = Blueprint("monitoring", __name__)

#: The longest metrics range one request may ask for (the hourly roll-up's horizon and a bit).
MAX_RANGE_S = 400 * 86400


def _time_arg(name: str, default: float) -> float:
    """A query-string time: unix seconds or ISO 8601 (UTC when no offset is given)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ApiError(422, "invalid_parameter", f"{name} must be unix seconds or ISO 8601",
                           name) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        value = parsed.timestamp()
    if not math.isfinite(value) or not 0 <= value < 2 ** 33:
        raise ApiError(422, "invalid_parameter", f"{name} is out of range", name)
    return value


@bp.get("/aps/<ref>/status")
@require("viewer")
def ap_status(ref: str):
    ap = inventory.get_ap(context.store(), ref)
    status = overview.status_dict(context.snapshot().get(ap["id"]))
    return jsonify({**status, "ap_id": ap["id"], "name": ap["name"], "site": ap["site"]})


@bp.get("/aps/<ref>/metrics")
@require("viewer")
def ap_metrics(ref: str):
    ap = inventory.get_ap(context.store(), ref)
    now = time.time()
    until = _time_arg("until", now)
    since = _time_arg("since", until - 86400)
    if since >= until:
        raise ApiError(422, "invalid_parameter", "since must be before until", "since")
    if until - since > MAX_RANGE_S:
        raise ApiError(422, "invalid_parameter", "the range may span at most 400 days", "since")
    series = readers.metric_series(context.store(), ap["id"], since, until)
    return jsonify({"ap": ap["name"], "since": since, "until": until, **series})


@bp.get("/aps/<ref>/events")
@require("viewer")
def ap_events(ref: str):
    ap = inventory.get_ap(context.store(), ref)
    limit = int_arg("limit", 50, 1, 1000)
    return jsonify({"ap": ap["name"], "events": readers.events(context.store(), ap["id"],
                                                               limit=limit)})


@bp.get("/alerts")
@require("viewer")
def alerts():
    state = request.args.get("state") or "open"
    if state not in readers.ALERT_STATES:
        raise ApiError(422, "invalid_parameter",
                       f"state must be one of {', '.join(readers.ALERT_STATES)}", "state")
    limit = int_arg("limit", 200, 1, 1000)
    return jsonify({"alerts": readers.alerts(context.store(), state=state, limit=limit)})


@bp.get("/dashboard")
@require("viewer")
def dashboard():
    return jsonify(overview.dashboard(context.store(), context.snapshot()))


@bp.get("/audit")
@require("admin")
def audit_log():
    limit = int_arg("limit", 200, 1, 1000)
    entries = audit.entries(context.store(), limit=limit,
                            actor=request.args.get("actor") or None,
                            action_prefix=request.args.get("action") or None)
    return jsonify({"entries": [audit.shown(entry) for entry in entries]})
