"""The SMS service: encoding and segments per message, delivery state from receipts (in any
order, any number of times), retries only for what the gateway did not take, opt-outs, and the
upgrade of a store whose messages said sent/failed/abandoned."""

from __future__ import annotations

import sqlite3

import pytest

from captive_portal.config import SmsConfig
from captive_portal.phones import normalise_saudi_mobile, sender_e164
from captive_portal.sms import SmsOptedOut, SmsSendError, optout
from captive_portal.sms.segments import encode_gsm7, segment, split
from core.store import Store
from tests.captive_portal.sms_harness import RecordingDriver, service

# -- segments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", ("gsm7", 0, 0)),
    ("a" * 160, ("gsm7", 160, 1)),
    ("a" * 161, ("gsm7", 161, 2)),
    ("a" * 306, ("gsm7", 306, 2)),
    ("a" * 307, ("gsm7", 307, 3)),
    ("€" * 80, ("gsm7", 160, 1)),          # extension characters cost two septets
    ("€" * 81, ("gsm7", 162, 2)),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤§¿¡ÄÖÑÜäöñüà", ("gsm7", 42, 1)),
    ("س" * 70, ("ucs2", 70, 1)),
    ("س" * 71, ("ucs2", 71, 2)),
    ("س" * 134, ("ucs2", 134, 2)),
    ("س" * 135, ("ucs2", 135, 3)),
    ("a" * 69 + "ç", ("ucs2", 70, 1)),     # ç is not GSM-7 (only Ç is): the whole text is UCS-2
    ("😀" * 35, ("ucs2", 70, 1)),           # a surrogate pair is two UTF-16 units
    ("😀" * 36, ("ucs2", 72, 2)),
])
def test_encoding_and_segments(text, expected):
    assert tuple(segment(text)) == expected


