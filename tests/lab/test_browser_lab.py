"""A real browser joins through the real gateway: Chromium runs inside a phone's namespace of
the portal lab (`tests.lab.browser_lab`) and keeps its own connections across login, the way
a phone does. Each test starts and ends with both phones captive."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from captive_portal.probes import PROBES
from core.store import Store
from tests.lab.browser_lab import PlaywrightError, new_phone, phone_browser, screenshot
from tests.lab.portal_lab import (
    CLIENT_MACS,
    PORTAL_URL,
    PortalLab,
    lab_store_url,
    running_lab,
)
from tests.support import require_root, require_tool

# store_backed: the lab's portal keeps its store where the pass says (lab_store_url)
pytestmark = [pytest.mark.lab, pytest.mark.timeout(300), pytest.mark.store_backed]

PAGE = "http://example.test/page?x=1"
#: A tap that has to answer at once: the portal or the page, never a hang.
TAP_MS = 8000
ONLINE_TEXT = "hello from the internet"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, request):
    require_root()
    for tool in ("nft", "dnsmasq", "mosquitto", "curl", "busybox"):
        require_tool(tool)
    with running_lab("cb", tmp_path_factory.mktemp("browser-lab"),
                     lab_store_url(request)) as portal_lab:
        yield portal_lab


@pytest.fixture(scope="module")
def phone(lab, tmp_path_factory):
    """Chromium on cl1's network."""
    with phone_browser(lab.ns["cl1"], tmp_path_factory.mktemp("chromium")) as browser:
        yield browser


@pytest.fixture(scope="module")
def walkway_ap(lab):
    """The AP cl1's DHCP is tagged with (option 82), in the inventory with its site."""
    return lab.seed_walkway_ap()


@pytest.fixture
def clean(lab):
    yield lab
    for client in CLIENT_MACS:
        if not lab.captive(client):
            lab.logout(client)


@pytest.fixture
def phone_in(phone, clean):
    """Opens browsing contexts on cl1 in a language; each is logged out and closed after the
    test, whatever it did, so the next test starts captive."""
    contexts = []

    def open_context(lang: str):
        contexts.append(new_phone(phone, lang))
        return contexts[-1]

    yield open_context
    for context in contexts:
        try:
            context.set_extra_http_headers({})
            logout(context.new_page())
        finally:
            context.close()
    clean.wait(lambda: clean.captive("cl1"), 10, "cl1 to be captive again")


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
    assert page.locator("#private-address-hint").is_visible()  # a new address, a new visitor
    page.check("input[name=accept]")
    page.click("#terms-login")
    page.wait_for_selector("#time-left", timeout=TAP_MS)


def login_with_sms(page, lab: PortalLab, lang: str, phone: str = "0501234567") -> None:
    tap(page, PAGE)
    assert on_portal(page), page.url
    page.fill("#phone", phone)
    page.click("#phone-login")
    page.wait_for_selector("#code", timeout=TAP_MS)
    page.fill("#code", lab.last_code())
    page.click("#code-login")
    page.wait_for_selector("#time-left", timeout=TAP_MS)


def continue_to_page(page) -> None:
    page.click("a.button", timeout=TAP_MS)
    page.wait_for_load_state("load", timeout=TAP_MS)
    assert page.url == PAGE and ONLINE_TEXT in page.content(), page.url


def portal_on_next_tap(page) -> float:
    """Tap the page again: the portal must come back, at once; returns the seconds it took."""
    started = time.monotonic()
    tap(page, PAGE)
    assert on_portal(page), page.url
    return time.monotonic() - started


def probe_answer(page, url: str):
    """The response an OS probe gets in this browser, and its text (a 204 commits no page, so
    the navigation itself ends as aborted: the response is what counts). Each probe gets its
    own tab: Firefox's canonical page refreshes itself elsewhere."""
    tab = page.context.new_page()
    try:
        with tab.expect_response(lambda response: response.url == url, timeout=TAP_MS) as answer:
            try:
                tap(tab, url)
            except PlaywrightError as exc:
                if "ERR_ABORTED" not in str(exc):
                    raise
        text = tab.inner_text("body") if answer.value.status == 200 else ""
        return answer.value, text
    finally:
        tab.close()


