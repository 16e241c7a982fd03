"""Hands decided citizen SMS (``report_notifications``) to the portal's SMS gateway.

A notification is written in the transaction of the change it announces; this step gives it to
`SmsService.send`, which records it in ``sms_messages`` with its delivery state and retries a
send the gateway did not accept, with backoff. A crash between the two can at worst send one
SMS twice, never lose it.

Every node's status consumer and SLA watcher run this step, so each notification is first
claimed: one conditional ``UPDATE ... RETURNING`` sets its holder and a claim expiry
(`CLAIM_S`, three times the SMS gateway's request timeout) only where no live claim is, on
SQLite and PostgreSQL alike. A per-item claim rather than a lease: any node may hand any
notification, and one that dies mid-hand leaves only its claimed row, taken by another node
once the claim expires. A report's notifications are claimed one after the other (the next
only once the one before is handed over), so the citizen gets them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from captive_portal.sms import SmsService
from core.leases import holder_id
from core.store import Store

log = logging.getLogger(__name__)

#: How long a claimed notification is this node's to hand over before another node may.
CLAIM_S = 30.0

#: The oldest notification nobody holds whose report has no older one still to hand over
#: (a report's SMS go out in order, whichever nodes hand them), claimed in one statement.
_CLAIM = (
    "UPDATE report_notifications SET claimed_by = ?, claimed_until = ? "
    "WHERE id = (SELECT n.id FROM report_notifications n WHERE n.handed_at IS NULL "
    "            AND (n.claimed_until IS NULL OR n.claimed_until <= ?) "
    "            AND NOT EXISTS (SELECT 1 FROM report_notifications e "
    "                            WHERE e.report_id = n.report_id AND e.handed_at IS NULL "
    "                            AND e.id < n.id) "
    "            ORDER BY n.id LIMIT 1) "
    "AND handed_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?) "
    "RETURNING id, to_number, body, purpose, locale")


class Notifier:
    def __init__(self, store: Store, sms: SmsService, clock: Callable[[], float]):
        self.store = store
        self.sms = sms
        self.clock = clock

    def deliver_pending(self, limit: int = 200) -> int:
        """Hand up to ``limit`` waiting notifications to the SMS gateway, each claimed first;
        returns how many this call handed."""
        holder = holder_id("notifications")
        handed = 0
        while handed < limit:
            at = self.clock()
            row = self.store.conn.execute(_CLAIM, (holder, at + CLAIM_S, at, at)).fetchone()
            if row is None:
                return handed
            notification_id, to, body, purpose, locale = row
            handed += 1
            record = self.sms.send(to, body, purpose=purpose, locale=locale)
            self.store.conn.execute(
                "UPDATE report_notifications SET sms_id = ?, handed_at = ? WHERE id = ?",
                (record.id, self.clock(), notification_id))
            if record.state == "failed" or record.last_error:
                log.warning("SMS %s for notification %s: %s (%s)", record.id, notification_id,
                            record.state, record.last_error)
        return handed


class Notice(NamedTuple):
    """An SMS decided for a citizen and, once handed over, its delivery state."""

    purpose: str
    to_number: str
    locale: str
    created_at: float           # unix seconds: when it was decided
    sms_state: str | None       # None: not handed to the SMS gateway yet
    sms_attempts: int | None
    sms_error: str | None
    sms_encoding: str | None = None     # gsm7 or ucs2
    sms_segments: int | None = None
    sms_final_at: float | None = None   # when its receipt said delivered, failed or expired
    sms_receipt: str | None = None      # the gateway's words in that receipt


def of_report(store: Store, report_id: int) -> list[Notice]:
    """The report's citizen SMS, oldest first."""
    return [Notice(*row) for row in store.conn.execute(
        "SELECT n.purpose, n.to_number, n.locale, n.created_at, s.state, s.attempts, "
        "s.last_error, s.encoding, s.segments, s.final_at, s.receipt_detail "
        "FROM report_notifications n LEFT JOIN sms_messages s ON s.id = n.sms_id "
        "WHERE n.report_id = ? ORDER BY n.id", (report_id,))]


__all__ = ["Notice", "Notifier", "of_report"]
