"""The outbox forwarder: carries 940 reports (and updates, escalations) to the back office.

Due outbox rows are published with MQTT 5, QoS 1, on a persistent session (``clean_start``
False, a session expiry), each carrying its ``message_id`` (the report's tracking number) as the
idempotency key. A broker PUBACK proves nothing about delivery (a broker drops queued messages
and acks topics nobody reads), so a row is done only when the back office names it on the ack
topic; until then it is published again with exponential backoff. Nothing is published while
the link is down: paho queues such messages itself and would send them twice.

Re-sends wait while acks keep arriving (the back office is still working through the stream,
in order; a re-send would only queue a duplicate in front of it) and use a first delay of at
least three times the smoothed ack latency. A restarted forwarder (after a crash or SIGKILL)
cannot know what its predecessor had in flight, so it makes every unacked row due at once; the
back office dedups by id.

While it runs, the forwarder writes a heartbeat in the store about once a second with its link's
state (`captive_portal.reports.health`), which every process's ``/healthz`` reads.

On several nodes (docs/scale-out.md) one forwarder works at a time: it holds the lease
``singleton:report-forwarder`` (`core.leases.Singleton`, ``[reports] lease_ttl_s``, 12 s), and
the others stand by, applying the acks their own session receives (idempotent) and asking for
the lease about once a second. A lease rather than per-row claims, because what the forwarder
decides is about the whole outbox, not one row: the window of unacked messages, re-sends held
back while acks still flow, the back-off from the smoothed ack latency; two publishers would
each keep half of that picture, and one forwarder already carries far more than the 940 service
files (docs/benchmarks.md). Taking the lease over is what a restart was before: every unacked
row is made due at once (the back office dedups by id), so a dead node's reports go out from
another node within the TTL plus a second. Only the holder writes the heartbeat, so ``/healthz``
says the forwarder is down for the seconds no node forwards.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from captive_portal.reports import health, outbox
from captive_portal.reports.config import ReportsConfig
from core.contracts import reports as contract
from core.leases import Singleton, holder_id
from core.mqtt import InboundMessage, MqttLink
from core.store import Store

log = logging.getLogger(__name__)


class ReportForwarder:
    """One thread publishing due outbox rows and applying the back office's acks in batches."""

    #: The lease one forwarder of all the nodes holds (`core.leases`).
    LEASE = "report-forwarder"

    def __init__(self, store_path: str | Path, link: MqttLink, config: ReportsConfig, *,
                 clock: Callable[[], float] = time.time, poll_s: float = 0.5):
        self.store_path = str(store_path)
        # The holder names the node's forwarder client (`ReportsConfig.client_id`, one per
        # node): two forwarders in one process are two holders.
        self.lease = Singleton(lambda: Store(self.store_path, migrate=False), self.LEASE,
                               ttl_s=config.lease_ttl_s,
                               holder=holder_id(f"{self.LEASE}:{config.client_id}"))
        #: Whether this forwarder held the lease at its last look (it works only then).
        self.active = False
        #: How many times this forwarder took the lease (its first start included).
        self.takeovers = 0
        #: How often a standby asks for the lease: a second, or a quarter of a short TTL.
        self.standby_look_s = min(1.0, config.lease_ttl_s / 4)
        self._next_try = 0.0
        self.link = link
        self.config = config
        self.clock = clock
        self.poll_s = poll_s
        self.published = 0
        self.acked = 0
        #: Smoothed seconds from publication to the back office's ack (as TCP smooths RTT).
        self.ack_latency_s = 0.0
        #: When an ack last acknowledged something (monotonic), to tell a slow pipe from a
        #: broken one.
        self.last_progress = time.monotonic()
        self._started_at = time.time()
        self._next_beat = 0.0
        self._acks: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="report-forwarder", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.link.subscribe(contract.TOPIC_ACK, self._on_ack)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        """Something was added to the outbox: look now rather than at the next poll."""
        self._wake.set()

    # -- acks (network thread) ------------------------------------------------------------

    def _on_ack(self, message: InboundMessage) -> None:
        payload = message.payload
        ids = payload.get("ids") if isinstance(payload, dict) else None
        if not isinstance(ids, list):
            log.warning("ignored malformed ack on %s", message.topic)
            return
        self._acks.put([i for i in ids if isinstance(i, str)][:10_000])
        self._wake.set()

    # -- work -----------------------------------------------------------------------------

    def _run(self) -> None:
        store = Store(self.store_path, migrate=False)
        was_active = False
        try:
            while not self._stop.is_set():
                try:
                    if self._holds(store):
                        was_active = True
                        busy = self.run_once(store)
                        self._beat(store)
                    else:  # standing by: acks still count, whoever published
                        busy = False
                        self._apply_acks(store)
                except Exception:  # a store hiccup must not end forwarding for good
                    log.exception("forwarder pass failed")
                    busy = False
                if not busy:
                    self._wake.wait(self.poll_s if self.active else self.standby_look_s)
                    self._wake.clear()
        finally:
            if was_active:
                try:
                    with store.transaction() as conn:
                        health.stopped(conn, self.link.client_id, time.time())
                except sqlite3.Error as exc:
                    log.warning("could not record the forwarder's stop: %s", exc)
            store.close()
            # Let a standby node take over now rather than when the lease runs out.
            try:
                self.lease.release()
            except sqlite3.Error as exc:
                log.warning("could not release the forwarder's lease: %s", exc)

    def _holds(self, store: Store) -> bool:
        """Whether this forwarder may publish now; on taking the lease over, every unacked
        row is made due (what the previous holder had in flight is unknown)."""
        if not self.active and time.monotonic() < self._next_try:
            return False  # a standby woken by acks asks for the lease at its own pace
        self._next_try = time.monotonic() + self.standby_look_s
        held = self.lease.held()
        if held and not self.active:
            with store.transaction() as conn:
                again = outbox.resend_all_now(conn, self.clock())
            self.takeovers += 1
            self.last_progress = time.monotonic()
            log.info("forwarder lease taken (%s); %d unacked outbox messages will be "
                     "published again", self.lease.holder, again)
        elif self.active and not held:
            log.warning("forwarder lease lost to another node; standing by")
        self.active = held
        return held

    def _beat(self, store: Store) -> None:
        """The heartbeat (real time, whatever clock the outbox runs on), at most once a second."""
        now = time.time()
        if now < self._next_beat:
            return
        self._next_beat = now + health.BEAT_EVERY_S
        try:
            with store.transaction() as conn:
                health.beat(conn, self.link.health(), self._started_at, now)
        except sqlite3.Error as exc:  # healthz will say so: the beat goes stale
            log.warning("forwarder heartbeat not written: %s", exc)

    def run_once(self, store: Store) -> bool:
        """Apply waiting acks, publish one batch of due rows; True if more may be waiting."""
        acked = self._apply_acks(store)
        if not self.link.connected:
            return False
        now = self.clock()
        # While acks keep coming the back office is working through what we sent (in order):
        # re-sending now would only queue duplicates in front of it. Re-send once it is quiet.
        quiet = time.monotonic() - self.last_progress >= self.resend_after_s()
        rows = outbox.due(store.conn, now, self.config.batch_size, self.config.window,
                          resend=quiet)
        sent = []
        for row in rows:
            body = json.loads(row.payload)
            schema = body.pop("schema")
            delivery = self.link.publish_json(row.topic, body, qos=1, schema=schema)
            if delivery.done and not delivery.ok:  # refused locally (queue full): try later
                break
            sent.append((row.id, row.attempts))
        if sent:
            with store.transaction() as conn:
                outbox.mark_sent(conn, sent, now, self.resend_after_s(),
                                 self.config.resend_max_s)
            self.published += len(sent)
        return bool(acked) or len(rows) == self.config.batch_size

    def _apply_acks(self, store: Store) -> int:
        ids: list[str] = []
        while len(ids) < 20_000:
            try:
                ids.extend(self._acks.get_nowait())
            except queue.Empty:
                break
        if not ids:
            return 0
        latencies: list[float] = []
        with store.transaction() as conn:
            changed = outbox.acknowledge(conn, ids, self.clock(), latencies)
        self.acked += changed
        if changed:
            self.last_progress = time.monotonic()
        for latency in latencies[-50:]:
            self.ack_latency_s += (latency - self.ack_latency_s) / 8
        return len(ids)

    def resend_after_s(self) -> float:
        """First re-send delay: the configured one, or 3x the observed ack latency if longer.

        A back office that takes 8 s to ack under load would otherwise get every message of
        the window twice, which slows it further (congestion collapse, as TCP learned).
        """
        return min(self.config.resend_max_s,
                   max(self.config.resend_after_s, 3 * self.ack_latency_s))


__all__ = ["ReportForwarder"]
