"""The portal in a real headless Chromium, as a phone sees it: Arabic right to left and
English, both login flows, the language switch. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pytest

from core.store import Store
from tests.browser import ARTIFACTS, served_app
from tests.captive_portal.portal_harness import Portal

PHONE = {"width": 390, "height": 844}
LOCALES = {"ar": "ar-SA", "en": "en-US"}
pytestmark = [pytest.mark.timeout(120), pytest.mark.store_backed]




@pytest.fixture
def served(tmp_path):
    """The portal app on a loopback port (its gateway is the tests' fake)."""
    portal = Portal(tmp_path, otp_resend_after_s=0)
    with served_app(portal.app) as base:
        portal.base = base
        yield portal


def link(portal) -> str:
    return f"{portal.base}/?{urlencode(portal.params(url='http://example.com/news'))}"


def page_for(browser, lang: str):
    context = browser.new_context(locale=LOCALES[lang], viewport=PHONE, device_scale_factor=2,
                                  java_script_enabled=False)
    return context, context.new_page()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)


def html_attrs(page) -> tuple[str, str]:
    root = page.locator("html")
    return root.get_attribute("lang"), root.get_attribute("dir")


@pytest.mark.parametrize("lang, direction, online", [("ar", "rtl", "أنت متصل بالإنترنت"),
                                                     ("en", "ltr", "You are online")])
def test_terms_login_in_each_language(browser, served, lang, direction, online):
    context, page = page_for(browser, lang)
    try:
        page.goto(link(served))
        assert html_attrs(page) == (lang, direction)
        shot(page, f"landing-{lang}")
        page.check("input[name=accept]")
        page.click("#terms-login")
        page.wait_for_selector("#time-left")
        assert html_attrs(page) == (lang, direction)
        assert online in page.inner_text("h1")
        assert page.locator("#time-left bdi").get_attribute("dir") == "ltr"
        shot(page, f"status-{lang}")
        assert served.gateway.commands[0][0] == "allow"
        page.click("#logout")
        assert served.gateway.commands[-1][0] == "deny"
    finally:
        context.close()


def test_sms_login_in_arabic_keeps_the_number_left_to_right(browser, served):
    context, page = page_for(browser, "ar")
    try:
        page.goto(link(served))
        page.fill("#phone", "0501234567")
        page.click("#phone-login")
        page.wait_for_selector("#code")
        number = page.locator("bdi", has_text="050 123 4567")
        assert number.get_attribute("dir") == "ltr"
        # The isolated number reads left to right even inside the Arabic sentence.
        box = [number.evaluate("e => { const r = document.createRange(); r.setStart(e.firstChild,"
                               f" {i}); r.setEnd(e.firstChild, {i + 1});"
                               " return r.getBoundingClientRect().x; }") for i in (0, 4)]
        assert box[0] < box[1]
        shot(page, "code-ar")
        with open(served.settings.sms.outbox, encoding="utf-8") as fh:
            text = json.loads(fh.readlines()[-1])["text"]
        code = next(w.strip("،.") for w in text.split() if w.strip("،.").isdigit()
                    and len(w.strip("،.")) == 6)
        page.fill("#code", code)
        page.click("#code-login")
        page.wait_for_selector("#time-left")
        assert html_attrs(page) == ("ar", "rtl")
    finally:
        context.close()


def test_language_switch_is_a_visible_link(browser, served):
    context, page = page_for(browser, "ar")
    try:
        page.goto(link(served))
        switch = page.locator("a.lang-switch")
        assert switch.is_visible() and switch.inner_text() == "English"
        switch.click()
        assert html_attrs(page) == ("en", "ltr")
        assert page.locator("a.lang-switch").inner_text() == "العربية"
        page.goto(link(served))  # the choice sticks (cookie) over the browser's Arabic
        assert html_attrs(page) == ("en", "ltr")
    finally:
        context.close()


def test_page_fits_a_phone_without_horizontal_scroll(browser, served):
    context, page = page_for(browser, "ar")
    try:
        page.goto(link(served))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("lang, direction, thanks, status_name", [
    ("ar", "rtl", "تم استلام بلاغك", "received"), ("en", "ltr", "Thank you", "received")])
