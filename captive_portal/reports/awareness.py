"""Awareness messages: an operator's SMS, in Arabic and English, to a site's recent reporters.

The audience is every verified number that filed a 940 report at the site in the last ``days``
days, less the numbers that said STOP (`captive_portal.sms.optout`); each gets the text in the
language of their latest report there. Before anything is sent the operator sees a `Preview`:
recipients per language, each text's encoding and segments, the total segments and their cost
at ``[sms] segment_price``. The preview carries a token made of what it showed (site, days,
texts, the very numbers); `create` recomputes it and refuses a confirmation whose audience or
texts changed since (``audience_changed``), so what is confirmed is what was seen. The campaign
and its recipients are written with the audit entry in one transaction.

Sending is paced and happens off the request: `AwarenessSender` (a thread of the 940 pipeline)
hands waiting recipients to `SmsService.send` (purpose ``awareness``), at most
``[sms] awareness_per_minute`` per minute counted in the store (`core.limits`), so the pace
holds whichever process sends and login codes keep the gateway's room. A recipient is claimed
before it is handed over: a crash in between loses that one message rather than sending it
twice. A number that says STOP after the preview is skipped when its turn comes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from captive_portal.sms import optout
from captive_portal.sms.segments import segment
from captive_portal.sms.service import SmsOptedOut, SmsService
from core import audit, limits
from core.periodic import Periodic
from core.store import Store, iso, now

log = logging.getLogger(__name__)

LOCALES = ("ar", "en")
#: The most segments one awareness text may take (4 Arabic segments: 268 characters).
MAX_SEGMENTS = 4
#: Reports older than this are not "recent" (the form's choice is capped here).
MAX_DAYS = 365
#: Recipients one campaign may have; a bigger audience is a sign of a wrong site or window.
MAX_RECIPIENTS = 20_000
LIMIT_KEY = "awareness:send"


class AwarenessError(ValueError):
    """A request the domain refuses: ``code`` is a stable key, ``field`` the input at fault."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Recipient:
    number: str
    locale: str


@dataclass(frozen=True)
class Text:
    """One language's text as phones will see it."""

    locale: str
    body: str
    encoding: str       # gsm7 or ucs2
    segments: int       # per message
    recipients: int

    @property
    def total_segments(self) -> int:
        return self.segments * self.recipients


@dataclass(frozen=True)
class Preview:
    site: str
    days: int
    texts: tuple[Text, ...]
    opted_out: int                # reporters left out because they said STOP
    segment_price: float
    currency: str
    token: str

    @property
    def recipients(self) -> int:
        return sum(text.recipients for text in self.texts)

    @property
    def total_segments(self) -> int:
        return sum(text.total_segments for text in self.texts)

    @property
    def cost(self) -> float:
        return round(self.total_segments * self.segment_price, 4)

    def shown(self) -> dict:
        """The preview as the API shows it."""
        return {"site": self.site, "days": self.days, "recipients": self.recipients,
                "opted_out": self.opted_out, "total_segments": self.total_segments,
                "segment_price": self.segment_price, "currency": self.currency,
                "cost": self.cost, "token": self.token,
                "texts": [{"locale": t.locale, "encoding": t.encoding, "segments": t.segments,
                           "recipients": t.recipients, "total_segments": t.total_segments}
                          for t in self.texts]}


@dataclass(frozen=True)
class Campaign:
    id: int
    site: str
    since: float
    body_ar: str
    body_en: str
    recipients: int
    segments: int
    segment_price: float
    currency: str
    created_by: str
    created_at: float
    waiting: int
    handed: int
    opted_out: int
    delivered: int
    failed: int

    @property
    def cost(self) -> float:
        return round(self.segments * self.segment_price, 4)

    def shown(self) -> dict:
        return {"id": self.id, "site": self.site, "since": iso(self.since),
                "body_ar": self.body_ar, "body_en": self.body_en,
                "recipients": self.recipients, "segments": self.segments,
                "segment_price": self.segment_price, "currency": self.currency,
                "cost": self.cost, "created_by": self.created_by,
                "created_at": iso(self.created_at),
                "progress": {"waiting": self.waiting, "handed": self.handed,
                             "opted_out": self.opted_out, "delivered": self.delivered,
                             "failed": self.failed}}


# -- audience and preview -------------------------------------------------------------------------
def audience(conn: sqlite3.Connection, site: str, since: float) -> tuple[list[Recipient], int]:
    """The site's reporters since ``since`` who may get an awareness message, and how many
    were left out for having said STOP."""
    latest: dict[str, str] = {}
    for number, locale in conn.execute(
            "SELECT phone, locale FROM reports WHERE site = ? AND created_at >= ? "
            "AND phone IS NOT NULL AND phone_verified = 1 ORDER BY created_at DESC, id DESC",
            (site, since)):
        latest.setdefault(number, locale if locale in LOCALES else LOCALES[0])
    stopped = optout.opted_out(conn, list(latest))
    chosen = [Recipient(number, locale) for number, locale in sorted(latest.items())
              if number not in stopped]
    return chosen, len(stopped)


