"""The running branch agent: probe every link, decide, switch, report.

One thread runs the probe loop on a fixed schedule (probes leave every ``interval_ms`` whatever
the replies do, so a late reply never delays detection) and is the only one that changes routes;
a second thread listens to netlink link events and wakes the loop, so a carrier loss is acted on
at once instead of at the next missed probe; a third drains the telemetry spool. The lock keeps
``state()`` (read for reporting) consistent with the decision.
"""

from __future__ import annotations

import json
import logging
import os
import select
import threading
import time
from pathlib import Path
from typing import Any

from agents.backhaul.config import AgentConfig
from agents.backhaul.health import DOWN, LinkTransition, PathSelector, PathSwitch
from agents.backhaul.netlink import (
    BackhaulRoutes,
    CarrierWatch,
    ConntrackFlushError,
    RouteChangeError,
    flush_conntrack,
)
from agents.backhaul.probe import LinkProber
from agents.backhaul.telemetry import Spool, TelemetrySender, new_event, utc_now
from core.contracts.backhaul import EVENT_SCHEMA, STATE_SCHEMA, event_topic, state_topic
from core.systemd import ServiceNotifier

log = logging.getLogger(__name__)


class BackhaulAgent:
    """Owns the probers, the decision and the kernel routes of one branch router."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.policy = config.backhaul
        self.links = {link.name: link for link in self.policy.links}
        self.by_interface = {link.interface: link for link in self.policy.links}
        self.routes = BackhaulRoutes(self.policy.links, self.policy.routes,
                                     self.policy.route_metric, self.policy.rule_priority)
        self.spool = Spool(self.policy.spool)
        self.telemetry = TelemetrySender(self.spool, config.mqtt)
        self.selector: PathSelector | None = None
        self.failovers = 0
        self.active_since = utc_now()
        self._lock = threading.Lock()

    # -- start-up --------------------------------------------------------------------------

    def _start_paths(self, now: float) -> None:
        """Program tables and routes, and start on the best link that has carrier."""
        self.routes.prepare()
        self.selector = selector = PathSelector(self.policy, now)
        for interface, carrier in self.routes.carrier().items():
            selector.by_name[self.by_interface[interface].name].record_carrier(carrier, now)
        with_carrier = [h for h in selector.links if h.carrier]
        selector.active = (with_carrier or selector.links)[0].name
        switch_ms = self.routes.install(self.links[selector.active])
        log.info("starting on %s (route set in %.1f ms)", selector.active, switch_ms)
        self._emit("agent_started", to_link=selector.active)

    @property
    def _paths(self) -> PathSelector:
        """The link decisions; they exist once `run` has programmed the routes."""
        if self.selector is None:
            raise RuntimeError("the backhaul agent has not started")
        return self.selector

    # -- reactions (called with the lock held) ---------------------------------------------

    def _on_transition(self, transition: LinkTransition | None) -> None:
        if transition is None:
            return
        health = self._paths.by_name[transition.link]
        log.warning("link %s %s (%s, loss %.0f%%)", transition.link, transition.state,
                    transition.reason, health.loss_pct)
        self._emit(f"link_{transition.state}", link=transition.link, reason=transition.reason,
                   loss_pct=round(health.loss_pct, 1))
        self._switch_if_needed(transition.at)

    def _switch_if_needed(self, now: float) -> None:
        switch = self._paths.decide(now)
        if switch is None:
            return
        try:
            switch_ms = self.routes.switch(self.links[switch.to_link])
        except RouteChangeError as exc:  # the next tick tries again
            log.error("switch to %s failed: %s", switch.to_link, exc)
            return
        left = self._paths.by_name[switch.from_link]
        self._paths.commit(switch)
        self.failovers += 1
        self.active_since = utc_now()
        log.warning("%s %s -> %s in %.1f ms (%s)", switch.kind, switch.from_link, switch.to_link,
                    switch_ms, switch.reason)
        detection: dict[str, float] = {}
        if left.state == DOWN and left.down_since is not None:
            # From the first missed probe (or the carrier loss) to the routes switched.
            detection["detect_ms"] = round((switch.at - left.down_since) * 1000 + switch_ms, 1)
        self._emit(switch.kind, from_link=switch.from_link, to_link=switch.to_link,
                   reason=switch.reason, switch_ms=round(switch_ms, 2), **detection)
        if switch.kind == "failback" and self.policy.flush_conntrack_on_failback:
            self._flush_backup_flows(switch)
        self._publish_state()

    def _flush_backup_flows(self, switch: PathSwitch) -> None:
        left = self.links[switch.from_link]
        try:
            deleted = flush_conntrack(left.interface)
        except ConntrackFlushError as exc:  # traffic already moved; stale flows time out
            log.error("conntrack flush of %s failed: %s", left.name, exc)
            return
        log.info("flushed %d conntrack entries of %s", deleted, left.name)

    def on_carrier(self, interface: str, carrier: bool) -> None:
        """Carrier lost -> down and switch now; back -> re-program the link, probes decide."""
        link = self.by_interface[interface]
        now = time.monotonic()
        if carrier:  # an admin down/up flushed the link's routes: put them back
            try:
                self.routes.prepare()
                self.routes.install_standby()
            except RouteChangeError as exc:
                log.error("re-programming %s after carrier returned: %s", link.name, exc)
        with self._lock:
            self._on_transition(self._paths.by_name[link.name].record_carrier(carrier, now))
            self._publish_state()

    # -- reporting -------------------------------------------------------------------------

    def _emit(self, kind: str, **fields: Any) -> None:
        event = new_event(self.policy.branch, kind, **fields)
        self.telemetry.send(event_topic(self.policy.branch), EVENT_SCHEMA, event, retain=False)

    def state(self) -> dict[str, Any]:
        links = []
        for health in self._paths.links:
            link = self.links[health.name]
            links.append({
                "name": health.name, "interface": link.interface, "priority": link.priority,
                "state": health.state, "carrier": health.carrier,
                "loss_pct": round(health.loss_pct, 1),
                "rtt_ms": None if health.last_rtt_ms is None else round(health.last_rtt_ms, 3),
                "consecutive_misses": health.consecutive_misses,
                "probes_sent": health.probes_sent, "replies": health.replies,
                "rtt_buckets": list(health.rtt_buckets)})
        return {"branch": self.policy.branch, "at": utc_now(), "active_link": self._paths.active,
                "active_since": self.active_since, "failovers": self.failovers,
                "spooled": self.spool.pending(), "links": links}

    def _publish_state(self) -> None:
        state = self.state()
        self.telemetry.send(state_topic(self.policy.branch), STATE_SCHEMA, state, retain=True)
        write_state_file(Path(self.policy.state_file), state)

    # -- the probe loop --------------------------------------------------------------------

    def run(self, stop: threading.Event, service: ServiceNotifier | None = None) -> None:
        """Run until ``stop`` is set; routes are left as they are (traffic keeps flowing).

        ``service`` (under systemd) hears READY=1 once the routes are programmed and the
        probes go out, and WATCHDOG=1 from the probe loop itself: a loop that stops turning
        stops the pings.
        """
        interval = self.policy.interval_ms / 1000.0
        now = time.monotonic()
        with self._lock:
            self._start_paths(now)
            self._publish_state()
        self.telemetry.start()
        probers = [LinkProber(link, self.policy.probe_port, self.policy.probe_timeout_ms / 1000)
                   for link in self.policy.links_by_priority()]
        watch = CarrierWatch(self.by_interface)
        watch.start(self.routes.carrier())
        poller = select.poll()
        poller.register(watch.fileno(), select.POLLIN)
        for prober in probers:
            poller.register(prober.fileno(), select.POLLIN)
        next_tick = now
        next_state = now + self.policy.state_every_s
        if service is not None:
            service.ready(f"branch {self.policy.branch} on {self._paths.active}")
        try:
            while not stop.is_set():
                if service is not None:
                    service.watchdog()
                now = time.monotonic()
                if now >= next_tick:
                    self._tick(probers, now)
                    # Keep the schedule; after a stall skip missed ticks instead of bursting.
                    next_tick += interval * max(1, int((now - next_tick) / interval) + 1)
                if now >= next_state:
                    with self._lock:
                        self._publish_state()
                    next_state = now + self.policy.state_every_s
                ready = {fd for fd, _ in poller.poll(
                    max(0.0, (next_tick - time.monotonic()) * 1000.0))}
                if watch.fileno() in ready:
                    for interface, carrier in watch.drain():
                        self.on_carrier(interface, carrier)
                if ready:
                    self._collect(probers, time.monotonic())
        finally:
            watch.close()
            for prober in probers:
                prober.close()
            with self._lock:
                self._publish_state()
            self.telemetry.close()
            self.routes.close()
            self.spool.close()

    def _collect(self, probers: list[LinkProber], now: float) -> None:
        with self._lock:
            for prober in probers:
                health = self._paths.by_name[prober.link.name]
                for rtt in prober.receive(now):
                    self._on_transition(health.record_reply(rtt, now))

    def _tick(self, probers: list[LinkProber], now: float) -> None:
        self._collect(probers, now)
        with self._lock:
            for prober in probers:
                health = self._paths.by_name[prober.link.name]
                for _ in range(prober.expire(now)):
                    self._on_transition(health.record_miss(now))
                prober.send(now)
                health.probes_sent += 1
            self._switch_if_needed(now)  # hold-down expiry needs no probe result to act on


def write_state_file(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (readers never see half a file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc)


__all__ = ["BackhaulAgent", "write_state_file"]
