"""/api/v1/aps: the AP inventory (secrets write-only: reads say only whether each is set)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from controller.web import context, overview
from controller.web.api.common import caller, json_object, require
from controller.web.errors import ApiError
from core import inventory
from core.inventory import NotFound

bp = Blueprint("aps", __name__)


def _with_state(ap: dict) -> dict:
    """The AP as the API shows it: times as ISO-8601, and its state from the snapshot."""
    status = context.snapshot().get(ap["id"])
    return {**inventory.shown(ap),
            "state": status.state.value if status else "unknown"}


@bp.get("/aps")
@require("viewer")
def list_aps():
    site = request.args.get("site") or None
    state = request.args.get("state") or None
    if state is not None and state not in overview.STATES:
        raise ApiError(422, "invalid_parameter",
                       f"state must be one of {', '.join(overview.STATES)}", "state")
    try:
        aps = [_with_state(ap) for ap in inventory.list_aps(context.store(), site)]
    except NotFound:
        raise ApiError(422, "unknown_site", f"site {site!r} does not exist", "site") from None
    if state:
        aps = [ap for ap in aps if ap["state"] == state]
    return jsonify({"aps": aps})


@bp.post("/aps")
@require("operator")
def create_ap():
    ap = inventory.add_ap(context.store(), context.runtime().secret_box, json_object(),
                          context.actor(caller()))
    context.announce("ap", "create", ap["name"])
    response = jsonify(_with_state(ap))
    response.status_code = 201
    response.headers["Location"] = url_for("api.aps.get_ap", ref=ap["name"])
    return response


@bp.get("/aps/<ref>")
@require("viewer")
def get_ap(ref: str):
    return jsonify(_with_state(inventory.get_ap(context.store(), ref)))


@bp.patch("/aps/<ref>")
@require("operator")
def update_ap(ref: str):
    changes = json_object()
    ap = inventory.update_ap(context.store(), context.runtime().secret_box, ref, changes,
                             context.actor(caller()))
    context.announce("ap", "update", ap["name"])
    return jsonify(_with_state(ap))


@bp.delete("/aps/<ref>")
@require("operator")
def delete_ap(ref: str):
    ap = inventory.remove_ap(context.store(), ref, context.actor(caller()))
    context.announce("ap", "delete", ap["name"])
    return "", 204
