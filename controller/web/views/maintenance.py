"""Planned maintenance windows (`core.maintenance`): the whole network, a site or an AP, from a
local start for some hours. While a window lasts, no new alert opens for what it covers and no
notification is sent for it; the KPI reports leave its time out of availability. Operators plan
and cancel windows; both are audited."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from controller.web import alerting, context
from controller.web.context import page_role
from core import inventory, maintenance
from core.errors import CodedError
from core.store import now

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")

#: How far back the page lists windows that ended.
PAST_S = 7 * 86400


def window_rows(store, at: float) -> list[dict]:
    """Windows that end after a week ago, with the names of what they cover."""
    sites = {s["id"]: s["slug"] for s in inventory.list_sites(store)}
    aps = {a["id"]: a["name"] for a in inventory.list_aps(store)}
    return [{"id": w.id, "ap": aps.get(w.ap_id) if w.ap_id else None,
             "site": sites.get(w.site_id) if w.site_id else None, "starts_at": w.starts_at,
             "ends_at": w.ends_at, "reason": w.reason, "created_by": w.created_by,
             "state": "past" if w.ends_at <= at else "active" if w.starts_at <= at
             else "planned"}
            for w in maintenance.overlapping(store, at - PAST_S, at + 400 * 86400)]


@bp.route("/")
@page_role("viewer")
def index():
    store = context.store()
    return render_template("maintenance.html", windows=window_rows(store, now()),
                           targets=alerting.targets())


@bp.route("/", methods=["POST"])
@page_role("operator")
def plan():
    form = request.form
    try:
        ap_id, site_id = alerting.target(form.get("target"))
        start = alerting.local_time(form.get("starts")) or now()
        window = maintenance.add(context.store(), starts_at=start,
                                 ends_at=start + alerting.hours(form.get("hours", "")),
                                 actor=context.actor(context.signed_in_user()),
                                 reason=form.get("reason", "").strip()[:500],
                                 ap_id=ap_id, site_id=site_id)
    except CodedError as exc:
        flash(alerting.refusal(exc), "error")
    else:
        flash(_("Maintenance window %(id)s planned.", id=window.id))
    return redirect(url_for("maintenance.index"))


@bp.route("/<int:window_id>/cancel", methods=["POST"])
@page_role("operator")
def cancel(window_id: int):
    if maintenance.remove(context.store(), window_id,
                          actor=context.actor(context.signed_in_user())):
        flash(_("Maintenance window %(id)s cancelled.", id=window_id))
    else:
        flash(_("No such maintenance window."), "error")
    return redirect(url_for("maintenance.index"))
