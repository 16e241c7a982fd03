"""The visitor's 940 pages: file a report, see "my reports", confirm or dispute a resolution.

No JavaScript is needed: plain forms, server-rendered, Arabic by default. The site (and AP,
when the gateway reports it) comes from the visitor's WiFi session; coordinates only if the
visitor offers them ("use my location", or typed), and a photo's EXIF position only when the
visitor chose "use my location" but the browser could not give one. A phone typed here is
verified with an SMS code before any status SMS is sent to it (a code the SMS budget refuses
leaves the report filed, with its tracking number and a way to ask again); a phone the
visitor logged in with is already verified.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict

from captive_portal.context import portal
from captive_portal.errors import status_and_message
from captive_portal.i18n import current_locale
from captive_portal.otp import OneTimeCodes, OtpError, source_of
from captive_portal.phones import PhoneError, normalise_saudi_mobile
from captive_portal.reports.catalogue import get_category, list_categories
from captive_portal.reports.context import reports_context
from captive_portal.reports.intake import NewReport, ReportError, file_report
from captive_portal.reports.locate import Location, locate
from captive_portal.reports.photos import PhotoError, process_photo
from captive_portal.reports.records import get_report, photo_tokens, timeline, typed_tracking
from captive_portal.reports.records import photo as load_photo
from captive_portal.reports.workflow import answer_closure, verify_phone
from captive_portal.security import CONTENT_SECURITY_POLICY_SCRIPT
from captive_portal.sessions import Sessions
from captive_portal.views.common import SESSION_KEY, limit_posts
from core import inventory
from core.errors import CodedError
from core.limits import RateLimit

bp = Blueprint("reports", __name__, url_prefix="/reports")

class ReportPageError(CodedError):
    """A refusal on the 940 pages; its wording is the portal's catalogue entry for ``code``
    (`captive_portal.errors`), shown on the report pages' layout with ``context``."""

    def __init__(self, code: str, **context):
        super().__init__(code)
        self.context = context


@bp.errorhandler(ReportPageError)
def _page_error(exc: ReportPageError):
    status, message = status_and_message(exc.code)
    page = render_template("reports/error.html", code=exc.code, message=message, **exc.context)
    # A refusal for load (photos or codes in progress) passes: say when to come back.
    return page, status, {"Retry-After": "30"} if status in (429, 503) else {}


@bp.errorhandler(413)
def _too_large(_exc):
    # The body was refused unread: pages must not try to read the form again (the language
    # switch of base.html would, and fail the same way).
    request.form = ImmutableMultiDict()
    return _page_error(ReportPageError("upload_too_large"))


def allow_photos() -> None:
    """Raise the body limit for the report form only (the portal's is small, for logins).

    Runs before every other ``before_request`` of the app: CSRF protection parses the form
    first, and it would do so with the portal's limit.
    """
    if request.endpoint == "reports.create":
        config = reports_context().config
        request.max_content_length = config.max_upload_bytes


def _visitor():
    session_id = session.get(SESSION_KEY)
    if not isinstance(session_id, int):
        return None
    ctx = portal()
    visitor = Sessions(ctx.store, ctx.clock).get(session_id)
    return visitor if visitor and visitor.state == "active" else None


@bp.get("/new")
def new():
    return _form_page()


def _form_page(values: dict | None = None, status: int = 200, error: FormError | None = None,
               photos_dropped: bool = False):
    visitor = _visitor()
    categories = list_categories(portal().store)
    where = _location(visitor)
    values = values or {}
    # A new key for each form shown (and kept when the form comes back refused: nothing was
    # filed with it); a post sent twice with it files one report (`intake.file_report`).
    values.setdefault("submission", secrets.token_urlsafe(16))
    page = render_template("reports/new.html", categories=categories, values=values,
                           visitor=visitor, site=_site_label(where.site), ap=where.ap,
                           max_photos=reports_context().config.max_photos, error=error,
                           photos_dropped=photos_dropped)
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY_SCRIPT}
    if status in (429, 503):
        headers["Retry-After"] = "30"
    return page, status, headers


#: The form field a refusal is shown beside (intake names Open311's fields).
_FIELD_OF = {"service_code": "category", "description": "description", "lat": "location",
             "long": "location", "address_string": "address", "address_id": "address",
             "phone": "phone", "media": "photos", "name": "address", "email": "phone"}
