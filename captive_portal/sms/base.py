"""What every SMS driver shares: the message it is given, the error it raises, the callbacks
a gateway's reports go to, and the `SmsDriver` protocol the driver table promises.

A driver has a ``name``, ``send(message) -> gateway id`` (or `SmsSendError`), and
``start(on_receipt, on_incoming)`` / ``stop()``. A driver that owns a connection to its gateway
(SMPP) opens it in ``start`` and reports delivery receipts and citizens' replies through the two
callbacks (`SmsService.receipt` and `SmsService.incoming`); a driver whose gateway calls us
over HTTP (Kannel) has nothing to start: its gateway reaches the same two entry points through
the admin app's ``/hooks/sms/...`` endpoints. ``console`` and ``http`` have neither.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from captive_portal.sms.segments import Encoding


class SmsSendError(RuntimeError):
    """The driver could not hand the message over; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class OutgoingSms:
    """One message as a driver sends it."""

    id: int               # sms_messages.id: a gateway that calls back may be told it
    to: str               # E.164
    body: str
    sender: str
    encoding: Encoding    # gsm7 or ucs2, chosen by `segments.segment`
    segments: int


class ReceiptSink(Protocol):
    """`SmsService.receipt`: a gateway's delivery report for the message it called
    ``provider_id``; ``state`` is submitted, buffered, delivered, failed or expired."""

    def __call__(self, provider_id: str, state: str, *, at: float | None = None,
                 detail: str | None = None) -> bool: ...


class IncomingSink(Protocol):
    """`SmsService.incoming`: an SMS a citizen sent us (MO)."""

    def __call__(self, sender: str, text: str, *, at: float | None = None,
                 gateway_id: str | None = None) -> object: ...


class SmsDriver(Protocol):
    name: str

    def send(self, message: OutgoingSms) -> str:
        """Hand the message to the gateway; returns its id for the message ("" if it gives
        none) or raises SmsSendError."""

    def start(self, on_receipt: ReceiptSink, on_incoming: IncomingSink) -> None:
        """Begin reporting receipts and replies through the callbacks (no-op for most)."""

    def stop(self) -> None:
        """Close whatever ``start`` opened."""


class Passive:
    """For drivers whose gateway has nothing to report back by itself."""

    def start(self, on_receipt: ReceiptSink, on_incoming: IncomingSink) -> None:
        return None

    def stop(self) -> None:
        return None


def post(request: urllib.request.Request, timeout_s: float) -> bytes:
    """Send ``request``; the answer's body (64 KiB at most), or SmsSendError (4xx final but
    429, the rest retryable)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SmsSendError(f"gateway answered {exc.code}",
                           retryable=exc.code >= 500 or exc.code == 429) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SmsSendError(f"gateway unreachable: {exc}") from None


__all__ = ["IncomingSink", "OutgoingSms", "Passive", "ReceiptSink", "SmsDriver", "SmsSendError",
           "post"]
