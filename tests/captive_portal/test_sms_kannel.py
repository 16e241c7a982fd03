"""The Kannel driver against a real Kannel (bearerbox + smsbox from Debian) with fakesmsc as the
operator's SMSC: an Arabic closure code travels as UCS-2 to the SMSC, its delivery report comes
back through the admin app's hook and marks it delivered, and the citizen's reply injected at
the SMSC closes or reopens the report. Then the hooks alone, against everything a stranger can
send them."""

from __future__ import annotations

import socket
import threading
import urllib.parse

import pytest
from waitress import create_server

from captive_portal.config import SmsConfig
from captive_portal.reports.notify import Notifier
from captive_portal.sms import SmsService, make_driver
from captive_portal.sms.kannel import KannelSmsDriver, parse_dlr, parse_mo
from tests.captive_portal.reports_pipeline import FAST
from tests.captive_portal.sms_harness import resolved_report, status_of
from tests.controller.web_harness import build_app
from tests.peers_kannel import kannel_gateway  # noqa: F401
from tests.support import free_port, wait_for

SECRET = "hooks-secret-0123456789"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _serve(server) -> None:
    try:
        server.run()
    except OSError:  # closed under its select() at the end of the test
        pass


@pytest.fixture
def served_admin(config, secrets):
    """The admin app on a loopback port (Kannel calls its hooks); ``start()`` once the [sms]
    section is complete."""
    port = free_port()
    running = []

    def start():
        app = build_app(config, secrets)
        server = create_server(app, host="127.0.0.1", port=port, threads=4)
        thread = threading.Thread(target=_serve, args=(server,), daemon=True)
        thread.start()
        running.append(server)
        return app

    yield f"http://127.0.0.1:{port}", start
    for server in running:
        server.close()


def _state(store, message_id):
    return store.conn.execute("SELECT state FROM sms_messages WHERE id = ?",
                              (message_id,)).fetchone()[0]


def test_an_arabic_closure_code_through_kannel_and_the_replies(config, store, secrets,
                                                             kannel_gateway, served_admin):
    callback_url, start_admin = served_admin
    kannel = kannel_gateway(callback_url, SECRET)
    config.sms = SmsConfig(driver="kannel", url=kannel.sendsms_url, username=kannel.username,
                           password=kannel.password, callback_url=callback_url,
                           hook_secret=SECRET, sender="AMANAH")
    config.sms.validate()
    start_admin()
    sms = SmsService(lambda: store, make_driver(config.sms), config.sms, reports_config=FAST)
    confirmed, confirm_code = resolved_report(store, phone="0551234567")
    disputed, dispute_code = resolved_report(store, phone="0561234567")
    Notifier(store, sms, lambda: 0.0).deliver_pending()
    closures = dict(store.conn.execute(
        "SELECT to_number, id FROM sms_messages WHERE purpose = 'closure_code'"))
    assert len(closures) == 2
    assert {_state(store, i) for i in closures.values()} <= {"submitted", "delivered"}

    # fakesmsc received the closure SMS as UCS-2, and it reads as the Arabic we sent
    sent = dict(store.conn.execute(
        "SELECT id, body FROM sms_messages WHERE purpose = 'closure_code'"))
    at_smsc = {mt.text: mt for mt in kannel.fake.wait(
        store.conn.execute("SELECT count(*) FROM sms_messages").fetchone()[0])}
    for message_id, body in sent.items():
        assert body in at_smsc, [m.raw[:160] for m in at_smsc.values()]
        mt = at_smsc[body]
        assert "تمت معالجة بلاغك" in mt.text and mt.sender == "AMANAH"
        assert "ucs" in mt.kind or mt.kind.startswith("udh"), mt.raw
        assert "%06" in mt.raw            # Arabic letters as UTF-16 octets (U+06xx)
    # the SMSC's delivery report came back through the hook
    for message_id in closures.values():
        wait_for(lambda i=message_id: _state(store, i) == "delivered", 20,
                 what=f"delivery report for SMS {message_id} ({kannel.logs()[-600:]})")
    detail = store.conn.execute("SELECT receipt_detail, final_at FROM sms_messages WHERE id = ?",
                                (closures["+966551234567"],)).fetchone()
    assert "smsc id" in detail[0] and detail[1] > 0

    # the citizens answer from their phones
    kannel.fake.inject("966551234567", "940", f"{confirm_code.translate(ARABIC_INDIC)} نعم")
    kannel.fake.inject("966561234567", "940", f"لا {dispute_code}")
    wait_for(lambda: status_of(store, confirmed) == "closed", 20,
             what=f"the report closed by SMS ({kannel.logs()[-600:]})")
    wait_for(lambda: status_of(store, disputed) == "reopened", 20, what="reopened by SMS")

    def replies():
        return store.conn.execute("SELECT from_number, outcome, gateway_id FROM sms_incoming "
                                  "ORDER BY id").fetchall()
    # Each reply's outcome is written once its answer SMS is handed over, after the report's
    # status changed: wait for both outcomes, then compare them.
    wait_for(lambda: all(r[1] != "received" for r in replies()), 20, what="both outcomes")
    assert [(r[0], r[1]) for r in replies()] == [("+966551234567", "closed"),
                                                 ("+966561234567", "reopened")]
    assert all(r[2] for r in replies())   # Kannel's id for each: a repeat is ignored


