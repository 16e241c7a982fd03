"""Open311 GeoReport v2 endpoints under ``/open311/v2/`` (``.json`` or ``.xml``).

``discovery``, ``services``, ``services/{code}``, ``requests`` (POST with an api_key, GET with
the spec's filters), ``requests/{id}`` and ``tokens/{token}``. Our nine statuses map to the
spec's open/closed with the precise one in ``status_notes``; the SLA due time is
``expected_datetime``. Every failure is the spec's error array with its status code, never an
HTML page and never a 500 for bad input.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from captive_portal.context import portal
from captive_portal.open311.formats import FORMATS, Open311Error, render, render_error
from captive_portal.reports import open311_keys
from captive_portal.reports.catalogue import Category, get_category, list_categories
from captive_portal.reports.context import reports_context
from captive_portal.reports.intake import NewReport, ReportError, file_report
from captive_portal.reports.lifecycle import OPEN311_CLOSED, STATUSES, open311_status
from captive_portal.reports.records import (
    Report,
    ReportFilter,
    find_reports,
    get_report,
    photo_tokens,
    typed_tracking,
)
from core.store import iso

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FMT = "<any(json,xml):fmt>"
MAX_RANGE = dt.timedelta(days=90)
MAX_RESULTS = 1000
CHANGESET = "2026-11-22T00:00:00+00:00"


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error):
    return render_error(error, _fmt())


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    return render_error(Open311Error(413, "request body too large"), _fmt())


def _lang() -> str:
    chosen = request.args.get("locale") or request.args.get("lang")
    if chosen in ("ar", "en"):
        return chosen
    return request.accept_languages.best_match(("en", "ar")) or "en"


# -- discovery and services --------------------------------------------------------------------

@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str):
    base = url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0] + "/"
    return render({"changeset": CHANGESET,
                   "contact": "Al-Ahsa Municipality 940 — call 940 or use the park WiFi portal",
                   "key_service": "Ask the municipality's digital services for an api_key",
                   "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                                  "url": base, "changeset": CHANGESET, "type": "production",
                                  "formats": ["text/xml", "application/json"]}]},
                  fmt, root="discovery")


def _service(category: Category, lang: str) -> dict:
    return {"service_code": category.code, "service_name": category.name(lang),
            "description": category.description(lang), "metadata": False, "type": "realtime",
            "keywords": [k for k in category.keywords.split(",") if k],
            "group": category.grp}


@bp.get(f"/services.{FMT}")
def services(fmt: str):
    lang = _lang()
    return render([_service(c, lang) for c in list_categories(portal().store)], fmt,
                  root="services", item="service")


@bp.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str):
    if get_category(portal().store, code) is None:
        raise Open311Error(404, f"no service with service_code {code[:40]!r}")
    return render({"service_code": code, "attributes": []}, fmt, root="service_definition")


# -- requests ------------------------------------------------------------------------------------

def _api_client(key: str | None) -> str:
    if not key:
        raise Open311Error(403, "an api_key is required to create a service request")
    client = open311_keys.client_of(portal().store, key)
    if client is None:
        raise Open311Error(403, "invalid api_key")
    return client


def _form(name: str) -> str | None:
    """The spec: an empty parameter is the same as a missing one."""
    value = request.form.get(name)
    return value if value not in (None, "") else None


@bp.post(f"/requests.{FMT}")
def create_request(fmt: str):
    form = request.form  # parsing here turns an oversized body into our 413
    client = _api_client(_form("api_key"))
    if not _form("service_code"):
        raise Open311Error(400, "service_code is required")
    first, last = _form("first_name"), _form("last_name")
    new = NewReport(
        category=_form("service_code") or "", description=form.get("description", ""),
        channel="open311", locale=_form("locale") or "ar", lat=_form("lat"), lon=_form("long"),
        location_source="open311", address=_form("address_string"),
        address_id=_form("address_id"), phone=_form("phone"), email=_form("email"),
        device_id=_form("device_id"), account_id=_form("account_id"),
        media_url=_form("media_url"), api_client=client,
        reporter_name=" ".join(p for p in (first, last) if p) or None,
        require_description=False)
    store = portal().store
    try:
        filed = file_report(store, new, reports_context().config, now=portal().clock(),
                            photo_url=lambda token: url_for("reports.photo", token=token,
                                                            _external=True))
    except ReportError as exc:
        status = 404 if exc.code == "category_unknown" else 400
        raise Open311Error(status, exc.detail) from None
    reports_context().filed()
    return render([{"service_request_id": filed.tracking, "token": filed.token,
                    "service_notice": "", "account_id": new.account_id}], fmt,
                  root="service_requests", item="request")


def _datetime(name: str) -> float | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name}: expected an ISO-8601 date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def _list(name: str) -> list[str] | None:
    raw = request.args.get(name)
    if not raw:
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) > MAX_RESULTS:
        raise Open311Error(400, f"{name}: at most {MAX_RESULTS} values")
    return values or None


def _status_filter() -> list[str] | None:
    wanted = _list("status")
    if wanted is None:
        return None
    if any(w not in ("open", "closed") for w in wanted):
        raise Open311Error(400, "status: open or closed")
    return [s for s in STATUSES if open311_status(s) in wanted]


@bp.get(f"/requests.{FMT}")
def list_requests(fmt: str):
    ids = _list("service_request_id")
    if ids:  # the spec: service_request_id overrides every other filter
        found = find_reports(portal().store, ReportFilter(
            trackings=[typed_tracking(i) for i in ids], limit=MAX_RESULTS))
        return _render_requests(found, fmt)
    start, end = _datetime("start_date"), _datetime("end_date")
    now = portal().clock()
    span = MAX_RANGE.total_seconds()
    if start is None:
        start = now - span if end is None else end - span
    elif end is None:
        end = min(now, start + span)
    if end is not None and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end is not None and end - start > span:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    found = find_reports(portal().store, ReportFilter(
        categories=_list("service_code"), statuses=_status_filter(), since=start, until=end,
        limit=MAX_RESULTS))
    return _render_requests(found, fmt)


@bp.get(f"/requests/<request_id>.{FMT}")
def one_request(request_id: str, fmt: str):
    report = get_report(portal().store, tracking=typed_tracking(request_id))
    if report is None:
        raise Open311Error(404, f"no service request {request_id[:40]!r}")
    return _render_requests([report], fmt)


@bp.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str):
    report = get_report(portal().store, token=token)
    if report is None:
        raise Open311Error(404, "unknown token")
    return render([{"service_request_id": report.tracking, "token": token}], fmt,
                  root="service_requests", item="request")


def _render_requests(found: list[Report], fmt: str):
    store, lang = portal().store, _lang()
    names = {c.code: c.name(lang) for c in list_categories(store, include_inactive=True)}
    return render([_record(r, names.get(r.category, r.category), store) for r in found], fmt,
                  root="service_requests", item="request")


def _record(report: Report, service_name: str, store) -> dict:
    photos = photo_tokens(store, report.id)
    media = (url_for("reports.photo", token=photos[0], _external=True) if photos
             else report.media_url)
    notes = report.status.replace("_", " ")
    if report.status_note:
        notes += f": {report.status_note}"
    return {
        "service_request_id": report.tracking, "status": open311_status(report.status),
        "status_notes": notes, "service_name": service_name, "service_code": report.category,
        "description": report.description, "agency_responsible": report.team,
        "service_notice": "", "requested_datetime": iso(report.created_at),
        "updated_datetime": iso(report.updated_at),
        "expected_datetime": None if report.status in OPEN311_CLOSED else iso(report.due_at),
        "address": report.address or report.site, "address_id": report.address_id,
        "zipcode": None, "lat": report.lat, "long": report.lon, "media_url": media,
    }


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    raise Open311Error(404, "no such endpoint (GeoReport v2 paths end in .json or .xml)")


__all__ = ["bp"]
