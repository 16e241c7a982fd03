"""Phone + SMS code login, the rationing of codes, and the SMS gateway's drivers and records."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from captive_portal.config import SmsConfig
from captive_portal.phones import PhoneError, normalise_saudi_mobile
from captive_portal.sms import (
    SMS_DRIVERS,
    ConsoleSmsDriver,
    HttpSmsDriver,
    OutgoingSms,
    SmsService,
    make_driver,
)
from core.store import Store
from tests.captive_portal.portal_harness import Portal

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store


@pytest.mark.parametrize("typed", ["0501234567", "501234567", "+966 50 123 4567",
                                   "00966501234567", "٠٥٠١٢٣٤٥٦٧", "050-123-4567"])
def test_saudi_mobile_numbers_in_every_usual_form(typed):
    assert normalise_saudi_mobile(typed) == "+966501234567"


@pytest.mark.parametrize("typed", ["", "0112345678", "12345", "+14155552671", "05012345678",
                                   "abc", "0" * 40])
def test_landlines_foreign_and_garbage_numbers_are_refused(typed):
    with pytest.raises(PhoneError):
        normalise_saudi_mobile(typed)


@pytest.fixture
def portal(tmp_path):
    return Portal(tmp_path, otp_resend_after_s=0)


def outbox(portal) -> list[dict]:
    with open(portal.settings.sms.outbox, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def ask_code(portal, phone="0501234567", **headers):
    return portal.post("/login/phone", portal.landing(headers=headers), headers=headers,
                       phone=phone)


def test_phone_login_sends_a_code_and_logs_in(portal):
    page = ask_code(portal, **{"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<bdi dir="ltr">050 123 4567</bdi>' in html
    message, = outbox(portal)
    assert message["to"] == "+966501234567" and "expires in 5 minutes" in message["text"]
    code = message["text"].split()[5].rstrip(".")
    reply = portal.post("/login/code", page, code=code)
    assert reply.status_code == 303
    assert portal.gateway.commands[0][0] == "allow"
    store = Store(portal.store_path)
    assert store.conn.execute("SELECT method, phone, state FROM portal_sessions").fetchone() == (
        "sms", "+966501234567", "active")
    assert store.conn.execute("SELECT purpose, state, attempts FROM sms_messages").fetchone() \
        == ("login_code", "submitted", 1)
    store.close()


def test_sms_is_written_in_the_visitors_language(portal):
    ask_code(portal)
    assert "رمز دخولك" in outbox(portal)[0]["text"]


def test_invalid_phone_is_a_translated_400(portal):
    reply = ask_code(portal, phone="0112345678", **{"Accept-Language": "en"})
    assert reply.status_code == 400
    assert "Saudi mobile number" in reply.get_data(as_text=True)


def test_wrong_codes_are_limited_then_the_code_dies(tmp_path):
    portal = Portal(tmp_path, otp_max_attempts=3, otp_resend_after_s=0)
    page = ask_code(portal)
    good = outbox(portal)[0]["text"]
    statuses = [portal.post("/login/code", page, code="000000").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    code = next(word for word in good.split() if word.rstrip("،.").isdigit()).rstrip("،.")
    assert portal.post("/login/code", page, code=code).status_code == 429
    assert portal.gateway.commands == []


def test_codes_expire(portal):
    page = ask_code(portal)
    code = next(w.rstrip("،.") for w in outbox(portal)[0]["text"].split()
                if w.rstrip("،.").isdigit() and len(w.rstrip("،.")) == 6)
    portal.now += portal.settings.portal.otp_ttl_s + 1
    page_fresh = portal.landing()  # a fresh signed link; the code is what expired
    data = {**portal.form(page.get_data(as_text=True)), **portal.params(), "code": code}
    data["csrf_token"] = portal.form(page_fresh.get_data(as_text=True))["csrf_token"]
    reply = portal.client.post("/login/code", data=data)
    assert reply.status_code == 400 and 'data-code="code_expired"' in reply.get_data(as_text=True)


def test_code_format_is_checked(portal):
    page = ask_code(portal)
    reply = portal.post("/login/code", page, code="12ab")
    assert reply.status_code == 400 and 'data-code="code_format"' in reply.get_data(as_text=True)


def test_sends_are_rationed_per_phone(tmp_path):
    portal = Portal(tmp_path, otp_per_phone_per_hour=2, otp_resend_after_s=0)
    assert [ask_code(portal).status_code for _ in range(3)] == [200, 200, 429]
    assert len(outbox(portal)) == 2
    portal.now += 3601
    assert ask_code(portal).status_code == 200


def test_sends_are_rationed_per_device_whatever_the_number(tmp_path):
    portal = Portal(tmp_path, otp_per_client_per_hour=2, otp_resend_after_s=0)
    numbers = ["0501234567", "0551234567", "0561234567"]
    assert [ask_code(portal, phone=n).status_code for n in numbers] == [200, 200, 429]


def test_a_second_code_waits_for_the_resend_gap(tmp_path):
    """Another device asking for the same number within the gap is refused; the device that
    asked (twice, or its post retried after a node died) gets its code's form again, no SMS."""
    portal = Portal(tmp_path, otp_resend_after_s=60)
    assert ask_code(portal).status_code == 200
    again = ask_code(portal)
    assert again.status_code == 200 and 'name="code"' in again.get_data(as_text=True)
    assert len(outbox(portal)) == 1
    reply = portal.post("/login/phone", portal.landing(mac="02:00:00:00:00:02"),
                        phone="0501234567")
    assert reply.status_code == 429 and 'data-code="sms_resend_wait"' in reply.get_data(
        as_text=True)


