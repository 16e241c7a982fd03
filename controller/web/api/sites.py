"""/api/v1/sites: list, create, read, change, delete."""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from controller.web import context
from controller.web.api.common import caller, json_object, require
from core import inventory

bp = Blueprint("sites", __name__)


@bp.get("/sites")
@require("viewer")
def list_sites():
    return jsonify({"sites": [inventory.shown(site)
                              for site in inventory.list_sites(context.store())]})


@bp.post("/sites")
@require("operator")
def create_site():
    site = inventory.add_site(context.store(), json_object(), context.actor(caller()))
    context.announce("site", "create", site["slug"])
    response = jsonify(inventory.shown(site))
    response.status_code = 201
    response.headers["Location"] = url_for("api.sites.get_site", slug=site["slug"])
    return response


@bp.get("/sites/<slug>")
@require("viewer")
def get_site(slug: str):
    return jsonify(inventory.shown(inventory.get_site(context.store(), slug)))


@bp.patch("/sites/<slug>")
@require("operator")
def update_site(slug: str):
    changes = json_object()
    site = inventory.update_site(context.store(), slug, changes, context.actor(caller()))
    context.announce("site", "update", site["slug"])
    return jsonify(inventory.shown(site))


@bp.delete("/sites/<slug>")
@require("operator")
def delete_site(slug: str):
    inventory.remove_site(context.store(), slug, context.actor(caller()))
    context.announce("site", "delete", slug)
    return "", 204
