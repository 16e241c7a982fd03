"""Turns received notifications into AP events.

The receiver (controller.snmp.engine.TrapReceiver) only knows a source address; this handler decides
whether that address is one of our APs. Unknown sources are counted and logged, at most once
per source per ``log_every_s``, so a misconfigured device or a scan cannot flood the log, and
they are never attributed to an AP.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from controller.monitoring.snapshot import Snapshot

log = logging.getLogger(__name__)

EventCallback = Callable[[int, str, dict], None]
UnknownCallback = Callable[[str, str, dict], None]


class TrapHandler:
    """``handler(source_ip, trap_name, varbinds)`` is the TrapReceiver callback."""

    def __init__(self, lookup_ap_by_ip: Callable[[str], int | None], snapshot: Snapshot,
                 on_event: EventCallback, *, log_every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_unknown: UnknownCallback | None = None):
        self.lookup_ap_by_ip = lookup_ap_by_ip
        self.snapshot = snapshot
        self.on_event = on_event
        #: Told of notifications from unknown sources (adoption listens for coldStart).
        self.on_unknown = on_unknown
        self.log_every_s = log_every_s
        self.clock = clock
        self._last_logged: dict[str, float] = {}
        self.suppressed_logs = 0

    def __call__(self, source_ip: str, trap_name: str, varbinds: dict) -> None:
        ap_id = self.lookup_ap_by_ip(source_ip)
        if ap_id is None:
            self.snapshot.count_trap(known=False)
            self._log_unknown(source_ip, trap_name)
            if self.on_unknown is not None:
                self.on_unknown(source_ip, trap_name, dict(varbinds))
            return
        self.snapshot.count_trap(known=True)
        detail = dict(varbinds)
        detail["source"] = source_ip
        self.on_event(ap_id, trap_name, detail)

    def _log_unknown(self, source_ip: str, trap_name: str) -> None:
        now = self.clock()
        last = self._last_logged.get(source_ip)
        if last is not None and now - last < self.log_every_s:
            self.suppressed_logs += 1
            return
        if len(self._last_logged) > 10_000:      # a spoofed-source flood must not grow this forever
            self._last_logged.clear()
        self._last_logged[source_ip] = now
        log.warning("trap %s from unknown source %s ignored", trap_name, source_ip)


__all__ = ["TrapHandler"]
