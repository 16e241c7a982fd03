"""Awareness messages in the admin app: the page (viewers read, operators preview and confirm) and
/api/v1/awareness (preview, send with the preview's token, read), both audited."""

from __future__ import annotations

import re
import time

import pytest

from captive_portal.reports.intake import NewReport, file_report
from core import audit
from tests.captive_portal.reports_pipeline import FAST
from tests.controller.web_harness import add_user, bearer, build_app, error_of, login, post_form
from tests.fleet import add_site

AR = "تنبيه: صيانة ممشى أمانة يوم الخميس من ٦ إلى ٩ صباحاً، نعتذر عن الإزعاج."
EN = "Notice: Amanah Walkway maintenance on Thursday 6-9am. Sorry for the trouble."
SITE = "amanah-walkway"


@pytest.fixture
def app(config, secrets, store):
    config.sms.segment_price = 0.05
    add_site(store, SITE)
    now = time.time()
    for i, locale in enumerate(("ar", "ar", "en")):
        file_report(store, NewReport(category="lighting", description="Lamp out",
                                     channel="open311", lat=25.38, lon=49.59, locale=locale,
                                     site=SITE, phone=f"+96650000000{i}", phone_verified=True),
                    FAST, now=now - 86400)
    return build_app(config, secrets)


FORM = {"site": SITE, "days": "30", "body_ar": AR, "body_en": EN}


def test_api_preview_then_send_with_its_token(app, store):
    client = app.test_client()
    operator = bearer(store, "olga", "operator")
    preview = client.post("/api/v1/awareness/preview", headers=operator, json=FORM)
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert (shown["recipients"], shown["total_segments"], shown["cost"]) == (3, 5, 0.25)
    assert [(t["locale"], t["encoding"], t["segments"], t["recipients"])
            for t in shown["texts"]] == [("ar", "ucs2", 2, 2), ("en", "gsm7", 1, 1)]

    stale = client.post("/api/v1/awareness", headers=operator, json={**FORM, "token": "x" * 24})
    assert stale.status_code == 409 and error_of(stale)["code"] == "audience_changed"

    sent = client.post("/api/v1/awareness", headers=operator, json={**FORM,
                                                                   "token": shown["token"]})
    assert sent.status_code == 201, sent.get_json()
    campaign = sent.get_json()
    assert campaign["progress"] == {"waiting": 3, "handed": 0, "opted_out": 0, "delivered": 0,
                                    "failed": 0}
    assert campaign["cost"] == 0.25 and campaign["currency"] == "SAR"
    viewer = bearer(store, "vera", "viewer")
    assert client.get(sent.headers["Location"], headers=viewer).get_json()["id"] == campaign["id"]
    assert [c["id"] for c in client.get("/api/v1/awareness", headers=viewer)
            .get_json()["campaigns"]] == [campaign["id"]]
    [entry] = audit.entries(store, action_prefix="awareness.")
    assert entry["actor"] == "api:olga" and entry["detail"]["recipients"] == 3


def test_api_refusals(app, store):
    client = app.test_client()
    viewer = bearer(store, "vera", "viewer")
    operator = bearer(store, "olga", "operator")
    assert client.post("/api/v1/awareness/preview", headers=viewer, json=FORM).status_code == 403
    for body, code, field in (({**FORM, "body_en": ""}, "required", "body_en"),
                              ({**FORM, "body_ar": "ب" * 300}, "too_long", "body_ar"),
                              ({**FORM, "days": 0}, "invalid_field", "days"),
                              ({**FORM, "days": 1.5}, "invalid_field", "days"),
                              ({**FORM, "site": 7}, "invalid_field", "site"),
                              ({**FORM, "to": "+966500000009"}, "unknown_field", "to")):
        answer = client.post("/api/v1/awareness/preview", headers=operator, json=body)
        assert answer.status_code == 422, body
        assert (error_of(answer)["code"], error_of(answer)["field"]) == (code, field)
    assert client.get("/api/v1/awareness/99", headers=viewer).status_code == 404
    assert audit.entries(store, action_prefix="awareness.") == []


def test_page_preview_confirm_and_follow(app, store):
    client = app.test_client()
    add_user(store, "olga", "operator")
    assert login(client, "olga").status_code == 302
    page = client.get("/awareness/").get_data(as_text=True)
    assert 'action="/awareness/preview"' in page and "Amanah Walkway" in page

    preview = post_form(client, "/awareness/preview", FORM, token_from="/awareness/")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert re.search(r'id="recipients"><bdi dir="ltr">3<', text)
    assert re.search(r'id="total-segments"><bdi dir="ltr">5<', text)
    assert "0.25 SAR" in text and "UCS-2" in text and "GSM 7-bit" in text
    token = re.search(r'name="token" value="([0-9a-f]+)"', text).group(1)

    sent = post_form(client, "/awareness/send", {**FORM, "token": token},
                     token_from="/awareness/")
    assert sent.status_code == 303
    campaign = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert AR in campaign and EN in campaign
    [entry] = audit.entries(store, action_prefix="awareness.")
    assert entry["actor"] == "web:olga"
    listing = client.get("/awareness/").get_data(as_text=True)
    assert sent.headers["Location"] in listing


def test_page_refusal_keeps_the_form(app, store):
    client = app.test_client()
    add_user(store, "olga", "operator")
    login(client, "olga")
    refused = post_form(client, "/awareness/preview", {**FORM, "body_ar": "ب" * 300},
                        token_from="/awareness/")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "too long" in text and EN in text


def test_viewers_read_but_do_not_send(app, store):
    client = app.test_client()
    add_user(store, "vera", "viewer")
    login(client, "vera")
    page = client.get("/awareness/")
    assert page.status_code == 200 and 'action="/awareness/preview"' not in \
        page.get_data(as_text=True)
    refused = post_form(client, "/awareness/preview", FORM, token_from="/awareness/")
    assert refused.status_code == 403
