"""The portal app on its own: languages, security, signed links, the terms flow, status and
logout. The park gateway is `FakeGatewayControl` (the lab drives the real one)."""

from __future__ import annotations

import os
import re

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from captive_portal.cli import portal as portal_cli
from captive_portal.gateways import Ack, gateway_key
from captive_portal.i18n import TRANSLATIONS
from core import catalogues
from core.secrets import SecretBox
from core.store import Store
from tests.captive_portal.portal_harness import MAC, Portal, error_code

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store


@pytest.fixture
def portal(tmp_path):
    return Portal(tmp_path)


def test_arabic_is_the_default_right_to_left(portal):
    html = portal.landing().get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "واي فاي الأمانة" in html
    assert 'hreflang="en"' in html  # the visible switch to English


def test_accept_language_english_and_the_switch(portal):
    page = portal.landing(headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en" dir="ltr">' in page.get_data(as_text=True)
    switched = portal.client.get("/terms?lang=ar", headers={"Accept-Language": "en"})
    assert '<html lang="ar" dir="rtl">' in switched.get_data(as_text=True)
    assert "lang=ar" in switched.headers["Set-Cookie"]
    # The cookie now wins over the browser's language.
    again = portal.client.get("/terms", headers={"Accept-Language": "en"})
    assert 'lang="ar"' in again.get_data(as_text=True)


def test_every_message_has_an_arabic_and_english_translation():
    for locale in ("ar", "en"):
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        empty = [m.id for m in catalog if m.id and not all(
            m.string if isinstance(m.string, tuple) else [m.string])]
        assert not empty, f"{locale}: untranslated {empty}"


def test_catalogues_are_read_from_po_without_writing_a_mo(tmp_path):
    po = tmp_path / "xx" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    po.write_text(header + 'msgid "Hello"\nmsgstr "Salut"\n')
    assert catalogues.load(tmp_path, "xx").gettext("Hello") == "Salut"
    po.write_text(header + 'msgid "Hello"\nmsgstr "Bonjour"\n')
    os.utime(po, ns=(po.stat().st_mtime_ns + 10**9,) * 2)  # an edit is seen without a restart
    assert catalogues.load(tmp_path, "xx").gettext("Hello") == "Bonjour"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["LC_MESSAGES", "messages.po", "xx"]
    assert not list(TRANSLATIONS.rglob("*.mo"))


def test_security_headers_and_no_script(portal):
    page = portal.landing()
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in page.get_data(as_text=True)


@pytest.mark.parametrize("change, status, code", [
    ({"sig": "0" * 64}, 403, "signature_invalid"),
    ({"mac": "02:00:00:00:00:09"}, 403, "signature_invalid"),
    ({"gw": "elsewhere"}, 403, "signature_unknown_gateway"),
    ({"sig": ""}, 400, "signature_missing"),
    ({"ts": "yesterday"}, 400, "signature_malformed"),
])
def test_forged_or_broken_links_are_refused(portal, change, status, code):
    page = portal.client.get("/", query_string={**portal.params(), **change})
    assert page.status_code == status
    assert f'data-code="{code}"' in page.get_data(as_text=True)


def test_stale_links_are_refused_in_the_visitors_language(portal):
    page = portal.client.get("/", query_string=portal.params(age=3600),
                             headers={"Accept-Language": "en"})
    assert page.status_code == 403
    assert "This login link has expired" in page.get_data(as_text=True)
    arabic = portal.client.get("/", query_string=portal.params(age=3600))
    assert "انتهت صلاحية رابط الدخول" in arabic.get_data(as_text=True)


def test_posts_without_csrf_token_are_refused(portal):
    reply = portal.client.post("/login/terms", data={**portal.params(), "accept": "yes"})
    assert reply.status_code == 400
    assert 'data-code="csrf"' in reply.get_data(as_text=True)
    assert portal.gateway.commands == []


def test_terms_login_allows_the_client_and_shows_status(portal):
    reply = portal.login_terms()
    assert reply.status_code == 303 and reply.headers["Location"].endswith("/status?welcome=1")
    (action, gateway_id, grant), = portal.gateway.commands
    assert (action, gateway_id, grant.mac, grant.ip) == ("allow", "gw1", MAC, "10.77.0.100")
    assert grant.expires_at == pytest.approx(portal.now + 3600)
    status = portal.client.get("/status?welcome=1&lang=en").get_data(as_text=True)
    assert "You are online" in status
    assert 'id="time-left"><bdi dir="ltr">60</bdi> minutes' in status
    assert 'href="http://example.com/a"' in status
    arabic = portal.client.get("/status?lang=ar").get_data(as_text=True)
    assert '<bdi dir="ltr">60</bdi> دقيقة' in arabic
    store = Store(portal.store_path)
    assert store.conn.execute("SELECT method, terms_version FROM portal_sessions").fetchone() \
        == ("terms", portal.settings.portal.terms_version)
    store.close()


def test_terms_must_be_accepted(portal):
    reply = portal.post("/login/terms", portal.landing())
    assert reply.status_code == 400 and portal.gateway.commands == []


def test_original_url_is_never_a_redirect_nor_a_script_link(portal):
    page = portal.landing(url="javascript:alert(1)")
    reply = portal.post("/login/terms", page, accept="yes")
    assert reply.status_code == 303 and reply.headers["Location"].startswith("/status")
    assert "javascript:" not in portal.client.get("/status").get_data(as_text=True)


def test_gateway_failure_leaves_no_active_session(portal):
    portal.gateway.ack = Ack(False, "timeout")
    reply = portal.login_terms()
    assert reply.status_code == 503
    store = Store(portal.store_path)
    assert store.conn.execute("SELECT state, end_reason FROM portal_sessions").fetchall() == [
        ("ended", "gateway_failed")]
    store.close()


def test_logout_denies_the_client(portal):
    portal.login_terms()
    status = portal.client.get("/status")
    reply = portal.post("/logout", status)
    assert reply.status_code == 200
    assert portal.gateway.commands[-1][0::3] == ("deny", "logout")
    again = portal.post("/logout", status)
    assert again.status_code == 400  # no session any more


def test_form_posts_are_rate_limited_per_client(tmp_path):
    portal = Portal(tmp_path, posts_per_minute=2)
    page = portal.landing()
    assert portal.post("/login/terms", page).status_code == 400
    assert portal.post("/login/terms", page).status_code == 400
    limited = portal.post("/login/terms", page)
    assert limited.status_code == 429
    assert 'data-code="too_many_requests"' in limited.get_data(as_text=True)


def test_unknown_pages_are_translated_404(portal):
    page = portal.client.get("/nope", headers={"Accept-Language": "ar"})
    assert page.status_code == 404 and "هذه الصفحة غير موجودة" in page.get_data(as_text=True)


def test_cli_registers_a_gateway_and_prints_its_key(tmp_path):
    config = tmp_path / "oasis.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "o.db"}"\nkey_file = "{tmp_path / "o.key"}"\n')
    runner = CliRunner()
    result = runner.invoke(portal_cli, ["--config", str(tmp_path / "none.toml"),
                                        "gateway-add", "park-1"])
    assert result.exit_code != 0 and "none.toml: config file not found" in result.output
    with config.open("a") as fh:
        fh.write("[portal]\nsession_minutes = 30\n")
    result = runner.invoke(portal_cli, ["--config", str(config), "gateway-add", "park-1"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    store = Store(tmp_path / "o.db")
    box = SecretBox.from_key_file(tmp_path / "o.key")
    assert gateway_key(store, box, "park-1") == key.encode() and len(key) == 64
    store.close()


@pytest.mark.parametrize("language, wording", [
    ("en", "Too many codes were requested from this device. Please try again later."),
    ("ar", "طُلب عدد كبير من الرموز من هذا الجهاز. يرجى المحاولة لاحقاً."),
])
def test_login_and_report_pages_word_a_refusal_alike(tmp_path, language, wording):
    """One catalogue: the device's ration of SMS codes, spent, reads the same when asking for a
    login code and when a report's phone is sent its code (the report is filed all the same)."""
    portal = Portal(tmp_path, otp_per_client_per_hour=0)
    portal.client.get(f"/terms?lang={language}")
    login = portal.post("/login/phone", portal.landing(), phone="0501234567")
    report = portal.file_report(phone="0501234567")
    messages = [re.search(pattern, page.get_data(as_text=True)).group(1) for pattern, page in (
        (r'<p class="error" data-code="[^"]+">([^<]*)</p>', login),
        (r'<p class="reason">([^<]*)</p>', report))]
    assert [error_code(login), error_code(report)] == ["sms_rate_client"] * 2
    assert (login.status_code, report.status_code) == (429, 200)
    assert messages == [wording] * 2
