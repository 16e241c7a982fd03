"""Branch pages: the backhaul of each branch (path, links) and its failover history.

Everything comes from what `controller.backhaul.service.BackhaulMonitor` stored; no request talks to a
branch router.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.backhaul import service as backhaul
from controller.web import context
from controller.web.context import page_role

bp = Blueprint("branches", __name__, url_prefix="/branches")

#: Events shown on a branch page; the API pages further back.
HISTORY_LIMIT = 200


@bp.route("/")
@page_role("viewer")
def index():
    return render_template("branches/list.html",
                           branches=backhaul.list_branches(context.store()))


@bp.route("/<branch>")
@page_role("viewer")
def detail(branch: str):
    store = context.store()
    return render_template("branches/detail.html", branch=backhaul.get_branch(store, branch),
                           events=backhaul.branch_events(store, branch, HISTORY_LIMIT))
