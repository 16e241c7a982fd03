"""The SMPP driver against a real SMPP server (node-smpp's, tests/peers_smpp.py): binding,
encodings and concatenation as the server decodes them, receipts, replies, enquire_link,
reconnects with backoff, throttling, and a password that never reaches the log."""

from __future__ import annotations

import ast
import itertools
import logging
import threading
import time
from pathlib import Path

import pytest

from captive_portal.config import SmsConfig
from captive_portal.sms import segments
from captive_portal.sms import smpp as smpp_module
from captive_portal.sms.base import OutgoingSms, SmsSendError
from captive_portal.sms.smpp import SmppLink, SmppSettings, SmppSmsDriver, parse_receipt, probe
from tests.peers_smpp import PASSWORD, SYSTEM_ID, smsc  # noqa: F401
from tests.support import wait_for

ARABIC_UPDATE = ("بلاغك رقم 940-2026-000123 أُغلق. رمز الإغلاق 482913. للتأكيد أرسل الرمز "
                 "ثم نعم، ولإعادة فتح البلاغ أرسل الرمز ثم لا. شكراً لتواصلك مع أمانة المنطقة.")


class Sinks:
    """What the link reports: receipts and replies, as the service would be told them."""

    def __init__(self):
        self.receipts: list[tuple[str, str, str | None]] = []
        self.incoming: list[tuple[str, str]] = []

    def receipt(self, provider_id, state, *, at=None, detail=None):
        self.receipts.append((provider_id, state, detail))
        return True

    def reply(self, sender, text, *, at=None, gateway_id=None):
        self.incoming.append((sender, text))


@pytest.fixture
def link_to(smsc):  # noqa: F811
    links: list[SmppLink] = []

    def make(sinks: Sinks | None = None, **overrides) -> SmppLink:
        sinks = sinks or Sinks()
        fields = {"host": "127.0.0.1", "port": smsc.port, "system_id": SYSTEM_ID,
                  "password": PASSWORD, "system_type": "OASIS", "rate": 200.0,
                  "enquire_link_s": 30.0, "reconnect_min_s": 0.1, "reconnect_max_s": 2.0,
                  "timeout_s": 3.0}
        fields.update(overrides)
        link = SmppLink(SmppSettings(**fields), on_receipt=sinks.receipt,
                        on_incoming=sinks.reply)
        link.sinks = sinks  # type: ignore[attr-defined]
        links.append(link)
        link.start()
        assert link.bound.wait(10), "the link did not bind"
        return link

    yield make
    for link in links:
        link.stop()


def test_bind_transceiver_with_system_id_and_type(smsc, link_to):  # noqa: F811
    link_to()
    [bind] = smsc.wait_for("bind")
    assert bind["ok"] and bind["system_id"] == SYSTEM_ID and bind["system_type"] == "OASIS"


def test_arabic_goes_as_ucs2_in_udh_parts_that_reassemble(smsc, link_to):  # noqa: F811
    link = link_to()
    seg = segments.segment(ARABIC_UPDATE)
    assert seg.encoding == "ucs2" and seg.segments == 3
    head = link.submit("+966501234567", ARABIC_UPDATE, "AMANAH")
    parts = smsc.wait_for("submit_sm", 3)
    assert parts[0]["message_id"] == head
    assert {p["data_coding"] for p in parts} == {8}
    assert all(p["esm_class"] & 0x40 for p in parts)
    assert {p["destination_addr"] for p in parts} == {"966501234567"}
    assert {(p["dest_addr_ton"], p["source_addr"]) for p in parts} == {(1, "AMANAH")}
    # The concatenation IE as the server parsed it: 00 03 <ref> <total> <seq>.
    ies = [p["udh"][0] for p in parts]
    assert {ie[:4] for ie in ies} == {"0003"} and len({ie[4:6] for ie in ies}) == 1
    assert [ie[6:] for ie in ies] == ["0301", "0302", "0303"]
    assert "".join(p["text"] for p in parts) == ARABIC_UPDATE
    assert all(segments.units(p["text"], "ucs2") <= 67 for p in parts)
    # One receipt per part; the service hears one, under the first part's id, once all are in.
    smsc.wait_for("receipt_sent", 3)
    wait_for(lambda: link.sinks.receipts, what="the folded receipt")
    assert link.sinks.receipts == [(head, "delivered", None)]