def test_a_code_post_retried_after_its_answer_was_lost_logs_in_again(portal):
    """The node that accepted the code died before answering: the visitor's retry with the same
    code (to another node) is accepted for that device until the code expires, not for others."""
    page = ask_code(portal)
    code = next(w.rstrip("،.") for w in outbox(portal)[0]["text"].split()
                if w.rstrip("،.").isdigit() and len(w.rstrip("،.")) == 6)
    before = portal.client.get_cookie("oasis_portal").value  # what the browser still holds
    assert portal.post("/login/code", page, code=code).status_code == 303  # answer lost
    portal.client.set_cookie("oasis_portal", before)
    assert portal.post("/login/code", page, code=code).status_code == 303  # the retry
    portal.client.set_cookie("oasis_portal", before)
    assert portal.post("/login/code", page, code="000000").status_code == 400
    other = portal.landing(mac="02:00:00:00:00:02")
    data = {**portal.form(page.get_data(as_text=True)), **portal.params(mac="02:00:00:00:00:02"),
            "code": code, "csrf_token": portal.form(other.get_data(as_text=True))["csrf_token"]}
    refused = portal.client.post("/login/code", data=data)
    assert refused.status_code == 400 and 'data-code="code_expired"' in refused.get_data(
        as_text=True)
    portal.now += portal.settings.portal.otp_ttl_s + 1
    page = portal.landing()
    data = {**portal.form(page.get_data(as_text=True)), "phone": "0501234567", "code": code}
    assert portal.client.post("/login/code", data=data).status_code == 400  # expired


# -- the SMS gateway ------------------------------------------------------------------------

