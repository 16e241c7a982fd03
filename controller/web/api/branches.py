"""/api/v1/branches: backhaul state and failover history of each branch, as the monitor stored it.

An area of the API like the others (registered in `controller.web.api.AREAS`).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from controller.backhaul import service as backhaul
from controller.web import context
from controller.web.api.common import int_arg, require

bp = Blueprint("branches", __name__)


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
