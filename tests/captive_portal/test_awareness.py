"""Awareness messages in the 940 domain: the audience (a site's recent verified reporters, less
STOP), the preview (encodings, segments, cost), a confirmation that must match the preview,
the audit entry, and paced hand-over to the SMS gateway."""

from __future__ import annotations

import json
import time

import pytest

from captive_portal.config import SmsConfig
from captive_portal.reports import awareness
from captive_portal.reports.awareness import AwarenessError
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.sms import optout
from captive_portal.sms.drivers import ConsoleSmsDriver
from captive_portal.sms.service import SmsService
from core import audit
from tests.captive_portal.reports_pipeline import FAST

DAY = 86400.0
AR = "تنبيه: أعمال صيانة في ممشى الكورنيش يوم الخميس من ٦ إلى ٩ صباحاً. نعتذر عن الإزعاج."
EN = "Notice: maintenance on the Corniche walkway on Thursday 6-9am. Sorry for the trouble."


def _file(store, phone, *, site="corniche", locale="ar", verified=True, at):
    file_report(store, NewReport(category="lighting", description="Lamp is out",
                                 channel="open311", lat=25.38, lon=49.59, locale=locale,
                                 site=site, phone=phone, phone_verified=verified), FAST, now=at)


@pytest.fixture
def reporters(store):
    t = time.time()
    _file(store, "+966500000001", at=t - 2 * DAY)                       # ar
    _file(store, "+966500000002", locale="en", at=t - 3 * DAY)          # en
    _file(store, "+966500000003", locale="en", at=t - 20 * DAY)         # later ar report wins
    _file(store, "+966500000003", locale="ar", at=t - 1 * DAY)
    _file(store, "+966500000004", at=t - 40 * DAY)                      # outside 30 days
    _file(store, "+966500000005", verified=False, at=t - DAY)            # never verified
    _file(store, "+966500000006", site="other-park", at=t - DAY)         # another site
    _file(store, "+966500000007", at=t - DAY)                           # said STOP
    optout.opt_out(store.conn, "+966500000007", at=t, via="sms")
    return t


def test_audience_is_recent_verified_reporters_less_stop(store, reporters):
    people, stopped = awareness.audience(store.conn, "corniche", reporters - 30 * DAY)
    assert [(p.number, p.locale) for p in people] == [
        ("+966500000001", "ar"), ("+966500000002", "en"), ("+966500000003", "ar")]
    assert stopped == 1


def test_preview_counts_segments_and_cost(store, reporters):
    shown = awareness.preview(store, "corniche", 30, {"ar": AR, "en": EN},
                              segment_price=0.05, currency="SAR")
    ar, en = shown.texts
    assert (ar.locale, ar.encoding, ar.segments, ar.recipients) == ("ar", "ucs2", 2, 2)
    assert (en.locale, en.encoding, en.segments, en.recipients) == ("en", "gsm7", 1, 1)
    assert shown.recipients == 3 and shown.opted_out == 1
    assert shown.total_segments == 5 and shown.cost == pytest.approx(0.25)
    assert shown.shown()["texts"][0]["total_segments"] == 4


def test_confirmation_must_match_the_preview_and_is_audited(store, reporters):
    bodies = {"ar": AR, "en": EN}
    shown = awareness.preview(store, "corniche", 30, bodies, segment_price=0.05, currency="SAR")
    with pytest.raises(AwarenessError) as wrong:
        awareness.create(store, "corniche", 30, bodies, token="0" * 24, actor="admin:nora",
                         segment_price=0.05, currency="SAR")
    assert (wrong.value.code, wrong.value.status) == ("audience_changed", 409)
    with pytest.raises(AwarenessError) as edited:
        awareness.create(store, "corniche", 30, {"ar": AR, "en": EN + "!"}, token=shown.token,
                         actor="admin:nora", segment_price=0.05, currency="SAR")
    assert edited.value.code == "audience_changed"
    _file(store, "+966500000008", at=time.time())  # a new reporter since the preview
    with pytest.raises(AwarenessError) as grown:
        awareness.create(store, "corniche", 30, bodies, token=shown.token, actor="admin:nora",
                         segment_price=0.05, currency="SAR")
    assert grown.value.code == "audience_changed"
    assert awareness.campaigns(store) == []

    again = awareness.preview(store, "corniche", 30, bodies, segment_price=0.05, currency="SAR")
    campaign_id = awareness.create(store, "corniche", 30, bodies, token=again.token,
                                   actor="admin:nora", segment_price=0.05, currency="SAR")
    [campaign] = awareness.campaigns(store)
    assert (campaign.id, campaign.recipients, campaign.segments, campaign.waiting) == \
        (campaign_id, 4, 7, 4)
    [entry] = [e for e in audit.entries(store) if e["action"] == "awareness.send"]
    detail = entry["detail"] if isinstance(entry["detail"], dict) else json.loads(entry["detail"])
    assert entry["actor"] == "admin:nora" and detail["recipients"] == 4
    assert detail["cost"] == pytest.approx(0.35)


@pytest.mark.parametrize("bodies, days, code, field", [
    ({"ar": "", "en": EN}, 30, "required", "body_ar"),
    ({"ar": AR, "en": "x" * 700}, 30, "too_long", "body_en"),
    ({"ar": "ب" * 300, "en": EN}, 30, "too_long", "body_ar"),
    ({"ar": AR, "en": EN}, 0, "invalid_field", "days"),
    ({"ar": AR, "en": EN}, "30; drop", "invalid_field", "days"),
])
def test_refusals_name_the_field(store, bodies, days, code, field):
    with pytest.raises(AwarenessError) as refused:
        awareness.preview(store, "corniche", days, bodies, segment_price=0.0, currency="SAR")
    assert (refused.value.code, refused.value.field) == (code, field)


def test_nobody_to_send_to_is_refused(store, reporters):
    bodies = {"ar": AR, "en": EN}
    shown = awareness.preview(store, "empty-park", 30, bodies, segment_price=0, currency="SAR")
    assert shown.recipients == 0
    with pytest.raises(AwarenessError) as refused:
        awareness.create(store, "empty-park", 30, bodies, token=shown.token, actor="a",
                         segment_price=0, currency="SAR")
    assert refused.value.code == "no_recipients"


def test_hand_over_is_paced_in_the_store_and_skips_a_late_stop(store, reporters, tmp_path):
    bodies = {"ar": AR, "en": EN}
    shown = awareness.preview(store, "corniche", 30, bodies, segment_price=0.05, currency="SAR")
    campaign_id = awareness.create(store, "corniche", 30, bodies, token=shown.token, actor="a",
                                   segment_price=0.05, currency="SAR")
    optout.opt_out(store.conn, "+966500000003", at=time.time(), via="sms")  # after the preview
    outbox = tmp_path / "sms.jsonl"
    sms = SmsService(lambda: store, ConsoleSmsDriver(outbox), SmsConfig(outbox=str(outbox)))
    start = time.time()
    assert awareness.hand_due(store, sms, per_minute=2, at=start) == 2
    assert awareness.hand_due(store, sms, per_minute=2, at=start + 30) == 0  # the minute is full
    assert awareness.hand_due(store, sms, per_minute=2, at=start + 61) == 1
    sent = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert {(m["to"], m["text"]) for m in sent} == {("+966500000001", AR),
                                                    ("+966500000002", EN)}
    campaign = awareness.get_campaign(store, campaign_id)
    assert (campaign.waiting, campaign.handed, campaign.opted_out) == (0, 2, 1)
