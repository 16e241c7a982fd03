"""The SMS gateway: one interface, pluggable drivers, every message recorded with its fate.

Login codes and (later) 940 status messages and closure codes go through `SmsService.send`. The
message is written to ``sms_messages`` as *queued* before the driver is called, so nothing is
ever sent without a record; the outcome moves it to *sent*, *failed* (retried later with
exponential backoff by `retry_due`) or *abandoned* after ``max_attempts``. A provider's delivery
receipt moves it to *delivered* (`mark_delivered`).

Drivers (`SMS_DRIVERS`): ``console`` for development and tests (logs the message and appends it
as one JSON line to an outbox file), ``http`` for a provider's HTTP API (URL and credentials
from ``[sms]``). A new provider is one class with a ``send`` method and one line in the table.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from captive_portal.config import SmsConfig
from core.files import touch_private
from core.store import Store

log = logging.getLogger(__name__)


class SmsSendError(RuntimeError):
    """The driver could not hand the message over; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class SmsDriver(Protocol):
    name: str

    def send(self, to: str, body: str, sender: str) -> str:
        """Hand the message to the provider; returns its message id or raises SmsSendError."""


class ConsoleSmsDriver:
    """Development driver: the message goes to the log and, if set, an outbox file (JSON lines)."""

    name = "console"

    def __init__(self, outbox: str | Path | None):
        self.outbox = Path(outbox) if outbox else None
        self._lock = threading.Lock()
        self._serial = 0

    @classmethod
    def from_config(cls, config: SmsConfig) -> ConsoleSmsDriver:
        return cls(config.outbox or None)

    def send(self, to: str, body: str, sender: str) -> str:
        with self._lock:
            self._serial += 1
            message_id = f"console-{time.time_ns()}-{self._serial}"
            if self.outbox is not None:
                # It holds phone numbers and one-time codes: private like the store.
                touch_private(self.outbox)
                with self.outbox.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"id": message_id, "to": to, "from": sender,
                                         "text": body}, ensure_ascii=False) + "\n")
        log.info("SMS to %s from %s: %s", to, sender, body)
        return message_id


class HttpSmsDriver:
    """A provider's HTTP API: POST ``{"to", "from", "text"}`` as JSON, expect 2xx and an id.

    Credentials go as HTTP basic auth (username/password) and/or a bearer token. 4xx answers are
    final (the provider refused this message); 5xx and network errors are retried.
    """

    name = "http"

    def __init__(self, url: str, *, username: str = "", password: str = "", token: str = "",
                 timeout_s: float = 10.0):
        self.url = url
        self.timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if username:
            pair = f"{username}:{password}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_config(cls, config: SmsConfig) -> HttpSmsDriver:
        return cls(config.url, username=config.username, password=config.password,
                   token=config.token, timeout_s=config.timeout_s)

    def __repr__(self) -> str:  # never the credentials
        return f"HttpSmsDriver({self.url!r})"

    def send(self, to: str, body: str, sender: str) -> str:
        data = json.dumps({"to": to, "from": sender, "text": body}).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=self._headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read(65536)
        except urllib.error.HTTPError as exc:
            raise SmsSendError(f"provider answered {exc.code}",
                               retryable=exc.code >= 500 or exc.code == 429) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsSendError(f"provider unreachable: {exc}") from None
        try:
            answer = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            answer = {}
        message_id = answer.get("id") or answer.get("message_id") if isinstance(answer, dict) else None
        return str(message_id or "")


#: Driver name -> factory from `SmsConfig` (read-only: a new driver is a line here).
SMS_DRIVERS: MappingProxyType[str, Callable[[SmsConfig], SmsDriver]] = MappingProxyType({
    "console": ConsoleSmsDriver.from_config,
    "http": HttpSmsDriver.from_config,
})


def make_driver(config: SmsConfig) -> SmsDriver:
    try:
        factory = SMS_DRIVERS[config.driver]
    except KeyError:
        raise ValueError(f"unknown SMS driver {config.driver!r} "
                         f"(supported: {', '.join(sorted(SMS_DRIVERS))})") from None
    return factory(config)


