"""What a citizen's SMS to us means, and the one answer it may get.

- The closure code (Latin, Arabic-Indic or Eastern Arabic-Indic digits) with yes/نعم or no/لا
  confirms (closed) or disputes (reopened) the report, as the portal's closure form does,
  through `captive_portal.reports.workflow.answer_closure`: same code check, same attempt
  limit, same lifecycle move and citizen SMS. The code picks the report among the number's
  reports awaiting an answer; a wrong code counts against the latest of them.
- ``STOP``/``إيقاف`` opts the number out of awareness messages; ``START``/``تشغيل`` back in.
  Codes and report updates it asked for are never held back.
- Anything else gets one helpful answer in both languages.

Every answer we send is rationed (`core.limits`): per number (``auto_reply_per_number`` per
``auto_reply_window_s``) and for all numbers (``auto_replies_per_hour``), so another machine
answering our answer cannot start a loop that costs the municipality an SMS each turn. Only
Saudi mobiles are answered: a number abroad (billed as international) or a landline is acted on
but not answered, and a sender that is no number (a short code, a name) is only recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from captive_portal.phones import PhoneError, normalise_saudi_mobile, sender_e164
from captive_portal.reports import messages, workflow
from captive_portal.sms import optout
from core import limits

if TYPE_CHECKING:  # the service hands itself in; it imports this module
    from captive_portal.sms.service import SmsService

#: Arabic-Indic and Eastern Arabic-Indic digits, as phones' Arabic keyboards type them.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_WORDS = re.compile(r"[^\W\d_]+|\d+")
YES = frozenset({"yes", "y", "ok", "نعم", "ايوه", "أيوه", "اي"})
NO = frozenset({"no", "n", "لا", "كلا"})
STOP = frozenset({"stop", "unsubscribe", "إيقاف", "ايقاف", "توقف", "الغاء", "إلغاء"})
START = frozenset({"start", "subscribe", "تشغيل"})
#: Closure codes are six digits (`workflow.move`); a few more are read so a typo is counted.
CODE = re.compile(r"^\d{4,12}$")
BODY_MAX = 1000

def _(text: str) -> str:
    """Marks an answer's msgid for the portal's catalogue; translated when the SMS is written."""
    return text


#: The answers (msgids: the English), sent in both languages in one SMS since a reply's
#: language is not known; each stays within `captive_portal.sms.templates.BUDGETS`.
_ANSWERS = {
    "help": _("Amanah 940: send your closure code then YES or NO. Send STOP to end awareness "
              "messages."),
    "closure_code_invalid": _("Amanah 940: the closure code is not correct."),
    "closure_locked": _("Amanah 940: too many wrong codes; use the portal or call 940."),
    "opted_out": _("Amanah 940: awareness messages stopped. Send START to resume."),
    "opted_in": _("Amanah 940: awareness messages resumed. Send STOP to end them."),
}
ANSWER_KINDS = tuple(_ANSWERS)


def answer(kind: str) -> str:
    """The answer of ``kind``: Arabic, then English, from the portal's catalogues."""
    return "\n".join(messages.translations(locale).gettext(_ANSWERS[kind])
                     for locale in ("ar", "en"))


@dataclass(frozen=True)
class ReplyOutcome:
    """What a citizen's SMS did: ``outcome`` is closed, reopened, closure_code_invalid,
    closure_locked, closure_not_pending, opted_out, opted_in, help or ignored."""

    outcome: str
    tracking: str | None = None
    answer_sms_id: int | None = None
    duplicate: bool = False


def parse(text: str) -> tuple[str | None, str | None, str | None]:
    """``(keyword, code, answer)`` of a reply: keyword stop/start, the code, yes/no."""
    words = _WORDS.findall((text or "").translate(_DIGITS).casefold())
    keyword = code = answer = None
    for word in words:
        if word in STOP:
            keyword = keyword or "stop"
        elif word in START:
            keyword = keyword or "start"
        elif word in YES:
            answer = answer or "yes"
        elif word in NO:
            answer = answer or "no"
        elif CODE.match(word):
            code = code or word
    return keyword, code, answer


def handle(service: SmsService, sender: str, text: str, *, at: float,
           gateway_id: str | None) -> ReplyOutcome:
    """Record the SMS (once per ``gateway_id``), act on it, answer when allowed."""
    number = sender_e164(sender)
    store = service.stores()
    text = (text or "")[:BODY_MAX]
    with store.transaction() as conn:
        inserted = conn.execute(
            "INSERT INTO sms_incoming (from_number, body, gateway_id, at, outcome) "
            "VALUES (?, ?, ?, ?, 'received') ON CONFLICT (gateway_id) DO NOTHING",
            (number or (sender or "")[:64], text, (gateway_id or None) and gateway_id[:200],
             at))
        if inserted.rowcount == 0:
            row = conn.execute("SELECT outcome FROM sms_incoming WHERE gateway_id = ?",
                               (gateway_id[:200] if gateway_id else None,)).fetchone()
            return ReplyOutcome(row[0] if row else "ignored", duplicate=True)
        incoming_id = inserted.lastrowid
    if number is None:
        outcome = ReplyOutcome("ignored")
    else:
        outcome = _act(service, number, text, at)
        kind = outcome.outcome if outcome.outcome in _ANSWERS else None
        if outcome.outcome == "closure_not_pending":
            kind = "help"
        if kind is not None and _answerable(number):
            sms_id = _answer(service, number, kind, at)
            outcome = ReplyOutcome(outcome.outcome, outcome.tracking, sms_id)
    store.conn.execute(
        "UPDATE sms_incoming SET outcome = ?, report_id = (SELECT id FROM reports "
        "WHERE tracking = ?), reply_sms_id = ? WHERE id = ?",
        (outcome.outcome, outcome.tracking, outcome.answer_sms_id, incoming_id))
    return outcome


def _act(service: SmsService, number: str, text: str, at: float) -> ReplyOutcome:
    keyword, code, answer = parse(text)
    store = service.stores()
    if keyword == "stop":
        with store.transaction() as conn:
            optout.opt_out(conn, number, at=at, via="sms")
        return ReplyOutcome("opted_out")
    if keyword == "start":
        with store.transaction() as conn:
            optout.opt_in(conn, number)
        return ReplyOutcome("opted_in")
    if code is None or answer is None:
        return ReplyOutcome("help")
    matching, latest = workflow.closure_awaiting(store, number, code)
    tracking = matching or latest
    if tracking is None:
        return ReplyOutcome("closure_not_pending")
    result = workflow.answer_closure(store, tracking, code, answer == "yes", now=at,
                                     config=service.reports_config, phone=number)
    return ReplyOutcome(result.code, tracking)


def _answerable(number: str) -> bool:
    """Only Saudi mobiles get an automatic answer: an answer abroad is billed as international."""
    try:
        return normalise_saudi_mobile(number) == number
    except PhoneError:
        return False


def _answer(service: SmsService, number: str, kind: str, at: float) -> int | None:
    """Send the answer of ``kind`` if the rations allow; the SMS id, or None when held back."""
    config = service.config
    with service.stores().transaction() as conn:
        allowed = (limits.hit(conn, f"sms-answer:{number}", config.auto_reply_per_number,
                              config.auto_reply_window_s, at)
                   and limits.hit(conn, "sms-answer", config.auto_replies_per_hour, 3600.0, at))
    if not allowed:
        return None
    return service.send(number, answer(kind), purpose="sms_answer", locale="ar").id


__all__ = ["ANSWER_KINDS", "ReplyOutcome", "answer", "handle", "parse"]
