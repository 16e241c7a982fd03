"""Configuration pages: an AP's config (preview, variables by layer, history, host key), diffs,
provisioning jobs with their progress, and APs waiting for adoption.

Every button queues a job (the provisioning worker talks to the devices) and leads to the job's
page, which refreshes itself with a ``<meta http-equiv="refresh">`` while the job runs: no
script is needed, so the strict CSP holds. A push from the AP page is a dry run; the real push is
offered on the finished dry run's page.
"""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from controller.web import context
from controller.web import provisioning as prov
from controller.web.api.provisioning import MAX_DEPTH
from controller.web.context import page_role
from controller.web.params import check_json_content, page_int_arg
from controller.web.refusals import refusal_text
from controller.web.security import safe_next
from core import inventory
from core.inventory import InventoryError

bp = Blueprint("provisioning", __name__, url_prefix="/config")

#: Seconds between reloads of a running job's page.
REFRESH_SECONDS = 3
#: Stored config versions are numbered from 1; the API takes the same range.
VERSION_MAX = 2 ** 31


def _engineer() -> prov.Engineer:
    return prov.Engineer(context.signed_in_user())


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _refused(exc: InventoryError) -> str:
    if str(get_locale() or "en") != "en":
        return refusal_text(exc)
    return exc.message + (f" ({exc.field})" if exc.field else "")


@bp.route("/aps/<ref>")
@page_role("viewer")
def ap_config(ref: str):
    engineer = _engineer()
    ap = inventory.get_ap(context.store(), ref)
    try:
        rendered, problems = prov.preview(engineer, ap["id"]), []
    except prov.ConfigRefused as exc:
        rendered, problems = None, exc.problems
    except InventoryError as exc:
        if exc.code == "not_found":
            raise
        rendered, problems = None, []
        flash(_refused(exc), "error")
    layers = prov.variable_layers(engineer, ap["id"])
    for entry in layers["layers"]:   # Arabic SSIDs shown as written, not as \u escapes
        entry["text"] = json.dumps(entry["variables"], ensure_ascii=False, indent=2)
    layer = next((entry for entry in layers["layers"] if entry["scope"] == "ap"), None)
    return render_template(
        "provisioning/ap.html", ap=ap, rendered=rendered, problems=problems, layers=layers,
        history=prov.history(engineer, ap["id"]),
        hostkey=prov.host_key(engineer, ap["id"]),
        ap_layer=json.dumps(layer["variables"] if layer else {}, ensure_ascii=False, indent=2))


@bp.route("/aps/<ref>/variables", methods=["POST"])
@page_role("operator")
def ap_variables(ref: str):
    """Replace the AP's own layer from a JSON text area; a refusal names the variable."""
    ap = inventory.get_ap(context.store(), ref)
    try:
        data = json.loads(request.form.get("variables", "") or "{}",
                          parse_constant=_refuse_constant)
        if not isinstance(data, dict):
            raise ValueError("the variables must be a JSON object")
        check_json_content(data, MAX_DEPTH)  # the API's limits: no surrogates, 8 levels
        prov.set_layer(_engineer(), "ap", ap["id"], data)
    except (ValueError, RecursionError) as exc:
        message = _refused(exc) if isinstance(exc, InventoryError) else \
            _("not JSON: %(error)s", error=str(exc))
        flash(_("Variables not saved: %(message)s", message=message), "error")
    else:
        flash(_("Variables of %(name)s saved.", name=ap["name"]))
    return redirect(url_for("provisioning.ap_config", ref=ap["name"]))


@bp.route("/aps/<ref>/diff")
@page_role("viewer")
def ap_diff(ref: str):
    ap = inventory.get_ap(context.store(), ref)
    old = page_int_arg("from", 1, VERSION_MAX)
    new = page_int_arg("to", 1, VERSION_MAX)
    try:
        result = prov.stored_diff(_engineer(), ap["id"], old, new)
    except InventoryError as exc:
        if exc.code == "not_found":
            raise
        flash(_refused(exc), "error")
        return redirect(url_for("provisioning.ap_config", ref=ap["name"]))
    return render_template("provisioning/diff.html", ap=ap, result=result)


@bp.route("/aps/<ref>/hostkey", methods=["POST"])
@page_role("operator")
def accept_hostkey(ref: str):
    ap = inventory.get_ap(context.store(), ref)
    try:
        prov.accept_host_key(_engineer(), ap["id"], request.form.get("fingerprint"))
    except InventoryError as exc:
        flash(_("Key not accepted: %(message)s", message=_refused(exc)), "error")
    else:
        flash(_("New host key of %(name)s pinned.", name=ap["name"]))
    return redirect(url_for("provisioning.ap_config", ref=ap["name"]))


@bp.route("/jobs")
@page_role("viewer")
def jobs():
    return render_template("provisioning/jobs.html", jobs=prov.recent_jobs(_engineer(), 100),
                           operations=prov.OPERATIONS)


@bp.route("/jobs/new", methods=["POST"])
@page_role("operator")
def create_job():
    """Queue a job from a form; back to where the form was on a refusal."""
    form = request.form
    operation = form.get("operation", "")
    # The form's dry-run box is ticked by default; it means something for a push only.
    body: dict = {"operation": operation, "target": form.get("target", ""),
                  "dry_run": operation == "push" and form.get("dry_run") == "1"}
    for name in ("version", *prov.OPTION_RANGES):
        raw = form.get(name, "").strip()
        if raw:
            body[name] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else raw
    try:
        job_id = prov.enqueue(_engineer(), body)
    except InventoryError as exc:
        flash(_("Not queued: %(message)s", message=_refused(exc)), "error")
        return redirect(safe_next(form.get("back")) or url_for("provisioning.jobs"))
    return redirect(url_for("provisioning.job", job_id=job_id))


@bp.route("/jobs/<int:job_id>")
@page_role("viewer")
def job(job_id: int):
    found = prov.job_view(_engineer(), job_id)
    return render_template("provisioning/job.html", job=found,
                           refresh=None if found["finished"] else REFRESH_SECONDS)


@bp.route("/pending")
@page_role("viewer")
def pending():
    return render_template("provisioning/pending.html", pending=prov.pending(_engineer()),
                           sites=inventory.list_sites(context.store()))


@bp.route("/pending/<ref>/adopt", methods=["POST"])
@page_role("operator")
def adopt(ref: str):
    data = {k: v.strip() for k, v in request.form.items()
            if k != "csrf_token" and v.strip()}
    try:
        ap, job_id = prov.adopt(_engineer(), ref, data)
    except InventoryError as exc:
        if exc.code == "not_found":
            raise
        flash(_("Not adopted: %(message)s", message=_refused(exc)), "error")
        return redirect(url_for("provisioning.pending"))
    context.announce("ap", "create", ap["name"])
    flash(_("Access point %(name)s adopted; its site's template is being pushed.",
            name=ap["name"]))
    return redirect(url_for("provisioning.job", job_id=job_id))


@bp.route("/pending/<ref>/ignore", methods=["POST"])
@page_role("operator")
def ignore(ref: str):
    try:
        row = prov.ignore(_engineer(), ref)
    except InventoryError as exc:
        if exc.code == "not_found":
            raise
        flash(_refused(exc), "error")
    else:
        flash(_("%(device)s ignored.", device=row["mac"] or row["mgmt_ip"]))
    return redirect(url_for("provisioning.pending"))

