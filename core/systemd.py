"""Telling systemd how a daemon is doing: the sd_notify protocol (``Type=notify`` units).

systemd hands a ``Type=notify`` service the path of a datagram socket in ``NOTIFY_SOCKET``; the
daemon sends ``READY=1`` once it serves, ``WATCHDOG=1`` at least every ``WatchdogSec=`` while it
is healthy (systemd restarts it when the pings stop), ``RELOADING=1`` / ``STOPPING=1`` around a
reload or stop, and ``STATUS=...`` for ``systemctl status``. The protocol is one short datagram
per message (sd_notify(3)), so it is written here rather than taken from a library: the slim
agent distribution (gateways, branch routers) keeps no dependency beyond what it has, and the
libraries on PyPI either need libsystemd's headers to build (``systemd-python``) or leave out
the watchdog's interval and owning PID (``sdnotify``), which this module reads.

Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing, so the daemons call it
unconditionally. A daemon pings from its own main loop, and only after checking what that loop
is there to keep alive: a hung loop or a dead part then stops the pings and systemd acts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class ServiceNotifier:
    """The daemon's side of sd_notify; build it once per process with `from_environment`."""

    def __init__(self, address: str | None = None, watchdog_usec: int = 0):
        self._address = address
        self._socket: socket.socket | None = None
        #: Seconds between two pings: half the watchdog's timeout (what sd_watchdog_enabled(3)
        #: advises), or 0 when no watchdog is set for this process.
        self.watchdog_interval = watchdog_usec / 2_000_000 if watchdog_usec > 0 else 0.0
        self._last_ping = 0.0

    @classmethod
    def from_environment(cls) -> ServiceNotifier:
        """Read (and take out of the environment) what systemd passed to this process.

        The variables are removed so that the processes this daemon starts (granian's
        workers, ``nft``, a demo's simulators) never speak for the service.
        """
        address = os.environ.pop("NOTIFY_SOCKET", None) or None
        usec = os.environ.pop("WATCHDOG_USEC", "")
        owner = os.environ.pop("WATCHDOG_PID", "")
        watchdog = int(usec) if usec.isdigit() else 0
        if owner.isdigit() and int(owner) != os.getpid():
            watchdog = 0  # the watchdog is set for another process of the unit
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        """True under a ``Type=notify`` unit (a socket to talk to)."""
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; False if systemd could not be told."""
        if self._address is None:
            return False
        address = self._address
        if address.startswith("@"):  # an abstract socket (systemd's own convention)
            address = "\0" + address[1:]
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX,
                                             socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto("\n".join(fields).encode(), address)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self._address, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        fields = ["READY=1", f"MAINPID={os.getpid()}"]
        if status:
            fields.append(f"STATUS={status}")
        self._last_ping = time.monotonic()
        return self.notify(*fields)

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def reloading(self) -> bool:
        # systemd 253 and later also want MONOTONIC_USEC with RELOADING=1 (Type=notify-reload).
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        """Ping the watchdog if one is set and half its timeout has passed since the last ping.

        Call it as often as the main loop turns, and only when the loop found the daemon
        healthy; it sends at most one datagram per `watchdog_interval`.
        """
        if not self.watchdog_interval or self._address is None:
            return False
        now = time.monotonic()
        if now - self._last_ping < self.watchdog_interval:
            return False
        self._last_ping = now
        return self.notify("WATCHDOG=1")

    def wait_interval(self, longest: float) -> float:
        """How long a main loop may sleep before its next ping is due (at most ``longest``).

        A ping overdue (the daemon was unhealthy) gives a tenth of the interval, so a loop
        that found a problem looks again soon without spinning.
        """
        if not self.watchdog_interval:
            return longest
        due = self._last_ping + self.watchdog_interval - time.monotonic()
        return min(longest, max(due, self.watchdog_interval / 10))

    def serve_until(self, stop: threading.Event, problem: Callable[[], str | None],
                    longest: float = 5.0) -> None:
        """A main loop with nothing else to do: wait for ``stop``, pinging while healthy.

        ``problem`` says what is wrong with the daemon (None when nothing is); while it says
        something the pings stop, ``STATUS=`` carries it, and after ``WatchdogSec=`` systemd
        restarts the service.
        """
        reported: str | None = None
        while not stop.wait(self.wait_interval(longest)):
            current = problem()
            if current is None:
                self.watchdog()
            elif current != reported:
                log.error("unhealthy, the watchdog is no longer pinged: %s", current)
                self.status(f"unhealthy: {current}")
            reported = current

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


__all__ = ["ServiceNotifier"]
