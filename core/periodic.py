"""A background pass every few seconds: the shape the SMS retrier, the awareness sender and
other workers share. One failed pass is logged and the next one tries again: a store hiccup must
never end a worker for good."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``work()`` on a daemon thread every ``interval_s`` (the first pass after one
    interval) until `stop`; `wake` runs the next pass at once."""

    def __init__(self, name: str, interval_s: float, work: Callable[[], object], *,
                 join_s: float = 5.0):
        self.name = name
        self.interval_s = interval_s
        self.work = work
        self.join_s = join_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.join_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.work()
            except Exception:  # the next pass tries again
                log.exception("%s: pass failed", self.name)
