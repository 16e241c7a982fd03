"""Alert acknowledgement and notification settings in a real headless Chromium, in Arabic (right
to left) and English: an admin acknowledges an alert with a note, then adds someone to the
on-call rota and changes the routing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import time

import pytest

from controller.notify import rota, rules
from core import alerts as alert_rows
from tests.browser import ARTIFACTS, served_app
from tests.controller.web_harness import PASSWORD, add_user, build_app
from tests.fleet import add_ap, add_site

pytestmark = pytest.mark.timeout(120)




@pytest.fixture
def admin(config, secrets, store):
    add_site(store, "amanah-walkway")
    ap = add_ap(store, secrets)
    with store.transaction() as conn:
        alert_rows.open_alert(conn, "ap_down", "critical", {"consecutive_failures": 3},
                              at=time.time() - 600, ap_id=ap["id"])
    add_user(store, "ada", "admin")
    app = build_app(config, secrets)
    with served_app(app) as base:
        yield base


@pytest.mark.parametrize("lang, direction, alerts_title, acked, settings_title", [
    ("ar", "rtl", "التنبيهات", "تم تأكيد استلام التنبيه", "الإشعارات"),
    ("en", "ltr", "Alerts", "Alert 1 acknowledged", "Notifications"),
])
def test_acknowledge_and_notification_settings_in_each_language(
        browser, admin, store, lang, direction, alerts_title, acked, settings_title):
    context = browser.new_context(locale="ar-SA" if lang == "ar" else "en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{admin}/login?lang={lang}")
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        page.goto(f"{admin}/alerts/?lang={lang}")
        assert page.locator("html").get_attribute("dir") == direction
        assert alerts_title in page.inner_text("h1")
        page.fill("#alert-1 input[name=note]", "الفريق في الطريق" if lang == "ar" else "crew on the way")
        with page.expect_navigation():
            page.click("#alert-1 form[action$='/ack'] button")
        assert acked in page.inner_text(".flash")
        row = page.inner_text("#alert-1")
        assert "ada" in row and ("الفريق في الطريق" in row or "crew on the way" in row)
        page.screenshot(path=str(ARTIFACTS / f"admin-alert-ack-{lang}.png"), full_page=True)

        page.goto(f"{admin}/notifications/?lang={lang}")
        assert page.locator("html").get_attribute("dir") == direction
        assert settings_title in page.inner_text("h1")
        page.fill("#p-name", "Noura")
        page.fill("#p-email", "noura@amanah.example")
        page.fill("#p-phone", "+966500000001")
        with page.expect_navigation():
            page.click("form[action$='/notifications/people'] button[type=submit]")
        page.uncheck("input[name=critical-sms]")
        page.check("input[name=info-email]")
        with page.expect_navigation():
            page.click("form[action$='/notifications/rules'] button[type=submit]")
        assert [p.name for p in rota.people(store.conn)] == ["Noura"]
        routing = rules.rules(store.conn)
        assert routing["critical"].channels == ("email", "webhook")
        assert routing["info"].channels == ("email",)
        assert "Noura" in page.inner_text("table.rota")
        page.screenshot(path=str(ARTIFACTS / f"admin-notification-settings-{lang}.png"),
                        full_page=True)
        page.goto(f"{admin}/?lang={lang}")
        assert page.locator("#pipeline-link").count() == 1
        page.screenshot(path=str(ARTIFACTS / f"admin-dashboard-pipeline-{lang}.png"),
                        full_page=True)
    finally:
        context.close()
