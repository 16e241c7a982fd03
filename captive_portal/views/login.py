"""Login: the landing page and the two flows (terms click-through, phone + SMS code).

Every step carries the gateway's signed redirect parameters in hidden fields and verifies them
again, so no server-side state is needed between pages and a forged or stale link never gets
further than the first check.
"""

from __future__ import annotations

import re

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from captive_portal import access
from captive_portal.context import portal
from captive_portal.errors import PortalError
from captive_portal.i18n import current_locale
from captive_portal.otp import OneTimeCodes, OtpError
from captive_portal.phones import PhoneError, display, normalise_saudi_mobile
from captive_portal.views.common import SESSION_KEY, limit_posts, signed_params, verified_claim
from captive_portal.views.status import continue_url

bp = Blueprint("login", __name__)


@bp.get("/")
def landing():
    claim = verified_claim(request.args)
    return render_template("landing.html", signed=signed_params(request.args), claim=claim)


@bp.post("/login/terms")
def terms():
    limit_posts()
    claim = verified_claim(request.form)
    if request.form.get("accept") != "yes":
        raise PortalError("terms_not_accepted")
    return _logged_in(access.grant(portal(), claim, "terms", None, current_locale()), claim)


@bp.post("/login/phone")
def phone():
    """Send a code to the number and show the form to type it in."""
    limit_posts()
    claim = verified_claim(request.form)
    number = _phone_from_form()
    ctx = portal()
    codes = OneTimeCodes(ctx.store, ctx.config, ctx.secret_key, ctx.clock)
    try:
        code = codes.issue(number, claim.mac)
    except OtpError as exc:
        if exc.code == "sms_resend_wait" and codes.pending(number, claim.mac):
            # This device has a live code for this number (it asked twice, or its post was
            # retried after the node that sent the code died): its form, no second SMS.
            return _code_form(number)
        raise PortalError(exc.code) from None
    body = _("Your Amanah WiFi code is %(code)s. It expires in %(minutes)d minutes.",
             code=code, minutes=max(1, ctx.config.otp_ttl_s // 60))
    record = ctx.sms.send(number, body, purpose="login_code", locale=current_locale())
    if record.state not in ("submitted", "delivered"):
        raise PortalError("sms_failed")
    return _code_form(number)


def _code_form(number: str):
    return render_template("code.html", signed=signed_params(request.form), phone=number,
                           phone_display=display(number),
                           code_length=portal().config.otp_length)


@bp.post("/login/code")
def code():
    limit_posts()
    claim = verified_claim(request.form)
    number = _phone_from_form()
    typed = re.sub(r"\s", "", request.form.get("code", "")).translate(
        str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    ctx = portal()
    if not typed.isdigit() or len(typed) != ctx.config.otp_length:
        raise PortalError("code_format")
    try:
        OneTimeCodes(ctx.store, ctx.config, ctx.secret_key, ctx.clock).verify(
            number, claim.mac, typed)
    except OtpError as exc:
        raise PortalError(exc.code) from None
    return _logged_in(access.grant(ctx, claim, "sms", number, current_locale()), claim)


def _phone_from_form() -> str:
    try:
        return normalise_saudi_mobile(request.form.get("phone", ""))
    except PhoneError:
        raise PortalError("phone_invalid") from None


def _logged_in(visitor_session, claim):
    session.clear()
    session[SESSION_KEY] = visitor_session.id
    session["continue_url"] = continue_url(claim.url)
    return redirect(url_for("status.show", welcome=1), code=303)


__all__ = ["bp"]
