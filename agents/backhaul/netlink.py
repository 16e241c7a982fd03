"""The kernel adapter: the only module of the backhaul agent that changes routes, rules,
sysctls or conntrack, and the only one that imports pyroute2.

Routes the agent keeps, for each managed prefix (``routes`` in the config), in the main table:

- the *active* route at ``route_metric``, through the link that carries traffic now;
- one *standby* route per link at ``route_metric + 1 + rank`` (rank in priority order).

A switch is a single RTM_NEWROUTE with NLM_F_REPLACE on the active route: atomic, a few ms,
no window without a route. The standby ladder plus ``ignore_routes_with_linkdown`` means that on
carrier loss the kernel itself skips the dead link's routes before the agent even hears of it.

Each link also gets its own table (``default via <gateway> dev <interface>``) and an
``ip rule fwmark <mark> lookup <table>``, so the link's probes leave over that link only.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from pyroute2 import Conntrack, IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

from agents.backhaul.config import BackhaulLinkConfig

log = logging.getLogger(__name__)

RTMGRP_LINK = 0x1
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
ENOENT = 2
EEXIST = 17


class RouteChangeError(RuntimeError):
    """The kernel refused a route or rule change; the message names what and why."""


class ConntrackFlushError(RuntimeError):
    """Conntrack entries could not be listed or deleted."""


def _dst(prefix: str) -> str:
    return "0.0.0.0/0" if prefix == "default" else prefix


class BackhaulRoutes:
    """Programs the agent's tables, rules and managed routes through one netlink socket."""

    def __init__(self, links: Iterable[BackhaulLinkConfig], prefixes: Iterable[str],
                 route_metric: int, rule_priority: int) -> None:
        self.links = sorted(links, key=lambda link: link.priority)
        self.prefixes = list(prefixes)
        self.route_metric = route_metric
        self.rule_priority = rule_priority
        self.ipr = IPRoute()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.ipr.close()

    def ifindex(self, name: str) -> int | None:
        found = self.ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def carrier(self) -> dict[str, bool]:
        """Interface name -> whether it is admin up with carrier (missing counts as no carrier)."""
        states = {link.interface: False for link in self.links}
        for msg in self.ipr.get_links():
            name = msg.get_attr("IFLA_IFNAME")
            if name in states:
                states[name] = has_carrier(msg["flags"])
        return states

    def prepare(self) -> None:
        """Idempotent set-up: sysctls, per-link tables and rules, the standby ladder."""
        with self._lock:
            for rank, link in enumerate(self.links):
                set_ignore_linkdown(link.interface)
                self._ensure_link_table(link)
                self._ensure_rule(link, self.rule_priority + rank)

    def _ensure_link_table(self, link: BackhaulLinkConfig) -> None:
        index = self.ifindex(link.interface)
        if index is None:
            log.warning("interface %s of link %s not found", link.interface, link.name)
            return
        try:
            self.ipr.route("replace", dst="0.0.0.0/0", gateway=link.gateway, oif=index,
                           table=link.table)
        except NetlinkError as exc:  # gateway not on-link yet (no address, carrier down)
            log.warning("table %s for link %s not set: %s", link.table, link.name, exc)

    def _ensure_rule(self, link: BackhaulLinkConfig, priority: int) -> None:
        try:
            self.ipr.rule("add", fwmark=link.fwmark, fwmask=0xFFFFFFFF, table=link.table,
                          priority=priority, family=socket.AF_INET)
        except NetlinkError as exc:
            if exc.code != EEXIST:
                raise RouteChangeError(f"rule fwmark {link.fwmark:#x} lookup {link.table}: "
                                       f"{exc}") from exc

    def install(self, active: BackhaulLinkConfig) -> float:
        """Put the standby ladder in place and point the active route at ``active``."""
        self.install_standby()
        return self.switch(active)

    def install_standby(self) -> None:
        """One route per link below the active one, for the kernel to fall back on by itself."""
        with self._lock:
            for rank, link in enumerate(self.links):
                self._replace(link, self.route_metric + 1 + rank, quiet=True)

    def switch(self, link: BackhaulLinkConfig) -> float:
        """Atomically point every managed prefix at ``link``; returns the time it took in ms."""
        started = time.perf_counter()
        with self._lock:
            self._replace(link, self.route_metric, quiet=False)
        return (time.perf_counter() - started) * 1000.0

    def _replace(self, link: BackhaulLinkConfig, metric: int, quiet: bool) -> None:
        index = self.ifindex(link.interface)
        if index is None:
            raise RouteChangeError(f"interface {link.interface} of link {link.name} not found")
        for prefix in self.prefixes:
            try:
                self.ipr.route("replace", dst=_dst(prefix), gateway=link.gateway, oif=index,
                               priority=metric, table=254)
            except NetlinkError as exc:
                if not quiet:
                    raise RouteChangeError(f"route {prefix} via {link.name}: {exc}") from exc
                log.warning("standby route %s via %s not set: %s", prefix, link.name, exc)

    def routes_via(self) -> dict[str, str]:
        """Managed prefix -> interface of its active route (for state and tests)."""
        names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in self.ipr.get_links()}
        found = {}
        for msg in self.ipr.get_routes(family=socket.AF_INET, table=254):
            if msg.get_attr("RTA_PRIORITY") != self.route_metric:
                continue
            dst = msg.get_attr("RTA_DST")
            prefix = "default" if dst is None else f"{dst}/{msg['dst_len']}"
            found[prefix] = names.get(msg.get_attr("RTA_OIF"), "")
        return found