def test_sar_concatenation_when_configured(smsc, link_to):  # noqa: F811
    link = link_to(concatenation="sar")
    link.submit("+966501234567", ARABIC_UPDATE, "AMANAH")
    parts = smsc.wait_for("submit_sm", 3)
    assert [p["sar"]["seq"] for p in parts] == [1, 2, 3]
    assert {p["sar"]["total"] for p in parts} == {3} and len({p["sar"]["ref"] for p in parts}) == 1
    assert not any(p["esm_class"] & 0x40 for p in parts) and all(p["udh"] == [] for p in parts)
    assert "".join(p["text"] for p in parts) == ARABIC_UPDATE


def test_gsm7_text_with_extension_characters(smsc, link_to):  # noqa: F811
    link = link_to()
    text = "Report 940-2026-000123 closed [code 482913] {fee: 0 €} ~ thank you"
    link.submit("+966501234567", text, "AMANAH")
    [part] = smsc.wait_for("submit_sm")
    assert part["data_coding"] == 0 and part["esm_class"] == 0 and part["text"] == text


def test_long_gsm7_splits_at_153_septets(smsc, link_to):  # noqa: F811
    link = link_to()
    text = ("Your report 940-2026-000123 was resolved. " * 5).strip()
    link.submit("+966501234567", text, "AMANAH")
    parts = smsc.wait_for("submit_sm", 2)
    assert {p["data_coding"] for p in parts} == {0}
    assert len(parts[0]["text"]) == 153 and "".join(p["text"] for p in parts) == text


@pytest.mark.parametrize("stat", ["UNDELIV", "REJECTD", "EXPIRED"])
def test_failed_receipts(smsc, link_to, stat):  # noqa: F811
    smsc.command("receipts", stat=stat)
    link = link_to()
    head = link.submit("+966501234567", "code 482913", "AMANAH")
    wait_for(lambda: link.sinks.receipts, what="the receipt")
    [(provider_id, state, detail)] = link.sinks.receipts
    assert provider_id == head
    assert state == ("expired" if stat == "EXPIRED" else "failed")
    assert detail.startswith(stat)


def test_one_failed_part_fails_the_message_at_once(smsc, link_to):  # noqa: F811
    smsc.command("receipts", stat=None)
    link = link_to()
    head = link.submit("+966501234567", ARABIC_UPDATE, "AMANAH")
    parts = smsc.wait_for("submit_sm", 3)
    smsc.command("receipt", message_id=parts[1]["message_id"], stat="UNDELIV")
    wait_for(lambda: link.sinks.receipts, what="the receipt")
    assert link.sinks.receipts == [(head, "failed", "UNDELIV err:001")]


def test_citizen_reply_in_arabic_reaches_the_service(smsc, link_to):  # noqa: F811
    link = link_to()
    answer = smsc.mo("966501234567", "٤٨٢٩١٣ نعم")
    assert answer["status"] == 0
    wait_for(lambda: link.sinks.incoming, what="the reply")
    assert link.sinks.incoming == [("+966501234567", "٤٨٢٩١٣ نعم")]


def test_a_reply_the_service_cannot_take_is_refused_for_redelivery(smsc, link_to):  # noqa: F811
    def broken(sender, text, *, at=None, gateway_id=None):
        raise RuntimeError("store unavailable")
    link = link_to()
    link.on_incoming = broken
    assert smsc.mo("966501234567", "482913 yes")["status"] == 0x64  # ESME_RX_T_APPN


def test_enquire_link_on_a_quiet_link(smsc, link_to):  # noqa: F811
    link = link_to(enquire_link_s=0.2)
    smsc.wait_for("enquire_link", 3)
    assert link.binds == 1 and link.bound.is_set()


def test_an_unanswered_enquire_link_drops_the_link_and_binds_again(smsc, link_to):  # noqa: F811
    smsc.command("mute_enquire_link", on=True)
    link = link_to(enquire_link_s=0.2, timeout_s=0.5)
    smsc.wait_for("closed")
    smsc.command("mute_enquire_link", on=False)
    wait_for(lambda: link.binds >= 2, what="a second bind")
    link.submit("+966501234567", "still here", "AMANAH")
    assert smsc.wait_for("submit_sm")[-1]["text"] == "still here"


def test_link_drop_reconnects_with_backoff(smsc, link_to, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="captive_portal.sms.smpp")
    link = link_to(reconnect_min_s=0.1, reconnect_max_s=0.4, timeout_s=0.5)
    smsc.kill()
    wait_for(lambda: not link.bound.is_set(), what="the link to notice")
    with pytest.raises(Exception) as refused:
        link.submit("+966501234567", "while down", "AMANAH")
    assert "down" in str(refused.value) or "lost" in str(refused.value)
    wait_for(lambda: len([r for r in caplog.records if "next try" in r.getMessage()]) >= 4,
             what="several failed binds")
    delays = [float(r.getMessage().rsplit("in ", 1)[1].split()[0])
              for r in caplog.records if "next try" in r.getMessage()]
    assert delays[:4] == [0.2, 0.4, 0.4, 0.4]  # doubling from the first retry, capped
    smsc.start()  # the same port
    wait_for(lambda: link.binds >= 2, what="the bind after the SMSC came back")
    link.submit("+966501234567", "after the outage", "AMANAH")
    assert smsc.wait_for("submit_sm")[-1]["text"] == "after the outage"


