"""The 940 desk: search (tracking number in any digits, phone, words), sort, bulk moves
(operators only, each audited), photo thumbnails and coordinates kept left to right."""

from __future__ import annotations

import io
import re
import secrets
import time

import pytest
from PIL import Image

from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.workflow import transition
from tests.captive_portal.reports_pipeline import FAST
from tests.controller.web_harness import add_user, build_app, login, post_form

_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def admin(config, secrets, store):
    app = build_app(config, secrets)
    add_user(store, "olga", "operator")
    add_user(store, "vic", "viewer")
    return app


def _file(store, description="Lamp out", category="lighting", **values):
    return file_report(store, NewReport(category=category, description=description,
                                        channel="portal", site="park-1", **values),
                       FAST).tracking


def _queue(client, query="") -> list[str]:
    page = client.get("/reports/" + query)
    assert page.status_code == 200
    return re.findall(r'data-tracking="([^"]+)"', page.get_data(as_text=True))


def test_search_by_tracking_number_phone_or_words_and_sort(admin, store):
    lamp = _file(store, phone="0501234567", phone_verified=True)
    hole = _file(store, description="Deep pothole by the swings", category="roads")
    water = _file(store, description="تسرب مياه عند البوابة", category="water")
    client = admin.test_client()
    login(client, "vic")
    # A whole tracking number, typed in Arabic-Indic digits, opens the report.
    opened = client.get("/reports/", query_string={"q": hole.translate(_ARABIC_DIGITS)})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/reports/{hole}")
    assert _queue(client, "?q=٠٥٠١٢٣٤٥٦٧") == [lamp]           # the phone, as typed
    assert _queue(client, "?q=pothole") == [hole]
    assert _queue(client, "?q=مياه") == [water]
    assert _queue(client, "?q=" + lamp[-6:].lstrip("0")) == [lamp]  # part of a number
    assert _queue(client, "?q=100%25") == []                     # LIKE wildcards are text
    # Sorted: most urgent first (the pothole is raised to high), then due soonest.
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    priorities = dict(store.conn.execute("SELECT tracking, priority FROM reports"))
    assert priorities[hole] == "high"
    by_priority = _queue(client, "?sort=priority")
    assert [rank[priorities[t]] for t in by_priority] == sorted(rank[p] for p in
                                                                 priorities.values())
    assert _queue(client, "?sort=oldest") == [lamp, hole, water]
    assert _queue(client, "?sort=newest") == [water, hole, lamp]


def test_bulk_moves_are_for_operators_each_audited_and_name_what_did_not_apply(admin, store):
    ready = [_file(store) for _ in range(2)]
    for tracking in ready:
        transition(store, tracking, "forwarded", actor="backoffice", now=time.time(),
                   config=FAST)
    fresh = _file(store)  # still "received": it cannot be assigned yet
    viewer = admin.test_client()
    login(viewer, "vic")
    assert 'id="bulk"' not in viewer.get("/reports/").get_data(as_text=True)
    refused = post_form(viewer, "/reports/bulk", {"status": "assigned", "assignee": "North",
                                                  "tracking": ready}, token_from="/reports/")
    assert refused.status_code in (302, 403)
    operator = admin.test_client()
    login(operator, "olga")
    queue = operator.get("/reports/?sort=oldest").get_data(as_text=True)
    assert 'id="bulk"' in queue and f'value="{fresh}" form="bulk"' in queue
    no_name = post_form(operator, "/reports/bulk", {"status": "assigned",
                                                    "tracking": [*ready, fresh]},
                        token_from="/reports/")
    assert no_name.status_code == 303
    assert store.conn.execute("SELECT count(*) FROM reports WHERE status = 'assigned'"
                              ).fetchone()[0] == 0
    moved = post_form(operator, "/reports/bulk", {
        "status": "assigned", "assignee": "فريق الشمال", "note": "غداً صباحاً",
        "tracking": [*ready, fresh], "back": "sort=oldest&next=//evil.example"},
        token_from="/reports/")
    assert moved.status_code == 303 and moved.headers["Location"].endswith(
        "/reports/?sort=oldest")
    rows = dict(store.conn.execute("SELECT tracking, status FROM reports"))
    assert [rows[t] for t in ready] == ["assigned", "assigned"] and rows[fresh] == "received"
    assigned = {r[0] for r in store.conn.execute(
        "SELECT assigned_to FROM reports WHERE status = 'assigned'")}
    assert assigned == {"فريق الشمال"}
    audited = [r[0] for r in store.conn.execute(
        "SELECT target_id FROM audit_log WHERE action = 'report.move' AND actor LIKE '%olga%'")]
    assert sorted(audited) == sorted(ready)
    flashed = operator.get("/reports/").get_data(as_text=True)
    assert "2 reports moved to assigned." in flashed and fresh in flashed


def _jpeg(size) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_photos_as_thumbnails_and_coordinates_left_to_right(admin, store):
    tracking = _file(store, lat="25.41250", lon="49.61556", location_source="browser")
    token = secrets.token_urlsafe(8)
    store.conn.execute(
        "INSERT INTO report_photos (report_id, token, mime, width, height, data) "
        "SELECT id, ?, 'image/jpeg', 1600, 1200, ? FROM reports WHERE tracking = ?",
        (token, _jpeg((1600, 1200)), tracking))
    client = admin.test_client()
    login(client, "vic")
    page = client.get(f"/reports/{tracking}").get_data(as_text=True)
    assert re.search(r'<bdi dir="ltr">\s*25\.41250, 49\.61556\s*</bdi>', page)
    thumb = re.search(r'<img class="thumb" src="([^"]+)"', page).group(1)
    assert "size=thumb" in thumb
    small = client.get(thumb)
    assert small.status_code == 200 and small.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(small.data)).size) <= 240
    whole = client.get(f"/reports/photos/{token}.jpg")
    assert Image.open(io.BytesIO(whole.data)).size == (1600, 1200)
    assert admin.test_client().get(thumb).status_code in (302, 401, 403)  # signed in only
