"""The SMS gateway: one interface, pluggable drivers, every message recorded with its fate.

Login codes, 940 status messages, closure codes and awareness messages go through
`SmsService.send`. The message is written to ``sms_messages`` as *queued*, with its encoding
and segment count, before the driver is called, so nothing is ever sent without a record.

Delivery state of a message::

    queued ──(gateway accepts, gives its id)──> submitted ──(receipt)──> delivered
       │  └─(gateway refuses: retried with backoff, still queued)          failed
       └──(refused for good, or out of attempts)──> failed                 expired

Only what the gateway did not accept is retried (`retry_due`): a message it took is never sent
twice, whatever its receipts say. Receipts (`receipt`) come from the driver (SMPP, through the
callback given at `start`) or from the gateway's HTTP callbacks (Kannel, through the admin app's
hooks); they are idempotent, may arrive before the gateway's answer to the send itself (they are
kept and applied once the message is known), and never move a message backwards: a late
"submitted" or "buffered" leaves a delivered message delivered, and "delivered" is believed over
an earlier "failed" (the phone has it). A citizen's reply (`incoming`) is recorded once per
gateway id and handed to `captive_portal.sms.replies`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from captive_portal.config import SmsConfig
from captive_portal.reports.config import ReportsConfig
from captive_portal.sms import optout, replies
from captive_portal.sms.base import OutgoingSms, SmsDriver, SmsSendError
from captive_portal.sms.segments import segment
from core.periodic import Periodic
from core.store import Store

log = logging.getLogger(__name__)

#: Delivery states of ``sms_messages.state``.
STATES = ("queued", "submitted", "delivered", "failed", "expired")
#: States a gateway's receipt may report; ``buffered`` (held by the operator for a phone that is
#: off) is a kind of submitted.
RECEIPT_STATES = ("submitted", "buffered", "delivered", "failed", "expired")
#: Purposes a citizen can opt out of with STOP; never the codes and replies they asked for.
OPTIONAL_PURPOSES = frozenset({"awareness"})
#: The longest text recorded for a receipt's detail or a reply.
DETAIL_MAX = 500
#: Seconds a message being sent is held before another retry pass may take it.
CLAIM_S = 120.0


class SmsOptedOut(SmsSendError):
    """The number said STOP to messages of this purpose."""

    def __init__(self, number: str):
        super().__init__(f"{number} opted out", retryable=False)


@dataclass(frozen=True)
class SmsRecord:
    id: int
    to_number: str
    state: str
    attempts: int
    provider_id: str | None
    last_error: str | None
    encoding: str | None = None
    segments: int | None = None


_RECORD = ("SELECT id, to_number, state, attempts, provider_id, last_error, encoding, segments "
           "FROM sms_messages")


def _rank(state: str) -> int:
    return {"queued": 0, "submitted": 1, "failed": 2, "expired": 2, "delivered": 3}[state]


class SmsService:
    """Records and sends SMS through one driver; ``stores()`` gives this thread's `Store`."""

    def __init__(self, stores: Callable[[], Store], driver: SmsDriver, config: SmsConfig,
                 clock: Callable[[], float] = time.time,
                 reports_config: ReportsConfig | None = None):
        self.stores = stores
        self.driver = driver
        self.config = config
        self.clock = clock
        self.reports_config = reports_config or ReportsConfig()

    # -- the driver's life -------------------------------------------------------------------

    def start(self) -> None:
        """Start the driver, giving it this service's receipt and reply entry points."""
        self.driver.start(self.receipt, self.incoming)

    def stop(self) -> None:
        self.driver.stop()

    # -- sending -------------------------------------------------------------------------------

    def send(self, to: str, body: str, *, purpose: str, locale: str) -> SmsRecord:
        """Record the message, try it once now; a refusal is left for `retry_due`.

        A message of an optional purpose (`OPTIONAL_PURPOSES`) to a number that opted out
        raises `SmsOptedOut` and is not recorded.
        """
        now = self.clock()
        shape = segment(body)
        store = self.stores()
        with store.transaction() as conn:
            if purpose in OPTIONAL_PURPOSES and optout.is_opted_out(conn, to):
                raise SmsOptedOut(to)
            # Due again after CLAIM_S unless the attempt below settles it: a process that dies
            # while sending leaves the message to the next retry pass, not queued for ever.
            cursor = conn.execute(
                "INSERT INTO sms_messages (to_number, body, purpose, locale, driver, state, "
                "attempts, encoding, segments, next_attempt_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?)",
                (to, body, purpose, locale, self.driver.name, shape.encoding, shape.segments,
                 now + CLAIM_S, now, now))
            message_id = cursor.lastrowid
        assert message_id is not None
        self._attempt(message_id, to, body, attempts=0)
        return self.get(message_id)

    def _attempt(self, message_id: int, to: str, body: str, attempts: int) -> None:
        attempts += 1
        shape = segment(body)
        message = OutgoingSms(message_id, to, body, self.config.sender, shape.encoding,
                              shape.segments)
        try:
            provider_id = self.driver.send(message)
        except SmsSendError as exc:
            final = not exc.retryable or attempts >= self.config.max_attempts
            delay = self.config.retry_base_s * (2 ** (attempts - 1))
            self.stores().conn.execute(
                "UPDATE sms_messages SET state = ?, attempts = ?, last_error = ?, "
                "next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'queued'",
                ("failed" if final else "queued", attempts, str(exc)[:DETAIL_MAX],
                 None if final else self.clock() + delay, self.clock(), message_id))
            log.warning("SMS %s to %s not accepted (attempt %d): %s", message_id, to, attempts,
                        exc)
            return
        now = self.clock()
        with self.stores().transaction() as conn:
            # A receipt may have been applied already (state moved on): keep it.
            conn.execute(
                "UPDATE sms_messages SET state = CASE WHEN state = 'queued' THEN 'submitted' "
                "ELSE state END, attempts = ?, provider_id = ?, last_error = NULL, "
                "next_attempt_at = NULL, submitted_at = ?, updated_at = ? WHERE id = ?",
                (attempts, provider_id or None, now, now, message_id))
            if provider_id:
                self._apply_kept_receipts(conn, provider_id)

    def retry_due(self, claim_s: float = CLAIM_S) -> int:
        """Try again every message the gateway did not accept whose backoff has passed.

        Each message is claimed first (its next attempt moved ``claim_s`` ahead, only if no one
        moved it since we read it), so several workers retrying at once never send the same
        message twice; one that dies mid-send leaves it to be retried after the claim.
        """
        conn = self.stores().conn
        now = self.clock()
        rows = conn.execute(
            "SELECT id, to_number, body, attempts, next_attempt_at FROM sms_messages "
            "WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 100",
            (now,)).fetchall()
        tried = 0
        for message_id, to, body, attempts, due in rows:
            claimed = conn.execute(
                "UPDATE sms_messages SET next_attempt_at = ? WHERE id = ? AND state = 'queued' "
                "AND next_attempt_at = ?", (now + claim_s, message_id, due)).rowcount
            if claimed:
                self._attempt(message_id, to, body, attempts)
                tried += 1
        return tried

    # -- what gateways tell us -----------------------------------------------------------------

    def receipt(self, provider_id: str, state: str, *, at: float | None = None,
                detail: str | None = None) -> bool:
        """A gateway's delivery report for its message ``provider_id``.

        Idempotent; kept when no message carries that id yet (the receipt overtook the send's
        answer) and applied when one does. Returns True when a message was found (its state may
        not have changed: receipts never move a message backwards). ValueError for a state
        outside `RECEIPT_STATES`.
        """
        if state not in RECEIPT_STATES:
            raise ValueError(f"receipt state {state!r} (expected one of {RECEIPT_STATES})")
        provider_id = str(provider_id)[:200]
        at = self.clock() if at is None else at
        with self.stores().transaction() as conn:
            conn.execute(
                "INSERT INTO sms_receipts (provider_id, state, at, detail, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (provider_id, state, at, (detail or "")[:DETAIL_MAX] or None, self.clock()))
            return self._apply_kept_receipts(conn, provider_id)

    def _apply_kept_receipts(self, conn, provider_id: str) -> bool:
        row = conn.execute("SELECT id, state FROM sms_messages WHERE provider_id = ?",
                           (provider_id,)).fetchone()
        if row is None:
            return False
        message_id, current = row
        for receipt_id, state, at, detail in conn.execute(
                "SELECT id, state, at, detail FROM sms_receipts WHERE provider_id = ? "
                "AND applied_to IS NULL ORDER BY at, id", (provider_id,)).fetchall():
            target = "submitted" if state == "buffered" else state
            if _rank(target) > _rank(current):
                final = target in ("delivered", "failed", "expired")
                conn.execute(
                    "UPDATE sms_messages SET state = ?, next_attempt_at = NULL, "
                    "receipt_detail = coalesce(?, receipt_detail), "
                    "final_at = CASE WHEN ? THEN ? ELSE final_at END, updated_at = ? "
                    "WHERE id = ?", (target, detail, final, at, self.clock(), message_id))
                current = target
            conn.execute("UPDATE sms_receipts SET applied_to = ? WHERE id = ?",
                         (message_id, receipt_id))
        return True

    def incoming(self, sender: str, text: str, *, at: float | None = None,
                 gateway_id: str | None = None) -> replies.ReplyOutcome:
        """An SMS a citizen sent us: recorded (once per ``gateway_id``) and answered by
        `captive_portal.sms.replies`."""
        return replies.handle(self, sender, text, at=self.clock() if at is None else at,
                              gateway_id=gateway_id)

    # -- reading -------------------------------------------------------------------------------

    def get(self, message_id: int) -> SmsRecord:
        row = self.stores().conn.execute(f"{_RECORD} WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise KeyError(message_id)
        return SmsRecord(*row)

    def find(self, provider_id: str) -> SmsRecord | None:
        row = self.stores().conn.execute(f"{_RECORD} WHERE provider_id = ?",
                                         (provider_id,)).fetchone()
        return SmsRecord(*row) if row else None


class SmsRetrier(Periodic):
    """Background thread calling `SmsService.retry_due` every ``interval_s`` until stopped.

    Every node may run one (docs/scale-out.md): per-message claims, not a lease. `retry_due`
    claims each message by a conditional update of its next attempt (compare and set, one
    statement on SQLite and PostgreSQL), so two nodes never retry one message at once, and one
    that dies mid-send leaves it to the others after ``claim_s``.
    """

    def __init__(self, service: SmsService, interval_s: float = 15.0):
        self.service = service
        super().__init__("sms-retry", interval_s, service.retry_due)


__all__ = ["OPTIONAL_PURPOSES", "RECEIPT_STATES", "STATES", "SmsOptedOut", "SmsRecord",
           "SmsRetrier", "SmsService"]
