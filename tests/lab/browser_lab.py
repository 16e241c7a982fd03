"""A phone's browser inside a client namespace of the portal lab (not a test module).

Playwright drives Debian's Chromium over a pipe; the browser itself runs in the client's network
namespace (``ip netns exec``), so every request it makes, the captive probe, the portal, the
"continue" tap, crosses the real gateway agent, dnsmasq and nftables as a phone's would, with the
browser's own connection pool and keep-alive. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.lab.netns import Namespace
from tests.support import require

try:
    from playwright import sync_api as playwright_api
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # require() skips locally, fails under CI=true
    playwright_api = None
    PlaywrightError = RuntimeError

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}
LOCALES = {"ar": "ar-SA", "en": "en-US"}
#: Flags for a headless Chromium on a closed machine (no sandbox as root, no GPU, nothing
#: fetched in the background) that also keep it from answering for the network: no QUIC, no
#: DNS-over-HTTPS, no HTTPS upgrade of typed http:// addresses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--disable-features=DnsOverHttps,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    require(executable is not None, "chromium (apt-get install chromium)")
    return str(executable)


def launcher(namespace: Namespace, folder: Path) -> Path:
    """A script that runs Chromium inside ``namespace`` with the arguments Playwright gives it
    (``exec`` keeps the pipe Playwright talks over)."""
    script = folder / f"chromium-in-{namespace.name}"
    script.write_text(f"#!/bin/sh\nexec ip netns exec {namespace.name} {chromium_path()} \"$@\"\n")
    script.chmod(0o755)
    return script


@contextmanager
def phone_browser(namespace: Namespace, folder: Path) -> Iterator:
    """A Chromium whose network is ``namespace``'s."""
    require(playwright_api is not None, "playwright (pip install -e '.[test]')")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(launcher(namespace, folder)),
                                             args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_phone(browser, lang: str):
    """A fresh browsing context (cookies, connection pool) in ``lang``."""
    return browser.new_context(locale=LOCALES[lang], viewport=PHONE, device_scale_factor=2,
                               is_mobile=True, has_touch=True)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lab-{name}.png"), full_page=True)
