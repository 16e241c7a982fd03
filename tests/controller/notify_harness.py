"""Peers and a worker for the notification tests: a real HTTP receiver for webhooks (checking
each request's signature) and a notify worker on a clock the test moves."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from captive_portal.sms import ConsoleSmsDriver, SmsService
from controller.notify.channels import Channels
from controller.notify.worker import NotifyWorker
from core.store import Store
from tests.support import free_port


@dataclass
class WebhookReceiver:
    """An HTTP server on a free loopback port keeping every POST; ``status`` is what it answers
    next (a list consumed first to last, then 204); ``bad_signatures`` counts refused ones."""
    secret: str = ""
    received: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    bad_signatures: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-Oasis-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(), stamp.encode() + b"."
                                                + body, hashlib.sha256).hexdigest()
                with receiver._arrived:
                    if not hmac.compare_digest(expected, self.headers.get("X-Oasis-Signature",
                                                                          "")):
                        receiver.bad_signatures += 1
                        status = 401
                    else:
                        status = receiver.statuses.pop(0) if receiver.statuses else 204
                        if status < 300:
                            receiver.received.append(json.loads(body))
                            receiver.headers.append(dict(self.headers))
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/oasis"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """Unix seconds the test moves forward."""

    def __init__(self, start: float):
        self.at = start

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def sms_service(store: Store, config, outbox: Path) -> SmsService:
    """The portal's SMS gateway with the console driver writing ``outbox`` (JSON lines)."""
    return SmsService(lambda: store, ConsoleSmsDriver(outbox), config.sms)


def sms_sent(outbox: Path) -> list[dict]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]


def worker(store: Store, config, secrets, clock: Clock, sms: SmsService | None,
           *, watch_reports: bool = False) -> NotifyWorker:
    send = (lambda to, text, locale: sms.send(to, text, purpose="alert", locale=locale)
            ) if sms is not None else None
    channels = Channels(config.mail, None, send, webhook_timeout_s=5.0)
    return NotifyWorker(lambda: store, config.alerts, channels, secrets,
                        config.municipality.timezone, clock=clock, watch_reports=watch_reports)
