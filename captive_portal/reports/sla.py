"""The SLA watcher: escalates overdue 940 reports and closes unanswered resolutions.

It runs every ``sla_check_interval_s``; escalation messages go through the outbox (so the
forwarder is woken to publish them) and SMS to contacts through the notifier.

On several nodes one watcher works at a time: it holds the lease ``singleton:report-sla``
(`core.leases.Singleton`, ``[reports] lease_ttl_s``, 12 s) and renews it between passes; the
other nodes' watchers ask for it every few seconds and make their first pass as soon as they
get it, so a dead node's watcher is replaced within the TTL plus a few seconds. A lease rather
than per-report claims: a pass is a sweep over every open report that costs little, and one
sweeper at a time keeps each escalation (its SMS, its outbox message) single on SQLite and
PostgreSQL alike without a claim column on ``reports``.
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
from core.leases import Singleton, holder_id
from core.store import Store

log = logging.getLogger(__name__)


class SlaWatcher:
    #: The lease one watcher of all the nodes holds (`core.leases`).
    LEASE = "report-sla"

    def __init__(self, store_path: str | Path, config: ReportsConfig, sms: SmsService | None, *,
                 clock: Callable[[], float] = time.time,
                 on_outbox: Callable[[], None] | None = None):
        self.store_path = str(store_path)
        self.config = config
        self.sms = sms
        self.clock = clock
        self.on_outbox = on_outbox
        self.lease = Singleton(lambda: Store(self.store_path, migrate=False), self.LEASE,
                               ttl_s=config.lease_ttl_s,
                               holder=holder_id(f"{self.LEASE}:{config.client_id}"))
        #: Passes this watcher made (it makes them only while it holds the lease).
        self.passes = 0
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
        # Wake often enough to renew the lease (a third of its TTL) between passes.
        tick = min(self.config.sla_check_interval_s, self.lease.ttl_s / 4)
        next_pass = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if not self.lease.held():
                        next_pass = 0.0  # on taking it over, pass at once
                    elif time.monotonic() >= next_pass:
                        next_pass = time.monotonic() + self.config.sla_check_interval_s
                        self.check(store)
                        self.passes += 1
                except Exception:  # the next pass tries again
                    log.exception("SLA pass failed")
                self._stop.wait(tick)
        finally:
            store.close()
            self.lease.release()


__all__ = ["SlaWatcher"]
