"""The 940 report queue for the municipality's staff: filters, overdue first, each report's
timeline, outbox and SMS, and a hand move for operators (the back office hears of it)."""

from __future__ import annotations

import time
from functools import partial
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from captive_portal.reports import notify, outbox
from captive_portal.reports.catalogue import list_categories
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.intake import ReportError
from captive_portal.reports.lifecycle import STATUSES, TRANSITIONS, TransitionError
from captive_portal.reports.photos import thumbnail
from captive_portal.reports.priority import PRIORITIES
from captive_portal.reports.records import (
    ORDERS,
    ReportFilter,
    find_reports,
    get_report,
    photo_tokens,
    timeline,
    typed_tracking,
)
from captive_portal.reports.records import photo as load_photo
from captive_portal.reports.workflow import transition
from controller.web import context
from controller.web.context import page_role
from controller.web.narrate import report_status_name
from controller.web.views.site_map import map_policy, places
from core import audit

bp = Blueprint("reports", __name__, url_prefix="/reports")

QUEUE_LIMIT = 500
#: Moves the desk may make on several reports at once, and how many at once.
BULK_MOVES = {"acknowledged": _l("acknowledged"), "assigned": _l("assigned"),
              "in_progress": _l("in progress"), "rejected": _l("rejected")}
BULK_LIMIT = 100
#: The queue's own query arguments (a bulk move returns to the queue it was made from).
QUEUE_ARGS = ("q", "sort", "status", "category", "priority", "site", "overdue", "escalated")
THUMBNAIL_SIDE = 240


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
    search = (args.get("q") or "").strip()[:100] or None
    if search and get_report(context.store(), tracking=typed_tracking(search)) is not None:
        # A whole tracking number (in any digits) opens its report.
        return redirect(url_for("reports.detail", tracking=typed_tracking(search)))
    found = find_reports(context.store(), ReportFilter(
        statuses=[status] if status in STATUSES else None,
        categories=[category] if category else None, priority=priority,
        site=args.get("site") or None, overdue_at=now if args.get("overdue") else None,
        escalated=bool(args.get("escalated")), limit=QUEUE_LIMIT, overdue_first_at=now,
        search=search, order=args.get("sort") if args.get("sort") in ORDERS else None))
    return render_template("reports/queue.html", reports=found, now=now, statuses=STATUSES,
                           priorities=PRIORITIES, categories=list_categories(context.store()),
                           args=args, limit=QUEUE_LIMIT, orders=tuple(ORDERS),
                           bulk_moves=BULK_MOVES, bulk_limit=BULK_LIMIT,
                           back=urlencode([(k, v) for k, v in args.items(multi=True)
                                           if k in QUEUE_ARGS]))


@bp.route("/<tracking>")
@page_role("viewer")
def detail(tracking: str):
    store = context.store()
    report = get_report(store, tracking=tracking)
    if report is None:
        abort(404)
    tiles_url, attribution = _tiles()
    page = render_template("reports/detail.html", report=report,
                           events=timeline(store, report.id),
                           outbox=outbox.of_report(store, report.id),
                           sms=notify.of_report(store, report.id),
                           photos=photo_tokens(store, report.id), now=time.time(),
                           moves=sorted(TRANSITIONS[report.status]),
                           nearby=_nearby(report), map_tiles_url=tiles_url,
                           map_tiles_attribution=attribution)
    return page, 200, {"Content-Security-Policy": map_policy(tiles_url)}


def _tiles() -> tuple[str, str]:
    admin = context.runtime().config.admin
    return admin.map_tiles_url, admin.map_tiles_attribution


def _nearby(report) -> tuple[list[dict], list[dict]]:
    """The report's site and its APs, for the report's small map."""
    if report.lat is None or not report.site:
        return [], []
    sites, aps = places(context.store(), context.snapshot())
    return ([s for s in sites if s["slug"] == report.site and s["lat"] is not None],
            [a for a in aps if a["site"] == report.site and a["lat"] is not None])


@bp.route("/photos/<token>.jpg")
@page_role("viewer")
def photo(token: str):
    found = load_photo(context.store(), token) if len(token) < 64 else None
    if found is None:
        abort(404)
    if request.args.get("size") == "thumb":
        response = Response(thumbnail(found[1], THUMBNAIL_SIDE), mimetype="image/jpeg")
    else:
        response = Response(found[1], mimetype=found[0])
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


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
        flash(str(exc) if str(get_locale() or "en") == "en" else
              _("This move is not allowed from the report's current status."), "error")
        return redirect(url_for("reports.detail", tracking=tracking)), 303
    flash(_("%(tracking)s moved to %(status)s.", tracking=tracking,
            status=report_status_name(target)))
    return redirect(url_for("reports.detail", tracking=tracking))


@bp.route("/bulk", methods=["POST"])
@page_role("operator")
def bulk():
    """One move for several reports of the queue: each its own transaction and audit entry;
    a report the move does not apply to is left as it is and named."""
    form = request.form
    back = [(k, v) for k, v in parse_qsl(form.get("back", "")) if k in QUEUE_ARGS]
    queue = url_for("reports.index") + ("?" + urlencode(back) if back else "")
    target = form.get("status", "")
    trackings = list(dict.fromkeys(t for t in form.getlist("tracking") if t))
    assignee = (form.get("assignee") or "").strip()[:100] or None
    note = (form.get("note") or "").strip()[:1000] or None
    if target not in BULK_MOVES or not trackings:
        flash(_("Choose one or more reports and a move."), "error")
        return redirect(queue), 303
    if target == "assigned" and not assignee:
        flash(_("Name the person or team to assign the reports to."), "error")
        return redirect(queue), 303
    if len(trackings) > BULK_LIMIT:
        flash(_("At most %(n)s reports at once.", n=BULK_LIMIT), "error")
        return redirect(queue), 303
    actor = context.actor(context.signed_in_user())
    moved, refused = [], []
    for tracking in trackings:
        entry = partial(audit.record, actor=actor, action="report.move", target_type="report",
                        target_id=tracking, detail={"status": target, "note": note,
                                                    "assigned_to": assignee,
                                                    "bulk": len(trackings)})
        try:
            transition(context.store(), tracking, target, actor="admin", now=time.time(),
                       config=_reports_config(), note=note,
                       assigned_to=assignee if target == "assigned" else None, also=entry)
        except (ReportError, TransitionError):
            refused.append(tracking)
        else:
            moved.append(tracking)
    if moved:
        flash(ngettext("%(num)s report moved to %(status)s.",
                       "%(num)s reports moved to %(status)s.", len(moved),
                       status=BULK_MOVES[target]))
    if refused:
        flash(_("Not moved (the move does not apply to their status): %(trackings)s",
                trackings=", ".join(refused[:20])), "error")
    return redirect(queue), 303


__all__ = ["bp"]