class ProviderStub(BaseHTTPRequestHandler):
    """A provider's HTTP API on loopback: answers with the status the test queues."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.headers.get("Authorization"), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        answer = json.dumps({"id": f"prov-{len(self.server.received)}"}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProviderStub)
    server.received, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock():
    return [1000.0]


def service(tmp_path, clock, config: SmsConfig) -> SmsService:
    store = Store(tmp_path / "sms.db")
    return SmsService(lambda: store, make_driver(config), config, clock=lambda: clock[0])


def test_http_driver_sends_with_credentials_and_records_the_provider_id(tmp_path, provider,
                                                                         clock):
    config = SmsConfig(driver="http", url=f"http://127.0.0.1:{provider.server_port}/send",
                       username="oasis", password="s3cret", sender="AMANAH")
    record = service(tmp_path, clock, config).send("+966501234567", "hello", purpose="test",
                                                   locale="en")
    assert (record.state, record.provider_id, record.attempts) == ("submitted", "prov-1", 1)
    auth, body = provider.received[0]
    assert auth.startswith("Basic ") and body == {"to": "+966501234567", "from": "AMANAH",
                                                  "text": "hello"}
    assert "s3cret" not in repr(make_driver(config)) and "s3cret" not in repr(config)


def test_what_the_gateway_did_not_accept_is_retried_with_backoff(tmp_path, provider, clock):
    config = SmsConfig(driver="http", url=f"http://127.0.0.1:{provider.server_port}/send",
                       max_attempts=3, retry_base_s=10)
    sms = service(tmp_path, clock, config)
    provider.statuses = [503, 503, 200]
    record = sms.send("+966501234567", "hi", purpose="test", locale="ar")
    assert record.state == "queued" and "503" in record.last_error
    assert sms.retry_due() == 0  # backoff not over
    clock[0] += 10
    assert sms.retry_due() == 1 and sms.get(record.id).state == "queued"
    clock[0] += 20
    assert sms.retry_due() == 1
    assert (sms.get(record.id).state, sms.get(record.id).attempts) == ("submitted", 3)
    assert sms.receipt("prov-3", "delivered") and sms.get(record.id).state == "delivered"
    clock[0] += 3600
    assert sms.retry_due() == 0 and len(provider.received) == 3


def test_two_workers_retrying_at_once_send_a_message_once(tmp_path, provider, clock):
    config = SmsConfig(driver="http", url=f"http://127.0.0.1:{provider.server_port}/send",
                       retry_base_s=10)
    first = service(tmp_path, clock, config)
    provider.statuses = [503, 200, 200]
    record = first.send("+966501234567", "hi", purpose="test", locale="ar")
    clock[0] += 10
    # A second worker (its own store on the same database) read the same due message first.
    second = service(tmp_path, clock, config)
    due = second.stores().conn.execute(
        "SELECT next_attempt_at FROM sms_messages WHERE id = ?", (record.id,)).fetchone()[0]
    assert first.retry_due() == 1
    assert second.stores().conn.execute(
        "UPDATE sms_messages SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ?",
        (clock[0] + 120, record.id, due)).rowcount == 0  # its claim finds the row taken
    assert second.retry_due() == 0
    assert len(provider.received) == 2 and first.get(record.id).state == "submitted"


def test_a_refused_message_is_not_retried(tmp_path, provider, clock):
    config = SmsConfig(driver="http", url=f"http://127.0.0.1:{provider.server_port}/send")
    provider.statuses = [400]
    record = service(tmp_path, clock, config).send("+966501234567", "x", purpose="t",
                                                   locale="ar")
    assert record.state == "failed" and "400" in record.last_error


def test_unreachable_provider_is_a_retryable_failure(tmp_path, clock):
    config = SmsConfig(driver="http", url="http://127.0.0.1:9/send", timeout_s=1)
    record = service(tmp_path, clock, config).send("+966501234567", "x", purpose="t",
                                                   locale="ar")
    assert record.state == "queued" and "unreachable" in record.last_error


def test_console_driver_writes_the_outbox(tmp_path):
    driver = ConsoleSmsDriver(tmp_path / "out.log")
    first, second = (driver.send(OutgoingSms(1, "+9665", "a", "S", "gsm7", 1)),
                     driver.send(OutgoingSms(2, "+9665", "b", "S", "gsm7", 1)))
    assert first != second
    assert [json.loads(line)["text"] for line in (tmp_path / "out.log").read_text().splitlines()
            ] == ["a", "b"]


def test_unknown_driver_names_the_supported_ones():
    with pytest.raises(ValueError, match="console, http, kannel"):
        make_driver(SmsConfig(driver="carrier-pigeon"))
    assert {"console", "http", "kannel"} <= set(SMS_DRIVERS) and HttpSmsDriver.name == "http"


def test_the_console_outbox_is_private(tmp_path):
    outbox = tmp_path / "sms" / "outbox.log"
    ConsoleSmsDriver(outbox).send(OutgoingSms(1, "+966501234567", "code 123456", "Amanah",
                                              "gsm7", 1))
    assert outbox.stat().st_mode & 0o777 == 0o600
    assert "123456" in outbox.read_text(encoding="utf-8")
