"""The admin pages in a real headless Chromium, in Arabic (right to left) and English.

One browser for the module; each language signs in and walks the pages an operator uses
(dashboard, access points and one AP, sites, alerts, audit log, users, configuration jobs,
adoption, branches). In Arabic every page is right to left and its visible text holds no
English word outside the elements kept left to right (<bdi>, <code>, <pre>, dir="ltr"): names,
addresses, codes and numbers. The audit entry with a long configuration diff stays inside the
page. Screenshots go to tests/artifacts/admin-<lang>-<page>.png."""

from __future__ import annotations

import re
import time

import pytest

from controller.monitoring import events
from core import alerts as alert_rows
from core import audit
from netconfig import jobs
from tests.browser import ARTIFACTS, served_app
from tests.controller.web_harness import PASSWORD, add_user, build_app, status
from tests.fleet import add_ap, add_site

pytestmark = pytest.mark.timeout(180)

PAGES = {  # name -> path
    "dashboard": "/", "aps": "/aps/", "ap": "/aps/ap-001", "sites": "/sites/",
    "alerts": "/alerts/", "audit": "/audit/", "users": "/users/",
    "provisioning": "/config/jobs", "adoption": "/config/pending", "branches": "/branches/",
}
#: Latin words an Arabic page may show outside the left-to-right elements: the product's name,
#: protocol names and units engineers say as they are, and the fleet's own names where they
#: cannot be isolated (a site's short name inside a <select> option).
ALLOWED = {"Oasis", "Edge", "SNMP", "MQTT", "JSON", "Mbit", "English", "Open311", "public",
           "amanah", "walkway"}
#: The visible text of a page without the elements kept left to right.
_ARABIC_TEXT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('bdi, code, pre, svg, script, style, [dir=ltr], [lang=en], .langs')
       .forEach(e => e.remove());
  const holder = document.createElement('div');
  holder.style.position = 'absolute'; holder.style.left = '-99999px';
  holder.appendChild(clone);
  document.documentElement.appendChild(holder);
  const text = clone.innerText;
  holder.remove();
  return text;
}"""
_OVERFLOW = """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
  ...[...document.querySelectorAll('td.audit-detail')].map(td => td.scrollWidth - td.clientWidth)]"""




@pytest.fixture
def admin(config, secrets, store, snapshot):
    """The admin app over a small fleet with a history: events, an alert, audit entries (one
    with a long configuration diff), a configuration job."""
    add_site(store, "amanah-walkway")
    up = add_ap(store, secrets, 1)
    down = add_ap(store, secrets, 2)
    snapshot.put(status(up))
    events.record_event(store, up["id"], "linkDown", "trap", {"ifIndex": 2, "ifDescr": "wlan0",
                                                              "source": "10.0.0.1"})
    events.record_event(store, up["id"], "state", "poller", {"from": "down", "to": "up",
                                                             "last_error": None})
    with store.transaction() as conn:
        alert_rows.open_alert(conn, "clients_over_capacity", "warning",
                              {"clients": 70, "capacity": 60}, at=time.time() - 900,
                              ap_id=up["id"])
        alert_rows.open_alert(conn, "ap_down", "critical", {"consecutive_failures": 3},
                              at=time.time() - 600, ap_id=down["id"])
        diff = "\n".join(f"-wireless.radio{i}.channel='{i}'\n+wireless.radio{i}.channel="
                         f"'{i + 4}'" + " option" * 30 for i in range(12))
        audit.record(conn, "web:ada", "config.push", "ap", "ap-001",
                     {"diff": diff, "commands": 24, "result": "ok", "job": 1})
    jobs.create(store, "push", "ap:ap-001", [up["id"]], "web:ada", dry_run=True)
    add_user(store, "ada", "admin")
    app = build_app(config, secrets, snapshot)
    app.config["ADMIN_DEFAULT_LOCALE"] = "ar"
    with served_app(app) as base:
        yield base


def _english_words(text: str) -> list[str]:
    return sorted({w for w in re.findall(r"[A-Za-z]{4,}", text) if w not in ALLOWED})


@pytest.mark.parametrize("lang, direction, dashboard", [
    ("ar", "rtl", "لوحة المتابعة"),
    ("en", "ltr", "Dashboard"),
])
def test_admin_pages_in_each_language(browser, admin, lang, direction, dashboard):
    context = browser.new_context(locale="ar-SA" if lang == "ar" else "en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{admin}/login?lang={lang}")
        assert page.locator("html").get_attribute("dir") == direction
        page.screenshot(path=str(ARTIFACTS / f"admin-{lang}-login.png"))
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        assert dashboard in page.inner_text("h1")
        untranslated = {}
        for name, path in PAGES.items():
            response = page.goto(admin + path)
            assert response is not None and response.status == 200, path
            assert page.locator("html").get_attribute("dir") == direction, path
            assert page.locator("html").get_attribute("lang") == lang, path
            page.screenshot(path=str(ARTIFACTS / f"admin-{lang}-{name}.png"), full_page=True)
            if lang == "ar":
                words = _english_words(page.evaluate(_ARABIC_TEXT))
                if words:
                    untranslated[path] = words
            if name == "audit":
                page_width, view_width, *cells = page.evaluate(_OVERFLOW)
                assert page_width <= view_width, "the audit log is wider than the window"
                assert all(extra <= 1 for extra in cells), cells
                assert "T" not in page.inner_text("td.nowrap")  # local time, not ISO text
        assert not untranslated, f"English words left on Arabic pages: {untranslated}"
        # The sentences operators read instead of codes and JSON.
        page.goto(f"{admin}/aps/ap-001")
        events_text = page.inner_text("table.events")
        assert ("توقف المنفذ" if lang == "ar" else "The interface") in events_text
        assert "{" not in events_text and "linkDown" not in events_text
        page.goto(f"{admin}/audit/")
        assert ("دفع إعدادات إلى" if lang == "ar" else "pushed a configuration to") in \
            page.inner_text("table.audit")
        # The header's switch changes the language and remembers it for the user.
        other = "en" if lang == "ar" else "ar"
        with page.expect_navigation():
            page.click(f".langs button[value={other}]")
        assert page.locator("html").get_attribute("lang") == other
        assert page.url.endswith("/audit/")
        with page.expect_navigation():
            page.click(f".langs button[value={lang}]")
        assert page.locator("html").get_attribute("lang") == lang
    finally:
        context.close()
