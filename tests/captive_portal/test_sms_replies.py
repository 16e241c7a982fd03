"""Citizens' SMS: the closure code with yes/no (any digits) closes or reopens the report as the
portal does; STOP/START; one rationed help answer; each SMS acted on once."""

from __future__ import annotations

import pytest

from captive_portal.sms import optout
from captive_portal.sms.replies import ANSWER_KINDS, answer, parse
from captive_portal.sms.segments import segment
from tests.captive_portal.sms_harness import resolved_report, service, status_of

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EASTERN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.mark.parametrize("text, expected", [
    ("123456 yes", (None, "123456", "yes")),
    ("YES 123456", (None, "123456", "yes")),
    ("١٢٣٤٥٦ نعم", (None, "123456", "yes")),
    ("۱۲۳۴۵۶ لا", (None, "123456", "no")),
    ("لا، ١٢٣٤٥٦", (None, "123456", "no")),
    ("STOP", ("stop", None, None)),
    ("إيقاف", ("stop", None, None)),
    ("start", ("start", None, None)),
    ("تشغيل", ("start", None, None)),
    ("thanks!", (None, None, None)),
])
def test_replies_are_read_in_both_languages_and_all_digits(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("word, digits, status", [
    ("نعم", ARABIC_INDIC, "closed"), ("yes", None, "closed"),
    ("لا", EASTERN, "reopened"), ("no", None, "reopened"),
])
def test_the_closure_code_and_yes_or_no_close_or_reopen(store, word, digits, status):
    tracking, code = resolved_report(store)
    sms = service(store)
    typed = code.translate(digits) if digits else code
    outcome = sms.incoming("966551234567", f"{typed} {word}", gateway_id="mo-1")
    assert (outcome.outcome, outcome.tracking) == (status, tracking)
    assert status_of(store, tracking) == status
    assert sms.driver.sent == []   # the report's own SMS says what happened (its notification)
    events = store.conn.execute(
        "SELECT actor, status FROM report_events WHERE kind = 'status' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert events == ("citizen", status)


def test_the_code_picks_the_report_among_several_of_one_number(store):
    first, first_code = resolved_report(store)
    second, _ = resolved_report(store)
    outcome = service(store).incoming("+966551234567", f"{first_code} yes")
    assert outcome.tracking == first
    assert (status_of(store, first), status_of(store, second)) == ("closed", "resolved")


def test_a_wrong_code_counts_against_the_report_and_gets_one_answer(store):
    tracking, code = resolved_report(store)
    sms = service(store)
    wrong = "000000" if code != "000000" else "111111"
    outcome = sms.incoming("+966551234567", f"{wrong} yes", gateway_id="a")
    assert outcome.outcome == "closure_code_invalid" and status_of(store, tracking) == "resolved"
    assert store.conn.execute("SELECT closure_attempts FROM reports").fetchone()[0] == 1
    assert [m.body for m in sms.driver.sent] == [answer("closure_code_invalid")]
    sms.incoming("+966551234567", f"{wrong} yes", gateway_id="b")
    assert len(sms.driver.sent) == 1   # rationed: one answer per number per day


def test_a_number_from_elsewhere_cannot_answer(store):
    tracking, code = resolved_report(store)
    outcome = service(store).incoming("+966501111111", f"{code} yes")
    assert outcome.outcome == "closure_not_pending" and status_of(store, tracking) == "resolved"


def test_stop_and_start(store):
    sms = service(store, auto_reply_per_number=5)
    assert sms.incoming("0551234567", "إيقاف").outcome == "opted_out"
    assert optout.is_opted_out(store.conn, "+966551234567")
    assert sms.incoming("0551234567", "STOP").outcome == "opted_out"
    assert sms.incoming("0551234567", "start").outcome == "opted_in"
    assert not optout.is_opted_out(store.conn, "+966551234567")
    assert [m.body for m in sms.driver.sent] == [answer("opted_out"), answer("opted_out"),
                                                 answer("opted_in")]


def test_an_auto_reply_loop_cannot_start(store):
    """Another machine answering each of our answers gets one, then silence."""
    sms = service(store)
    for turn in range(20):
        assert sms.incoming("+966551234567", f"Auto-reply {turn}: I am away").outcome == "help"
    assert [m.body for m in sms.driver.sent] == [answer("help")]


def test_all_numbers_share_an_hourly_ceiling(store):
    sms = service(store, auto_replies_per_hour=3)
    for i in range(6):
        sms.incoming(f"+96655123450{i}", "hello?")
    assert len(sms.driver.sent) == 3


def test_short_codes_names_and_numbers_abroad_are_recorded_never_answered(store):
    sms = service(store)
    assert sms.incoming("AMANAH", "hello").outcome == "ignored"
    assert sms.incoming("940", "hello").outcome == "ignored"
    assert sms.incoming("+14155552671", "hello").outcome == "help"
    assert sms.incoming("+966112345678", "STOP").outcome == "opted_out"   # a landline
    assert sms.driver.sent == []
    assert store.conn.execute("SELECT count(*) FROM sms_incoming").fetchone()[0] == 4


def test_a_repeated_delivery_of_one_sms_is_acted_on_once(store):
    tracking, code = resolved_report(store)
    sms = service(store)
    first = sms.incoming("+966551234567", f"{code} no", gateway_id="kannel-42")
    assert status_of(store, tracking) == "reopened"
    again = sms.incoming("+966551234567", f"{code} no", gateway_id="kannel-42")
    assert (first.outcome, again.outcome, again.duplicate) == ("reopened", "reopened", True)
    assert store.conn.execute("SELECT count(*) FROM sms_incoming").fetchone()[0] == 1


def test_answers_stay_within_three_segments():
    for kind in ANSWER_KINDS:
        text = answer(kind)
        assert segment(text).segments <= 3, kind
        arabic, english = text.split("\n")
        assert "أمانة 940" in arabic and english.startswith("Amanah 940")
