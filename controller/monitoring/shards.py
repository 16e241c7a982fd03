"""Sharded polling: poller processes split the APs among the live members of a group.

Each poller holds a membership lease (`core.leases.join`) that it renews at the start of every
cycle and every third of the lease's TTL between (a cycle longer than the TTL does not lose it).
At the start of a cycle it reads the live members and polls the APs it owns among them
(`core.leases.owner_of`, rendezvous hashing on the AP id): every member computes the same
split from the same list, so in steady state each AP is polled by exactly one poller per cycle,
and when a member joins or leaves only the APs it gains or owned move.

A poller that dies stops renewing; once its lease expires (``ttl_s`` after its last renewal)
the others' next cycle includes its APs: its APs go unpolled for at most ``ttl_s`` plus one
poll interval. A poller that stops cleanly leaves the group at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from controller.snmp.engine import PollTarget
from core import leases
from core.store import Store

log = logging.getLogger(__name__)

__all__ = ["Membership"]


class Membership:
    """This poller's place in ``group``: `share(targets)` renews it and keeps its own APs."""

    def __init__(self, store: Store, group: str, holder: str, ttl_s: float,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.group = group
        self.holder = holder
        self.ttl_s = ttl_s
        self.clock = clock
        #: The live members at the last `share`, this poller among them.
        self.live: list[str] = []
        self._renewed_at = 0.0

    def renew(self) -> None:
        now = self.clock()
        leases.join(self.store, self.group, self.holder, self.ttl_s, now)
        self._renewed_at = now

    def renew_due(self) -> bool:
        """Whether a third of the TTL has passed since the last renewal."""
        return self.clock() - self._renewed_at >= self.ttl_s / 3

    def share(self, targets: Iterable[PollTarget]) -> list[PollTarget]:
        """Renew, read the live members, and keep the targets this poller owns among them."""
        self.renew()
        live = leases.members(self.store, self.group, self.clock())
        if self.holder not in live:  # the store's clock and ours disagree: count ourselves in
            live = sorted([*live, self.holder])
        if live != self.live:
            log.info("pollers of %s: %d live (%s)", self.group, len(live), ", ".join(live))
        self.live = live
        if len(live) == 1:
            return list(targets)
        return [t for t in targets if leases.owner_of(str(t.ap_id), live) == self.holder]

    def orphans(self, targets: Iterable[PollTarget]) -> list[PollTarget]:
        """Between cycles: the targets this poller owns now that a member it counted at its
        cycle's start is gone (its lease ran out), which its cycle in progress does not poll.
        Renews first; the live list becomes the new one."""
        self.renew()
        before = self.live
        live = leases.members(self.store, self.group, self.clock())
        if self.holder not in live:
            live = sorted([*live, self.holder])
        gone = set(before) - set(live)
        if not before or not gone:
            return []
        log.warning("pollers of %s: %s gone, taking over its APs now", self.group,
                    ", ".join(sorted(gone)))
        self.live = live
        return [t for t in targets if leases.owner_of(str(t.ap_id), before) in gone
                and leases.owner_of(str(t.ap_id), live) == self.holder]

    def owns(self, ap_id: int) -> bool:
        """Whether this poller owned the AP at its last cycle's start."""
        return not self.live or leases.owner_of(str(ap_id), self.live) == self.holder

    def leave(self) -> None:
        leases.leave(self.store, self.group, self.holder)
        self.live = []