@dataclass(frozen=True)
class SmsRecord:
    id: int
    to_number: str
    state: str
    attempts: int
    provider_id: str | None
    last_error: str | None


class SmsService:
    """Records and sends SMS through one driver; ``stores()`` gives this thread's `Store`."""

    def __init__(self, stores: Callable[[], Store], driver: SmsDriver, config: SmsConfig,
                 clock: Callable[[], float] = time.time):
        self.stores = stores
        self.driver = driver
        self.config = config
        self.clock = clock

    def send(self, to: str, body: str, *, purpose: str, locale: str) -> SmsRecord:
        """Record the message, try it once now; a failure is left for `retry_due`."""
        now = self.clock()
        store = self.stores()
        with store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO sms_messages (to_number, body, purpose, locale, driver, state, "
                "attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
                (to, body, purpose, locale, self.driver.name, now, now))
            message_id = cursor.lastrowid
        self._attempt(message_id, to, body, attempts=0)
        return self.get(message_id)

    def _attempt(self, message_id: int, to: str, body: str, attempts: int) -> None:
        attempts += 1
        try:
            provider_id = self.driver.send(to, body, self.config.sender)
        except SmsSendError as exc:
            final = not exc.retryable or attempts >= self.config.max_attempts
            delay = self.config.retry_base_s * (2 ** (attempts - 1))
            self._update(message_id, "abandoned" if final else "failed", attempts, None,
                         str(exc), None if final else self.clock() + delay)
            log.warning("SMS %s to %s failed (attempt %d): %s", message_id, to, attempts, exc)
            return
        self._update(message_id, "sent", attempts, provider_id or None, None, None)

    def _update(self, message_id: int, state: str, attempts: int, provider_id: str | None,
                error: str | None, next_attempt_at: float | None) -> None:
        self.stores().conn.execute(
            "UPDATE sms_messages SET state = ?, attempts = ?, provider_id = coalesce(?, "
            "provider_id), last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
            (state, attempts, provider_id, error, next_attempt_at, self.clock(), message_id))

    def retry_due(self, claim_s: float = 120.0) -> int:
        """Try again every failed message whose backoff has passed; returns how many.

        Each message is claimed first (its next attempt moved ``claim_s`` ahead, only if no one
        moved it since we read it), so several portal workers retrying at once never send the
        same message twice; one that dies mid-send leaves it to be retried after the claim.
        """
        conn = self.stores().conn
        now = self.clock()
        rows = conn.execute(
            "SELECT id, to_number, body, attempts, next_attempt_at FROM sms_messages "
            "WHERE state = 'failed' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 100",
            (now,)).fetchall()
        tried = 0
        for message_id, to, body, attempts, due in rows:
            claimed = conn.execute(
                "UPDATE sms_messages SET next_attempt_at = ? WHERE id = ? AND state = 'failed' "
                "AND next_attempt_at = ?", (now + claim_s, message_id, due)).rowcount
            if claimed:
                self._attempt(message_id, to, body, attempts)
                tried += 1
        return tried

    def mark_delivered(self, provider_id: str) -> bool:
        """A provider's delivery receipt; False if no sent message carries that id."""
        cursor = self.stores().conn.execute(
            "UPDATE sms_messages SET state = 'delivered', updated_at = ? "
            "WHERE provider_id = ? AND state = 'sent'", (self.clock(), provider_id))
        return cursor.rowcount > 0

    def get(self, message_id: int) -> SmsRecord:
        row = self.stores().conn.execute(
            "SELECT id, to_number, state, attempts, provider_id, last_error FROM sms_messages "
            "WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise KeyError(message_id)
        return SmsRecord(*row)


class SmsRetrier:
    """Background thread calling `SmsService.retry_due` every ``interval_s`` until stopped."""

    def __init__(self, service: SmsService, interval_s: float = 15.0):
        self.service = service
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sms-retry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.service.retry_due()
            except Exception:  # a store hiccup must not end retries for good
                log.exception("SMS retry pass failed")


__all__ = ["ConsoleSmsDriver", "HttpSmsDriver", "SMS_DRIVERS", "SmsDriver", "SmsRecord",
           "SmsRetrier", "SmsSendError", "SmsService", "make_driver"]
