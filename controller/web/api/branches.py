"""/api/v1/branches: backhaul state and failover history of each branch, as the monitor stored it.

Its own blueprint (with the API's token authentication) rather than a child of the API's parent,
so the backhaul area plugs in without touching the other areas' registration.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from controller.backhaul import service as backhaul
from controller.web import context
from controller.web.api.common import authenticate, int_arg, require

bp = Blueprint("api_branches", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)


@bp.get("/branches")
@require("viewer")
def list_branches():
    return jsonify({"branches": backhaul.list_branches(context.store())})


@bp.get("/branches/<branch>")
@require("viewer")
def get_branch(branch: str):
    return jsonify(backhaul.get_branch(context.store(), branch))


@bp.get("/branches/<branch>/events")
@require("viewer")
def branch_events(branch: str):
    limit = int_arg("limit", 100, 1, 1000)
    return jsonify({"events": backhaul.branch_events(context.store(), branch, limit)})
