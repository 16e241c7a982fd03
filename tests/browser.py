"""One real headless Chromium per test module, and a WSGI app served on a loopback port for it.

Test modules take the fixture by importing it (``from tests.browser import browser  # noqa:
F401``) and serve their app with `served_app`. Playwright drives Debian's chromium with the flags
this machine needs (no sandbox as root, no GPU, no background traffic to the closed network)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from waitress.server import create_server

from tests.support import require

try:
    from playwright import sync_api as playwright_api
except ImportError:  # require() below skips locally, fails under CI=true
    playwright_api = None  # type: ignore[assignment]

#: Where browser tests keep their screenshots.
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    require(playwright_api is not None, "playwright (pip install -e '.[test]')")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    require(executable is not None, "chromium (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def served_app(app, threads: int = 4) -> Iterator[str]:
    """``app`` served by waitress on a free loopback port; yields its base URL (no slash)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)