def test_an_unknown_reply_gets_one_answer_through_kannel(config, store, secrets, kannel_gateway,
                                                        served_admin):
    callback_url, start_admin = served_admin
    kannel = kannel_gateway(callback_url, SECRET)
    config.sms = SmsConfig(driver="kannel", url=kannel.sendsms_url, username=kannel.username,
                           password=kannel.password, callback_url=callback_url,
                           hook_secret=SECRET)
    start_admin()
    for turn in range(3):
        kannel.fake.inject("966551234567", "940", f"شكراً {turn}")
    wait_for(lambda: store.conn.execute("SELECT count(*) FROM sms_incoming").fetchone()[0] == 3,
             20, what="three replies heard")
    answers = kannel.fake.wait(1)
    assert "Amanah 940" in answers[0].text and answers[0].receiver == "+966551234567"
    assert store.conn.execute("SELECT count(*) FROM sms_messages").fetchone()[0] == 1


def test_kannel_refusing_the_credentials_is_final(config, kannel_gateway, served_admin, store):
    callback_url, _ = served_admin
    kannel = kannel_gateway(callback_url, SECRET)
    driver = KannelSmsDriver(kannel.sendsms_url, username="oasis", password="wrong",
                             callback_url=callback_url, hook_secret=SECRET)
    sms = SmsService(lambda: store, driver, SmsConfig(), reports_config=FAST)
    record = sms.send("+966551234567", "hello", purpose="test", locale="en")
    assert record.state == "failed" and "403" in record.last_error


# -- the hooks alone -----------------------------------------------------------------------------

@pytest.fixture
def hooks(config, secrets):
    config.sms = SmsConfig(hook_secret=SECRET)
    return build_app(config, secrets).test_client()


def test_hooks_need_the_secret(hooks):
    assert hooks.get("/hooks/sms/kannel/dlr/wrong-secret-0123456?id=1&type=1").status_code == 404
    assert hooks.get("/hooks/sms/kannel/mo/?from=1&text=x").status_code == 404


def test_hooks_without_a_configured_secret_are_not_there(config, secrets):
    client = build_app(config, secrets).test_client()
    assert client.get("/hooks/sms/kannel/dlr/?id=1&type=1").status_code == 404
    assert client.get("/hooks/sms/kannel/dlr/x?id=1&type=1").status_code == 404


def test_a_delivery_report_for_a_message_not_yet_known_is_kept(hooks, store):
    reply = hooks.get(f"/hooks/sms/kannel/dlr/{SECRET}?id=77&type=1&answer=&at=1796500000")
    assert (reply.status_code, reply.get_data(as_text=True).strip()) == (200, "kept")
    assert store.conn.execute("SELECT provider_id, state, at FROM sms_receipts").fetchall() == [
        ("kannel:77", "delivered", 1796500000.0)]


