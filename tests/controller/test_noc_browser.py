"""The NOC's numbers in a real headless Chromium, in Arabic (right to left) and English: the
dashboard with the network's charts and an AP page whose radio is down, with an outage and a
restart on its charts. Screenshots go to tests/artifacts/ (noc-<lang>-dashboard.png,
noc-<lang>-ap.png)."""

from __future__ import annotations

import time

import pytest

from controller.monitoring import events, metrics
from controller.monitoring.snapshot import ApState, InterfaceStatus, Snapshot
from tests.browser import ARTIFACTS, served_app
from tests.controller.web_harness import PASSWORD, add_user, build_app, status
from tests.fleet import add_ap, add_site

pytestmark = pytest.mark.timeout(120)




def _history(store, ap: dict, now: float, *, down: range) -> None:
    """Five and a half hours of five-minute samples (the 6 h range is chosen), unanswered
    during ``down``."""
    for step in range(66):
        at = now - 66 * 300 + step * 300
        answered = step not in down
        clients = 10 + (step % 24)
        metrics.write_cycle(store, [status(
            ap, polled_at=at, answered_at=at if answered else at - 300,
            clients=clients if answered else None,
            in_bps=clients * 350_000.0 if answered else None,
            out_bps=clients * 60_000.0 if answered else None)], at)


@pytest.fixture
def noc(config, secrets, store):
    add_site(store, "amanah-walkway")
    first, second = add_ap(store, secrets, 1), add_ap(store, secrets, 2)
    now = time.time()
    _history(store, first, now, down=range(30, 36))
    _history(store, second, now, down=range(0))
    events.record_event(store, first["id"], "coldStart", "trap", {}, at=now - 2 * 3600 + 60)
    snapshot = Snapshot()
    snapshot.put(status(
        first, state=ApState.DEGRADED, in_bps=7_520_000.0, out_bps=1_180_000.0,
        radio_in_bps=1_150_000.0, radio_out_bps=7_300_000.0, uplink="eth0",
        links_down=("wlan1",),
        interfaces=(InterfaceStatus(1, "lo", role="loopback", admin_up=True, oper_up=True),
                    InterfaceStatus(2, "eth0", if_type=6, role="uplink", admin_up=True,
                                    oper_up=True, in_bps=7_520_000.0, out_bps=1_180_000.0),
                    InterfaceStatus(3, "wlan0", if_type=71, role="radio", admin_up=True,
                                    oper_up=True, in_bps=1_150_000.0, out_bps=7_300_000.0),
                    InterfaceStatus(4, "wlan1", if_type=71, role="radio", admin_up=False,
                                    oper_up=False))))
    snapshot.put(status(second, state=ApState.DOWN, uptime_s=None, clients=None, in_bps=None,
                        out_bps=None, down_since=now - 1800, answered_at=now - 1830,
                        consecutive_failures=60))
    add_user(store, "nour", "viewer")
    app = build_app(config, secrets, snapshot)
    with served_app(app) as base:
        yield base


@pytest.mark.parametrize("lang, direction, download, down_since", [
    ("ar", "rtl", "التنزيل / الرفع", "متوقفة منذ"),
    ("en", "ltr", "Download / upload", "Down since"),
])
def test_dashboard_and_ap_charts_in_each_language(browser, noc, lang, direction, download,
                                                  down_since):
    context = browser.new_context(locale="ar-SA" if lang == "ar" else "en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    # Console errors (a CSP refusal among them) and failed requests, the browser's own
    # favicon guess aside.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{noc}/login?lang={lang}")
        page.fill("input[name=username]", "nour")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")

        page.goto(f"{noc}/?lang={lang}")
        assert page.locator("html").get_attribute("dir") == direction
        network = page.locator("svg.chart")
        assert network.count() == 2
        assert page.locator("svg.chart polyline").count() >= 3      # clients, download, upload
        assert page.locator("svg.chart rect.hover title").count() > 20
        assert "7.52 / 0.00" not in page.inner_text(".tile.traffic")
        assert "7.52" in page.inner_text(".tile.traffic")
        page.screenshot(path=str(ARTIFACTS / f"noc-{lang}-dashboard.png"), full_page=True)

        page.goto(f"{noc}/aps/ap-001")
        assert download in page.inner_text(".card")
        assert "wlan1" in page.inner_text(".links-down")
        assert page.locator("svg.chart rect.mark-outage").count() == 2
        assert page.locator("svg.chart line.mark-reboot").count() == 2
        # Hovering over the plot names the time and the values there.
        box = page.locator("svg.chart").nth(1).bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5)
        hovered = page.evaluate(
            "() => { const r = document.querySelectorAll('svg.chart')[1]"
            ".querySelectorAll('rect.hover'); return r[r.length - 1].textContent; }")
        assert "Mbit/s" in hovered
        page.screenshot(path=str(ARTIFACTS / f"noc-{lang}-ap.png"), full_page=True)

        page.goto(f"{noc}/aps/ap-002")
        assert down_since in page.inner_text(".card")
        assert page.locator(".uptime").count() == 0
        assert problems == [], problems
    finally:
        context.close()
