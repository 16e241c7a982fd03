"""Helpers for the SMS tests (not a test module): a recording driver, a report awaiting its
closure answer, and a service on a store."""

from __future__ import annotations

import re
import time

from captive_portal.config import SmsConfig
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.workflow import transition
from captive_portal.sms import OutgoingSms, SmsService
from tests.captive_portal.reports_pipeline import FAST


class RecordingDriver:
    """Takes every message and remembers it; a real gateway's part is played elsewhere."""

    name = "recording"

    def __init__(self):
        self.sent: list[OutgoingSms] = []

    def send(self, message: OutgoingSms) -> str:
        self.sent.append(message)
        return f"rec-{message.id}"

    def start(self, on_receipt, on_incoming) -> None:
        pass

    def stop(self) -> None:
        pass


def service(store, driver=None, clock=None, **config) -> SmsService:
    return SmsService(lambda: store, driver or RecordingDriver(), SmsConfig(**config),
                      clock=clock or time.time, reports_config=FAST)


def resolved_report(store, phone: str = "0551234567", locale: str = "ar") -> tuple[str, str]:
    """A citizen's report, resolved: (tracking, closure code from its SMS)."""
    filed = file_report(store, NewReport(category="lighting", description="Lamp out",
                                         channel="portal", site="park-1", phone=phone,
                                         phone_verified=True, locale=locale), FAST)
    for status in ("forwarded", "in_progress", "resolved"):
        transition(store, filed.tracking, status, actor="backoffice", now=time.time(),
                   config=FAST)
    body = store.conn.execute(
        "SELECT body FROM report_notifications WHERE report_id = ? AND purpose = 'closure_code'",
        (filed.id,)).fetchone()[0]
    return filed.tracking, closure_code(body)


def closure_code(body: str) -> str:
    return re.search(r"(?<![\d-])\d{6}(?!\d)", body.replace(" ", " ")).group(0)


def status_of(store, tracking: str) -> str:
    return store.conn.execute("SELECT status FROM reports WHERE tracking = ?",
                              (tracking,)).fetchone()[0]
