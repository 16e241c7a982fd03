"""Where SMS gateways call us: delivery reports and citizens' replies, over HTTP.

Kannel's smsbox fetches ``/hooks/sms/kannel/dlr/<secret>`` for each delivery report it was asked
for (`captive_portal.sms.kannel.KannelSmsDriver.dlr_url`) and ``/hooks/sms/kannel/mo/<secret>``
for each SMS a citizen sends (its ``sms-service`` ``get-url``). A gateway has no session and no
CSRF token: the blueprint is CSRF-exempt and the secret in the path, ``[sms] hook_secret``,
compared in constant time, is its authentication (an unknown secret, or none configured, is a
404 like any unknown page). What arrives is read defensively (`kannel.parse_dlr`/`parse_mo`):
an unreadable request is a 400, a store that cannot take it now a 503 (the gateway tries
again), never a 500.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, abort, current_app, request

from captive_portal.config import SmsConfig
from captive_portal.reports.config import ReportsConfig
from captive_portal.sms import SmsService, kannel, make_driver
from controller.web import context
from controller.web.views import sms_outbox

log = logging.getLogger(__name__)

bp = Blueprint("sms_hooks", __name__, url_prefix="/hooks/sms")

#: Longest query string or body a hook reads (a Kannel MO carries one SMS of 1,000 octets at
#: most, percent-encoded).
HOOK_MAX_BYTES = 16384
EXTENSION = "oasis_sms"


def sms_config() -> SmsConfig:
    return getattr(context.runtime().config, "sms", None) or SmsConfig()


def service() -> SmsService:
    """The app's SMS service: the configured driver (for answers to replies) on the request's
    store."""
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        config = context.runtime().config
        found = SmsService(context.store, make_driver(sms_config()), sms_config(),
                           reports_config=getattr(config, "reports", None) or ReportsConfig())
        current_app.extensions[EXTENSION] = found
    return found


def _text(body: str, status: int = 200) -> Response:
    return Response(body + "\n", status=status, mimetype="text/plain")


def _authorised(secret: str) -> None:
    if not sms_config().hook_secret_matches(secret):
        abort(404)
    if len(request.query_string) > HOOK_MAX_BYTES or (request.content_length or 0) > HOOK_MAX_BYTES:
        abort(413)


@bp.route("/kannel/dlr/<secret>", methods=["GET", "POST"])
def kannel_dlr(secret: str):
    _authorised(secret)
    params = request.form if request.method == "POST" else request.args
    report = kannel.parse_dlr(params)
    if report is None:
        return _text("unreadable delivery report", 400)
    try:
        known = service().receipt(report.provider_id, report.state, at=report.at,
                                  detail=report.detail)
    except Exception:  # the store, not the request: let the gateway try again
        log.exception("delivery report for %s not recorded", report.provider_id)
        return _text("try again", 503)
    return _text("ok" if known else "kept")


@bp.route("/kannel/mo/<secret>", methods=["GET", "POST"])
def kannel_mo(secret: str):
    _authorised(secret)
    raw = request.query_string if request.method == "GET" else request.get_data(cache=False)
    message = kannel.parse_mo(raw)
    if message is None:
        return _text("unreadable message", 400)
    try:
        outcome = service().incoming(message.sender, message.text, at=message.at,
                                     gateway_id=message.gateway_id)
    except Exception:
        log.exception("SMS from %s not handled", message.sender)
        return _text("try again", 503)
    log.info("SMS from %s: %s", message.sender, outcome.outcome)
    # Empty: smsbox would send a non-empty answer to the citizen (max-messages = 0 stops it too).
    return Response("", status=200, mimetype="text/plain")


def init_app(app: Flask, csrf) -> None:
    """The SMS blueprints: these hooks (CSRF-exempt) and the outbox page."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(sms_outbox.bp)


__all__ = ["bp", "init_app", "service"]
