"""The SMS outbox page and a report's SMS on its admin page: delivery state, encoding,
segments; message text only from the demo gateway, codes masked otherwise."""

from __future__ import annotations

import pytest

from captive_portal.config import SmsConfig
from captive_portal.reports.notify import Notifier
from captive_portal.sms import SmsSendError
from captive_portal.sms.records import masked
from tests.captive_portal.sms_harness import RecordingDriver, resolved_report, service
from tests.controller.web_harness import add_user, build_app, login


@pytest.fixture
def filled(store):
    """A closure code SMS submitted and delivered, a login code refused for good, a reply."""
    sms = service(store)
    tracking, code = resolved_report(store)
    Notifier(store, sms, lambda: 0.0).deliver_pending()
    closure = store.conn.execute("SELECT provider_id FROM sms_messages WHERE purpose = "
                                 "'closure_code'").fetchone()[0]
    sms.receipt(closure, "delivered", at=1796500000.0, detail="stat:DELIVRD")

    class Refusing(RecordingDriver):
        def send(self, message):
            raise SmsSendError("gateway answered 403", retryable=False)

    service(store, Refusing()).send("+966501234567", "Your Amanah WiFi code is 4821.",
                                    purpose="login_code", locale="en")
    sms.incoming("+966551234567", f"{code} yes", gateway_id="g1")
    return tracking, code


def _client(config, secrets, store, role="operator"):
    client = build_app(config, secrets).test_client()
    add_user(store, "olive", role)
    assert login(client, "olive").status_code in (302, 303)
    return client


def test_the_outbox_shows_state_encoding_segments_and_masks_codes(config, secrets, store,
                                                                  filled):
    tracking, code = filled
    config.sms = SmsConfig(driver="kannel", url="http://127.0.0.1:13013/cgi-bin/sendsms",
                           callback_url="http://127.0.0.1:8080", hook_secret="s" * 20)
    client = _client(config, secrets, store)
    html = client.get("/sms/").get_data(as_text=True)
    assert 'data-state="delivered"' in html and 'data-state="failed"' in html
    assert "UCS-2" in html and "GSM-7" in html and "stat:DELIVRD" in html
    assert "gateway answered 403" in html
    assert code not in html and "4821" not in html and "••••" in html
    assert tracking in html                          # the reply that closed it links the report
    only_failed = client.get("/sms/?state=failed")
    assert 'data-state="delivered"' not in only_failed.get_data(as_text=True)


def test_the_demo_gateway_shows_the_text(config, secrets, store, filled):
    _, code = filled
    config.sms = SmsConfig(driver="console")
    html = _client(config, secrets, store).get("/sms/").get_data(as_text=True)
    assert code in html and "4821" in html


def test_the_outbox_is_for_operators(config, secrets, store):
    client = _client(config, secrets, store, role="viewer")
    assert client.get("/sms/").status_code == 403


def test_a_reports_page_shows_each_sms_delivery(config, secrets, store, filled):
    tracking, _ = filled
    html = _client(config, secrets, store, "viewer").get(f"/reports/{tracking}").get_data(
        as_text=True)
    assert 'data-sms-state="delivered"' in html and "UCS-2" in html


def test_masking_keeps_tracking_numbers():
    assert masked("report 940-2026-000123 code ١٢٣٤٥٦ yes") == \
        "report 940-2026-000123 code •••••• yes"
