"""Reading reports: one by tracking number, token or id; lists with filters; the timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass

from captive_portal.phones import PhoneError, normalise_saudi_mobile
from captive_portal.reports.lifecycle import SETTLED
from core.store import Store, iso

#: Arabic-Indic and Eastern Arabic-Indic digits, and the dashes a phone keyboard offers.
_TYPED = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹‐‑‒–—−ـ", "01234567890123456789-------")
_SPACES = re.compile(r"\s+")

_COLUMNS = ("id", "tracking", "token", "category", "description", "priority", "status", "channel",
            "locale", "site", "ap", "gateway_id", "lat", "lon", "location_source", "address",
            "address_id", "phone", "phone_verified", "reporter_name", "email", "device_id",
            "account_id", "media_url", "api_client", "team", "assigned_to", "status_note",
            "created_at", "updated_at", "due_at", "escalation_level", "escalated_at",
            "closure_hash", "closure_issued_at", "closure_attempts")
SELECT = f"SELECT {', '.join('r.' + c for c in _COLUMNS)} FROM reports r"


@dataclass(frozen=True)
class Report:
    id: int
    tracking: str
    token: str
    category: str
    description: str
    priority: str
    status: str
    channel: str
    locale: str
    site: str | None
    ap: str | None
    gateway_id: str | None
    lat: float | None
    lon: float | None
    location_source: str | None
    address: str | None
    address_id: str | None
    phone: str | None
    phone_verified: int
    reporter_name: str | None
    email: str | None
    device_id: str | None
    account_id: str | None
    media_url: str | None
    api_client: str | None
    team: str
    assigned_to: str | None
    status_note: str | None
    created_at: float
    updated_at: float
    due_at: float
    escalation_level: int
    escalated_at: float | None
    closure_hash: str | None
    closure_issued_at: float | None
    closure_attempts: int

    def overdue(self, now: float) -> bool:
        return self.status not in SETTLED and now > self.due_at

    @property
    def notify_to(self) -> str | None:
        """The number status SMS go to: only a verified one."""
        return self.phone if self.phone and self.phone_verified else None


@dataclass(frozen=True)
class TimelineEvent:
    at: float
    kind: str
    status: str | None
    actor: str
    note: str | None

    @property
    def at_iso(self) -> str:
        return iso(self.at) or ""


def typed_tracking(text: str | None) -> str:
    """A tracking number as a person typed it (``٩٤٠-٢٠٢٦-٠٠٠١٢٣``, ``940 – 2026 – 123``
    pasted from an SMS, lower case) in the stored form ``940-2026-000123``; text that is not
    a tracking number comes back folded but otherwise as typed (it then finds nothing)."""
    folded = _SPACES.sub("", (text or "").translate(_TYPED)).upper()
    parts = folded.split("-")
    if len(parts) == 3 and all(p.isascii() and p.isdigit() for p in parts) and len(parts[2]) <= 6:
        return f"{parts[0]}-{parts[1]}-{int(parts[2]):06d}"
    return folded


def get_report(store: Store, *, tracking: str | None = None, report_id: int | None = None,
               token: str | None = None) -> Report | None:
    value: str | int | None
    if tracking is not None:
        where, value = "r.tracking = ?", tracking
    elif token is not None:
        where, value = "r.token = ?", token
    else:
        where, value = "r.id = ?", report_id
    row = store.conn.execute(f"{SELECT} WHERE {where}", (value,)).fetchone()
    return Report(*row) if row else None


def timeline(store: Store, report_id: int) -> list[TimelineEvent]:
    rows = store.conn.execute(
        "SELECT at, kind, status, actor, note FROM report_events WHERE report_id = ? "
        "ORDER BY id", (report_id,))
    return [TimelineEvent(*row) for row in rows]


def photo_tokens(store: Store, report_id: int) -> list[str]:
    return [row[0] for row in store.conn.execute(
        "SELECT token FROM report_photos WHERE report_id = ? ORDER BY id", (report_id,))]


def photo(store: Store, token: str) -> tuple[str, bytes] | None:
    row = store.conn.execute("SELECT mime, data FROM report_photos WHERE token = ?",
                             (token,)).fetchone()
    return (row[0], bytes(row[1])) if row else None


@dataclass
class ReportFilter:
    """Filters of the admin queue and Open311's GET requests (all optional)."""

    trackings: list[str] | None = None
    categories: list[str] | None = None
    statuses: list[str] | None = None
    priority: str | None = None
    site: str | None = None
    since: float | None = None
    until: float | None = None
    overdue_at: float | None = None      # only reports overdue at this time
    escalated: bool = False
    limit: int = 1000
    overdue_first_at: float | None = None  # order overdue (at this time) first, then newest
    #: Text the desk typed: a tracking number (in any digits), a phone, or words of the
    #: description or address.
    search: str | None = None
    #: One of ORDERS; it replaces the overdue-first order.
    order: str | None = None


