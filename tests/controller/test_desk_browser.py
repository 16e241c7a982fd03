"""The map and the 940 desk in a real headless Chromium, in Arabic and English.

One browser for the module. The map is drawn by the vendored Leaflet with no tile server (no
request leaves the admin app, and the page's policy blocks nothing); the desk shows a report's
coordinates left to right beside Arabic text, its photo as a thumbnail and a small map, and
moves two ticked reports at once. Screenshots go to tests/artifacts/admin-<lang>-map.png, -desk.png and
-report.png."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.workflow import transition
from controller.monitoring.snapshot import ApState
from core import inventory
from tests.browser import ARTIFACTS, served_app
from tests.captive_portal.reports_pipeline import FAST
from tests.controller.web_harness import PASSWORD, add_user, build_app, status
from tests.fleet import add_ap

pytestmark = pytest.mark.timeout(180)




def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def desk(config, secrets, store, snapshot):
    inventory.add_site(store, {"slug": "kap", "name_en": "King Abdullah Park",
                               "name_ar": "منتزه الملك عبدالله", "kind": "park",
                               "lat": 25.4120, "lon": 49.6150}, "test")
    for n, (lat, lon, state) in enumerate([(25.4125, 49.6156, ApState.UP),
                                           (25.4117, 49.6143, ApState.DOWN),
                                           (25.4129, 49.6141, ApState.DEGRADED)], start=1):
        ap = add_ap(store, secrets, n, site="kap", lat=lat, lon=lon)
        snapshot.put(status(ap, state=state))
    trackings = []
    for text in ("حفرة عميقة بجانب المراجيح", "Deep pothole by the north gate", "الإنارة مطفأة"):
        trackings.append(file_report(store, NewReport(
            category="lighting", description=text, channel="portal", site="kap",
            lat="25.41250", lon="49.61556", location_source="browser"), FAST).tracking)
    for tracking in trackings[:2]:
        transition(store, tracking, "forwarded", actor="backoffice", now=time.time(),
                   config=FAST)
    store.conn.execute(
        "INSERT INTO report_photos (report_id, token, mime, width, height, data) "
        "SELECT id, 'desk-photo-1', 'image/jpeg', 1200, 900, ? FROM reports WHERE tracking = ?",
        (_jpeg(), trackings[0]))
    add_user(store, "olga", "operator")
    app = build_app(config, secrets, snapshot)
    with served_app(app) as base:
        yield base, trackings


@pytest.mark.parametrize("lang, direction", [("ar", "rtl"), ("en", "ltr")])
def test_map_and_desk_in_each_language(browser, desk, store, lang, direction):
    base, trackings = desk
    context = browser.new_context(locale="ar-SA" if lang == "ar" else "en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    elsewhere, refused = [], []
    page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{base}/login?lang={lang}")
        page.fill("input[name=username]", "olga")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        # The map: Leaflet draws the site and its three APs, coloured by state, no tiles.
        page.goto(f"{base}/map/")
        assert page.locator("html").get_attribute("dir") == direction
        page.wait_for_selector("#map[data-drawn='4']")
        for state in ("up", "down", "degraded"):
            assert page.locator(f"path.map-ap.state-{state}").count() == 1
        assert page.locator(".leaflet-tooltip.map-label").inner_text() == (
            "منتزه الملك عبدالله" if lang == "ar" else "King Abdullah Park")
        assert page.locator(".leaflet-tile").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"admin-{lang}-map.png"), full_page=True)
        # The desk: search in Arabic-Indic digits opens the report.
        page.goto(f"{base}/reports/")
        page.screenshot(path=str(ARTIFACTS / f"admin-{lang}-desk.png"), full_page=True)
        page.fill("#queue-search", trackings[0].translate(str.maketrans("0123456789",
                                                                        "٠١٢٣٤٥٦٧٨٩")))
        with page.expect_navigation():
            page.press("#queue-search", "Enter")
        assert page.url.endswith(f"/reports/{trackings[0]}")
        coordinates = page.locator("bdi[dir=ltr]", has_text="25.41250")
        assert coordinates.inner_text() == "25.41250, 49.61556"
        box = page.locator("bdi[dir=ltr]", has_text="25.41250").bounding_box()
        first = page.evaluate("""() => { const b = [...document.querySelectorAll('bdi[dir=ltr]')]
            .find(e => e.textContent.includes('25.41250')); const r = document.createRange();
            r.setStart(b.firstChild, 0); r.setEnd(b.firstChild, 2);
            return r.getBoundingClientRect().left; }""")
        assert abs(first - box["x"]) < 2  # "25" starts the box: read left to right
        # Its small map: the report among its site's three APs.
        page.wait_for_selector("#map[data-drawn='5']")
        assert page.locator("path.map-report").count() == 1
        assert page.locator("path.map-ap").count() == 3
        thumb = page.locator("#report-photos img.thumb")
        assert page.evaluate("(img) => img.complete && img.naturalWidth", thumb.element_handle()
                             ) == 240
        page.screenshot(path=str(ARTIFACTS / f"admin-{lang}-report.png"), full_page=True)
        # Two ticked reports assigned at once.
        page.goto(f"{base}/reports/?sort=oldest")
        for tracking in trackings[:2]:
            page.check(f"input[name=tracking][value='{tracking}']")
        page.select_option("#bulk-status", "assigned")
        page.fill("#bulk-assignee", "فريق الشمال")
        with page.expect_navigation():
            page.click("#bulk-apply")
        assert ("نُقل" if lang == "ar" else "2 reports moved") in page.inner_text("body")
        assert not elsewhere, elsewhere
        assert not refused, refused
    finally:
        context.close()
    assert {r[0] for r in store.conn.execute(
        "SELECT status FROM reports WHERE tracking IN (?, ?)", trackings[:2])} == {"assigned"}
