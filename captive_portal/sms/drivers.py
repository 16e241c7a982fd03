"""The SMS drivers and the table that names them.

``console`` (demo and development: the log and an outbox file), ``http`` (a template for a
provider's JSON API), ``kannel`` (`captive_portal.sms.kannel`), ``smpp`` (straight to an
operator's SMSC, `captive_portal.sms.smpp`). A new gateway is one class satisfying `SmsDriver`
(`captive_portal.sms.base`) and one line in `SMS_DRIVERS`.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from captive_portal.config import SmsConfig
from captive_portal.sms.base import OutgoingSms, Passive, SmsDriver, post
from captive_portal.sms.kannel import KannelSmsDriver
from captive_portal.sms.smpp import SmppSmsDriver
from core.files import touch_private

log = logging.getLogger(__name__)


class ConsoleSmsDriver(Passive):
    """Development driver: the message goes to the log and, if set, an outbox file (JSON lines)."""

    name = "console"

    def __init__(self, outbox: str | Path | None):
        self.outbox = Path(outbox) if outbox else None
        self._lock = threading.Lock()
        self._serial = 0

    @classmethod
    def from_config(cls, config: SmsConfig) -> ConsoleSmsDriver:
        return cls(config.outbox or None)

    def send(self, message: OutgoingSms) -> str:
        with self._lock:
            self._serial += 1
            provider_id = f"console-{time.time_ns()}-{self._serial}"
            if self.outbox is not None:
                # It holds phone numbers and one-time codes: private like the store.
                touch_private(self.outbox)
                with self.outbox.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"id": provider_id, "to": message.to,
                                         "from": message.sender, "text": message.body,
                                         "encoding": message.encoding,
                                         "segments": message.segments},
                                        ensure_ascii=False) + "\n")
        log.info("SMS to %s from %s: %s", message.to, message.sender, message.body)
        return provider_id


class HttpSmsDriver(Passive):
    """A template for a provider's HTTP API: POST ``{"to", "from", "text"}`` as JSON, expect 2xx
    and an id (``id`` or ``message_id``).

    Credentials go as HTTP basic auth (username/password) and/or a bearer token. 4xx answers are
    final (the provider refused this message); 5xx, 429 and network errors are retried.
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

    def send(self, message: OutgoingSms) -> str:
        data = json.dumps({"to": message.to, "from": message.sender,
                           "text": message.body}).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=self._headers,
                                         method="POST")
        raw = post(request, self.timeout_s)
        try:
            answer = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            answer = {}
        provider_id = (answer.get("id") or answer.get("message_id")
                       if isinstance(answer, dict) else None)
        return str(provider_id or "")


#: Driver name -> factory from `SmsConfig` (read-only: a new driver is a line here).
SMS_DRIVERS: MappingProxyType[str, Callable[[SmsConfig], SmsDriver]] = MappingProxyType({
    "console": ConsoleSmsDriver.from_config,
    "http": HttpSmsDriver.from_config,
    "kannel": KannelSmsDriver.from_config,
    "smpp": SmppSmsDriver.from_config,
})


def make_driver(config: SmsConfig) -> SmsDriver:
    try:
        factory = SMS_DRIVERS[config.driver]
    except KeyError:
        raise ValueError(f"unknown SMS driver {config.driver!r} "
                         f"(supported: {', '.join(sorted(SMS_DRIVERS))})") from None
    return factory(config)


__all__ = ["SMS_DRIVERS", "ConsoleSmsDriver", "HttpSmsDriver", "make_driver"]
