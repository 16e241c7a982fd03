"""The 940 report queue for the municipality's staff: filters, overdue first, each report's
timeline, outbox and SMS, and a hand move for operators (the back office hears of it)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from captive_portal.reports import notify, outbox
from captive_portal.reports.catalogue import list_categories
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.intake import ReportError
from captive_portal.reports.lifecycle import STATUSES, TRANSITIONS, TransitionError
from captive_portal.reports.priority import PRIORITIES
from captive_portal.reports.records import (
    ReportFilter,
    find_reports,
    get_report,
    photo_tokens,
    timeline,
)
from captive_portal.reports.records import photo as load_photo
from captive_portal.reports.workflow import transition
from controller.web import context
from controller.web.context import page_role
from core import audit

bp = Blueprint("reports", __name__, url_prefix="/reports")

QUEUE_LIMIT = 500


def _reports_config() -> ReportsConfig:
    return getattr(context.runtime().config, "reports", None) or ReportsConfig()


@bp.route("/")
@page_role("viewer")
def index():
    args = request.args
    status = args.get("status") or None
    category = args.get("category") or None
    priority = args.get("priority") if args.get("priority") in PRIORITIES else None
    now = time.time()
    found = find_reports(context.store(), ReportFilter(
        statuses=[status] if status in STATUSES else None,
        categories=[category] if category else None, priority=priority,
        site=args.get("site") or None, overdue_at=now if args.get("overdue") else None,
        escalated=bool(args.get("escalated")), limit=QUEUE_LIMIT, overdue_first_at=now))
    return render_template("reports/queue.html", reports=found, now=now, statuses=STATUSES,
                           priorities=PRIORITIES, categories=list_categories(context.store()),
                           args=args, limit=QUEUE_LIMIT)


@bp.route("/<tracking>")
@page_role("viewer")
def detail(tracking: str):
    store = context.store()
    report = get_report(store, tracking=tracking)
    if report is None:
        abort(404)
    return render_template("reports/detail.html", report=report,
                           events=timeline(store, report.id),
                           outbox=outbox.of_report(store, report.id),
                           sms=notify.of_report(store, report.id),
                           photos=photo_tokens(store, report.id), now=time.time(),
                           moves=sorted(TRANSITIONS[report.status]))


@bp.route("/photos/<token>.jpg")
@page_role("viewer")
def photo(token: str):
    found = load_photo(context.store(), token) if len(token) < 64 else None
    if found is None:
        abort(404)
    return Response(found[1], mimetype=found[0])


@bp.route("/<tracking>/move", methods=["POST"])
@page_role("operator")
def move(tracking: str):
    target = request.form.get("status", "")
    note = (request.form.get("note") or "").strip()[:1000] or None
    user = context.signed_in_user()
    actor = context.actor(user)
    try:
        transition(context.store(), tracking, target, actor="admin", now=time.time(),
                   config=_reports_config(), note=note,
                   also=lambda conn: audit.record(conn, actor, "report.move", "report",
                                                  tracking, {"status": target, "note": note}))
    except ReportError:
        abort(404)
    except TransitionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.detail", tracking=tracking)), 303
    flash(f"{tracking} moved to {target.replace('_', ' ')}.")
    return redirect(url_for("reports.detail", tracking=tracking))


__all__ = ["bp"]
