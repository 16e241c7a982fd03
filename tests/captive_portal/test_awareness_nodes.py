"""Awareness messages handed over by two nodes at once (docs/scale-out.md): each recipient is
claimed by the one update that marks it handed, so every recipient gets the message once,
from one node or the other, and the pace (a limit in the store) is shared by both."""

from __future__ import annotations

import json
import threading
import time

from captive_portal.config import SmsConfig
from captive_portal.reports import awareness
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.sms.drivers import ConsoleSmsDriver
from captive_portal.sms.service import SmsService
from core.store import Store
from tests.captive_portal.reports_pipeline import FAST

TEXT = {"ar": "تنبيه: صيانة في الحديقة يوم الخميس.", "en": "Notice: park maintenance Thursday."}


def test_two_nodes_hand_each_recipient_over_once(store, tmp_path):
    now = time.time()
    numbers = [f"+9665000001{n:02d}" for n in range(24)]
    for number in numbers:
        file_report(store, NewReport(category="lighting", description="Lamp is out",
                                     channel="open311", lat=25.38, lon=49.59, locale="ar",
                                     site="corniche", phone=number, phone_verified=True),
                    FAST, now=now - 3600)
    shown = awareness.preview(store, "corniche", 30, TEXT, segment_price=0, currency="SAR")
    campaign_id = awareness.create(store, "corniche", 30, TEXT, token=shown.token, actor="a",
                                   segment_price=0, currency="SAR")
    barrier = threading.Barrier(2)
    handed: dict[str, int] = {}

    def node(name: str) -> None:
        own = Store(store.location, migrate=False)
        outbox = tmp_path / f"sms-{name}.jsonl"
        sms = SmsService(lambda: own, ConsoleSmsDriver(outbox), SmsConfig(outbox=str(outbox)))
        barrier.wait()
        total = 0
        while (count := awareness.hand_due(own, sms, per_minute=20, batch=5)):
            total += count
        handed[name] = total
        own.close()

    threads = [threading.Thread(target=node, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = [json.loads(line)["to"] for name in ("a", "b") if (tmp_path / f"sms-{name}.jsonl"
                                                                ).exists()
            for line in (tmp_path / f"sms-{name}.jsonl").read_text().splitlines()]
    # The pace is the two nodes' together: 20 in the minute, none twice.
    assert len(sent) == len(set(sent)) == handed["a"] + handed["b"] == 20
    assert set(sent) <= set(numbers)
    campaign = awareness.get_campaign(store, campaign_id)
    assert (campaign.handed, campaign.waiting) == (20, 4)
