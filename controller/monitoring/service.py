"""The monitoring service: poller, trap receiver and metrics roll-up on one asyncio loop.

It runs in a thread of its own with its own store connection, so device I/O never shares a
thread with web requests. After each poll cycle it publishes the snapshot in the store (what
every admin node reads, `controller.monitoring.published`), writes the metrics rows, evaluates
alerts and records state changes; traps become events. The targets are reloaded only when the
inventory changes (a cheap fingerprint), not decrypted again every cycle.

Several services (processes, on one machine or several) split the APs among themselves
(`controller.monitoring.shards`): each polls, alerts on and records the states of the APs it
owns. Traps are recorded centrally: whichever poller receives one records its event in the
store; a link trap changes the AP's state at once only on the poller that owns the AP (the
others leave it to the owner's next poll, at most one interval later).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

from controller.monitoring import metrics, published
from controller.monitoring.alerts import AlertEvaluator
from controller.monitoring.events import Publisher, record_event
from controller.monitoring.poller import Poller, PollTarget, StateChange, targets_from_store
from controller.monitoring.published import SnapshotPublisher
from controller.monitoring.shards import Membership
from controller.monitoring.snapshot import CycleStats, Snapshot, with_link
from controller.snmp.engine import SnmpClient, TrapReceiver, V3Credentials
from controller.snmp.notify import V3Notifications, V3Sender
from controller.snmp.traps import TrapHandler
from core import inventory, leases
from core.config import Config, host_port
from core.secrets import SecretBox
from core.store import Store
from netconfig import adoption
from reporting import availability

log = logging.getLogger(__name__)

DOWNSAMPLE_EVERY_S = 300.0


class _Targets:
    """Poll targets from the store, rebuilt only when the inventory's fingerprint changes."""

    def __init__(self, store: Store, secret_box: SecretBox):
        self.store = store
        self.secret_box = secret_box
        self._fingerprint: tuple | None = None
        self._targets: list[PollTarget] = []
        self._by_ip: dict[str, int] = {}
        self._target_by_ip: dict[str, PollTarget] = {}

    def __call__(self) -> list[PollTarget]:
        fingerprint = inventory.fingerprint(self.store)
        if fingerprint != self._fingerprint:
            self._targets = targets_from_store(self.store, self.secret_box)
            self._by_ip = inventory.ap_ids_by_address(self.store)
            self._target_by_ip = {t.address: t for t in self._targets}
            self._fingerprint = fingerprint
        return self._targets

    def ap_by_ip(self, address: str) -> int | None:
        self()  # an AP added since the last cycle is known to the trap receiver at once
        return self._by_ip.get(address)

    def v3_sender(self, address: str, client: SnmpClient) -> V3Sender | None:
        """Who may send v3 notifications from ``address``: the AP's user, and its engine ID
        as configured or as the poller discovered it."""
        self()
        target = self._target_by_ip.get(address)
        if target is None or not isinstance(target.credentials, V3Credentials):
            return None
        credentials = target.credentials
        try:
            user = client.usm_user(credentials)
        except ValueError:
            return None
        return V3Sender(user, credentials.engine_id_octets
                        or client.engine_id(target.address, target.port))


