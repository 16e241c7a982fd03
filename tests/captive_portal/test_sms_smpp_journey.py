"""The 940 journey over SMPP, as over Kannel: a report's Arabic closure code goes out through
the SMS service and the smpp driver to a real SMPP server (node-smpp's), its receipt marks the
SMS delivered, and the citizen's reply with the code and نعم or لا closes or reopens the report.
An operator's refusal (REJECTD, UNDELIV) marks it failed. STOP is answered on the same bind,
and an awareness message reaches the site's reporters but the one who said STOP."""

from __future__ import annotations

import time

import pytest

from captive_portal.config import SmsConfig
from captive_portal.context import StoreProvider
from captive_portal.reports import awareness
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.notify import Notifier
from captive_portal.reports.service import ReportsService
from captive_portal.sms import SmsService
from captive_portal.sms.segments import segment
from captive_portal.sms.smpp import SmppSmsDriver
from tests.captive_portal.reports_pipeline import FAST, mqtt_config
from tests.captive_portal.sms_harness import resolved_report, status_of
from tests.peers_smpp import PASSWORD, SYSTEM_ID, smsc  # noqa: F401
from tests.support import wait_for

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def smpp_service(smsc, config):  # noqa: F811
    sms_config = SmsConfig(driver="smpp", smpp_host="127.0.0.1", smpp_port=smsc.port,
                           smpp_system_id=SYSTEM_ID, smpp_password=PASSWORD, smpp_rate=50.0,
                           smpp_reconnect_min_s=0.1, timeout_s=3.0, retry_base_s=0.1)
    sms_config.validate()
    stores = StoreProvider(config.store_location())
    service = SmsService(stores, SmppSmsDriver.from_config(sms_config), sms_config,
                         reports_config=FAST)
    service.start()
    smsc.wait_for("bind")
    yield service
    service.stop()
    stores.close_all()


def _closure_sms(store, smpp_service, smsc, locale="ar"):  # noqa: F811
    tracking, code = resolved_report(store, phone="0551234567", locale=locale)
    Notifier(store, smpp_service, time.time).deliver_pending()
    row = store.conn.execute(
        "SELECT s.id, s.body, s.encoding, s.segments, s.provider_id FROM report_notifications n "
        "JOIN sms_messages s ON s.id = n.sms_id WHERE n.purpose = 'closure_code'").fetchone()
    return tracking, code, row


def _state(store, sms_id):
    return store.conn.execute("SELECT state, receipt_detail FROM sms_messages WHERE id = ?",
                              (sms_id,)).fetchone()


@pytest.mark.parametrize("answer, status", [("نعم", "closed"), ("لا", "reopened")])
def test_closure_code_over_smpp_then_receipt_then_reply(store, smpp_service, smsc,  # noqa: F811
                                                        answer, status):
    tracking, code, (sms_id, body, encoding, segments, provider_id) = \
        _closure_sms(store, smpp_service, smsc)
    assert encoding == "ucs2" and segments == segment(body).segments
    # Every notice of the report went out; the closure code is the message with this id.
    smsc.wait(lambda e: e["event"] == "submit_sm" and e["message_id"] == provider_id)
    first = next(i for i, p in enumerate(smsc.of("submit_sm")) if p["message_id"] == provider_id)
    parts = smsc.wait_for("submit_sm", first + segments)[first:first + segments]
    assert {p["data_coding"] for p in parts} == {8}
    assert {p["destination_addr"] for p in parts} == {"966551234567"}
    assert "".join(p["text"] for p in parts) == body
    if segments > 1:
        assert [p["udh"][0][-4:] for p in parts] == \
            [f"{segments:02x}{i:02x}" for i in range(1, segments + 1)]

    wait_for(lambda: _state(store, sms_id)[0] == "delivered", what="the receipt applied")

    answered = smsc.mo("966551234567", f"{code.translate(ARABIC_INDIC)} {answer}")
    assert answered["status"] == 0
    wait_for(lambda: status_of(store, tracking) == status, what=f"the report {status}")
    reply = store.conn.execute("SELECT from_number, outcome FROM sms_incoming").fetchone()
    assert reply == ("+966551234567", status)


@pytest.mark.parametrize("stat", ["REJECTD", "UNDELIV"])
def test_a_refused_message_is_marked_failed(store, smpp_service, smsc, stat):  # noqa: F811
    smsc.command("receipts", stat=stat)
    _, _, (sms_id, *_rest) = _closure_sms(store, smpp_service, smsc)
    wait_for(lambda: _state(store, sms_id)[0] == "failed", what="the failed receipt")
    assert _state(store, sms_id)[1].startswith(stat)