def test_a_940_report_is_filed_and_followed_in_each_language(browser, served, lang, direction,
                                                             thanks, status_name):
    context, page = page_for(browser, lang)  # no JavaScript: the form must work without it
    try:
        page.goto(link(served))
        page.check("input[name=accept]")
        page.click("#terms-login")
        page.wait_for_selector("#time-left")
        page.click("footer a[href='/reports/new']")
        assert html_attrs(page) == (lang, direction)
        assert page.locator("#report-site").is_visible()  # the session's site, filled in
        assert not page.locator("#use-location").is_visible()  # needs script: stays hidden
        page.check("input[name=category][value=lighting]")
        page.fill("#description", "عمود الإنارة رقم 12 لا يعمل" if lang == "ar"
                  else "Lamp post 12 is out")
        shot(page, f"report-form-{lang}")
        page.click("#file-report")
        page.wait_for_selector("#tracking")
        assert thanks in page.inner_text("h1")
        tracking = page.locator("#tracking bdi")
        assert tracking.get_attribute("dir") == "ltr"
        number = tracking.inner_text()
        assert number.startswith("940-")
        shot(page, f"report-filed-{lang}")
        page.click("a.button")  # follow my reports
        page.fill("#tracking", number)
        page.click("#lookup")
        page.wait_for_selector("#status")
        assert html_attrs(page) == (lang, direction)
        assert page.locator("#status").get_attribute("data-status") == status_name
        assert page.locator("#timeline li").count() >= 1
        shot(page, f"report-status-{lang}")
    finally:
        context.close()


def test_use_my_location_fills_in_the_browsers_coordinates(browser, served):
    context = browser.new_context(locale=LOCALES["en"], viewport=PHONE,
                                  geolocation={"latitude": 25.383113, "longitude": 49.586144},
                                  permissions=["geolocation"])
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" else None)
        page.goto(f"{served.base}/reports/new?lang=en")
        page.click("#use-location")
        page.wait_for_function("document.getElementById('lat').value !== ''")
        assert (page.input_value("#lat"), page.input_value("#lon")) == ("25.383113", "49.586144")
        assert page.inner_text("#location-status") == "Location added."
        assert page.input_value("#share-location") == "1"  # the visitor chose to share
        page.check("input[name=category][value=lighting]")
        page.fill("#description", "Broken lamp by the bench")
        page.fill("#address", "North gate")
        page.click("#file-report")
        page.wait_for_selector("#tracking")
        store = Store(served.store_path)
        try:
            row = store.conn.execute("SELECT lat, lon FROM reports ORDER BY id DESC LIMIT 1"
                                     ).fetchone()
        finally:
            store.close()
        assert row == (pytest.approx(25.383113), pytest.approx(49.586144))
        assert not errors, errors  # nothing refused by the Content-Security-Policy
    finally:
        context.close()


def _photo_with_gps() -> bytes:
    from PIL import Image
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (25.0, 22.0, 48.0), 3: "E", 4: (49.0, 35.0, 10.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 40)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("press", [False, True])
def test_a_photos_position_is_used_only_after_use_my_location(browser, served, press):
    context = browser.new_context(locale=LOCALES["en"], viewport=PHONE)  # no permission given
    try:
        page = context.new_page()
        page.goto(f"{served.base}/reports/new?lang=en")
        if press:
            page.click("#use-location")
            page.wait_for_function("document.getElementById('location-status').textContent"
                                   ".startsWith('Your location is not available')")
        page.check("input[name=category][value=lighting]")
        page.fill("#description", "Broken lamp by the bench")
        page.fill("#address", "North gate")
        page.set_input_files("#photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                                "buffer": _photo_with_gps()}])
        page.click("#file-report")
        page.wait_for_selector("#tracking")
        store = Store(served.store_path)
        try:
            row = store.conn.execute("SELECT round(lat, 3), round(lon, 3) FROM reports "
                                     "ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            store.close()
        assert row == ((25.38, 49.586) if press else (None, None))
    finally:
        context.close()
