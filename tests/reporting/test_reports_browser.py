"""The Reports pages in a real headless Chromium, on a month of demo history: the overview and
every area in Arabic (right to left) and English, charts drawn, nothing refused by the CSP or
failing in the console. Screenshots go to tests/artifacts/kpi-*.png."""

from __future__ import annotations

import pytest

from controller import demo
from core.config import load_config
from core.secrets import SecretBox
from core.store import Store
from core.store.postgresql import close_pools
from reporting import areas
from tests.browser import ARTIFACTS, served_app
from tests.controller.web_harness import PASSWORD, add_user, build_app

pytestmark = [pytest.mark.timeout(180), pytest.mark.store_backed]  # the admin app's store




@pytest.fixture(scope="module")
def admin(tmp_path_factory, request):
    """The admin app on a loopback port, its store holding the demo's month of history (on
    the PostgreSQL pass a database of its own in the session's cluster)."""
    folder = tmp_path_factory.mktemp("kpi-browser")
    config = load_config(env={})
    config.store.path = str(folder / "oasis.db")
    if request.config.getoption("--store") == "postgresql":
        config.store.url = request.getfixturevalue("postgres_cluster").database()
    config.store.key_file = str(folder / "oasis.key")
    config.apsim.count = 8
    demo.seed(config)
    store = Store(config.store_location())
    add_user(store, "viewer", "viewer")
    store.close()
    app = build_app(config, SecretBox.from_key_file(config.store.key_file))
    with served_app(app) as base:
        yield base
    if config.store.url:
        close_pools(config.store.url)


@pytest.mark.parametrize("lang, direction", [("ar", "rtl"), ("en", "ltr")])
def test_kpi_pages_in_each_language(browser, admin, lang, direction):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  locale="ar-SA" if lang == "ar" else "en-US")
    page = context.new_page()
    problems: list[str] = []
    # (the admin app has no favicon: Chromium's own request for one is not the page's)
    page.on("console", lambda m: problems.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    try:
        page.goto(f"{admin}/login")
        page.fill("input[name=username]", "viewer")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        assert "/login" not in page.url
        ARTIFACTS.mkdir(exist_ok=True)
        for name in ("overview", *(a.name for a in areas.AREAS)):
            path = "/kpi/" if name == "overview" else f"/kpi/area/{name}"
            response = page.goto(f"{admin}{path}?period=30d&lang={lang}")
            assert response is not None and response.status == 200, path
            assert page.locator("html").get_attribute("dir") == direction
            assert page.locator(".kpi").get_attribute("dir") == direction
            charts = page.locator("svg.chart")
            assert charts.count() >= 1, path
            box = charts.first.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 50
            # the figures carry values (the month of history), coloured by their targets
            assert page.locator(".kpi-tile").count() >= 4
            page.screenshot(path=str(ARTIFACTS / f"kpi-{name}-{lang}.png"), full_page=True)
        assert not problems, problems
    finally:
        context.close()