#: The queue's sort orders (newest first unless named otherwise).
ORDERS = {
    "newest": "r.created_at DESC, r.id DESC",
    "oldest": "r.created_at ASC, r.id ASC",
    "due": "r.due_at ASC, r.id ASC",
    "priority": "CASE r.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 "
                "ELSE 3 END, r.due_at ASC, r.id ASC",
    "status": "r.status ASC, r.created_at DESC, r.id DESC",
    "site": "r.site IS NULL, r.site ASC, r.created_at DESC, r.id DESC",
}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search_clause(text: str) -> tuple[str, list[str]]:
    """Where a report matches ``text``: its tracking number, phone, description or address."""
    tracking = typed_tracking(text)
    clauses = ["r.tracking LIKE ? ESCAPE '\\'", "r.description LIKE ? ESCAPE '\\'",
               "r.address LIKE ? ESCAPE '\\'"]
    params = [_like(tracking), _like(text), _like(text)]
    digits = "".join(ch for ch in text.translate(_TYPED) if ch.isdigit() or ch == "+")
    if len(digits) >= 4:
        try:
            phone = normalise_saudi_mobile(digits)
        except PhoneError:
            phone = digits.lstrip("0+")
        clauses.append("r.phone LIKE ? ESCAPE '\\'")
        params.append(_like(phone))
    return "(" + " OR ".join(clauses) + ")", params


def find_reports(store: Store, f: ReportFilter) -> list[Report]:
    clauses: list[str] = []
    params: list[str | float | int] = []

    def any_of(column: str, values: list[str] | None) -> None:
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)

    any_of("r.tracking", f.trackings)
    any_of("r.category", f.categories)
    any_of("r.status", f.statuses)
    if f.priority:
        clauses.append("r.priority = ?")
        params.append(f.priority)
    if f.site:
        clauses.append("r.site = ?")
        params.append(f.site)
    if f.since is not None:
        clauses.append("r.created_at >= ?")
        params.append(f.since)
    if f.until is not None:
        clauses.append("r.created_at <= ?")
        params.append(f.until)
    if f.overdue_at is not None:
        clauses.append(f"r.due_at < ? AND r.status NOT IN ({', '.join('?' for _ in SETTLED)})")
        params.extend([f.overdue_at, *sorted(SETTLED)])
    if f.escalated:
        clauses.append("r.escalation_level > 0")
    if f.search and f.search.strip():
        clause, found = _search_clause(f.search.strip()[:100])
        clauses.append(clause)
        params.extend(found)
    sql = SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    order = "r.created_at DESC, r.id DESC"
    if f.order in ORDERS:
        sql += " ORDER BY " + ORDERS[f.order]
    elif f.overdue_first_at is not None:
        settled = ", ".join(f"'{s}'" for s in sorted(SETTLED))
        sql += (f" ORDER BY (r.due_at < ? AND r.status NOT IN ({settled})) DESC, "
                f"CASE WHEN r.due_at < ? AND r.status NOT IN ({settled}) THEN r.due_at END, "
                + order)
        params.extend([f.overdue_first_at, f.overdue_first_at])
    else:
        sql += " ORDER BY " + order
    sql += " LIMIT ?"
    params.append(f.limit)
    return [Report(*row) for row in store.conn.execute(sql, params)]


__all__ = ["ORDERS", "Report", "ReportFilter", "TimelineEvent", "find_reports", "get_report", "photo",
           "photo_tokens", "timeline", "typed_tracking"]
