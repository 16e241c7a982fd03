"""Notification settings: which channels each severity goes to, the on-call rota (people, their
contact points and language, weekly shifts in local time), webhook receivers, and the latest
notifications with their fate. Operators read it; admins change it; every change is audited.

A webhook's signing secret is shown once, in the response that created it (never flashed: the
session cookie is signed, not encrypted)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from controller.notify import outbox, rota, rules
from controller.web import alerting, context
from controller.web.context import page_role
from core.errors import CodedError
from core.store import now

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _actor() -> str:
    return context.actor(context.signed_in_user())


def _page(status: int = 200, **extra):
    store = context.store()
    conn = store.conn
    tz = context.runtime().config.municipality.timezone
    people = rota.people(conn)
    return render_template(
        "notifications.html", rules=rules.rules(conn), severities=rules.SEVERITIES,
        channels=rules.CHANNELS, people=people, names={p.id: p.name for p in people},
        shifts=rota.shifts(conn), on_call=rota.on_call(conn, now(), tz),
        webhooks=rules.webhooks(conn), sent=outbox.recent(store, 30), **extra), status


@bp.route("/")
@page_role("operator")
def index():
    return _page()


def _done(message: str):
    flash(message)
    return redirect(url_for("notifications.index"))


def _refused(exc: CodedError):
    flash(alerting.refusal(exc), "error")
    return redirect(url_for("notifications.index"))


@bp.route("/rules", methods=["POST"])
@page_role("admin")
def save_rules():
    for severity in rules.SEVERITIES:
        chosen = {c: request.form.get(f"{severity}-{c}") == "on" for c in rules.CHANNELS}
        rules.set_rule(context.store(), rules.Rule(
            severity, on_clear=request.form.get(f"{severity}-on_clear") == "on", **chosen),
            actor=_actor())
    return _done(_("Routing saved."))


@bp.route("/people", methods=["POST"])
@page_role("admin")
def add_person():
    form = request.form
    try:
        rota.add_person(context.store(), actor=_actor(), name=form.get("name", ""),
                        email=form.get("email", ""), phone=form.get("phone", ""),
                        locale=form.get("locale", "ar"), digest=form.get("digest") == "on")
    except CodedError as exc:
        return _refused(exc)
    return _done(_("%(name)s added to the rota.", name=form.get("name", "").strip()))


@bp.route("/people/<int:person_id>/remove", methods=["POST"])
@page_role("admin")
def remove_person(person_id: int):
    rota.remove_person(context.store(), person_id, actor=_actor())
    return _done(_("Removed from the rota."))


@bp.route("/shifts", methods=["POST"])
@page_role("admin")
def add_shift():
    form = request.form
    try:
        weekday = int(form["weekday"]) if form.get("weekday") else None
        person = int(form.get("person", 0))
        if not 0 < person < 2 ** 63:
            raise ValueError("person")
        rota.add_shift(context.store(), actor=_actor(), person_id=person,
                       weekday=weekday, starts=form.get("starts", ""), ends=form.get("ends", ""))
    except ValueError:
        return _refused(rota.RotaError("rota.weekday", "weekday", "weekday"))
    except CodedError as exc:
        return _refused(exc)
    return _done(_("Shift added."))


@bp.route("/shifts/<int:shift_id>/remove", methods=["POST"])
@page_role("admin")
def remove_shift(shift_id: int):
    rota.remove_shift(context.store(), shift_id, actor=_actor())
    return _done(_("Shift removed."))


@bp.route("/webhooks", methods=["POST"])
@page_role("admin")
def add_webhook():
    form = request.form
    try:
        _id, secret = rules.add_webhook(context.store(), context.runtime().secret_box,
                                        actor=_actor(), name=form.get("name", ""),
                                        url=form.get("url", ""), secret=form.get("secret", ""))
    except CodedError as exc:
        return _refused(exc)
    return _page(201, new_webhook={"name": form.get("name", "").strip(), "secret": secret})


@bp.route("/webhooks/<int:webhook_id>/remove", methods=["POST"])
@page_role("admin")
def remove_webhook(webhook_id: int):
    rules.remove_webhook(context.store(), webhook_id, actor=_actor())
    return _done(_("Webhook removed."))
