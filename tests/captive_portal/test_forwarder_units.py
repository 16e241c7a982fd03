"""The forwarder's own arithmetic, without a broker: re-send delay from the ack latency, and
what it does while the link is down."""

from __future__ import annotations

import time

from captive_portal.reports.forwarder import ReportForwarder
from captive_portal.reports.intake import NewReport, file_report
from core.mqtt import InboundMessage
from tests.captive_portal.reports_pipeline import config_with, outbox_states


class FakeLinkDown:
    """A link that is never connected: the forwarder must publish nothing through it."""

    connected = False

    def publish_json(self, *args, **kwargs):
        raise AssertionError("published while disconnected")


def _file(store, config, count=3):
    for n in range(count):
        file_report(store, NewReport(category="lighting", description=f"Lamp {n}",
                                     channel="open311", lat=25.3, lon=49.5), config)


def test_nothing_is_published_while_the_link_is_down(store):
    config = config_with(resend_after_s=1.0)
    _file(store, config)
    forwarder = ReportForwarder(store.path, FakeLinkDown(), config)
    assert forwarder.run_once(store) is False
    assert outbox_states(store) == {"pending": 3}


def test_the_first_resend_waits_for_three_times_the_ack_latency(store):
    config = config_with(resend_after_s=1.0, resend_max_s=60.0)
    _file(store, config)
    now = time.time()
    store.conn.execute("UPDATE report_outbox SET state = 'sent', last_sent_at = ?", (now - 8,))
    forwarder = ReportForwarder(store.path, FakeLinkDown(), config, clock=lambda: now)
    assert forwarder.resend_after_s() == 1.0
    ids = [r[0] for r in store.conn.execute("SELECT message_id FROM report_outbox")]
    for message_id in ids:  # acks that took 8 s each
        forwarder._on_ack(InboundMessage("reports/ack", {"ids": [message_id]}, False, 1))
        forwarder._apply_acks(store)
    assert forwarder.acked == 3
    assert 3 * 8 * 0.3 < forwarder.resend_after_s() <= 60.0
    assert outbox_states(store) == {"acknowledged": 3}
