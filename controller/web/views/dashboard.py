"""The dashboard: every site's APs by state, clients and traffic, and the AP table."""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.web import context, overview
from controller.web.context import page_role

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@page_role("viewer")
def index():
    data = overview.dashboard(context.store(), context.runtime().snapshot)
    return render_template("dashboard.html", data=data, states=overview.STATES,
                           config_alerts=context.runtime().config.alerts)
