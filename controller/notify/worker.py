"""The notify worker: a thread of the controller that, every few seconds (or when woken),
checks the 940 pipeline's health, routes new alert openings and clearings into the outbox,
queues the digest when a period ends, and sends what the outbox holds.

On several nodes (docs/scale-out.md) the deciding and the sending are split. Deciding (the
pipeline's health, routing, the digest, pruning) reads the whole store and writes what is to be
sent, so one node does it: the worker holding the lease ``singleton:notify`` (`core.leases`,
12 s; a standby takes over within that plus its pass interval). Sending is done by every node's
worker, each message claimed first (`controller.notify.outbox.claim_due`: a conditional update
of its next attempt, so only one node sends it; a node that dies mid-send leaves it to the
others after `controller.notify.outbox.CLAIM_S`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from controller.monitoring import reports_health
from controller.notify import digest, messages, outbox, rules
from controller.notify.channels import Channels, DeliveryError
from controller.notify.router import Router
from controller.settings import AlertsConfig
from core.leases import WORKER_TTL_S, Singleton, holder_id
from core.secrets import SecretBox
from core.store import Store

log = logging.getLogger(__name__)

#: Sent and given-up notifications are kept this long for the Notifications page, then pruned.
KEEP_S = 90 * 86400
#: How often the worker prunes them.
PRUNE_EVERY_S = 3600.0


@dataclass
class NotifyWorker:
    """``stores()`` gives a `Store` for the worker's thread; ``clock`` is unix seconds."""

    stores: Callable[[], Store]
    config: AlertsConfig
    channels: Channels
    secret_box: SecretBox
    tz: str
    interval_s: float = 2.0
    clock: Callable[[], float] = time.time
    #: Whether this worker also watches the 940 pipeline (the controller's does).
    watch_reports: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _pruned_at: float = 0.0
    _started_at: float | None = None
    #: Seconds the deciding lease lasts without renewal (`WORKER_TTL_S`).
    lease_ttl_s: float = WORKER_TTL_S
    _lease: Singleton | None = None

    def lease(self, store: Store) -> Singleton:
        """The deciding lease, renewed on connections of its own to ``store``'s location."""
        if self._lease is None:
            location = store.location
            self._lease = Singleton(lambda: Store(location, migrate=False), "notify",
                                    ttl_s=self.lease_ttl_s, clock=self.clock,
                                    holder=holder_id(f"notify:{uuid.uuid4().hex[:6]}"))
        return self._lease

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        store = self.stores()
        try:
            while not self._stop.is_set():
                try:
                    self.run_once(store)
                except Exception:  # a store hiccup or a bug in one pass must not stop alerts
                    log.exception("notify pass failed")
                self._wake.wait(self.interval_s)
                self._wake.clear()
        finally:
            store.close()
            if self._lease is not None:
                self._lease.release()

    def run_once(self, store: Store) -> dict[str, int]:
        """One pass: health, routing, digest (on the lease's holder), sending. Returns what
        it did, counted."""
        at = self.clock()
        counted: dict[str, int] = {}
        if self.lease(store).held():
            if self._started_at is None:
                self._started_at = at  # watching since it took the lease
            counted = self._decide(store, at)
        else:
            self._started_at = None
        for message in outbox.claim_due(store, at):
            if self._stop.is_set():
                break
            outcome = self.deliver(store, message)
            counted[outcome] = counted.get(outcome, 0) + 1
        return counted

    def _decide(self, store: Store, at: float) -> dict[str, int]:
        assert self._started_at is not None
        if self.watch_reports:
            reports_health.check(store, self.config, at, watching_since=self._started_at)
        counted = Router(store, self.config, self.tz).route(at)
        counted["digest_queued"] = digest.decide(store, at, self.config.digest_every_h, self.tz)
        if at - self._pruned_at >= PRUNE_EVERY_S:
            pruned = outbox.prune(store, at - KEEP_S)
            if pruned:
                counted["pruned"] = pruned
            self._pruned_at = at
        return counted

    def deliver(self, store: Store, message: outbox.Message) -> str:
        try:
            self._send(store, message)
        except DeliveryError as exc:
            retry = None
            if exc.retryable and message.attempts + 1 < self.config.max_attempts:
                retry = min(self.config.retry_max_s,
                            self.config.retry_first_s * 2 ** message.attempts)
            outbox.mark_failed(store, message, str(exc), self.clock(), retry_in=retry)
            log.warning("notification %s by %s to %s not sent (%s): %s", message.id,
                        message.channel, message.destination,
                        "retried" if retry is not None else "given up", exc)
            return "failed" if retry is not None else "abandoned"
        outbox.mark_sent(store, message.id, self.clock())
        return "sent"

    def _send(self, store: Store, message: outbox.Message) -> None:
        payload, locale = message.payload, message.locale
        if message.channel == "webhook":
            target = rules.webhook_target(store.conn, self.secret_box, int(message.destination))
            if target is None:
                raise DeliveryError("webhook.removed", "the webhook was removed",
                                    retryable=False)
            url, secret = target
            self.channels.webhook(url, secret, {"schema": "oasis.alert-notification/1",
                                                "event": message.kind, **payload},
                                  delivery=str(message.id), timestamp=str(int(self.clock())))
        elif message.kind == "digest":
            subject, text = messages.digest_text(payload, locale, self.tz)
            self.channels.email(message.destination, subject, text, locale)
        else:
            subject, text, sms = messages.alert_text(payload, locale, self.tz)
            if message.channel == "sms":
                self.channels.sms(message.destination, sms, locale)
            else:
                self.channels.email(message.destination, subject, text, locale)


__all__ = ["NotifyWorker"]