def test_splits_never_cut_an_escape_or_a_surrogate_pair():
    parts = split("a" * 152 + "€" + "b" * 7)     # 161 septets: two parts of at most 153
    assert parts == ["a" * 152, "€" + "b" * 7]
    emoji = split("x" + "😀" * 40)
    assert all(len(p.encode("utf-16-le")) // 2 <= 67 for p in emoji)
    assert "".join(emoji) == "x" + "😀" * 40 and len(emoji) == 2


def test_gsm7_septets_follow_the_standard_table():
    assert encode_gsm7("@A§¿à") == bytes((0x00, 0x41, 0x5F, 0x60, 0x7F))
    assert encode_gsm7("€[") == bytes((0x1B, 0x65, 0x1B, 0x3C))
    with pytest.raises(ValueError):
        encode_gsm7("س")


def test_each_message_records_its_encoding_and_segments(store):
    sms = service(store)
    arabic = sms.send("+966501234567", "بلاغك رقم ٩٤٠ " * 6, purpose="report_status",
                      locale="ar")
    latin = sms.send("+966501234567", "Your code is 123456.", purpose="login_code", locale="en")
    assert (arabic.encoding, arabic.segments) == ("ucs2", 2)
    assert (latin.encoding, latin.segments) == ("gsm7", 1)
    sent = sms.driver.sent
    assert [(m.id, m.encoding, m.segments) for m in sent] == [(arabic.id, "ucs2", 2),
                                                              (latin.id, "gsm7", 1)]


# -- receipts ------------------------------------------------------------------------------------

def test_receipts_move_a_message_forward_only_and_are_idempotent(store):
    sms = service(store)
    record = sms.send("+966501234567", "hi", purpose="test", locale="en")
    assert (record.state, record.provider_id) == ("submitted", f"rec-{record.id}")
    assert sms.receipt(record.provider_id, "buffered", at=10.0)
    assert sms.get(record.id).state == "submitted"
    assert sms.receipt(record.provider_id, "delivered", at=20.0, detail="stat:DELIVRD")
    assert sms.receipt(record.provider_id, "delivered", at=20.0, detail="stat:DELIVRD")
    assert sms.receipt(record.provider_id, "submitted", at=15.0)   # late: no downgrade
    assert sms.receipt(record.provider_id, "failed", at=25.0)      # the phone has it
    row = store.conn.execute("SELECT state, final_at, receipt_detail FROM sms_messages "
                             "WHERE id = ?", (record.id,)).fetchone()
    assert row == ("delivered", 20.0, "stat:DELIVRD")


def test_failed_then_delivered_believes_the_phone(store):
    sms = service(store)
    record = sms.send("+966501234567", "hi", purpose="test", locale="en")
    sms.receipt(record.provider_id, "failed", at=10.0)
    assert sms.get(record.id).state == "failed"
    sms.receipt(record.provider_id, "expired", at=11.0)
    assert sms.get(record.id).state == "failed"                    # a final state stays
    sms.receipt(record.provider_id, "delivered", at=12.0)
    assert sms.get(record.id).state == "delivered"


def test_a_receipt_that_overtakes_the_send_is_kept_and_applied(store):
    class Racing(RecordingDriver):
        """The gateway's receipt arrives while its answer to the send is still on the way."""

        def send(self, message):
            provider_id = super().send(message)
            assert sms.receipt(provider_id, "delivered", at=5.0) is False
            return provider_id

    sms = service(store, Racing())
    record = sms.send("+966501234567", "hi", purpose="test", locale="en")
    assert record.state == "delivered"
    assert store.conn.execute("SELECT count(*) FROM sms_receipts WHERE applied_to IS NULL"
                              ).fetchone()[0] == 0


def test_receipt_for_an_unknown_message_and_unknown_states(store):
    sms = service(store)
    assert sms.receipt("nobody", "delivered") is False
    with pytest.raises(ValueError):
        sms.receipt("nobody", "teleported")


def test_only_what_the_gateway_did_not_take_is_retried(store):
    clock = [1000.0]

    class Refusing(RecordingDriver):
        def __init__(self):
            super().__init__()
            self.refuse = 1

        def send(self, message):
            if self.refuse:
                self.refuse -= 1
                raise SmsSendError("gateway answered 503")
            return super().send(message)

    sms = service(store, Refusing(), clock=lambda: clock[0], retry_base_s=10)
    refused = sms.send("+966501234567", "a", purpose="test", locale="en")
    taken = sms.send("+966501234568", "b", purpose="test", locale="en")
    assert (refused.state, taken.state) == ("queued", "submitted")
    clock[0] += 3600
    assert sms.retry_due() == 1
    assert [m.body for m in sms.driver.sent] == ["b", "a"]
    assert sms.retry_due() == 0


def test_a_message_whose_sender_died_mid_send_is_sent_by_a_later_pass(store):
    clock = [1000.0]

    class Dying(RecordingDriver):
        def send(self, message):
            raise KeyboardInterrupt  # the process stops between the record and the gateway

    with pytest.raises(KeyboardInterrupt):
        service(store, Dying(), clock=lambda: clock[0]).send("+966501234567", "a",
                                                             purpose="t", locale="en")
    later = service(store, clock=lambda: clock[0])
    assert later.retry_due() == 0          # not while the first attempt may still be running
    clock[0] += 121
    assert later.retry_due() == 1 and [m.body for m in later.driver.sent] == ["a"]
    assert later.retry_due() == 0


def test_a_final_refusal_is_failed_with_the_reason(store):
    class Refusing(RecordingDriver):
        def send(self, message):
            raise SmsSendError("gateway answered 403", retryable=False)

    record = service(store, Refusing()).send("+966501234567", "a", purpose="t", locale="en")
    assert (record.state, record.last_error) == ("failed", "gateway answered 403")


# -- opt-out -------------------------------------------------------------------------------------

def test_opted_out_numbers_get_no_awareness_but_still_their_codes(store):
    sms = service(store)
    with store.transaction() as conn:
        optout.opt_out(conn, "+966501234567", at=1.0, via="sms")
    with pytest.raises(SmsOptedOut):
        sms.send("+966501234567", "Keep the park clean", purpose="awareness", locale="en")
    assert sms.send("+966501234567", "code 123456", purpose="login_code",
                    locale="en").state == "submitted"
    assert sms.send("+966501234568", "Keep the park clean", purpose="awareness",
                    locale="en").state == "submitted"
    assert optout.opted_out(store.conn, ["+966501234567", "+966501234568"]) == {"+966501234567"}
    assert store.conn.execute("SELECT count(*) FROM sms_messages WHERE purpose = 'awareness'"
                              ).fetchone()[0] == 1


# -- configuration -------------------------------------------------------------------------------

@pytest.mark.parametrize("values, key", [
    ({"driver": "kannel", "url": "", "callback_url": "http://a", "hook_secret": "x" * 16}, "url"),
    ({"driver": "kannel", "url": "http://k:13013/cgi-bin/sendsms", "hook_secret": "x" * 16},
     "callback_url"),
    ({"driver": "kannel", "url": "http://k:13013/cgi-bin/sendsms", "callback_url": "http://a"},
     "hook_secret"),
    ({"hook_secret": "short"}, "hook_secret"),
    ({"hook_secret": "x" * 15 + "/"}, "hook_secret"),
    ({"dlr_mask": 64}, "dlr_mask"),
    ({"auto_reply_per_number": 0}, "auto_reply_per_number"),
    ({"driver": "pigeon"}, "driver"),
])
def test_sms_settings_are_checked_by_key(values, key):
    with pytest.raises(ValueError, match=key):
        SmsConfig(**values).validate()


def test_the_hook_secret_compare():
    config = SmsConfig(hook_secret="s" * 20)
    assert config.hook_secret_matches("s" * 20)
    assert not config.hook_secret_matches("s" * 19) and not config.hook_secret_matches("")
    assert not SmsConfig().hook_secret_matches("")
    assert "s" * 20 not in repr(config)


# -- the store upgrade ---------------------------------------------------------------------------

def test_a_store_with_sent_failed_and_abandoned_messages_upgrades(store_before):
    path = store_before("portal", "sms_delivery")
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=ON")
    for i, state in enumerate(("sent", "failed", "abandoned", "delivered", "queued"), 1):
        raw.execute("INSERT INTO sms_messages (id, to_number, body, purpose, locale, driver, "
                    "state, attempts, provider_id, next_attempt_at, created_at, updated_at) "
                    "VALUES (?, '+966501234567', 'x', 'report_status', 'ar', 'http', ?, 1, ?, "
                    "?, 100.0, 200.0)",
                    (i, state, f"p{i}" if state in ("sent", "delivered") else None,
                     300.0 if state == "failed" else None))
    raw.execute("INSERT INTO reports (id, tracking, token, category, description, priority, "
                "status, channel, locale, team, created_at, updated_at, due_at) VALUES "
                "(1, '940-2026-000001', 't', 'lighting', 'd', 'normal', 'received', 'portal', "
                "'ar', 'lighting', 1.0, 1.0, 2.0)")
    raw.execute("INSERT INTO report_notifications (report_id, to_number, body, purpose, locale, "
                "created_at, sms_id, handed_at) VALUES (1, '+966501234567', 'x', "
                "'report_status', 'ar', 1.0, 2, 1.0)")
    raw.commit()
    raw.close()
    upgraded = Store(path)
    assert upgraded.conn.execute("SELECT id, state, next_attempt_at, submitted_at FROM "
                                 "sms_messages ORDER BY id").fetchall() == [
        (1, "submitted", None, 200.0), (2, "queued", 300.0, None), (3, "failed", None, None),
        (4, "delivered", None, 200.0), (5, "queued", None, None)]
    assert upgraded.conn.execute("SELECT sms_id FROM report_notifications").fetchall() == [(2,)]
    assert upgraded.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    upgraded.close()


# -- phone numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["۰۵۰۱۲۳۴۵۶۷", "٠٥٠١٢٣٤٥٦٧", "+٩٦٦٥٠١٢٣٤٥٦٧", "05 0123 4567"])
def test_saudi_mobiles_in_any_digits_become_e164(typed):
    assert normalise_saudi_mobile(typed) == "+966501234567"


@pytest.mark.parametrize("sender, expected", [
    ("966501234567", "+966501234567"), ("+966501234567", "+966501234567"),
    ("0501234567", "+966501234567"), ("00966501234567", "+966501234567"),
    ("٩٦٦٥٠١٢٣٤٥٦٧", "+966501234567"), ("14155552671", "+14155552671"),
    ("940", None), ("AMANAH", None), ("", None), ("9" * 40, None),
])
def test_gateway_senders_become_e164_or_nothing(sender, expected):
    assert sender_e164(sender) == expected
