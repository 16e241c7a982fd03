"""Sites pages: list, create, edit, delete (operators and admins change; viewers read)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from controller.web import context
from controller.web.context import page_role
from controller.web.refusals import refusal_text
from controller.web.views.forms import errors_for, submitted
from core import inventory
from core.inventory import SITE_FIELDS, SITE_KINDS, InventoryError

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.route("/")
@page_role("viewer")
def index():
    return render_template("sites/list.html", sites=inventory.list_sites(context.store()))


@bp.route("/new", methods=["GET", "POST"])
@page_role("operator")
def create():
    values, errors = {}, {}
    if request.method == "POST":
        values = submitted(SITE_FIELDS)
        user = context.signed_in_user()
        try:
            site = inventory.add_site(context.store(), values, context.actor(user))
        except InventoryError as exc:
            errors = errors_for(exc)
        else:
            context.announce("site", "create", site["slug"])
            flash(_("Site %(name)s added.", name=site["slug"]))
            return redirect(url_for("sites.index"))
    return render_template("sites/form.html", site=None, values=values, errors=errors,
                           kinds=SITE_KINDS), 422 if errors else 200


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@page_role("operator")
def edit(slug: str):
    site = inventory.get_site(context.store(), slug)
    values = {k: "" if site[k] is None else str(site[k]) for k in SITE_FIELDS}
    errors = {}
    if request.method == "POST":
        values = submitted(SITE_FIELDS)
        try:
            site = inventory.update_site(context.store(), site["id"], values,
                                         context.actor(context.signed_in_user()))
        except InventoryError as exc:
            errors = errors_for(exc)
        else:
            context.announce("site", "update", site["slug"])
            flash(_("Site %(name)s saved.", name=site["slug"]))
            return redirect(url_for("sites.index"))
    return render_template("sites/form.html", site=site, values=values, errors=errors,
                           kinds=SITE_KINDS), 422 if errors else 200


@bp.route("/<slug>/delete", methods=["POST"])
@page_role("operator")
def delete(slug: str):
    try:
        inventory.remove_site(context.store(), slug, context.actor(context.signed_in_user()))
    except InventoryError as exc:
        if exc.code == "not_found":
            raise
        flash(refusal_text(exc), "error")
        return redirect(url_for("sites.index"))
    context.announce("site", "delete", slug)
    flash(_("Site %(name)s deleted.", name=slug))
    return redirect(url_for("sites.index"))
