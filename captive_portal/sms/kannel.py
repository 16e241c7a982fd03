"""Kannel, the open-source SMS gateway: send through smsbox's ``sendsms``, hear back over HTTP.

Sending is one GET to smsbox's ``/cgi-bin/sendsms`` with the ``sendsms-user`` credentials.
Arabic (UCS-2) text goes as ``coding=2`` with ``charset=UTF-8`` (smsbox converts the UTF-8 it
is given to UCS-2 for the SMSC); GSM-7 text as ``coding=0``. ``dlr-mask`` asks for delivery
reports and ``dlr-url`` tells smsbox where to report them: the admin app's
``/hooks/sms/kannel/dlr/<secret>`` with our message id and Kannel's ``%d`` (report type),
``%A`` (the SMSC's words), ``%T`` (its time) and ``%F`` (the SMSC's id for the message). The
citizen's replies (MO) reach ``/hooks/sms/kannel/mo/<secret>`` through an ``sms-service``
whose ``get-url`` is `mo_url` (``%p`` sender, ``%b`` the raw text, ``%c`` coding, ``%C``
charset, ``%I`` Kannel's id for it, ``%t`` its time), with ``max-messages = 0`` so smsbox
sends nothing back itself: our answers go through ``sendsms`` and are recorded like any other.

The hooks call `parse_dlr` / `parse_mo`, which never raise on what a gateway (or anyone) sends:
they return None for what cannot be read.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import urllib.request
from typing import NamedTuple

from captive_portal.config import SmsConfig
from captive_portal.sms.base import OutgoingSms, Passive, SmsSendError, post
from captive_portal.sms.segments import UCS2

#: Kannel's DLR types (``%d``) as delivery states: 1 delivered to the phone, 2 not delivered,
#: 4 buffered at the SMSC, 8 accepted by the SMSC, 16 refused by the SMSC.
DLR_STATES = {1: "delivered", 2: "failed", 4: "buffered", 8: "submitted", 16: "failed"}
#: All of the above.
DLR_MASK_ALL = 31
#: Longest value read from a hook's parameters.
FIELD_MAX = 2000


def provider_id(message_id: int | str) -> str:
    """Our id for a message sent through Kannel (the dlr-url carries the message id back)."""
    return f"kannel:{message_id}"


class KannelSmsDriver(Passive):
    name = "kannel"

    def __init__(self, url: str, *, username: str, password: str, callback_url: str,
                 hook_secret: str, dlr_mask: int = DLR_MASK_ALL, smsc: str = "",
                 timeout_s: float = 10.0):
        self.url = url
        self.username = username
        self.password = password
        self.callback_url = callback_url.rstrip("/")
        self.hook_secret = hook_secret
        self.dlr_mask = dlr_mask
        self.smsc = smsc
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: SmsConfig) -> KannelSmsDriver:
        return cls(config.url, username=config.username, password=config.password,
                   callback_url=config.callback_url, hook_secret=config.hook_secret,
                   dlr_mask=config.dlr_mask, smsc=config.kannel_smsc,
                   timeout_s=config.timeout_s)

    def __repr__(self) -> str:  # never the credentials
        return f"KannelSmsDriver({self.url!r})"

    def dlr_url(self, message_id: int) -> str:
        return (f"{self.callback_url}/hooks/sms/kannel/dlr/{self.hook_secret}"
                f"?id={message_id}&type=%d&answer=%A&at=%T&smsc_id=%F")

    def send(self, message: OutgoingSms) -> str:
        params = {"username": self.username, "password": self.password,
                  "from": message.sender, "to": message.to, "text": message.body,
                  "charset": "UTF-8", "coding": "2" if message.encoding == UCS2 else "0"}
        if self.dlr_mask:
            params.update({"dlr-mask": str(self.dlr_mask), "dlr-url": self.dlr_url(message.id)})
        if self.smsc:
            params["smsc"] = self.smsc
        request = urllib.request.Request(f"{self.url}?{urllib.parse.urlencode(params)}")
        answer = post(request, self.timeout_s).decode("utf-8", "replace").strip()
        # 202 "0: Accepted for delivery" or "3: Queued for later delivery"; errors are 4xx/5xx.
        if not answer[:1] in ("0", "3"):
            raise SmsSendError(f"kannel answered {answer[:200]!r}")
        return provider_id(message.id)


def mo_url(callback_url: str, hook_secret: str) -> str:
    """The ``get-url`` of the ``sms-service`` that hands citizens' SMS to us."""
    return (f"{callback_url.rstrip('/')}/hooks/sms/kannel/mo/{hook_secret}"
            "?from=%p&text=%b&coding=%c&charset=%C&id=%I&at=%t")


