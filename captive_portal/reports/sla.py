"""The SLA watcher: escalates overdue 940 reports and closes unanswered resolutions.

It runs every ``sla_check_interval_s``; escalation messages go through the outbox (so the
forwarder is woken to publish them) and SMS to contacts through the notifier.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.escalation import close_unanswered, escalate_overdue
from captive_portal.reports.notify import Notifier
from captive_portal.sms import SmsService
from core.store import Store

log = logging.getLogger(__name__)


class SlaWatcher:
    def __init__(self, store_path: str | Path, config: ReportsConfig, sms: SmsService | None, *,
                 clock: Callable[[], float] = time.time,
                 on_outbox: Callable[[], None] | None = None):
        self.store_path = str(store_path)
        self.config = config
        self.sms = sms
        self.clock = clock
        self.on_outbox = on_outbox
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="report-sla", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self, store: Store) -> tuple[int, int]:
        """One pass: (reports escalated, reports closed for want of an answer)."""
        now = self.clock()
        escalated = escalate_overdue(store, now, self.config)
        closed = close_unanswered(store, now, self.config)
        if self.sms is not None:
            Notifier(store, self.sms, self.clock).deliver_pending()
        if (escalated or closed) and self.on_outbox is not None:
            self.on_outbox()
        return escalated, closed

    def _run(self) -> None:
        store = Store(self.store_path, migrate=False)
        try:
            while not self._stop.is_set():
                try:
                    self.check(store)
                except Exception:  # the next pass tries again
                    log.exception("SLA pass failed")
                self._stop.wait(self.config.sla_check_interval_s)
        finally:
            store.close()


__all__ = ["SlaWatcher"]
