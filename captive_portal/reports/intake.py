"""Filing a report: validate everything first, then write it all in one transaction.

The report row, its first timeline event, its photos, the outbox message for the back office
and the receipt SMS are written together (BEGIN IMMEDIATE ... COMMIT) or not at all, so a bad
photo, a full disk or a crash can never leave a report without its outbox row, or an outbox row
without its report. Photos are decoded and re-encoded before the transaction (CPU work must not
hold the write lock).
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass, field

from captive_portal.phones import PhoneError, normalise_saudi_mobile
from captive_portal.reports import messages, outbox
from captive_portal.reports.catalogue import get_category
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.photos import Photo
from captive_portal.reports.priority import assess
from core.contracts import reports as contract
from core.errors import CodedError
from core.store import Store

CHANNELS = ("portal", "open311", "backoffice")
LOCALES = ("ar", "en")
#: A tag, comment, doctype or processing instruction, or an HTML entity.
_HTML = re.compile(r"<\s*[a-zA-Z!/?]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportError(CodedError, ValueError):
    """Input that cannot become a report. ``code`` is stable (API error codes, translations)."""

    def __init__(self, code: str, field_name: str = "", detail: str = ""):
        super().__init__(code, detail, field_name)

    @property
    def detail(self) -> str:
        """What Open311 clients are told: the message, else the code."""
        return self.message or self.code


@dataclass
class NewReport:
    """A report as submitted, before validation (strings as typed)."""

    category: str
    description: str
    channel: str
    locale: str = "ar"
    lat: str | float | None = None
    lon: str | float | None = None
    location_source: str | None = None
    #: The visitor chose to share their location (the form's "use my location"): only then may
    #: a photo's EXIF position stand in for coordinates the browser could not give.
    share_location: bool = False
    site: str | None = None
    ap: str | None = None
    gateway_id: str | None = None
    address: str | None = None
    address_id: str | None = None
    phone: str | None = None
    phone_verified: bool = False
    reporter_name: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    media_url: str | None = None
    api_client: str | None = None
    photos: list[Photo] = field(default_factory=list)
    require_description: bool = True
    #: The form's submission key: a retried post finds the report it filed (`file_report`).
    submission: str | None = None


@dataclass(frozen=True)
class Filed:
    id: int
    tracking: str
    token: str
    priority: str
    due_at: float
    #: The submission key had filed this report already: nothing new was written.
    replayed: bool = False


#: What a form's submission key looks like (`secrets.token_urlsafe(16)` and up).
_SUBMISSION = re.compile(r"[A-Za-z0-9_-]{16,64}")


def clean_description(text: str | None, config: ReportsConfig, required: bool) -> str:
    value = _CONTROL.sub("", (text or "").replace("\r\n", "\n")).strip()
    if not value:
        if required:
            raise ReportError("description_missing", "description")
        return ""
    if len(value) > config.max_description_chars:
        raise ReportError("description_too_long", "description",
                          f"description: at most {config.max_description_chars} characters")
    if _HTML.search(value):
        raise ReportError("description_html", "description", "description: HTML is not allowed")
    return value


def _coordinate(value, low: float, high: float, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReportError("location_invalid", name, f"{name}: not a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ReportError("location_invalid", name, f"{name}: out of range")
    return number


def _short(value: str | None, limit: int, name: str) -> str | None:
    value = _CONTROL.sub("", value or "").strip()
    if len(value) > limit:
        raise ReportError("field_too_long", name, f"{name}: at most {limit} characters")
    if value and _HTML.search(value):
        raise ReportError("field_html", name, f"{name}: HTML is not allowed")
    return value or None


def _identity(value: str | None, limit: int) -> str | None:
    """A site, AP or gateway identity as the visitor's session gave it: data the gateway and
    the inventory vouch for, not text the visitor typed, so never refused as markup (an AP
    named ``<lobby>`` or ``A&B;`` is still an AP); kept within ``limit`` characters. Pages
    escape it where it is shown."""
    value = _CONTROL.sub("", value or "").strip()[:limit]
    return value or None


def validate(store: Store, new: NewReport, config: ReportsConfig) -> dict:
    """The stored values of ``new``, or ReportError naming the first bad field."""
    if not new.category:
        raise ReportError("category_missing", "service_code")
    category = get_category(store, new.category)
    if category is None:
        raise ReportError("category_unknown", "service_code", f"unknown service_code "
                          f"{new.category[:40]!r}")
    if new.channel not in CHANNELS:
        raise ReportError("channel_invalid", "channel")
    description = clean_description(new.description, config, new.require_description)
    lat = _coordinate(new.lat, -90, 90, "lat")
    lon = _coordinate(new.lon, -180, 180, "long")
    if (lat is None) != (lon is None):
        raise ReportError("location_invalid", "long" if lon is None else "lat",
                          "lat and long go together")
    address = _short(new.address, 500, "address_string")
    address_id = _short(new.address_id, 100, "address_id")
    location_source = new.location_source if lat is not None else None
    # Coordinates are public (Open311 GET): a photo's EXIF position, which may be the visitor's
    # home where the photo was taken, is used only when the visitor chose to share a location.
    for photo in new.photos:
        if lat is None and photo.gps and new.share_location:
            lat, lon = photo.gps
            location_source = "photo_exif"
    if lat is None and not address and not address_id and not new.site:
        raise ReportError("location_missing", "lat",
                          "a location is required: lat and long, address_string or address_id")
    if len(new.photos) > config.max_photos:
        raise ReportError("photo_count", "media", f"at most {config.max_photos} photos")
    phone = None
    if new.phone and new.phone.strip():
        try:
            phone = normalise_saudi_mobile(new.phone)
        except PhoneError:
            raise ReportError("phone_invalid", "phone") from None
    email = _short(new.email, 254, "email")
    if email and ("@" not in email or " " in email):
        raise ReportError("email_invalid", "email")
    media_url = _short(new.media_url, 2048, "media_url")
    if media_url and not media_url.startswith(("http://", "https://")):
        raise ReportError("media_url_invalid", "media_url")
    priority, fired = assess(category.default_priority, description)
    return {
        "category": category.code, "description": description, "priority": priority,
        "priority_rules": fired, "channel": new.channel,
        "locale": new.locale if new.locale in LOCALES else "ar",
        "site": _identity(new.site, 100), "ap": _identity(new.ap, 100),
        "gateway_id": _identity(new.gateway_id, 100),
        "lat": lat, "lon": lon, "location_source": location_source or (
            "site" if lat is None and new.site else ("address" if lat is None else None)),
        "address": address, "address_id": address_id, "phone": phone,
        "phone_verified": 1 if phone and new.phone_verified else 0,
        "reporter_name": _short(new.reporter_name, 200, "name"), "email": email,
        "device_id": _short(new.device_id, 200, "device_id"),
        "account_id": _short(new.account_id, 200, "account_id"), "media_url": media_url,
        "api_client": new.api_client, "team": category.team,
        "_category": category,
    }


def due_time(created_at: float, sla_hours: int, priority: str, config: ReportsConfig) -> float:
    factor = config.urgent_sla_factor if priority == "urgent" else 1.0
    return created_at + sla_hours * 3600 * factor


def file_report(store: Store, new: NewReport, config: ReportsConfig, *,
                now: float | None = None, photo_url=None) -> Filed:
    """Validate and store ``new`` with its outbox message; returns what the citizen needs.

    ``photo_url(token)`` turns a photo token into the URL the back office fetches it from.
    A submission key that filed a report already returns that report (``replayed``), so a
    form post sent twice (retried after a node died before answering) files it once.
    """
    values = validate(store, new, config)
    category = values.pop("_category")
    now = time.time() if now is None else now
    values.update(created_at=now, updated_at=now, status="received",
                  due_at=due_time(now, category.sla_hours, values["priority"], config),
                  token=secrets.token_urlsafe(12))
    year = time.gmtime(now).tm_year
    columns = ("tracking", "token", "category", "description", "priority", "status", "channel",
               "locale", "site", "ap", "gateway_id", "lat", "lon", "location_source", "address",
               "address_id", "phone", "phone_verified", "reporter_name", "email", "device_id",
               "account_id", "media_url", "api_client", "team", "created_at", "updated_at",
               "due_at", "submission")
    values["submission"] = (new.submission if new.submission
                            and _SUBMISSION.fullmatch(new.submission) else None)
    with store.transaction() as conn:
        if values["submission"]:
            row = conn.execute("SELECT id, tracking, token, priority, due_at FROM reports "
                               "WHERE submission = ?", (values["submission"],)).fetchone()
            if row is not None:
                report_id, tracking, token, priority, due_at = row
                return Filed(report_id, tracking, token, priority, due_at, replayed=True)
        serial = conn.execute(
            "INSERT INTO report_sequences (year, last) VALUES (?, 1) ON CONFLICT(year) "
            "DO UPDATE SET last = last + 1 RETURNING last", (year,)).fetchone()[0]
        values["tracking"] = f"940-{year}-{serial:06d}"
        report_id = conn.execute(
            f"INSERT INTO reports ({', '.join(columns)}) VALUES "
            f"({', '.join('?' for _ in columns)})", [values[c] for c in columns]).lastrowid
        note = ("priority raised: " + ", ".join(values["priority_rules"])
                if values["priority_rules"] else None)
        conn.execute("INSERT INTO report_events (report_id, at, kind, status, actor, note) "
                     "VALUES (?, ?, 'status', 'received', ?, ?)",
                     (report_id, now, new.channel, note))
        for photo in new.photos:
            conn.execute("INSERT INTO report_photos (report_id, token, mime, width, height, "
                         "data) VALUES (?, ?, ?, ?, ?, ?)",
                         (report_id, photo.token, photo.mime, photo.width, photo.height,
                          photo.data))
        urls = [photo_url(p.token) if photo_url else p.token for p in new.photos]
        outbox.enqueue(conn, message_id=values["tracking"], report_id=report_id,
                       topic=contract.TOPIC_NEW, schema=contract.SCHEMA_REPORT,
                       body=outbox.report_body(values, (category.name_ar, category.name_en),
                                               urls), now=now)
        if values["phone_verified"]:
            queue_sms(conn, report_id, values["phone"], values["locale"], "report_received",
                      messages.text("report_received", values["locale"],
                                    tracking=values["tracking"]), now)
    return Filed(report_id, values["tracking"], values["token"], values["priority"],
                 values["due_at"])


def queue_sms(conn, report_id: int, to: str, locale: str, purpose: str, body: str,
              now: float) -> None:
    """Decide an SMS inside the caller's transaction; `Notifier` hands it to the gateway."""
    conn.execute("INSERT INTO report_notifications (report_id, to_number, body, purpose, locale, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (report_id, to, body, purpose, locale, now))


__all__ = ["CHANNELS", "Filed", "NewReport", "ReportError", "clean_description", "due_time",
           "file_report", "queue_sms", "validate"]
