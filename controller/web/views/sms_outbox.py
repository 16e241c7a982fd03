"""The SMS outbox page: every message with its delivery state, encoding, segments and purpose,
and the SMS citizens sent us.

A message's text is shown only when the driver is ``console`` (the demo, where visitors read
their codes here, having no phone on the network); with a real gateway the codes in it are
masked, since a login or closure code is someone's key.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template, request

from captive_portal.config import SmsConfig
from captive_portal.sms import STATES, records
from controller.web import context
from controller.web.context import page_role

bp = Blueprint("sms_outbox", __name__, url_prefix="/sms")

LIMIT = 300
DAY = 86400.0


@bp.app_context_processor
def _gettext_fallback() -> dict:
    """``_`` for templates until the app has Flask-Babel (then its own is used)."""
    if "_" in current_app.jinja_env.globals:
        return {}
    return {"_": lambda text, **values: text % values if values else text}


@bp.route("/")
@page_role("operator")
def index():
    store = context.store()
    config = getattr(context.runtime().config, "sms", None) or SmsConfig()
    state = request.args.get("state") if request.args.get("state") in STATES else None
    known = records.purposes(store)
    purpose = request.args.get("purpose") if request.args.get("purpose") in known else None
    since = time.time() - DAY
    return render_template(
        "sms/outbox.html", messages=records.outbox(store, state=state, purpose=purpose,
                                                   limit=LIMIT),
        incoming=records.incoming(store, limit=50), counts=records.state_counts(store, since),
        segments=records.segment_total(store, since), states=STATES, purposes=known,
        state=state or "", purpose=purpose or "", show_bodies=config.driver == "console",
        masked=records.masked, driver=config.driver, limit=LIMIT)
