"""The running gateway agent: table, book, HTTP side and MQTT side wired together.

The agent is built to be restarted at will: stopping it leaves the nft table (and every
authorised client) in place, and starting it again re-installs the chains around the same
sets. While the broker or the controller is away the sets keep working and the agent keeps
enforcing limits; reports queue in the MQTT client and go out on reconnect.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agents.gateway.config import GatewayAgentConfig
from agents.gateway.control import GatewayControlChannel
from agents.gateway.enforcer import Enforcer
from agents.gateway.memory import limit_malloc_arenas, release_free_memory
from agents.gateway.nft import Nftables
from agents.gateway.redirector import HttpSide, PortalLinks
from agents.gateway.sessions import SessionBook
from core.mqtt import MqttLink
from core.systemd import ServiceNotifier

log = logging.getLogger(__name__)


def read_key(path: str) -> bytes:
    """The HMAC key shared with the controller; refused if others can read the file."""
    key_path = Path(path)
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    key = key_path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"{path}: the key is too short (at least 32 characters)")
    return key.encode()


def walled_garden(config: GatewayAgentConfig) -> list[str]:
    """Static garden: the configured CIDRs and the portal host's address (resolved once)."""
    garden = list(config.gateway.walled_garden)
    host = config.gateway.portal_host
    try:
        garden.append(socket.gethostbyname(host))
    except OSError:
        log.warning("cannot resolve %s for the walled garden; add it by address", host)
    return sorted(set(garden))


#: Seconds between heap trims while commands come in (see `GatewayAgent.run`).
TRIM_INTERVAL_S = 1.0


def _sweep_cpu_s() -> float:
    """CPU seconds of this thread and of reaped children (the sweep's ``nft`` listings)."""
    children = os.times()
    return time.thread_time() + children.children_user + children.children_system


class GatewayAgent:
    def __init__(self, config: GatewayAgentConfig, *, nft: Nftables | None = None,
                 link: MqttLink | None = None, clock: Callable[[], float] = time.time):
        gw = config.gateway
        limit_malloc_arenas()
        self.config = config
        self.clock = clock
        self.nft = nft or Nftables()
        self.book = SessionBook(gw.state_db)
        self.enforcer = Enforcer(gw, self.nft, self.book, walled_garden(config), clock)
        self.links = PortalLinks(gw, read_key(gw.hmac_key_file), clock=clock)
        self.http = HttpSide(gw, self.links, self.enforcer)
        # A persistent session: allow/deny sent while we restart wait for us at the broker.
        self.link = link or MqttLink(config.mqtt, clean_start=False, session_expiry_s=3600)
        self.control = GatewayControlChannel(gw.gateway_id, self.link, self.enforcer, clock)
        self._stop = threading.Event()

    def start(self) -> None:
        ends = self.enforcer.install()
        # The book's sessions live for hours: keep what start-up built out of full collections.
        gc.collect()
        gc.freeze()
        if not self.config.gateway.portal_url.startswith("https://"):
            # RFC 8908 wants user-portal-url over TLS; only the redirect of port 80 is HTTP.
            log.warning("portal_url %s is not https: phones are handed a plain-HTTP portal "
                        "(a lab only)", self.config.gateway.portal_url)
        self.http.start()
        self.control.start()
        self.link.start()
        self.control.publish_ends(ends)
        log.info("gateway %s enforcing with %d authorised clients", self.config.gateway.gateway_id,
                 len(self.book))

    def run(self, service: ServiceNotifier | None = None) -> None:
        """Enforce limits and report accounting until `stop`.

        The heap is trimmed after each sweep, and between sweeps once a second while commands
        come in: a burst of logins then gives its garbage back within a second, not at the
        next sweep. ``service`` (under systemd) is pinged from here while the redirector and
        the API still serve, so a stuck sweep or a dead HTTP side stops the pings.
        """
        gw = self.config.gateway
        next_accounting = self.clock() + gw.accounting_interval_s
        next_sweep = time.monotonic() + gw.enforce_interval_s
        trimmed_at_command = self.control.commands_applied
        while not self._stop.wait(min(TRIM_INTERVAL_S, max(0.0, next_sweep - time.monotonic()))):
            if service is not None and self.http.alive():
                service.watchdog()
            if time.monotonic() < next_sweep:
                if self.control.commands_applied != trimmed_at_command:
                    trimmed_at_command = self.control.commands_applied
                    release_free_memory()
                continue
            cost = _sweep_cpu_s()
            self.control.publish_ends(self.enforcer.sweep())
            cost = _sweep_cpu_s() - cost
            # Listing the counted sets costs about 40 us of CPU per client (mostly in `nft`):
            # at 10,000 clients a sweep every 2 s would take a quarter of a core. Sweeps are
            # spaced so that they use at most `sweep_cpu_share` of one.
            next_sweep = time.monotonic() + max(gw.enforce_interval_s,
                                                cost / gw.sweep_cpu_share)
            if self.clock() >= next_accounting:
                self.control.publish_accounting(self.enforcer.clients())
                next_accounting = self.clock() + gw.accounting_interval_s
            trimmed_at_command = self.control.commands_applied
            release_free_memory()

    def stop(self) -> None:
        """Stop serving; the nft table and its clients stay (see the module docstring)."""
        self._stop.set()
        self.http.stop()
        self.link.stop()
        self.book.close()
        self.nft.close()


__all__ = ["GatewayAgent", "read_key", "walled_garden"]