class MonitoringService:
    def __init__(self, config: Config, store_path: str | Path, secret_box: SecretBox,
                 snapshot: Snapshot, publish: Publisher | None = None, *,
                 holder: str | None = None, traps: bool = True):
        self.config = config
        #: This poller in its group's membership and on its published rows.
        self.holder = holder or leases.holder_id("poller")
        #: False: no trap receiver here (another poller on this machine has the port).
        self.traps = traps
        #: The poller's membership, once running (tests read its live members).
        self.membership: Membership | None = None
        self.store_path = store_path
        self.secret_box = secret_box
        self.snapshot = snapshot
        self.publish = publish
        self.trap_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._main, name="monitoring", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("monitoring did not start in time")
        if self._error is not None:
            raise self._error

    @property
    def alive(self) -> bool:
        """True while the poller's thread runs (the service watchdog asks)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() or logged; the thread must end cleanly
            self._error = exc
            self._ready.set()
            log.exception("monitoring stopped on an error")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        store = Store(self.store_path)
        targets = _Targets(store, self.secret_box)
        evaluator = AlertEvaluator(store, self.config.alerts, self.publish)
        publisher = SnapshotPublisher(self.holder)
        membership = self.membership = Membership(
            store, self.config.monitoring.group, self.holder,
            self.config.monitoring.ttl_s(self.config.snmp))

        def on_cycle(snapshot: Snapshot, stats: CycleStats, changes: list[StateChange]) -> None:
            mine = snapshot.all()  # the APs this poller owns
            publisher.cycle(store, mine, stats, snapshot)
            metrics.write_cycle(store, mine, stats.started_at)
            evaluator.on_cycle(snapshot, stats, changes)
            # The availability KPIs keep each AP's up/down/parent-down transitions: this
            # poller records its own APs', judging a site from every AP's published state.
            states = published.published_states(store)
            states.update({s.ap_id: s.state.value for s in mine})
            availability.record_states(store, stats.started_at, states,
                                       owned={s.ap_id for s in mine})

        def on_event(ap_id: int, kind: str, detail: dict) -> None:
            record_event(store, ap_id, kind, "trap", detail, publish=self.publish)
            if kind in ("linkDown", "linkUp"):
                self._link_trap(evaluator, publisher, store, ap_id, kind, detail)

        def on_unknown(source_ip: str, trap_name: str, varbinds: dict) -> None:
            # A factory-fresh AP announces itself with coldStart: it becomes pending adoption.
            if trap_name == "coldStart":
                adoption.announce(store, self.config.provisioning, mgmt_ip=source_ip,
                                  source="trap", detail={"trap": trap_name})

        share: list[PollTarget] = []

        def shared_targets() -> list[PollTarget]:
            nonlocal share
            try:
                share = membership.share(targets())
            except Exception:  # the store away: poll the last share again until it is back
                log.exception("could not read the inventory or the pollers' membership; "
                              "polling the last share (%d APs) again", len(share))
            return share

        poller = Poller(shared_targets, self.config.snmp, self.snapshot,
                        on_cycle, outage_start=lambda ap_id: metrics.outage_start(store, ap_id),
                        known=lambda ap_ids: published.published_statuses(store, ap_ids))
        receiver = None
        if self.traps:
            host, port = host_port(self.config.snmp.trap_listen, "snmp.trap_listen")
            handler = TrapHandler(targets.ap_by_ip, self.snapshot, on_event,
                                  on_unknown=on_unknown)
            v3 = V3Notifications(lambda address: targets.v3_sender(address, poller.client),
                                 engine_id=self.config.snmp.engine_id_octets)
            receiver = TrapReceiver(handler, host=host, port=port,
                                    community=self.config.snmp.trap_community,
                                    on_drop=self.snapshot.count_dropped_trap, v3=v3)
        rollup = leases.Singleton(lambda: Store(self.store_path, migrate=False),
                                  "metrics-rollup", ttl_s=2 * DOWNSAMPLE_EVERY_S,
                                  holder=f"{self.holder}:rollup")
        try:
            if receiver is not None:
                await receiver.start()
                self.trap_port = receiver.port
            membership.renew()
            self._ready.set()
            tasks = [asyncio.create_task(poller.run(), name="poller"),
                     asyncio.create_task(self._keep_membership(membership, targets, poller,
                                                               publisher, evaluator, store),
                                         name="membership"),
                     asyncio.create_task(self._roll_up(store, rollup), name="roll-up")]
            await self._stop.wait()
            poller.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if receiver is not None:
                receiver.close()
            poller.close()
            mine = {s.ap_id for s in self.snapshot.all()}
            try:  # the others take this poller's APs over at their next cycle
                membership.leave()
                publisher.leave(store)
                rollup.release()
            except Exception:
                log.exception("could not leave the pollers' group")
            try:  # no availability is reckoned while nobody polls
                availability.record_stopped(store, time.time(), ap_ids=mine)
            except Exception:
                log.exception("could not record the end of monitoring for the availability KPIs")
            store.close()

    async def _keep_membership(self, membership: Membership, targets: _Targets, poller: Poller,
                               publisher: SnapshotPublisher, evaluator: AlertEvaluator,
                               store: Store) -> None:
        """Renew the membership between cycle starts too (a cycle longer than a third of the
        TTL must not let the lease lapse while this poller lives), and when a member's lease
        has run out, poll the APs this poller takes over from it now rather than at the next
        cycle's start: a dead poller's APs wait for its lease, not for a long cycle too."""
        while True:
            await asyncio.sleep(membership.ttl_s / 6)
            if not membership.renew_due():
                continue
            try:
                orphans = membership.orphans(targets())
            except Exception:  # the store may be away a moment; the next try may do
                log.exception("could not renew the poller's membership")
                continue
            if orphans:
                statuses, changes = await poller.poll_more(orphans)
                try:
                    publisher.some(store, statuses, self.snapshot)
                    evaluator.evaluate(statuses, changes)
                except Exception:  # published and alerted at the next cycle anyway
                    log.exception("could not publish the APs taken over")

    def _link_trap(self, evaluator: AlertEvaluator, publisher: SnapshotPublisher, store: Store,
                   ap_id: int, kind: str, detail: dict) -> None:
        """A radio or uplink going down is an alert now, not at the next poll (on the poller
        that owns the AP: only its snapshot holds the AP)."""
        if_index, oper = detail.get("ifIndex"), detail.get("ifOperStatus")
        status = self.snapshot.get(ap_id)
        if status is None or not isinstance(if_index, int):
            return
        up = oper == 1 if isinstance(oper, int) else kind == "linkUp"
        changed = with_link(status, if_index, up)
        if changed == status:
            return
        self.snapshot.put(changed)
        publisher.one(store, changed, self.snapshot)
        moved = [(ap_id, status.state, changed.state)] if changed.state is not status.state else []
        if moved:
            log.warning("AP %s: %s (trap)", changed.name,
                        f"{', '.join(changed.links_down)} down" if changed.links_down
                        else "every link up again")
        evaluator.evaluate([changed], moved, from_poll=False)

    async def _roll_up(self, store: Store, rollup: leases.Singleton) -> None:
        """Hourly roll-up and retention, every few minutes (cheap when nothing is due), by one
        poller of the group at a time."""
        while True:
            try:
                if rollup.held():
                    metrics.downsample(store, time.time(), self.config.retention)
            except Exception:  # retention must never take monitoring down; retried next time
                log.exception("metrics roll-up failed")
            await asyncio.sleep(DOWNSAMPLE_EVERY_S)
