"""Status updates from the back office: applied once each, acked, and told to the citizen.

Updates arrive on the status topic (QoS 1, our persistent session keeps them while we are away)
and may arrive more than once: each carries an ``update_id`` and `apply_status_update` records
the ids it has applied. Applied (or refused) updates are acked on the status-ack topic so the
back office stops re-sending them; the SMS they cause are decided in the same transaction and
handed to the SMS gateway afterwards.

On several nodes every node's consumer subscribes, each on its own persistent session, and
every update reaches every node: the store applies it once. `apply_status_update` claims the
update's id by one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` before anything else, so the
second node to try (on SQLite or PostgreSQL) finds it taken and counts a duplicate; the SMS are
decided inside that one transaction and handed over under per-row claims
(`captive_portal.reports.notify`). Each node acks what it applied or found applied. Chosen over
the alternatives, measured with Mosquitto 2 (docs/scale-out.md):

- an MQTT 5 shared subscription (``$share/...``) hands each update to one node, but Mosquitto
  keeps queueing a share of them to a member whose persistent session outlives its dead node:
  those wait for that node's return or the back office's re-send;
- a lease (one subscriber) leaves updates published during a takeover to nobody's session.

Idempotent apply costs a second, empty transaction per update (the duplicate) and loses
nothing when a node dies: the other node's session already holds every update.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.notify import Notifier
from captive_portal.reports.workflow import apply_status_update
from captive_portal.sms import SmsService
from core.contracts import reports as contract
from core.mqtt import InboundMessage, MqttLink
from core.store import Store

log = logging.getLogger(__name__)


class StatusConsumer:
    def __init__(self, store_path: str | Path, link: MqttLink, config: ReportsConfig,
                 sms: SmsService | None, *, clock: Callable[[], float] = time.time):
        self.store_path = str(store_path)
        self.link = link
        self.config = config
        self.sms = sms
        self.clock = clock
        self.outcomes: dict[str, int] = {}
        self._updates: queue.Queue[dict] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="report-status", daemon=True)

    def start(self) -> None:
        self.link.subscribe(contract.TOPIC_STATUS, self._on_status)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._updates.put({})
        self._thread.join(timeout=10)

    def _on_status(self, message: InboundMessage) -> None:
        if isinstance(message.payload, dict):
            self._updates.put(message.payload)

    def _run(self) -> None:
        store = Store(self.store_path, migrate=False)
        notifier = Notifier(store, self.sms, self.clock) if self.sms else None
        try:
            while not self._stop.is_set():
                try:
                    first = self._updates.get(timeout=1.0)
                except queue.Empty:
                    first = None
                batch = [first] if first else []
                while len(batch) < 500:
                    try:
                        batch.append(self._updates.get_nowait())
                    except queue.Empty:
                        break
                try:
                    self.apply_each(store, [u for u in batch if u])
                    if notifier is not None:
                        notifier.deliver_pending()
                except Exception:  # keep consuming; the back office re-sends unacked updates
                    log.exception("status pass failed")
        finally:
            store.close()

    def apply_each(self, store: Store, updates: list[dict]) -> None:
        """`apply` the batch; should it fail, each update on its own, so that one update the
        store cannot take costs only itself (it stays unacked and is logged)."""
        try:
            self.apply(store, updates)
        except Exception:
            if len(updates) == 1:
                raise
            log.exception("status batch of %d failed; applying its updates one by one",
                          len(updates))
            for update in updates:
                try:
                    self.apply(store, [update])
                except Exception:
                    log.exception("status update %r not applied",
                                  str(update.get("update_id"))[:100])

    def apply(self, store: Store, updates: list[dict]) -> list[str]:
        """Apply ``updates`` in one transaction, then ack their ids; returns the outcomes."""
        if not updates:
            return []
        now = self.clock()
        outcomes = []
        with store.transaction() as conn:
            for update in updates:
                outcomes.append(apply_status_update(conn, update, now=now, config=self.config))
        for outcome in outcomes:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        ids = [u["update_id"] for u, o in zip(updates, outcomes)
               if o != "malformed" and isinstance(u.get("update_id"), str)]
        if ids:
            self.link.publish_json(contract.TOPIC_STATUS_ACK, {"ids": ids},
                                   schema=contract.SCHEMA_STATUS_ACK)
        return outcomes


__all__ = ["StatusConsumer"]
