"""The awareness page in a real headless Chromium, in Arabic (right to left) and English: an
operator signs in, writes both texts, previews (recipients, segments, cost) and confirms.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import time

import pytest

from captive_portal.reports.intake import NewReport, file_report
from tests.browser import ARTIFACTS, served_app
from tests.captive_portal.reports_pipeline import FAST
from tests.controller.web_harness import PASSWORD, add_user, build_app
from tests.fleet import add_site

AR = "تنبيه: صيانة ممشى أمانة يوم الخميس من ٦ إلى ٩ صباحاً، نعتذر عن الإزعاج."
EN = "Notice: Amanah Walkway maintenance on Thursday 6-9am. Sorry for the trouble."
pytestmark = pytest.mark.timeout(120)




@pytest.fixture
def admin(config, secrets, store):
    config.sms.segment_price = 0.05
    add_site(store, "amanah-walkway")
    for i, locale in enumerate(("ar", "ar", "en")):
        file_report(store, NewReport(category="lighting", description="Lamp out",
                                     channel="open311", lat=25.38, lon=49.59, locale=locale,
                                     site="amanah-walkway", phone=f"+96650000000{i}",
                                     phone_verified=True), FAST, now=time.time() - 86400)
    add_user(store, "olga", "operator")
    app = build_app(config, secrets)
    with served_app(app) as base:
        yield base


@pytest.mark.parametrize("lang, direction, heading, confirm", [
    ("ar", "rtl", "رسائل التوعية", "إرسال"),
    ("en", "ltr", "Awareness messages", "Send to 3 people"),
])
def test_preview_and_send_in_each_language(browser, admin, lang, direction, heading, confirm):
    context = browser.new_context(locale="ar-SA" if lang == "ar" else "en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{admin}/login?lang={lang}")
        page.fill("input[name=username]", "olga")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        page.goto(f"{admin}/awareness/?lang={lang}")
        assert page.locator("html").get_attribute("dir") == direction
        assert heading in page.inner_text("h1")
        page.select_option("select[name=site]", "amanah-walkway")
        page.fill("textarea[name=body_ar]", AR)
        page.fill("textarea[name=body_en]", EN)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"admin-awareness-form-{lang}.png"), full_page=True)
        with page.expect_navigation():
            page.click("#compose button[type=submit]")
        assert page.inner_text("#recipients") == "3"
        assert page.inner_text("#total-segments") == "5"
        assert "0.25 SAR" in page.inner_text("#cost")
        assert page.locator("html").get_attribute("dir") == direction
        page.screenshot(path=str(ARTIFACTS / f"admin-awareness-preview-{lang}.png"),
                        full_page=True)
        assert confirm in page.inner_text("#confirm")
        with page.expect_navigation():
            page.click("#confirm")
        assert AR in page.inner_text("#campaign") and EN in page.inner_text("#campaign")
    finally:
        context.close()