NASTY = [
    "", "id=", "id=1", "id=1&type=", "id=abc&type=1", "id=1&type=999", "id=-1&type=1",
    "id=1&type=1&at=99999999999999999999", "id=1&type=1&at=nonsense", "id=" + "9" * 40 + "&type=1",
    "id=1&type=1&answer=" + "%FF%FE" * 50, "id=1&id=2&type=1&type=2", "%%%", "id=%00&type=%00",
    "from=&text=", "from=%FF&text=%D8", "from=966551234567&text=%00&coding=2",
    "from=966551234567&text=abc&charset=nonexistent-charset",
    "from=966551234567&text=%06&coding=2", "from=" + "1" * 500 + "&text=x",
    "from=966551234567&text=x&at=2026-13-45+99:99:99", "from=x&" + "a=b&" * 40,
]


@pytest.mark.parametrize("query", NASTY)
def test_no_request_makes_a_hook_fail(hooks, query):
    for kind in ("dlr", "mo"):
        path = f"/hooks/sms/kannel/{kind}/{SECRET}"
        assert hooks.get(f"{path}?{query}").status_code in (200, 400), (kind, query)
        assert hooks.post(path, data=query,
                          content_type="application/x-www-form-urlencoded").status_code in (
            200, 400), (kind, query)


def test_raw_bytes_reach_the_served_hooks_without_a_5xx(config, store, served_admin):
    """Over a socket, as a broken gateway or a stranger would send them (bytes that are not
    UTF-8, a NUL, a lone CR), to the app served as `oasis run` serves it."""
    url, start_admin = served_admin
    config.sms = SmsConfig(hook_secret=SECRET)
    start_admin()
    host, port = url.removeprefix("http://").split(":")
    for kind in ("dlr", "mo"):
        for query in (b"id=1&type=1&answer=\xff\xfe", b"from=9665\xff&text=\xd8\xa7",
                      b"from=1&text=a\x00b", b"id=1\rtype=1", b"\xff" * 300):
            with socket.create_connection((host, int(port)), timeout=10) as conn:
                conn.sendall(b"GET /hooks/sms/kannel/" + kind.encode() + b"/" + SECRET.encode()
                             + b"?" + query + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            status = int(answer.split(b" ", 2)[1])
            assert 200 <= status < 500, (kind, query, answer[:200])
    assert store.conn.execute("SELECT count(*) FROM sms_messages").fetchone()[0] == 0


def test_an_oversized_hook_request_is_refused(hooks):
    path = f"/hooks/sms/kannel/mo/{SECRET}"
    assert hooks.get(f"{path}?from=1&text={'x' * 20000}").status_code == 413
    assert hooks.post(path, data="from=1&text=" + "x" * 20000,
                      content_type="application/x-www-form-urlencoded").status_code == 413


def test_kannel_parameters_read_as_receipts_and_replies():
    assert parse_dlr({"id": "5", "type": "2", "answer": "id:1 stat:EXPIRED"}).state == "expired"
    assert parse_dlr({"id": "5", "type": "16"}).state == "failed"
    assert parse_dlr({"id": "5", "type": "4"}).state == "buffered"
    assert parse_dlr({"id": "5", "type": "32"}) is None
    arabic = urllib.parse.quote("١٢٣ نعم".encode("utf-16-be"))
    mo = parse_mo(f"from=966551234567&text={arabic}&coding=2&id=k-1&at=2026-12-06+01:49:44"
                  .encode())
    assert mo.text == "١٢٣ نعم" and mo.gateway_id == "k-1" and mo.at == 1796521784.0
    latin = parse_mo(b"from=%2B966551234567&text=123456+yes&coding=0&charset=UTF-8")
    assert (latin.sender, latin.text) == ("+966551234567", "123456 yes")
    high = urllib.parse.quote("نعم ١".encode("utf-16-be"))     # octets above 0x7F survive
    assert parse_mo(f"from=1&text={high}&coding=2".encode()).text == "نعم ١"
    assert parse_mo(b"from=1&text=caf%E9&charset=ISO-8859-1").text == "caf\u00e9"

