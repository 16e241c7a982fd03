"""The dashboard: every site's APs by state, clients and traffic, and the AP table."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from controller.web import context, history, overview
from controller.web.context import page_role

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@page_role("viewer")
def index():
    rt = context.runtime()
    data = overview.dashboard(context.store(), context.snapshot())
    shown = history.draw(context.store(), [ap["id"] for ap in data["aps"]],
                         request.args.get("hours", type=int),
                         rt.config.municipality.timezone, single=False)
    return render_template("dashboard.html", data=data, states=overview.STATES,
                           config_alerts=rt.config.alerts, **shown)
