"""The alerts page: what is open now (with who acknowledged it), the silences in force, and what
cleared recently. Operators acknowledge an alert (with a note), silence it or a kind of alert of
a site or an AP for a while (saying why), and end a silence early; each is audited."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from controller.notify import messages
from controller.web import alerting, context
from controller.web.context import page_role
from core import alerts as alert_rows
from core.errors import CodedError
from core.store import now

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


def _actor() -> str:
    return context.actor(context.signed_in_user())


@bp.route("/")
@page_role("viewer")
def index():
    store = context.store()
    return render_template("alerts.html", open_alerts=alert_rows.alerts(store, state="open"),
                           cleared=alert_rows.alerts(store, state="cleared", limit=100),
                           silences=alert_rows.silences(store), targets=alerting.targets(),
                           kinds=sorted(messages.KIND_NAMES), kind_name=alerting.kind_name)


@bp.route("/<int:alert_id>/ack", methods=["POST"])
@page_role("operator")
def acknowledge(alert_id: int):
    try:
        alert_rows.acknowledge(context.store(), alert_id, actor=_actor(),
                               note=request.form.get("note", "")[:500])
    except CodedError as exc:
        flash(alerting.refusal(exc), "error")
    else:
        flash(_("Alert %(id)s acknowledged.", id=alert_id))
    return redirect(url_for("alerts.index"))


@bp.route("/<int:alert_id>/silence", methods=["POST"])
@page_role("operator")
def silence_alert(alert_id: int):
    return _silence(alert_id=alert_id)


@bp.route("/silences", methods=["POST"])
@page_role("operator")
def silence():
    return _silence()


def _silence(alert_id: int | None = None):
    form = request.form
    try:
        duration = alerting.hours(form.get("hours", ""))
        ap_id = site_id = None
        if alert_id is None:
            ap_id, site_id = alerting.target(form.get("target"))
        store = context.store()
        start = alerting.local_time(form.get("starts"))
        alert_rows.add_silence(store, actor=_actor(), alert_id=alert_id,
                               kind=form.get("kind") or None, ap_id=ap_id, site_id=site_id,
                               starts_at=start, ends_at=(start or now()) + duration,
                               reason=form.get("reason", "")[:500])
    except CodedError as exc:
        flash(alerting.refusal(exc), "error")
    else:
        flash(_("Silenced for %(hours)s h.", hours=f"{duration / 3600:g}"))
    return redirect(url_for("alerts.index"))


@bp.route("/silences/<int:silence_id>/cancel", methods=["POST"])
@page_role("operator")
def cancel_silence(silence_id: int):
    if alert_rows.cancel_silence(context.store(), silence_id, actor=_actor()):
        flash(_("Silence ended."))
    else:
        flash(_("No such silence in force."), "error")
    return redirect(url_for("alerts.index"))
