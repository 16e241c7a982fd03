"""A real browser joins through the real gateway: Chromium runs inside a phone's namespace of
the portal lab (`tests.lab.browser_lab`) and keeps its own connections across login, the way
a phone does. Each test starts and ends with both phones captive."""

from __future__ import annotations

import time

import pytest

from captive_portal.probes import PROBES
from tests.lab.browser_lab import new_phone, phone_browser, screenshot
from tests.lab.portal_lab import CLIENT_MACS, PORTAL_URL, PortalLab, running_lab
from tests.support import require_root, require_tool

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

PAGE = "http://example.test/page?x=1"
#: A tap that has to answer at once: the portal or the page, never a hang.
TAP_MS = 8000
ONLINE_TEXT = "hello from the internet"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_root()
    for tool in ("nft", "dnsmasq", "mosquitto", "curl", "busybox"):
        require_tool(tool)
    with running_lab("cb", tmp_path_factory.mktemp("browser-lab")) as portal_lab:
        yield portal_lab


@pytest.fixture(scope="module")
def phone(lab, tmp_path_factory):
    """Chromium on cl1's network."""
    with phone_browser(lab.ns["cl1"], tmp_path_factory.mktemp("chromium")) as browser:
        yield browser


@pytest.fixture
def clean(lab):
    yield lab
    for client in CLIENT_MACS:
        if not lab.captive(client):
            lab.logout(client)


def tap(page, url: str):
    """Open ``url`` as a tap would; returns the response (None for an in-page navigation)."""
    return page.goto(url, timeout=TAP_MS, wait_until="load")


def on_portal(page) -> bool:
    return page.url.startswith(PORTAL_URL)


def login_with_terms(page, lang: str) -> None:
    """From a plain http page to the status page, through the gateway's redirect."""
    tap(page, PAGE)
    assert on_portal(page), page.url
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    page.check("input[name=accept]")
    page.click("#terms-login")
    page.wait_for_selector("#time-left", timeout=TAP_MS)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_continue_after_login_reaches_the_page_on_the_same_connections(clean, phone, lang):
    context = new_phone(phone, lang)
    try:
        page = context.new_page()
        login_with_terms(page, lang)
        screenshot(page, f"status-{lang}")
        # The browser reuses the connections it opened while captive (keep-alive).
        page.click("a.button", timeout=TAP_MS)
        page.wait_for_load_state("load", timeout=TAP_MS)
        assert page.url == PAGE and ONLINE_TEXT in page.content(), page.url
        screenshot(page, f"continued-{lang}")
        for probe in PROBES:  # the OS probes say "online" on this same browser
            response = tap(page, probe.url)
            assert response is not None and response.status == probe.status, probe
            assert response.body() == probe.body, probe
    finally:
        context.close()
