"""A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.support import free_port


@dataclass
class SmtpSink:
    """What the server received, in order; ``wait(n)`` blocks until ``n`` messages arrived."""
    host: str = "127.0.0.1"
    port: int = 0
    envelopes: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server, session, envelope: Envelope, address: str, options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.envelopes.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted"

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[list[str], EmailMessage]]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.envelopes) >= count, timeout):
                raise AssertionError(f"{len(self.envelopes)} of {count} messages arrived")
            return list(self.envelopes)

    @property
    def messages(self) -> list[EmailMessage]:
        return [m for _, m in self.envelopes]


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