def _checked(site: str, days: object, bodies: dict[str, str]) -> tuple[str, int, dict[str, str]]:
    site = (site or "").strip()
    if not site:
        raise AwarenessError("required", "choose a site", "site")
    if isinstance(days, bool) or not isinstance(days, (int, str)) or \
            not str(days).isdigit() or not 1 <= int(days) <= MAX_DAYS:
        raise AwarenessError("invalid_field", f"days must be a whole number from 1 to {MAX_DAYS}",
                             "days")
    texts: dict[str, str] = {}
    for locale in LOCALES:
        body = (bodies.get(locale) or "").strip()
        field = f"body_{locale}"
        if not body:
            raise AwarenessError("required", f"{field} is empty: write the text in both languages",
                                 field)
        if segment(body).segments > MAX_SEGMENTS:
            raise AwarenessError("too_long", f"{field} takes {segment(body).segments} SMS "
                                 f"segments; at most {MAX_SEGMENTS}", field)
        texts[locale] = body
    return site, int(days), texts


def _token(site: str, days: int, texts: dict[str, str], people: list[Recipient]) -> str:
    shown = json.dumps([site, days, texts, [(r.number, r.locale) for r in people]],
                       ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(shown.encode("utf-8")).hexdigest()[:24]


def _preview(conn: sqlite3.Connection, site: str, days: int, texts: dict[str, str], *,
             at: float, segment_price: float, currency: str) -> tuple[Preview, list[Recipient]]:
    people, stopped = audience(conn, site, at - days * 86400)
    shown = []
    for locale in LOCALES:
        shape = segment(texts[locale])
        shown.append(Text(locale, texts[locale], shape.encoding, shape.segments,
                          sum(1 for r in people if r.locale == locale)))
    return Preview(site, days, tuple(shown), stopped, segment_price, currency,
                   _token(site, days, texts, people)), people


def preview(store: Store, site: str, days: object, bodies: dict[str, str], *,
            segment_price: float, currency: str, at: float | None = None) -> Preview:
    """What sending would do: recipients, encodings, segments and cost (nothing is written)."""
    site, days_n, texts = _checked(site, days, bodies)
    shown, _ = _preview(store.conn, site, days_n, texts, at=now() if at is None else at,
                        segment_price=segment_price, currency=currency)
    return shown


def create(store: Store, site: str, days: object, bodies: dict[str, str], *, token: str,
           actor: str, segment_price: float, currency: str, at: float | None = None) -> int:
    """Queue the campaign the operator confirmed (``token`` from its preview); its id.

    Refused with ``audience_changed`` (409) when the preview no longer matches, and with
    ``no_recipients`` when nobody would get it.
    """
    site, days_n, texts = _checked(site, days, bodies)
    at = now() if at is None else at
    with store.transaction() as conn:
        shown, people = _preview(conn, site, days_n, texts, at=at, segment_price=segment_price,
                                 currency=currency)
        if not token or token != shown.token:
            raise AwarenessError("audience_changed", "the recipients or texts changed since the "
                                 "preview; preview again and confirm what you see",
                                 "token", status=409)
        if not people:
            raise AwarenessError("no_recipients", "nobody to send to: no opted-in reporter at "
                                 "this site in that period", "site")
        if len(people) > MAX_RECIPIENTS:
            raise AwarenessError("too_many_recipients", f"{len(people)} recipients; at most "
                                 f"{MAX_RECIPIENTS} in one campaign", "days")
        campaign_id = conn.execute(
            "INSERT INTO awareness_campaigns (site, since, body_ar, body_en, recipients, "
            "segments, segment_price, currency, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (site, at - days_n * 86400, texts["ar"], texts["en"], len(people),
             shown.total_segments, segment_price, currency, actor, at)).lastrowid
        conn.executemany(
            "INSERT INTO awareness_recipients (campaign_id, to_number, locale) VALUES (?, ?, ?)",
            [(campaign_id, r.number, r.locale) for r in people])
        audit.record(conn, actor, "awareness.send", "awareness", campaign_id,
                     {"site": site, "days": days_n, "recipients": len(people),
                      "segments": shown.total_segments, "cost": shown.cost,
                      "currency": currency})
    assert campaign_id is not None
    return int(campaign_id)


