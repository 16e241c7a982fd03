"""The alerts page: what is open now, and what cleared recently."""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.web import context, readers
from controller.web.context import page_role

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.route("/")
@page_role("viewer")
def index():
    store = context.store()
    return render_template("alerts.html", open_alerts=readers.alerts(store, state="open"),
                           cleared=readers.alerts(store, state="cleared", limit=100))
