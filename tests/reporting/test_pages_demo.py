"""`make run`'s demo: a month of KPI history written on the first start only, quickly, so that
every Reports page and the API have figures from the start."""

from __future__ import annotations

import re
import time

from controller import demo
from core.store import Store
from reporting import areas
from reporting.demo import MARKER
from tests.controller.web_harness import add_user, bearer, build_app, login


def test_demo_start_writes_a_month_of_history_once(config, secrets, tmp_path):
    config.apsim.count = 8
    started = time.monotonic()
    demo.seed(config)
    assert time.monotonic() - started < 30
    store = Store(config.store_location())
    (marked,) = store.conn.execute("SELECT count(*) FROM reporting_markers WHERE name = ?",
                                   (MARKER,)).fetchone()
    assert marked == 1
    intervals = store.conn.execute("SELECT count(*) FROM kpi_ap_intervals").fetchone()[0]
    assert intervals > 0
    demo.seed(config)  # a restart: nothing is written again
    assert store.conn.execute("SELECT count(*) FROM kpi_ap_intervals").fetchone()[0] == intervals

    app = build_app(config, secrets)
    add_user(store, "viewer", "viewer")
    client = app.test_client()
    login(client, "viewer")
    for area in areas.AREAS:
        page = client.get(f"/kpi/area/{area.name}?period=30d&lang=ar").get_data(as_text=True)
        assert "<polyline" in page or "<rect x=" in page, area.name  # a chart with data
    headers = bearer(store, "reader", "viewer")
    body = client.get("/api/v1/kpi?period=30d", headers=headers).get_json()
    values = {f["key"]: f["value"] for f in body["figures"]}
    for key in ("availability.fleet_percent", "usage.sessions", "backhaul.availability",
                "service.received"):
        assert values[key] is not None and values[key] > 0, key
    overview = client.get("/kpi/?lang=en").get_data(as_text=True)
    assert not re.search(r'data-figure="availability.fleet_percent" data-status="none"', overview)
    store.close()