# -- reading ------------------------------------------------------------------------------------
_CAMPAIGN = (
    "SELECT c.id, c.site, c.since, c.body_ar, c.body_en, c.recipients, c.segments, "
    "c.segment_price, c.currency, c.created_by, c.created_at, "
    "(SELECT count(*) FROM awareness_recipients r WHERE r.campaign_id = c.id "
    " AND r.handed_at IS NULL), "
    "(SELECT count(*) FROM awareness_recipients r WHERE r.campaign_id = c.id "
    " AND r.handed_at IS NOT NULL AND r.opted_out = 0), "
    "(SELECT count(*) FROM awareness_recipients r WHERE r.campaign_id = c.id "
    " AND r.opted_out = 1), "
    "(SELECT count(*) FROM awareness_recipients r JOIN sms_messages s ON s.id = r.sms_id "
    " WHERE r.campaign_id = c.id AND s.state = 'delivered'), "
    "(SELECT count(*) FROM awareness_recipients r JOIN sms_messages s ON s.id = r.sms_id "
    " WHERE r.campaign_id = c.id AND s.state IN ('failed', 'expired')) "
    "FROM awareness_campaigns c")


def campaigns(store: Store, limit: int = 50) -> list[Campaign]:
    """The latest campaigns, newest first, with their progress."""
    return [Campaign(*row) for row in store.conn.execute(
        _CAMPAIGN + " ORDER BY c.created_at DESC, c.id DESC LIMIT ?", (limit,))]


def get_campaign(store: Store, campaign_id: int) -> Campaign | None:
    row = store.conn.execute(_CAMPAIGN + " WHERE c.id = ?", (campaign_id,)).fetchone()
    return Campaign(*row) if row else None


def sites_with_reporters(store: Store, since: float) -> list[tuple[str, int]]:
    """Sites with reports from verified numbers since ``since``, and how many numbers."""
    return [(site, count) for site, count in store.conn.execute(
        "SELECT site, count(DISTINCT phone) FROM reports WHERE site IS NOT NULL "
        "AND created_at >= ? AND phone IS NOT NULL AND phone_verified = 1 "
        "GROUP BY site ORDER BY site", (since,))]


# -- sending ------------------------------------------------------------------------------------
def hand_due(store: Store, sms: SmsService, *, per_minute: int, at: float | None = None,
             batch: int = 50) -> int:
    """Hand waiting recipients to the SMS gateway, within the pace; returns how many."""
    handed = 0
    while handed < batch:
        when = now() if at is None else at
        with store.transaction() as conn:
            row = conn.execute(
                "SELECT r.id, r.to_number, r.locale, c.body_ar, c.body_en "
                "FROM awareness_recipients r JOIN awareness_campaigns c ON c.id = r.campaign_id "
                "WHERE r.handed_at IS NULL ORDER BY r.id LIMIT 1").fetchone()
            if row is None or not limits.hit(conn, LIMIT_KEY, per_minute, 60.0, when):
                return handed
            recipient_id, number, locale, body_ar, body_en = row
            # The claim: on PostgreSQL two nodes' senders may both have read this recipient;
            # only the update that still finds it waiting hands it over.
            if not conn.execute("UPDATE awareness_recipients SET handed_at = ? WHERE id = ? "
                                "AND handed_at IS NULL", (when, recipient_id)).rowcount:
                continue
        try:
            record = sms.send(number, body_ar if locale == "ar" else body_en,
                              purpose="awareness", locale=locale)
        except SmsOptedOut:
            store.conn.execute("UPDATE awareness_recipients SET opted_out = 1 WHERE id = ?",
                               (recipient_id,))
        else:
            store.conn.execute("UPDATE awareness_recipients SET sms_id = ? WHERE id = ?",
                               (record.id, recipient_id))
        handed += 1
    return handed


class AwarenessSender(Periodic):
    """Background thread: `hand_due` every ``interval_s`` until stopped.

    Every node runs one (docs/scale-out.md): per-recipient claims, not a lease. Each recipient
    is claimed by the conditional update that marks it handed, and the pace is a limit in the
    store (`core.limits`) shared by all the nodes. A recipient is marked before the SMS is
    sent, so a node dying between the two loses that one awareness message rather than ever
    sending it twice.
    """

    def __init__(self, stores: Callable[[], Store], sms: SmsService, per_minute: int,
                 interval_s: float = 1.0):
        self.stores = stores
        self.sms = sms
        self.per_minute = per_minute
        super().__init__("awareness-sender", interval_s, self._pass)

    def _pass(self) -> None:
        hand_due(self.stores(), self.sms, per_minute=self.per_minute)


__all__ = ["LOCALES", "MAX_DAYS", "MAX_SEGMENTS", "AwarenessError", "AwarenessSender",
           "Campaign", "Preview", "Recipient", "Text", "audience", "campaigns", "create",
           "get_campaign", "hand_due", "preview", "sites_with_reporters"]
