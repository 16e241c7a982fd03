"""The three ways a notification leaves: e-mail through the municipality's relay (`core.mail`), a
webhook (an HTTP POST of the alert as JSON, signed), and SMS through the portal's SMS gateway
(`captive_portal.sms`'s ``SmsService.send``, which keeps and retries its own messages).

A webhook request carries ``X-Oasis-Timestamp`` (unix seconds) and ``X-Oasis-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the receiver's secret, and
``X-Oasis-Delivery`` (the outbox message's id, the same on every retry) so a receiver can drop a
repeat. A receiver that answers 2xx has it; 408, 429, 5xx and network errors are retried; any
other answer will not change on retry and is given up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from core import mail
from core.errors import CodedError

#: Hands an SMS to the gateway: (to, text, locale).
SendSms = Callable[[str, str, str], object]

SIGNATURE_HEADER = "X-Oasis-Signature"
TIMESTAMP_HEADER = "X-Oasis-Timestamp"
DELIVERY_HEADER = "X-Oasis-Delivery"


class DeliveryError(CodedError):
    """A channel did not take the message; ``retryable`` says whether trying again may help."""

    code_in_text = True

    def __init__(self, code: str, message: str, *, retryable: bool):
        super().__init__(code, message)
        self.retryable = retryable


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Oasis-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass
class Channels:
    mail_config: mail.MailConfig
    mail_base: Path | None
    send_sms: SendSms | None
    webhook_timeout_s: float = 10.0

    def email(self, to: str, subject: str, text: str, locale: str) -> None:
        # The HTML part carries the direction: mail clients lay plain text out left to right.
        direction = "rtl" if locale == "ar" else "ltr"
        html = (f'<div dir="{direction}" lang="{locale}" style="white-space: pre-wrap">'
                f"{escape(text)}</div>")
        message = mail.compose(self.mail_config, [to], subject, text, html=html, lang=locale)
        try:
            mail.send(self.mail_config, message, base=self.mail_base)
        except mail.MailError as exc:
            raise DeliveryError(exc.code, exc.message, retryable=exc.retryable) from None

    def sms(self, to: str, text: str, locale: str) -> None:
        if self.send_sms is None:
            raise DeliveryError("sms.none", "no SMS gateway in this process", retryable=False)
        try:
            self.send_sms(to, text, locale)
        except Exception as exc:  # noqa: BLE001 - the gateway's store or driver: try again
            raise DeliveryError("sms.gateway", f"{exc.__class__.__name__}: {exc}",
                                retryable=True) from None

    def webhook(self, url: str, secret: str, payload: dict, *, delivery: str,
                timestamp: str) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "oasis-edge-alerts",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            DELIVERY_HEADER: delivery})
        try:
            with urllib.request.urlopen(request, timeout=self.webhook_timeout_s) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            retry = exc.code in (408, 429) or exc.code >= 500
            raise DeliveryError("webhook.status", f"{url} answered {exc.code}",
                                retryable=retry) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError("webhook.unreachable", f"{url}: {reason}",
                                retryable=True) from None


__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Channels",
    "DeliveryError",
    "SendSms",
    "signature",
]
