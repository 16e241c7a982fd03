"""What the alert, maintenance and notification pages and their API share: reading a target
(the whole network, a site or an AP), a local time and a duration, and the refusals of the
alerting layers in the reader's language."""

from __future__ import annotations

import datetime as dt
import math

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from controller.notify import messages
from controller.web import context
from core import inventory, localtime
from core.errors import CodedError

#: The longest a silence or a maintenance window may last from one form (30 days).
MAX_HOURS = 24 * 30

#: What the alerting refusals mean, for a reader of another language than the domain's.
CODE_TEXT = {
    "alert.not_found": _l("no such alert"),
    "alert.already_acked": _l("this alert is already acknowledged"),
    "silence.ends_before_start": _l("a silence must end after it starts"),
    "silence.nothing": _l("choose what to silence: a kind, a site or an AP"),
    "silence.reason": _l("say why"),
    "maintenance.ends_before_start": _l("a maintenance window must end after it starts"),
    "maintenance.ap_and_site": _l("a window covers one AP or one site, not both"),
    "rota.name": _l("a name is needed"),
    "rota.email": _l("not an e-mail address"),
    "rota.phone": _l("write the phone number as +966..."),
    "rota.contact": _l("an e-mail address or a phone number is needed"),
    "rota.duplicate": _l("already on the rota"),
    "rota.time": _l("write a local time as HH:MM"),
    "rota.empty_shift": _l("a shift must not start and end at the same time"),
    "rota.weekday": _l("choose a day"),
    "rota.no_person": _l("no such person on the rota"),
    "notify.webhook_name": _l("a name is needed"),
    "notify.webhook_url": _l("the address must be an http(s) URL"),
    "notify.webhook_secret": _l("the secret needs at least 16 characters"),
    "notify.webhook_duplicate": _l("a webhook with this name exists"),
    "notify.severity": _l("no such severity"),
    "form.hours": _l("a duration in hours, up to 720"),
    "form.starts": _l("a local date and time"),
    "form.target": _l("no such site or AP"),
}


class FormError(CodedError):
    """A form or request value that cannot be read."""


def refusal(exc: CodedError) -> str:
    """A refusal for the page, in the reader's language (the domain's English message for a
    reader of English)."""
    if str(get_locale() or "en") == "en":
        return exc.message or exc.code
    return str(CODE_TEXT.get(exc.code) or _("the request was refused"))


def kind_name(kind: str) -> str:
    """An alert kind's name in the reader's language (from the notifications' catalogue)."""
    return messages.kind_name(kind, str(get_locale() or "en"))


def hours(value: object, field: str = "hours") -> float:
    """A positive duration in hours (at most `MAX_HOURS`), as seconds."""
    try:
        number = float(str(value))
    except ValueError:
        raise FormError("form.hours", "hours: a number of hours", field) from None
    if not math.isfinite(number) or not 0 < number <= MAX_HOURS:
        raise FormError("form.hours", f"hours: between 0 and {MAX_HOURS}", field)
    return number * 3600


def local_time(value: str | None, field: str = "starts") -> float | None:
    """A local date and time (``YYYY-MM-DDTHH:MM``, the municipality's zone) or ISO 8601 with an
    offset, as unix seconds; None when blank."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormError("form.starts", f"{field}: a date and time as YYYY-MM-DDTHH:MM",
                        field) from None
    if moment.tzinfo is None:
        zone = context.runtime().config.municipality.timezone
        moment = moment.replace(tzinfo=localtime.zone(zone))
    try:
        stamp = moment.timestamp()
    except (OverflowError, ValueError):
        stamp = -1.0
    if not 0 <= stamp < 2 ** 33:
        raise FormError("form.starts", f"{field}: out of range", field)
    return stamp


def target(value: str | None, field: str = "target") -> tuple[int | None, int | None]:
    """``network`` (or blank), ``site:<slug>`` or ``ap:<name>`` as (ap_id, site_id)."""
    text = (value or "network").strip()
    if text == "network":
        return None, None
    kind, _sep, ref = text.partition(":")
    store = context.store()
    try:
        if kind == "site":
            return None, int(inventory.get_site(store, ref)["id"])
        if kind == "ap":
            return int(inventory.get_ap(store, ref)["id"]), None
    except CodedError:
        pass
    raise FormError("form.target", f"{field}: network, site:<slug> or ap:<name>", field)


def targets() -> list[tuple[str, str]]:
    """Every target a form may offer: the network, each site, each AP."""
    store = context.store()
    choices = [("network", _("the whole network"))]
    choices += [(f"site:{s['slug']}", _("site %(name)s", name=s["slug"]))
                for s in inventory.list_sites(store)]
    choices += [(f"ap:{a['name']}", _("AP %(name)s", name=a["name"]))
                for a in inventory.list_aps(store)]
    return choices


__all__ = [
    "CODE_TEXT",
    "MAX_HOURS",
    "FormError",
    "hours",
    "kind_name",
    "local_time",
    "refusal",
    "target",
    "targets",
]