def test_stop_is_answered_over_the_same_bind_at_once(store, smpp_service, smsc):  # noqa: F811
    # The answer is sent while the SMSC waits for our deliver_sm_resp: the reply is handled off
    # the thread that reads the link, or the answer's submit_sm_resp could not be read.
    answered = smsc.mo("966551234567", "إيقاف")
    assert answered["status"] == 0
    wait_for(lambda: store.conn.execute(
        "SELECT state FROM sms_messages WHERE purpose = 'sms_answer'").fetchone()
        in (("submitted",), ("delivered",)), what="the answer submitted")
    (body, segments), = store.conn.execute(
        "SELECT body, segments FROM sms_messages WHERE purpose = 'sms_answer'")
    parts = [p for p in smsc.wait_for("submit_sm", segments)
             if p["destination_addr"] == "966551234567"]
    assert {p["data_coding"] for p in parts} == {8} and "".join(p["text"] for p in parts) == body
    assert store.conn.execute("SELECT number FROM sms_opt_outs").fetchall() == \
        [("+966551234567",)]


def test_awareness_message_over_smpp_leaves_out_a_stop(store, smpp_service, smsc):  # noqa: F811
    for phone, locale in (("0551111111", "ar"), ("0552222222", "en"), ("0553333333", "ar")):
        file_report(store, NewReport(category="lighting", description="Lamp out",
                                     channel="portal", site="corniche", phone=phone,
                                     phone_verified=True, locale=locale), FAST)
    assert smsc.mo("966553333333", "إيقاف")["status"] == 0   # over the same bind
    wait_for(lambda: store.conn.execute("SELECT count(*) FROM sms_opt_outs").fetchone()[0],
             what="the opt-out")
    bodies = {"ar": "تنبيه: أعمال صيانة في ممشى الكورنيش يوم الخميس من ٦ إلى ٩ صباحاً. نعتذر "
                    "عن الإزعاج، وشكراً لبلاغاتكم التي تساعدنا على العناية بالحدائق.",
              "en": "Notice: maintenance on the Corniche walkway on Thursday 6-9am."}
    shown = awareness.preview(store, "corniche", 30, bodies, segment_price=0.05,
                              currency="SAR")
    assert (shown.recipients, shown.opted_out) == (2, 1)
    campaign_id = awareness.create(store, "corniche", 30, bodies, token=shown.token,
                                   actor="web:olga", segment_price=0.05, currency="SAR")
    seen = len(smsc.of("submit_sm"))
    assert awareness.hand_due(store, smpp_service, per_minute=60) == 2
    sent = smsc.wait_for("submit_sm", seen + shown.total_segments)[seen:]
    by_number: dict[str, list[dict]] = {}
    for part in sent:
        by_number.setdefault(part["destination_addr"], []).append(part)
    assert set(by_number) == {"966551111111", "966552222222"}
    assert "".join(p["text"] for p in by_number["966551111111"]) == bodies["ar"]
    assert {p["data_coding"] for p in by_number["966551111111"]} == {8}
    assert [(p["data_coding"], p["text"]) for p in by_number["966552222222"]] == \
        [(0, bodies["en"])]
    wait_for(lambda: awareness.get_campaign(store, campaign_id).delivered == 2,
             what="both receipts")


def test_the_940_pipeline_holds_the_bind_and_sends_awareness_at_its_pace(
        store, smsc, mosquitto):  # noqa: F811
    sms_config = SmsConfig(driver="smpp", smpp_host="127.0.0.1", smpp_port=smsc.port,
                           smpp_system_id=SYSTEM_ID, smpp_password=PASSWORD, timeout_s=3.0,
                           awareness_per_minute=2)
    for phone in ("0551111111", "0552222222", "0553333333"):
        file_report(store, NewReport(category="lighting", description="Lamp out",
                                     channel="portal", site="corniche", phone=phone,
                                     phone_verified=True, locale="en"), FAST)
    bodies = {"ar": "تنبيه: صيانة الممشى يوم الخميس.", "en": "Notice: walkway works Thursday."}
    shown = awareness.preview(store, "corniche", 30, bodies, segment_price=0, currency="SAR")
    campaign_id = awareness.create(store, "corniche", 30, bodies, token=shown.token, actor="a",
                                   segment_price=0, currency="SAR")
    service = ReportsService(store.path, mqtt_config(mosquitto), FAST, sms_config=sms_config,
                             poll_s=0.05)
    service.start()
    try:
        assert smsc.wait_for("bind")[0]["mode"] == "bind_transceiver"
        wait_for(lambda: awareness.get_campaign(store, campaign_id).delivered == 2,
                 what="two messages out and their receipts back on the pipeline's bind")
        # The minute's two and no more (the pace is counted in the store for 60 s).
        assert awareness.get_campaign(store, campaign_id).waiting == 1
    finally:
        service.stop()
    smsc.wait_for("unbind")
    assert [p["text"] for p in smsc.of("submit_sm")].count(bodies["en"]) == 2
