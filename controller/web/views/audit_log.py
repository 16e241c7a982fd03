"""The audit log page: who changed what, when; filtered by actor and action."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from controller.web import context
from controller.web.context import page_role
from core import audit

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@page_role("operator")
def index():
    actor = request.args.get("actor", "").strip()[:100] or None
    action = request.args.get("action", "").strip()[:100] or None
    # ``at`` stays unix seconds: the page shows it in local time (the `when` filter).
    entries = audit.entries(context.store(), limit=300, actor=actor, action_prefix=action)
    return render_template("audit.html", entries=entries, actor=actor or "", action=action or "")
