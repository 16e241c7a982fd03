"""A real browser joins through the real gateway: Chromium runs inside a phone's namespace of
the portal lab (`tests.lab.browser_lab`) and keeps its own connections across login, the way
a phone does. Each test starts and ends with both phones captive."""

from __future__ import annotations

import subprocess
import sys

import pytest

from captive_portal.probes import PROBES
from tests.lab.browser_lab import PlaywrightError, new_phone, phone_browser, screenshot
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


def probe_answer(page, url: str):
    """The response an OS probe gets in this browser (a 204 commits no page, so the navigation
    itself ends as aborted: the response is what counts)."""
    with page.expect_response(lambda response: response.url == url, timeout=TAP_MS) as answer:
        try:
            tap(page, url)
        except PlaywrightError as exc:
            if "ERR_ABORTED" not in str(exc):
                raise
    return answer.value


def logout(page) -> None:
    """Log out from the status page, as the visitor would."""
    tap(page, f"{PORTAL_URL}status")
    if page.locator("#logout").count():
        page.click("#logout", timeout=TAP_MS)
        page.wait_for_load_state("load", timeout=TAP_MS)


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
            response = probe_answer(page, probe.url)
            assert response.status == probe.status, probe
            assert response.request.redirected_from is None, probe  # no 302 to the portal
            if probe.content_type == "text/plain":
                assert page.inner_text("body").strip() == probe.body.decode().strip(), probe
        logout(page)
    finally:
        context.close()


#: A connection a phone opened while captive and never used (a browser's preconnect): it waits
#: for a line on stdin, then sends one request on the same socket and prints what happened.
_HELD_CONNECTION = """
import socket, sys
held = socket.create_connection(("example.test", 80), timeout=5)
print("open", flush=True)
sys.stdin.readline()
try:
    held.sendall(b"GET /hello HTTP/1.1\\r\\nHost: example.test\\r\\n\\r\\n")
    answer = held.recv(4096)
    print("answer", answer.split(b"\\r\\n", 1)[0].decode(), flush=True)
except ConnectionResetError:
    print("reset", flush=True)
"""


def test_a_connection_opened_while_captive_is_reset_after_login_not_redirected(clean):
    lab = clean
    held = lab.ns["cl2"].popen(sys.executable, "-c", _HELD_CONNECTION, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline().strip() == "open"
        assert lab.login_sms("cl2", "0501234567").status == 303
        held.stdin.write("go\n")
        held.stdin.flush()
        # The redirector would answer "302" on it; the gateway resets it so the phone retries
        # on a new connection, which goes out.
        assert held.stdout.readline().strip() == "reset"
        assert lab.online("cl2")
    finally:
        held.kill()
        held.wait(5)