_PHOTO_CODES = ("photo_count", "photo_too_large", "photo_type", "photo_corrupt",
                "photo_dimensions", "photo_busy")


@dataclass(frozen=True)
class FormError:
    """A refusal of the report form, shown beside ``field`` in the visitor's language."""

    field: str
    code: str
    message: str


def _refused_form(code: str, field_name: str, photos_sent: bool):
    """The form again with what the visitor typed and the refusal beside its field. Photos
    cannot be put back into a file input: the page says plainly to choose them again."""
    status, message = status_and_message(code)
    field = "photos" if code in _PHOTO_CODES else _FIELD_OF.get(field_name, "description")
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return _form_page(values, status, FormError(field, code, str(message)),
                      photos_dropped=photos_sent)


def _location(visitor) -> Location:
    """The site and AP of the visitor's session (the gateway's site, else its id, names the
    park when the AP is unknown)."""
    if visitor is None:
        return Location(None, None)
    return locate(portal().store.conn, visitor.site or visitor.gateway_id, visitor.ap)


def _site_label(site: str | None) -> str | None:
    """The site's name in the visitor's language when the inventory knows it."""
    if site is None:
        return None
    found = inventory.site_by_slug(portal().store, site)
    if found is None:
        return site
    return found["name_ar"] if current_locale() == "ar" else found["name_en"]


@bp.post("/new")
def create():
    limit_posts()
    ctx, config = portal(), reports_context().config
    visitor = _visitor()
    photos = []
    uploads = [f for f in request.files.getlist("photos") if f and f.filename]
    if len(uploads) > config.max_photos:
        return _refused_form("photo_count", "media", True)
    workers = reports_context().photo_workers
    for upload in uploads:
        try:
            photos.append(workers.run(process_photo, upload.read(config.max_photo_bytes + 1),
                                      max_bytes=config.max_photo_bytes,
                                      max_pixels=config.max_photo_pixels,
                                      max_decode_pixels=config.max_photo_decode_pixels,
                                      max_side=config.photo_max_side))
        except PhotoError as exc:
            return _refused_form(exc.code, "media", True)
    phone = (request.form.get("phone") or "").strip() or None
    verified = bool(visitor and visitor.phone and phone and _same_phone(phone, visitor.phone))
    where = _location(visitor)
    new_report = NewReport(
        category=request.form.get("category", ""), description=request.form.get("description", ""),
        channel="portal", locale=current_locale(), lat=request.form.get("lat") or None,
        lon=request.form.get("lon") or None, location_source="browser",
        share_location=request.form.get("share_location") == "1",
        site=where.site, ap=where.ap,
        gateway_id=visitor.gateway_id if visitor else None,
        address=request.form.get("address") or None, phone=phone, phone_verified=verified,
        photos=photos, submission=request.form.get("submission"))
    try:
        filed = file_report(ctx.store, new_report, config, now=ctx.clock(),
                            photo_url=lambda token: url_for("reports.photo", token=token,
                                                            _external=True))
    except ReportError as exc:
        return _refused_form(exc.code, exc.field or "", bool(uploads))
    if not filed.replayed:
        reports_context().filed()
    report = get_report(ctx.store, report_id=filed.id)
    assert report is not None  # filed just above
    if report.phone and not report.phone_verified:
        return _confirm_phone(report, visitor, replayed=filed.replayed)
    return render_template("reports/filed.html", report=report)


def _confirm_phone(report, visitor, replayed: bool = False):
    """Send the code that confirms the report's phone and ask for it; a code the SMS budget
    refuses leaves the report filed: the visitor gets its tracking number, why no code came,
    and a button to ask again. A retried post (``replayed``) whose code went out moments ago
    is asked for that code."""
    try:
        _send_phone_code(report, visitor)
    except OtpError as exc:
        if replayed and exc.code == "sms_resend_wait":
            return render_template("reports/verify.html", report=report)
        _status, reason = status_and_message(exc.code)
        return render_template("reports/filed.html", report=report, sms_refused=exc.code,
                               sms_reason=reason)
    return render_template("reports/verify.html", report=report)


def _same_phone(typed: str, e164: str) -> bool:
    try:
        return normalise_saudi_mobile(typed) == e164
    except PhoneError:
        return False


