"""The failover decision, kept free of sockets and netlink so it can be tested with a fake clock.

Why two tests for "down": consecutive misses catch a dead path fast (K misses at the probe
interval), while windowed loss catches a link that still answers now and then but is unusable.
Each alone flaps or is slow: at 20% random loss the chance of K misses in a row is 0.2**K per
probe, so at 20 ms probes K=3 gives hundreds of false failovers an hour and K=10 about one a
month. "Up" needs more: a run of replies AND a window loss under a lower threshold, and the
path only fails back to a better link after it has stayed up for the hold-down.
"""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass, field

from agents.backhaul.config import BackhaulConfig
from core.contracts.backhaul import RTT_BUCKETS_MS

UP = "up"
DOWN = "down"


@dataclass(frozen=True)
class LinkTransition:
    """A link went up or down; ``reason`` is 'misses', 'loss', 'carrier' or 'recovered'."""

    link: str
    state: str
    reason: str
    at: float
    #: Down: when the trouble began (the first missed probe of the run, the oldest miss in the
    #: loss window, or the carrier loss), so a switch can say how long detection took.
    since: float | None = None


@dataclass(frozen=True)
class PathSwitch:
    """Traffic must move from one link to another; ``kind`` is 'failover' or 'failback'."""

    from_link: str
    to_link: str
    kind: str
    reason: str
    at: float


@dataclass
class LinkHealth:
    """What the probes of one link say, and whether that makes the link usable."""

    name: str
    priority: int
    policy: BackhaulConfig
    state: str = UP
    carrier: bool = True
    consecutive_misses: int = 0
    consecutive_replies: int = 0
    last_rtt_ms: float | None = None
    #: Monotonic time of the last transition to up (start-up counts as one).
    up_since: float = 0.0
    probes_sent: int = 0
    replies: int = 0
    window: collections.deque = field(default_factory=collections.deque)
    #: When each probe in ``window`` was due (monotonic), in the same order.
    window_at: collections.deque = field(default_factory=collections.deque)
    #: Replies per RTT bucket since the agent started (bounds: `RTT_BUCKETS_MS`, then slower).
    rtt_buckets: list[int] = field(default_factory=lambda: [0] * (len(RTT_BUCKETS_MS) + 1))
    #: The first miss of the current run of misses (None while replies come).
    misses_since: float | None = None
    #: When the trouble that took the link down began (None while it is up).
    down_since: float | None = None

    def __post_init__(self) -> None:
        self.window = collections.deque(maxlen=self.policy.window)
        self.window_at = collections.deque(maxlen=self.policy.window)

    @property
    def loss_pct(self) -> float:
        """Loss over the window so far (0 with no samples yet)."""
        if not self.window:
            return 0.0
        return 100.0 * self.window.count(False) / len(self.window)

    def record_reply(self, rtt_ms: float, now: float) -> LinkTransition | None:
        self.replies += 1
        self.window.append(True)
        self.window_at.append(now)
        self.rtt_buckets[bisect.bisect_left(RTT_BUCKETS_MS, rtt_ms)] += 1
        self.last_rtt_ms = rtt_ms
        self.consecutive_misses = 0
        self.misses_since = None
        self.consecutive_replies += 1
        if (self.state == DOWN and self.carrier
                and self.consecutive_replies >= self.policy.recover_successes
                and self.loss_pct <= self.policy.recover_loss_pct):
            return self._go(UP, "recovered", now)
        return None

    def record_miss(self, now: float) -> LinkTransition | None:
        self.window.append(False)
        self.window_at.append(now)
        self.consecutive_replies = 0
        self.consecutive_misses += 1
        if self.misses_since is None:
            self.misses_since = now
        if self.state != UP:
            return None
        if self.consecutive_misses >= self.policy.fail_misses:
            return self._go(DOWN, "misses", now, self.misses_since)
        # Only a full window says anything about loss: one early miss is not "100% loss".
        if len(self.window) == self.window.maxlen and self.loss_pct >= self.policy.fail_loss_pct:
            first_miss = next(at for ok, at in zip(self.window, self.window_at) if not ok)
            return self._go(DOWN, "loss", now, first_miss)
        return None

    def record_carrier(self, carrier: bool, now: float) -> LinkTransition | None:
        """Carrier loss takes the link down at once; carrier back only lets probes decide again."""
        if carrier == self.carrier:
            return None
        self.carrier = carrier
        self.consecutive_replies = 0
        if not carrier and self.state == UP:
            return self._go(DOWN, "carrier", now, now)
        return None

    def _go(self, state: str, reason: str, now: float,
            since: float | None = None) -> LinkTransition:
        self.state = state
        if state == UP:
            self.up_since = now
            self.down_since = None
        else:
            self.down_since = since
        return LinkTransition(self.name, state, reason, now, since)


class PathSelector:
    """Chooses the link that carries traffic: fail over at once, fail back after the hold-down."""

    def __init__(self, policy: BackhaulConfig, now: float) -> None:
        self.policy = policy
        self.links = [LinkHealth(link.name, link.priority, policy, up_since=now)
                      for link in policy.links_by_priority()]
        self.by_name = {health.name: health for health in self.links}
        self.active = self.links[0].name

    def decide(self, now: float) -> PathSwitch | None:
        """The switch to make now, if any; the caller applies it and calls ``commit``."""
        active = self.by_name[self.active]
        usable = [health for health in self.links if health.state == UP]
        if active.state != UP:
            if not usable:
                return None  # nothing better to go to: keep the route, keep probing
            target = usable[0]
            kind = "failover" if target.priority > active.priority else "failback"
            return PathSwitch(active.name, target.name, kind, f"{active.name} down", now)
        for health in usable:
            if health.priority >= active.priority:
                break
            if now - health.up_since >= self.policy.holddown_s:
                return PathSwitch(active.name, health.name, "failback",
                                  f"{health.name} up for {self.policy.holddown_s:g}s", now)
        return None

    def commit(self, switch: PathSwitch) -> None:
        self.active = switch.to_link


__all__ = ["DOWN", "UP", "LinkHealth", "LinkTransition", "PathSelector", "PathSwitch"]