def logout(page) -> None:
    """Log out from the status page, as the visitor would."""
    tap(page, f"{PORTAL_URL}status")
    if page.locator("#logout").count():
        page.click("#logout", timeout=TAP_MS)
        page.wait_for_load_state("load", timeout=TAP_MS)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_continue_after_login_reaches_the_page_on_the_same_connections(phone_in, lang):
    context = phone_in(lang)
    page = context.new_page()
    login_with_terms(page, lang)
    # The OS's own captive-portal window may be what shows this page: it can be closed.
    hint = page.inner_text("#close-hint")
    assert ("يمكنك إغلاقها" if lang == "ar" else "you can close it") in hint
    screenshot(page, f"status-{lang}")
    # The browser reuses the connections it opened while captive (keep-alive).
    page.click("a.button", timeout=TAP_MS)
    page.wait_for_load_state("load", timeout=TAP_MS)
    assert page.url == PAGE and ONLINE_TEXT in page.content(), page.url
    screenshot(page, f"continued-{lang}")
    for probe in PROBES:  # the OS probes say "online" on this same browser
        response, text = probe_answer(page, probe.url)
        assert response.status == probe.status, probe
        assert response.request.redirected_from is None, probe  # no 302 to the portal
        if probe.content_type == "text/plain":
            assert text.strip() == probe.body.decode().strip(), probe
    logout(page)


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


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_sms_login_in_the_browser_then_continue(clean, phone_in, lang):
    lab = clean
    context = phone_in(lang)
    page = context.new_page()
    login_with_sms(page, lab, lang)
    assert page.locator("html").get_attribute("lang") == lang
    continue_to_page(page)
    screenshot(page, f"sms-continued-{lang}")
    logout(page)
    assert portal_on_next_tap(page) < 3.0


def test_captive_portal_api_as_the_phone_reads_it(clean, phone_in):
    """RFC 8908: the URI from DHCP option 114, read before and after login on the phone."""
    lab = clean
    api = bytes.fromhex(lab.leases["cl1"]["opt114"]).decode()
    context = phone_in("en")
    page = context.new_page()
    context.set_extra_http_headers({"Accept": "application/captive+json"})
    before = json.loads(tap(page, api).text())
    assert before["captive"] is True and before["user-portal-url"].startswith(PORTAL_URL)
    context.set_extra_http_headers({})
    login_with_terms(page, "en")
    context.set_extra_http_headers({"Accept": "application/captive+json"})
    after = json.loads(tap(page, api).text())
    assert after["captive"] is False and 0 < after["seconds-remaining"] <= 1800
    context.set_extra_http_headers({})
    logout(page)


def test_https_first_falls_back_at_once(phone_in):
    """A browser that tries https:// first is refused at once (TCP reset), not left waiting."""
    context = phone_in("en")
    page = context.new_page()
    started = time.monotonic()
    with pytest.raises(PlaywrightError, match="ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET"):
        tap(page, "https://example.test/")
    assert time.monotonic() - started < 2.0
    then = context.new_page()  # the visitor types the http address instead
    tap(then, PAGE)
    assert on_portal(then)


@pytest.mark.parametrize("lang, description", [("ar", "عمود الإنارة ١٢ مطفأ"),
                                               ("en", "Lamp 12 is out")])
def test_a_report_filed_from_the_phone_is_located_at_its_ap(clean, walkway_ap, phone_in, lang,
                                                            description):
    lab = clean
    context = phone_in(lang)
    page = context.new_page()
    login_with_terms(page, lang)
    tap(page, f"{PORTAL_URL}reports/new")
    assert walkway_ap in page.inner_text("#report-site")
    page.check("input[name=category][value=lighting]")
    page.fill("#description", description)
    page.click("#file-report")
    page.wait_for_load_state("load", timeout=TAP_MS)
    screenshot(page, f"report-filed-{lang}")
    tracking = re.search(r"940-\d{4}-\d{6}", page.content()).group(0)
    logout(page)
    store = Store(lab.store_path)
    try:
        row = store.conn.execute("SELECT site, ap FROM reports WHERE tracking = ?",
                                 (tracking,)).fetchone()
    finally:
        store.close()
    assert row == ("al-ahsa-walkway", walkway_ap)


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("limit, settings", [
    ("expiry", {"session_minutes": 0.05}),        # 3 seconds
    ("quota", {"data_quota_mb": 0.2}),
    ("idle", {"idle_timeout_minutes": 0.03}),     # 1.8 seconds without a packet
])
def test_each_session_end_brings_the_portal_back_on_the_next_tap(clean, phone_in, limit,
                                                                settings, lang):
    lab = clean
    lab.restart_portal(**settings)
    context = phone_in(lang)
    try:
        page = context.new_page()
        login_with_terms(page, lang)
        continue_to_page(page)  # a keep-alive connection to the page's server stays open
        if limit == "quota":  # the page's own script downloads past the quota
            page.evaluate("fetch('/bytes/400000').then(r => r.arrayBuffer()).catch(() => null)")
        lab.wait(lambda: lab.api("cl1")["captive"], 10, f"the {limit} to end the session")
        assert portal_on_next_tap(page) < 3.0
        assert page.locator("html").get_attribute("lang") == lang
        screenshot(page, f"after-{limit}-{lang}")
    finally:
        lab.restart_portal()
