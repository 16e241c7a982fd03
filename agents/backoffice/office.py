"""The reference 940 back office: a consumer for demos and tests (the real one is not ours).

It holds its own SQLite file and a persistent MQTT 5 session. Reports, citizen updates and
escalations are stored once per message id (a message seen again is counted, not stored twice)
and acked by id on the ack topic after the store commit, in batches. `move` sends a status
update; those go through a small outbox of their own and are re-sent until the controller acks
their ``update_id`` on the status-ack topic, so an update survives a controller outage too.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from core.config import MqttConfig
from core.contracts import reports as contract
from core.migrate import migrate_file
from core.mqtt import MQTT_V5, InboundMessage, MqttLink, iso_now

log = logging.getLogger(__name__)

#: The back office's migrations (`core.migrate`): its database upgrades in place.
MIGRATIONS = {"backoffice": "agents.backoffice.migrations"}
INBOUND = (contract.TOPIC_NEW, contract.TOPIC_UPDATES, contract.TOPIC_ESCALATIONS)
#: Longest message id kept (ours are tracking numbers and update ids, under 64 characters).
ID_MAX = 200


class BackOffice:
    def __init__(self, db_path: str | Path, mqtt: MqttConfig, *,
                 client_id: str = "oasis-backoffice",
                 host: str | None = None, port: int | None = None, protocol: str = MQTT_V5,
                 auto_acknowledge: bool = False,
                 resend_after_s: float = 5.0, session_expiry_s: int = 7 * 86400,
                 consume_reports: bool = True,
                 clock: Callable[[], float] = time.time):
        """``consume_reports=False`` (an operator's one-off move beside a running back office):
        no report topics and no persistent session, so the running one keeps its own."""
        self.db_path = str(db_path)
        self.auto_acknowledge = auto_acknowledge
        self.resend_after_s = resend_after_s
        self.clock = clock
        self.consume_reports = consume_reports
        persistent = consume_reports and protocol == MQTT_V5
        self.link = MqttLink(replace(mqtt, client_id=client_id), host=host, port=port,
                             protocol=protocol, clean_start=not consume_reports,
                             session_expiry_s=session_expiry_s if persistent else 0,
                             reconnect_min_s=0.2, reconnect_max_s=5.0)
        self._inbox: queue.Queue[InboundMessage | None] = queue.Queue()
        self._status_acks: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backoffice", daemon=True)
        self._db = _open(self.db_path)
        self._db_lock = threading.Lock()
        self._subscriptions: list = []

    def start(self) -> None:
        inbound = INBOUND if self.consume_reports else ()
        self._subscriptions = [self.link.subscribe(topic, self._inbox.put) for topic in inbound]
        self._subscriptions.append(
            self.link.subscribe(contract.TOPIC_STATUS_ACK, self._on_status_ack))
        self.link.start()
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """True once connected with every subscription granted (messages now reach us)."""
        deadline = time.monotonic() + timeout
        return all(s.wait_active(max(0.0, deadline - time.monotonic()))
                   for s in self._subscriptions)

    def stop(self) -> None:
        """Stop consuming (the broker keeps queueing for this session); safe to call twice."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._inbox.put(None)
        self._thread.join(timeout=10)
        self.link.stop()
        self._db.close()

    # -- what tests and the CLI read --------------------------------------------------------

    def received_ids(self, topic: str = contract.TOPIC_NEW) -> list[str]:
        with self._db_lock:
            return [r[0] for r in self._db.execute(
                "SELECT message_id FROM received WHERE topic = ? ORDER BY rowid", (topic,))]

    def copies(self) -> int:
        """Every copy seen, duplicates included."""
        with self._db_lock:
            return self._db.execute("SELECT coalesce(sum(copies), 0) FROM received").fetchone()[0]

    def pending_status_updates(self) -> int:
        with self._db_lock:
            return self._db.execute("SELECT count(*) FROM status_outbox WHERE acked = 0"
                                    ).fetchone()[0]

    def wait_status_acked(self, update_id: str, timeout: float) -> bool:
        """Block until the controller acked ``update_id`` (polls this process's own file)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._db_lock:
                row = self._db.execute("SELECT acked FROM status_outbox WHERE update_id = ?",
                                       (update_id,)).fetchone()
            if row and row[0]:
                return True
            if time.monotonic() > deadline or self._stop.wait(0.1):
                return False

    # -- status updates out -------------------------------------------------------------------

    def move(self, tracking: str, status: str, *, note: str | None = None,
             assigned_to: str | None = None) -> str:
        """Queue a status update for the controller; returns its update id."""
        update_id = uuid.uuid4().hex
        body = {"update_id": update_id, "id": tracking, "status": status, "note": note,
                "assigned_to": assigned_to, "at": iso_now()}
        with self._db_lock, self._db:
            self._db.execute("INSERT INTO status_outbox (update_id, tracking, payload, "
                             "next_attempt_at) VALUES (?, ?, ?, 0)",
                             (update_id, tracking, json.dumps(body, ensure_ascii=False)))
            self._db.execute("UPDATE received SET status = ? WHERE message_id = ?",
                             (status, tracking))
        self._inbox.put(None)  # wake the worker to send it now
        return update_id

    def _on_status_ack(self, message: InboundMessage) -> None:
        ids = message.payload.get("ids") if isinstance(message.payload, dict) else None
        if isinstance(ids, list):
            self._status_acks.put([i for i in ids if isinstance(i, str)])

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                first = None
            batch = [first] if first is not None else []
            while len(batch) < 2000:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            try:
                self._store_and_ack(batch)
                self._apply_status_acks()
                self._send_due_status()
            except Exception:  # unacked messages come again; nothing is lost, and the worker
                log.exception("back office pass failed")  # lives on whatever arrived

    def _store_and_ack(self, batch: list[InboundMessage]) -> None:
        if not batch:
            return
        now = self.clock()
        ids, new_reports = [], []
        with self._db_lock, self._db:
            for message in batch:
                payload = message.payload if isinstance(message.payload, dict) else {}
                message_id = payload.get("id")
                if not isinstance(message_id, str) or not 0 < len(message_id) <= ID_MAX:
                    log.warning("message without a usable id on %s", message.topic)
                    continue
                tracking = payload.get("tracking")
                cursor = self._db.execute(
                    "INSERT INTO received (message_id, topic, tracking, payload, received_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE SET "
                    "copies = copies + 1 RETURNING copies",
                    (message_id, message.topic, tracking if isinstance(tracking, str) else None,
                     json.dumps(payload, ensure_ascii=False), now))
                if cursor.fetchone()[0] == 1 and message.topic == contract.TOPIC_NEW:
                    new_reports.append(message_id)
                ids.append(message_id)
        if ids:
            self.link.publish_json(contract.TOPIC_ACK, {"ids": ids}, schema=contract.SCHEMA_ACK)
        if self.auto_acknowledge:
            for tracking in new_reports:
                self.move(tracking, "acknowledged", note=None)

    def _apply_status_acks(self) -> None:
        ids: list[str] = []
        while True:
            try:
                ids.extend(self._status_acks.get_nowait())
            except queue.Empty:
                break
        if ids:
            with self._db_lock, self._db:
                self._db.executemany("UPDATE status_outbox SET acked = 1 WHERE update_id = ?",
                                     [(i,) for i in ids])

    def _send_due_status(self) -> None:
        if not self.link.connected:
            return
        now = self.clock()
        with self._db_lock:
            rows = self._db.execute(
                "SELECT update_id, payload, attempts FROM status_outbox WHERE acked = 0 AND "
                "next_attempt_at <= ? ORDER BY rowid LIMIT 500", (now,)).fetchall()
        for update_id, payload, attempts in rows:
            self.link.publish_json(contract.TOPIC_STATUS, json.loads(payload),
                                   schema=contract.SCHEMA_STATUS)
        if rows:
            with self._db_lock, self._db:
                self._db.executemany(
                    "UPDATE status_outbox SET attempts = ?, next_attempt_at = ? "
                    "WHERE update_id = ?",
                    [(a + 1, now + min(300.0, self.resend_after_s * 2 ** a), u)
                     for u, _, a in rows])


def _open(path: str) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    migrate_file(db, MIGRATIONS)
    return db


__all__ = ["BackOffice", "INBOUND"]