def has_carrier(flags: int) -> bool:
    return bool(flags & IFF_UP) and bool(flags & IFF_LOWER_UP)


def set_ignore_linkdown(interface: str) -> None:
    """Have the kernel skip routes through ``interface`` while it has no carrier."""
    for scope in ("all", interface):
        path = Path(f"/proc/sys/net/ipv4/conf/{scope}/ignore_routes_with_linkdown")
        try:
            path.write_text("1")
        except OSError as exc:
            log.warning("cannot set %s: %s", path, exc)


class CarrierWatch:
    """Reports carrier changes of some interfaces from its own thread.

    Changes are queued and signalled on a pipe the probe loop polls, so the routes are only ever
    changed from the probe loop's thread (pyroute2's sockets are not shared between threads).
    The netlink socket is opened inside the thread for the same reason.
    """

    def __init__(self, interfaces: Iterable[str]) -> None:
        self.interfaces = set(interfaces)
        self.known: dict[str, bool] = {}
        self.changes: queue.SimpleQueue[tuple[str, bool]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backhaul-carrier", daemon=True)

    def fileno(self) -> int:
        """Readable when changes are queued; poll it with the probe sockets."""
        return self._wake_r

    def start(self, initial: dict[str, bool], timeout: float = 5.0) -> None:
        self.known = dict(initial)
        self._thread.start()
        self._ready.wait(timeout)

    def drain(self) -> list[tuple[str, bool]]:
        """The changes seen since the last call, oldest first."""
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass
        changes = []
        while not self.changes.empty():
            changes.append(self.changes.get_nowait())
        return changes

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        with IPRoute() as ipr:
            ipr.bind(groups=RTMGRP_LINK)
            poller = select.poll()
            poller.register(ipr.fileno(), select.POLLIN)
            self._ready.set()
            while not self._stop.is_set():
                if not poller.poll(200):
                    continue
                try:
                    messages = ipr.get()
                except (OSError, NetlinkError) as exc:
                    log.warning("netlink link events: %s", exc)
                    continue
                for msg in messages:
                    self._note(msg)

    def _note(self, msg) -> None:
        name = msg.get_attr("IFLA_IFNAME")
        if name not in self.interfaces:
            return
        carrier = msg.get("event") == "RTM_NEWLINK" and has_carrier(msg["flags"])
        if self.known.get(name) != carrier:
            self.known[name] = carrier
            self.changes.put((name, carrier))
            os.write(self._wake_w, b"!")


def flush_conntrack(interface: str) -> int:
    """Delete conntrack entries NATed to ``interface``'s addresses; returns how many went.

    After failback, flows source-NATed to the backup's address would otherwise keep that
    translation, and so leave over the primary with the backup's source address, until they
    time out (the problem mwan3 PR #3050 describes). Masqueraded flows need no help: the kernel
    drops a masquerade entry whose output interface changes.
    """
    deleted = 0
    try:
        addresses = link_addresses(interface)
        with closing(Conntrack()) as conntrack:
            for address in addresses:
                # Materialise first: deleting while the dump is still read confuses it.
                entries = list(conntrack.dump_entries(tuple_reply=NFCTAttrTuple(daddr=address)))
                # Only translated flows: the router's own flows from that address are not stale.
                for entry in (e for e in entries if e.tuple_orig.saddr != address):
                    try:
                        conntrack.delete(entry)
                        deleted += 1
                    except NetlinkError as exc:
                        if exc.code != ENOENT:  # gone already (timed out meanwhile) is fine
                            raise
    except (NetlinkError, OSError) as exc:
        raise ConntrackFlushError(f"after {deleted} deleted: {exc}") from exc
    return deleted


def link_addresses(interface: str) -> list[str]:
    """IPv4 addresses on ``interface`` (the sources the backup NATs to)."""
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=interface)
        if not index:
            return []
        return [msg.get_attr("IFA_ADDRESS") for msg in ipr.get_addr(family=socket.AF_INET,
                                                                      index=index[0])]


__all__ = ["BackhaulRoutes", "CarrierWatch", "ConntrackFlushError", "RouteChangeError",
           "flush_conntrack", "has_carrier", "link_addresses", "set_ignore_linkdown"]