def _codes() -> OneTimeCodes:
    ctx = portal()
    return OneTimeCodes(ctx.store, ctx.config, ctx.secret_key, ctx.clock)


def _send_phone_code(report, visitor) -> None:
    """The code to ``report``'s phone, counted against the asker's SMS budget: the device of the
    visitor's WiFi session, else the client's address (never the report, which a form makes)."""
    code = _codes().issue(report.phone, f"report:{report.tracking}",
                          source_of(visitor.mac if visitor else None, request.remote_addr))
    body = _("Amanah 940: your code to confirm your number for report %(tracking)s is "
             "%(code)s.", tracking=report.tracking, code=code)
    portal().sms.send(report.phone, body, purpose="report_phone_code", locale=current_locale())


@bp.post("/<tracking>/code")
def send_code(tracking: str):
    """Ask again for the code that confirms a report's phone (after the SMS budget refused)."""
    limit_posts()
    report = get_report(portal().store, tracking=tracking) if len(tracking) <= 20 else None
    if report is None or not report.phone:
        raise ReportPageError("report_unknown")
    if report.phone_verified:
        return render_template("reports/filed.html", report=report)
    return _confirm_phone(report, _visitor())


@bp.post("/<tracking>/verify")
def verify(tracking: str):
    limit_posts()
    ctx = portal()
    report = get_report(ctx.store, tracking=tracking)
    if report is None or not report.phone:
        raise ReportPageError("report_unknown")
    if not report.phone_verified:
        code = "".join(ch for ch in request.form.get("code", "") if ch.isdigit())
        try:
            _codes().verify(report.phone, f"report:{tracking}", code)
        except OtpError as exc:
            raise ReportPageError(exc.code, tracking=tracking) from None
        verify_phone(ctx.store, tracking, now=ctx.clock())
        reports_context().filed()
    return render_template("reports/filed.html", report=get_report(ctx.store, tracking=tracking))


@bp.get("/mine")
def mine():
    return render_template("reports/mine.html", values={})


def _lookup():
    """The report named by tracking number and phone in the form, or ReportPageError."""
    limit_posts()
    ctx = portal()
    lookups = RateLimit(ctx.stores, "report-lookups", reports_context().config.lookups_per_minute,
                        60.0, ctx.clock)
    if not lookups.hit(request.remote_addr or "unknown"):
        raise ReportPageError("too_many_lookups")
    tracking = typed_tracking(request.form.get("tracking"))
    report = get_report(portal().store, tracking=tracking) if len(tracking) <= 20 else None
    phone = (request.form.get("phone") or "").strip()
    if report is None or (report.phone and not _same_phone(phone, report.phone)):
        raise ReportPageError("report_unknown")
    return report


def _status_page(report, status: int = 200, **extra):
    """What the citizen sees of their report: status, category, photos, the back office's
    note and the timeline."""
    store = portal().store
    category = get_category(store, report.category, include_inactive=True)
    page = render_template("reports/show.html", report=report, events=timeline(store, report.id),
                           phone=request.form.get("phone", ""),
                           category=category.name(current_locale()) if category else
                           report.category, photos=photo_tokens(store, report.id), **extra)
    return page, status


@bp.post("/mine")
def show():
    return _status_page(_lookup())


@bp.post("/closure")
def closure():
    report = _lookup()
    ctx = portal()
    confirm = request.form.get("answer") == "confirm"
    result = answer_closure(ctx.store, report.tracking, request.form.get("code", ""), confirm,
                            now=ctx.clock(), config=reports_context().config, phone=report.phone)
    if result.code == "closure_code_invalid":
        # A mistyped code is offered again beside the field, with the attempts left.
        status, message = status_and_message(result.code)
        return _status_page(report, status, closure_error=FormError("code", result.code,
                                                                     str(message)),
                            attempts_left=result.attempts_left)
    if not result.ok:
        raise ReportPageError(result.code, attempts_left=result.attempts_left)
    reports_context().filed()
    report = get_report(ctx.store, tracking=report.tracking)
    assert report is not None  # found and answered just above
    return _status_page(report, answered=result.code)


@bp.get("/photos/<token>.jpg")
def photo(token: str):
    found = load_photo(portal().store, token) if len(token) < 64 else None
    if found is None:
        abort(404)
    mime, data = found
    response = Response(data, mimetype=mime)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


__all__ = ["ReportPageError", "allow_photos", "bp"]
