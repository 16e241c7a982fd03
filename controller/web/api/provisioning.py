"""/api/v1 provisioning: previews, variables, history and diffs, jobs, adoption, host keys.

Reads come from the store; every device operation is a job for the provisioning worker, so a
request that starts one answers 202 with the job's address and returns at once. Bodies here
carry nested variables and booleans, so they are parsed with `json_document` rather than the
scalar-only `json_object` the inventory uses (both decode through `json_body`).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from controller.web import context
from controller.web import provisioning as prov
from controller.web.api.common import caller, int_arg, json_body, json_object, require
from controller.web.errors import ApiError
from core import inventory
from netconfig.render import redact_variables

bp = Blueprint("provisioning", __name__)

#: Variables nest (radios.2g.channel); anything deeper than this is not a template variable.
MAX_DEPTH = 8


def _engineer() -> prov.Engineer:
    return prov.Engineer(caller())


def json_document() -> dict:
    """The body as a JSON object (nesting allowed, NaN/Infinity not), or an ApiError."""
    return json_body(MAX_DEPTH)


def _accepted(job_id: int, **extra):
    """202: the job is queued; its address is where progress shows."""
    location = url_for("api.provisioning.get_job", job_id=job_id)
    response = jsonify({**extra, "job": job_id, "status": "queued", "url": location})
    response.status_code = 202
    response.headers["Location"] = location
    return response


def _version_arg(name: str) -> int | None:
    if request.args.get(name) in (None, ""):
        return None
    return int_arg(name, 0, 1, 2 ** 31)


# ---- per AP ----------------------------------------------------------------------------------

@bp.get("/aps/<ref>/config/render")
@require("viewer")
def render(ref: str):
    return jsonify(prov.preview(_engineer(), ref))


@bp.get("/aps/<ref>/config/variables")
@require("viewer")
def get_variables(ref: str):
    return jsonify(prov.variable_layers(_engineer(), ref))


@bp.put("/aps/<ref>/config/variables")
@require("operator")
def put_ap_variables(ref: str):
    prov.set_layer(_engineer(), "ap", ref, json_document())
    return jsonify(prov.variable_layers(_engineer(), ref))


@bp.get("/aps/<ref>/config/history")
@require("viewer")
def history(ref: str):
    return jsonify({"ap": ref, "versions": prov.history(_engineer(), ref)})


@bp.get("/aps/<ref>/config/diff")
@require("viewer")
def diff(ref: str):
    return jsonify(prov.stored_diff(_engineer(), ref, _version_arg("from"), _version_arg("to")))


@bp.get("/aps/<ref>/hostkey")
@require("viewer")
def get_hostkey(ref: str):
    return jsonify(prov.host_key(_engineer(), ref))


@bp.post("/aps/<ref>/hostkey")
@require("operator")
def accept_hostkey(ref: str):
    body = json_document()
    return jsonify(prov.accept_host_key(_engineer(), ref, body.get("fingerprint")))


# ---- variable layers above the AP -----------------------------------------------------------

def _layer(scope: str, ref: str | None):
    engineer = _engineer()
    data = json_document()
    prov.set_layer(engineer, scope, ref, data)
    return jsonify({"scope": scope, "ref": ref, "variables": redact_variables(data)})


@bp.put("/config/variables/global")
@require("operator")
def put_global_variables():
    return _layer("global", None)


@bp.put("/config/variables/site/<slug>")
@require("operator")
def put_site_variables(slug: str):
    return _layer("site", slug)


@bp.put("/config/variables/group/<name>")
@require("operator")
def put_group_variables(name: str):
    return _layer("group", name)


# ---- jobs ---------------------------------------------------------------------------------------

@bp.post("/provisioning/jobs")
@require("operator")
def create_job():
    return _accepted(prov.enqueue(_engineer(), json_document()))


@bp.get("/provisioning/jobs")
@require("viewer")
def list_jobs():
    return jsonify({"jobs": prov.recent_jobs(_engineer(), int_arg("limit", 50, 1, 500))})


@bp.get("/provisioning/jobs/<int:job_id>")
@require("viewer")
def get_job(job_id: int):
    return jsonify(prov.job_view(_engineer(), job_id))


# ---- adoption -----------------------------------------------------------------------------------

@bp.get("/provisioning/pending")
@require("viewer")
def list_pending():
    return jsonify({"pending": prov.pending(_engineer())})


@bp.post("/provisioning/pending/<ref>/adopt")
@require("operator")
def adopt(ref: str):
    ap, job_id = prov.adopt(_engineer(), ref, json_object())
    context.announce("ap", "create", ap["name"])
    return _accepted(job_id, ap=inventory.shown(ap))


@bp.post("/provisioning/pending/<ref>/ignore")
@require("operator")
def ignore(ref: str):
    return jsonify(prov.ignore(_engineer(), ref))