class Dlr(NamedTuple):
    provider_id: str
    state: str
    at: float | None
    detail: str | None


class Mo(NamedTuple):
    sender: str
    text: str
    gateway_id: str | None
    at: float | None


def _field(params, name: str) -> str:
    value = params.get(name, "")
    return value[:FIELD_MAX] if isinstance(value, str) else ""


def _unix(text: str) -> float | None:
    """Kannel's %T is unix seconds; %t is ``YYYY-MM-DD HH:MM:SS`` (its local time, taken as UTC)."""
    try:
        if text.isdigit():
            value = float(text)
        else:
            value = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None
    return value if 0 < value < 1e10 else None


def parse_dlr(params) -> Dlr | None:
    """A delivery report's parameters (``id``, ``type``, ``answer``, ``at``, ``smsc_id``)."""
    message_id, kind = _field(params, "id"), _field(params, "type")
    if not message_id.isdigit() or len(message_id) > 18 or not kind.isdigit():
        return None
    state = DLR_STATES.get(int(kind[:3]))
    if state is None:
        return None
    answer = _field(params, "answer")
    if state == "failed" and "EXPIRED" in answer.upper():
        state = "expired"
    smsc_id = _field(params, "smsc_id")
    detail = " ".join(part for part in (answer, f"smsc id {smsc_id}" if smsc_id else "") if part)
    return Dlr(provider_id(int(message_id)), state, _unix(_field(params, "at")), detail or None)


def parse_mo(raw_query: bytes) -> Mo | None:
    """A citizen's SMS from the ``get-url`` query string (raw bytes: ``%b`` is the message's
    octets, UCS-2 when ``coding`` is 2, which no text decoding of the URL would survive)."""
    try:
        query = raw_query[:16384].decode("ascii")
    except UnicodeDecodeError:
        return None
    pairs: dict[str, str] = {}   # still percent-encoded: decoded to octets, not to text
    for part in query.split("&")[:40]:
        name, _, value = part.partition("=")
        pairs.setdefault(urllib.parse.unquote(name), value)

    def octets(name: str) -> bytes:
        return urllib.parse.unquote_to_bytes(pairs.get(name, "").replace("+", " "))[:FIELD_MAX]

    def text_of(name: str) -> str:
        return octets(name).decode("utf-8", "replace")

    sender = text_of("from").strip()
    if not sender:
        return None
    body, coding = octets("text"), text_of("coding").strip()
    charset = text_of("charset").strip() or "UTF-8"
    if coding == "2" or charset.upper() in ("UTF-16BE", "UCS-2", "UCS2"):
        text = body.decode("utf-16-be", "replace")
    else:
        try:
            text = body.decode(charset if charset.upper() != "UTF-8" else "utf-8")
        except (LookupError, UnicodeDecodeError):
            text = body.decode("latin-1")
    return Mo(sender[:64], text, text_of("id").strip()[:200] or None, _unix(text_of("at")))


__all__ = ["DLR_MASK_ALL", "DLR_STATES", "Dlr", "KannelSmsDriver", "Mo", "mo_url",
           "parse_dlr", "parse_mo", "provider_id"]
