"""Awareness messages (issue 18): an operator writes a message in Arabic and English for a site's
recent reporters, sees what sending it would do (recipients, encoding, segments, cost), confirms,
and follows the campaign. Viewers see the campaigns; operators preview and send. The domain
(`captive_portal.reports.awareness`) does the counting, the checks and the audit entry; the
messages leave later, paced, from the 940 pipeline, never inside this request."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from captive_portal.reports import awareness
from captive_portal.reports.awareness import AwarenessError
from controller.web import context
from controller.web.context import page_role
from core import inventory
from core.store import now

bp = Blueprint("awareness", __name__, url_prefix="/awareness")

DEFAULT_DAYS = 30

#: The domain's refusals in the reader's language, by code.
REFUSALS = {
    "required": _l("Write the message in both languages and choose a site."),
    "too_long": _l("The message is too long: at most %(most)s SMS segments per language.",
                   most=awareness.MAX_SEGMENTS),
    "invalid_field": _l("The period must be a whole number of days from 1 to %(most)s.",
                        most=awareness.MAX_DAYS),
    "audience_changed": _l("The recipients or the text changed since the preview. Check the new "
                           "preview and confirm again."),
    "no_recipients": _l("Nobody to send to: no opted-in reporter at this site in that period."),
    "too_many_recipients": _l("Too many recipients for one message; choose a shorter period."),
}


def _sms_config():
    return context.runtime().config.sms


def _form() -> dict[str, str]:
    form = request.form
    return {"site": form.get("site", ""), "days": form.get("days", "") or str(DEFAULT_DAYS),
            "body_ar": form.get("body_ar", ""), "body_en": form.get("body_en", "")}


def _bodies(values: dict[str, str]) -> dict[str, str]:
    return {"ar": values["body_ar"], "en": values["body_en"]}


def _sites() -> list[tuple[str, str]]:
    """(slug, label) of every site, with how many numbers reported there in the last year."""
    counts = dict(awareness.sites_with_reporters(context.store(),
                                                 now() - awareness.MAX_DAYS * 86400))
    return [(site["slug"], f"{site['name_en']} · {site['name_ar']}"
             + (f" ({counts[site['slug']]})" if site["slug"] in counts else ""))
            for site in inventory.list_sites(context.store())]


def _index(values: dict[str, str], errors: dict[str, str], status: int = 200):
    return render_template("awareness/index.html", campaigns=awareness.campaigns(context.store()),
                           sites=_sites(), values=values, errors=errors,
                           max_segments=awareness.MAX_SEGMENTS), status


def _refused(exc: AwarenessError, values: dict[str, str]):
    message = str(REFUSALS.get(exc.code, exc.message))
    return _index(values, {exc.field or "form": message}, 409 if exc.status == 409 else 422)


@bp.route("/")
@page_role("viewer")
def index():
    return _index({"site": request.args.get("site", ""), "days": str(DEFAULT_DAYS),
                   "body_ar": "", "body_en": ""}, {})


@bp.route("/preview", methods=["POST"])
@page_role("operator")
def preview():
    values = _form()
    config = _sms_config()
    try:
        shown = awareness.preview(context.store(), values["site"], values["days"],
                                  _bodies(values), segment_price=config.segment_price,
                                  currency=config.currency)
    except AwarenessError as exc:
        return _refused(exc, values)
    return render_template("awareness/preview.html", preview=shown, values=values)


@bp.route("/send", methods=["POST"])
@page_role("operator")
def send():
    values = _form()
    config = _sms_config()
    try:
        campaign_id = awareness.create(
            context.store(), values["site"], values["days"], _bodies(values),
            token=request.form.get("token", ""), actor=context.actor(context.signed_in_user()),
            segment_price=config.segment_price, currency=config.currency)
    except AwarenessError as exc:
        return _refused(exc, values)
    flash(_("The message is on its way to its recipients."))
    return redirect(url_for("awareness.campaign", campaign_id=campaign_id), 303)


@bp.route("/<int:campaign_id>")
@page_role("viewer")
def campaign(campaign_id: int):
    found = awareness.get_campaign(context.store(), campaign_id)
    if found is None:
        abort(404)
    return render_template("awareness/campaign.html", campaign=found)


__all__ = ["bp"]