def test_throttled_to_the_binds_rate(smsc, link_to):  # noqa: F811
    rate, count = 8.0, 9
    link = link_to(rate=rate)
    threads = [threading.Thread(target=link.submit, args=("+966501234567", f"n{i}", "AMANAH"))
               for i in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    took = time.monotonic() - started
    arrivals = [p["at"] for p in smsc.wait_for("submit_sm", count)]
    assert took >= (count - 1) / rate
    # Measured at the server too (its own clock, when its event loop got to each PDU: give it
    # 50 ms of jitter on a loaded machine; unpaced, the nine arrive within a few ms).
    assert (max(arrivals) - min(arrivals)) / 1000 >= (count - 1) / rate - 0.05
    gaps = sorted(b - a for a, b in itertools.pairwise(arrivals))
    assert gaps[0] >= 1000 / rate - 50  # no two at once, whatever the threads did


def test_wrong_password_is_refused_and_never_logged(smsc, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    settings = SmppSettings(host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID,
                            password="x" + PASSWORD[1:], reconnect_min_s=0.1,
                            reconnect_max_s=0.2, timeout_s=2.0)
    sinks = Sinks()
    link = SmppLink(settings, on_receipt=sinks.receipt, on_incoming=sinks.reply)
    link.start()
    try:
        smsc.wait_for("bind", 2)
        assert not link.bound.is_set() and not any(b["ok"] for b in smsc.of("bind"))
    finally:
        link.stop()
    shown = "\n".join(r.getMessage() for r in caplog.records) + repr(settings)
    for secret in ("x" + PASSWORD[1:], PASSWORD):
        assert secret not in shown and secret.encode().hex() not in shown
    assert "bind" in shown  # the failure itself is told


def test_driver_sends_on_a_transmitter_until_started_then_holds_the_transceiver(smsc):  # noqa: F811
    driver = SmppSmsDriver(SmppSettings(host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID,
                                        password=PASSWORD, timeout_s=2.0))
    try:
        # A process that only sends (a portal worker): a transmitter, which the SMSC never
        # hands deliver_sm to; the receipt waits at the SMSC.
        first = driver.send(OutgoingSms(1, "+966501234567", "رمزك 1234", "AMANAH", "ucs2", 1))
        assert smsc.wait_for("bind")[0]["mode"] == "bind_transmitter"
        assert smsc.wait_for("receipt_held")[0]["message_id"] == first
        # The process that started the service: the transceiver takes over, the held receipt
        # and new ones reach the service.
        sinks = Sinks()
        driver.start(sinks.receipt, sinks.reply)
        assert smsc.wait_for("bind", 2)[1]["mode"] == "bind_transceiver"
        smsc.wait_for("unbind")  # the transmitter gave way
        second = driver.send(OutgoingSms(2, "+966501234567", "code 1", "AMANAH", "gsm7", 1))
        wait_for(lambda: len(sinks.receipts) == 2, what="both receipts")
        assert sorted(sinks.receipts) == sorted([(first, "delivered", None),
                                                 (second, "delivered", None)])
    finally:
        driver.stop()
    assert smsc.wait_for("unbind", 2)
    assert PASSWORD not in repr(driver)


def test_receipt_text_parsing():
    fields = parse_receipt("id:5a00f sub:001 dlvrd:000 submit date:2612060101 done "
                           "date:2612060102 stat:UNDELIV err:034 text:hello")
    assert fields == {"id": "5a00f", "stat": "UNDELIV", "err": "034"}


def test_only_the_smpp_driver_imports_smpplib():
    root = Path(__file__).resolve().parents[2]
    importers = set()
    for package in ("core", "captive_portal", "controller", "netconfig", "agents", "reporting"):
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if any(n == "smpplib" or n.startswith("smpplib.") for n in names):
                    importers.add(path.relative_to(root).as_posix())
    assert importers == {"captive_portal/sms/smpp.py"}


def test_probe_binds_and_unbinds_without_sending(smsc):  # noqa: F811
    good = SmppSettings(host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID,
                        password=PASSWORD, timeout_s=2.0)
    assert probe(good) is None
    assert smsc.wait_for("unbind") and smsc.of("bind")[0]["mode"] == "bind_transmitter"
    refused = probe(SmppSettings(host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID,
                                 password="x" + PASSWORD[1:], timeout_s=2.0))
    assert refused.startswith("the SMSC refused the bind") and PASSWORD[1:] not in refused
    assert smsc.of("submit_sm") == []
    smsc.kill()
    assert probe(good).startswith(f"cannot reach 127.0.0.1:{smsc.port}")


def test_throttled_by_the_smsc_the_part_is_offered_again(smsc, link_to):  # noqa: F811
    link = link_to()
    smsc.command("refuse", status=0x58, count=1)  # ESME_RTHROTTLED
    started = time.monotonic()
    head = link.submit("+966501234567", "code 1234", "AMANAH")
    assert time.monotonic() - started >= 1.0  # the pause before offering it again
    [refused] = smsc.of("submit_sm_refused")
    [accepted] = smsc.wait_for("submit_sm")
    assert accepted["message_id"] == head and accepted["at"] - refused["at"] >= 1000


@pytest.mark.parametrize("status, retryable", [(0x0B, False), (0x14, True)])
def test_refusals_say_whether_a_retry_can_help(smsc, status, retryable):  # noqa: F811
    driver = SmppSmsDriver(SmppSettings(host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID,
                                        password=PASSWORD, timeout_s=2.0))
    sinks = Sinks()
    driver.start(sinks.receipt, sinks.reply)
    try:
        smsc.wait_for("bind")
        smsc.command("refuse", status=status, count=1)
        with pytest.raises(SmsSendError) as refused:
            driver.send(OutgoingSms(1, "+966501234567", "x", "AMANAH", "gsm7", 1))
        assert refused.value.retryable is retryable and f"0x{status:08x}" in str(refused.value)
    finally:
        driver.stop()


@pytest.mark.parametrize("key, value, named", [
    ("smpp_password", "123456789", "smpp_password"),
    ("smpp_system_id", "", "smpp_system_id"),
    ("smpp_host", "", "smpp_host"),
    ("smpp_rate", 0.0, "smpp_rate"),
    ("smpp_concatenation", "both", "smpp_concatenation"),
    ("smpp_reconnect_min_s", 120.0, "smpp_reconnect_min_s"),
    ("smpp_source_ton", 99, "smpp_source_ton"),
])
def test_smpp_settings_are_checked_naming_the_key(key, value, named):
    config = SmsConfig(driver="smpp", smpp_host="smsc.example", smpp_system_id="oasis",
                       smpp_password="secret")
    setattr(config, key, value)
    with pytest.raises(ValueError, match=named):
        config.validate()


def test_a_long_reply_in_parts_reaches_the_service_once_whole(smsc, link_to):  # noqa: F811
    link = link_to()
    parts = ["٤٨٢٩١٣ نعم، تم إصلاح الإنارة في الممشى بالكامل والحمد لله، ",
             "شكراً لفريق الأمانة على سرعة الاستجابة."]
    smsc.command("mo", **{"from": "966501234567", "to": "940", "parts": parts})
    answers = smsc.wait_for("mo_sent", 2)
    assert [a["status"] for a in answers] == [0, 0]
    wait_for(lambda: link.sinks.incoming, what="the reply")
    assert link.sinks.incoming == [("+966501234567", "".join(parts))]


def test_a_pdu_nobody_knows_is_ignored_and_the_link_goes_on(smsc, link_to, caplog):  # noqa: F811
    link = link_to()
    smsc.command("garbage")
    wait_for(lambda: any("unknown command" in r.getMessage() for r in caplog.records),
             what="the PDU read and refused")
    link.submit("+966501234567", "after the garbage", "AMANAH")
    assert smsc.wait_for("submit_sm")[-1]["text"] == "after the garbage"
    assert link.binds == 1 and smsc.of("closed") == []


def test_parts_awaiting_receipts_are_bounded(smsc, link_to, monkeypatch):  # noqa: F811
    monkeypatch.setattr(smpp_module, "MESSAGES_KEPT", 2)
    smsc.command("receipts", stat=None)  # receipts that never come
    link = link_to()
    heads = [link.submit("+966501234567", ARABIC_UPDATE, "AMANAH") for _ in range(3)]
    assert list(link._groups) == heads[1:] and len(link._parts) == 6
    # The forgotten message's receipt still reaches the service, under its own id.
    smsc.command("receipt", message_id=heads[0], stat="DELIVRD")
    wait_for(lambda: link.sinks.receipts, what="the receipt")
    assert link.sinks.receipts == [(heads[0], "delivered", None)]
