"""Access point pages: list, detail with charts, create, edit, delete."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from controller.web import context, history, overview, readers
from controller.web.context import page_role
from controller.web.views.forms import errors_for, submitted, without_secrets
from core import inventory
from core.inventory import AP_FIELDS, AUTH_PROTOS, PRIV_PROTOS, SECRET_FIELDS, InventoryError
from netconfig.platforms import PLATFORMS

bp = Blueprint("aps", __name__, url_prefix="/aps")


def _form(ap: dict | None, values: dict, errors: dict, status: int = 200):
    return render_template(
        "aps/form.html", ap=ap, values=without_secrets(values), errors=errors,
        sites=inventory.list_sites(context.store()), platforms=sorted(PLATFORMS),
        auth_protos=AUTH_PROTOS, priv_protos=PRIV_PROTOS), status


@bp.route("/")
@page_role("viewer")
def index():
    site = request.args.get("site") or None
    state = request.args.get("state") or None
    rows = overview.ap_rows(context.store(), context.snapshot(), site)
    # A site's page draws the site's history: every AP of it, whatever the state filter.
    shown = history.draw(context.store(), [r["id"] for r in rows],
                         request.args.get("hours", type=int),
                         context.runtime().config.municipality.timezone,
                         single=False) if site else {}
    if state:
        rows = [r for r in rows if r["state"] == state]
    return render_template("aps/list.html", aps=rows, sites=inventory.list_sites(context.store()),
                           site=site, state=state, states=overview.STATES, **shown)


@bp.route("/new", methods=["GET", "POST"])
@page_role("operator")
def create():
    if request.method == "GET":
        return _form(None, {"site": request.args.get("site", "")}, {})
    values = submitted(AP_FIELDS, drop_blank=AP_FIELDS)
    try:
        ap = inventory.add_ap(context.store(), context.runtime().secret_box, values,
                              context.actor(context.signed_in_user()))
    except InventoryError as exc:
        return _form(None, values, errors_for(exc), 422)
    context.announce("ap", "create", ap["name"])
    flash(_("Access point %(name)s added.", name=ap["name"]))
    return redirect(url_for("aps.detail", ref=ap["name"]))


@bp.route("/<ref>/edit", methods=["GET", "POST"])
@page_role("operator")
def edit(ref: str):
    ap = inventory.get_ap(context.store(), ref)
    if request.method == "GET":
        return _form(ap, {k: "" if ap.get(k) is None else str(ap[k]) for k in AP_FIELDS}, {})
    # A blank secret keeps the stored one: secrets are never sent to the browser to be re-posted.
    values = submitted(AP_FIELDS, drop_blank=SECRET_FIELDS)
    try:
        ap = inventory.update_ap(context.store(), context.runtime().secret_box, ap["id"], values,
                                 context.actor(context.signed_in_user()))
    except InventoryError as exc:
        return _form(ap, values, errors_for(exc), 422)
    context.announce("ap", "update", ap["name"])
    flash(_("Access point %(name)s saved.", name=ap["name"]))
    return redirect(url_for("aps.detail", ref=ap["name"]))


@bp.route("/<ref>/delete", methods=["POST"])
@page_role("operator")
def delete(ref: str):
    ap = inventory.remove_ap(context.store(), ref, context.actor(context.signed_in_user()))
    context.announce("ap", "delete", ap["name"])
    flash(_("Access point %(name)s deleted.", name=ap["name"]))
    return redirect(url_for("aps.index"))


@bp.route("/<ref>")
@page_role("viewer")
def detail(ref: str):
    store = context.store()
    rt = context.runtime()
    ap = inventory.get_ap(store, ref)
    status = context.snapshot().get(ap["id"])
    tz = rt.config.municipality.timezone
    shown = history.draw(store, [ap["id"]], request.args.get("hours", type=int), tz,
                         single=True)
    return render_template(
        "aps/detail.html", ap=ap, status=status, row=overview.ap_row(ap, status),
        events=readers.events(store, ap["id"], limit=30),
        alerts=readers.alerts(store, state="open", ap_id=ap["id"]), **shown)
