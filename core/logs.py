"""Logging set-up shared by every command and process: ``-v`` for info, ``-vv`` for debug."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(verbose: int) -> None:
    """Log to stderr at WARNING, INFO (verbose 1) or DEBUG (2 and more)."""
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format=FORMAT)


class Throttle:
    """At most one log line per key every ``every_s`` seconds, for what a peer can make happen
    as often as it likes (one line per bad datagram was 4,500 lines in 5 s). `allow` says when
    to log and how many lines were held back since the last one; the exact counts belong in
    metrics, not in the log."""

    def __init__(self, every_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        self.every_s = every_s
        self.clock = clock
        self.max_keys = max_keys
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def allow(self, key: Hashable) -> int | None:
        """None: stay quiet (counted); else log now, with this many lines held back before."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if last is None and len(self._last) >= self.max_keys:   # many keys: forget, not grow
            self._last.clear()
            self._held.clear()
        self._last[key] = now
        return self._held.pop(key, 0)


__all__ = ["FORMAT", "Throttle", "configure"]
