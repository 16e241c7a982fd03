"""The Reports pages of the admin app: overview, each area, controls, targets and charts, in
Arabic (right to left, the default) and English; sign-in required; bad periods refused."""

from __future__ import annotations

import re

import pytest

from reporting import areas
from tests.controller.web_harness import add_user, build_app, login
from tests.reporting import kpi_sections


@pytest.fixture
def app(config, secrets, store):
    return build_app(config, secrets)


@pytest.fixture
def client(app, store):
    add_user(store, "viewer", "viewer")
    c = app.test_client()
    assert login(c, "viewer").status_code == 302
    return c


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)
    kpi_sections.CALLS.clear()


def text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_pages_need_sign_in(app):
    response = app.test_client().get("/kpi/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_overview_in_arabic_and_in_english(client, fake):
    page = text(client.get("/kpi/?period=month:2026-11&lang=ar"))
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    assert "أمانة الأحساء" in page and "2026-11-01 – 2026-11-30" in page
    # headline figures of each area, coloured by their target
    assert re.search(r'data-figure="availability.fleet_percent" data-status="amber"', page)
    assert re.search(r'data-figure="service.sla_percent" data-status="amber"', page)
    assert re.search(r'data-figure="availability.mttr_s" data-status="red"', page)
    assert "98.2 %" in page
    assert page.count("<svg") == 2  # each area's first chart
    english = text(client.get("/kpi/?period=month:2026-11&lang=en"))
    assert 'dir="ltr"' in english and "Al-Ahsa Municipality" in english
    assert "Fleet availability" in english and "1 h 2 min" in english


def test_period_controls_and_filters_reach_the_builders(client, fake):
    text(client.get("/kpi/area/availability?p=week&week=2026-W47&site=corniche&ap="))
    text(client.get("/kpi/area/availability?p=custom&from=2026-11-03&to=2026-11-09"))
    text(client.get("/kpi/area/availability?p=7d"))
    asked = [(name, period, filters.site) for name, period, filters in kpi_sections.CALLS]
    assert asked == [("availability", "week:2026-W47", "corniche"),
                     ("availability", "2026-11-03..2026-11-09", None),
                     ("availability", "7d", None)]


def test_area_page_tables_charts_and_export_links(client, fake):
    page = text(client.get("/kpi/area/service?period=month:2026-11&lang=en"))
    assert 'data-table="service-backlog"' in page
    assert "/kpi/area/service/service-backlog.csv?period=month:2026-11&amp;lang=en" in page
    assert "/kpi/report.pdf?period=month:2026-11&amp;lang=ar" in page
    assert page.count('<rect x=') >= 14  # two series of seven daily bars
    # the category filter applies to the 940 area; the AP filter does not
    assert 'name="category"' in page and 'name="ap"' not in page


def test_rtl_charts_run_right_to_left(client, fake):
    ar = text(client.get("/kpi/area/availability?period=month:2026-11&lang=ar"))
    en = text(client.get("/kpi/area/availability?period=month:2026-11&lang=en"))

    def first_x(page):
        points = re.search(r'<polyline points="([^"]+)"', page).group(1).split()
        return float(points[0].split(",")[0]), float(points[-1].split(",")[0])

    start_ar, end_ar = first_x(ar)
    start_en, end_en = first_x(en)
    assert start_en < end_en and start_ar > end_ar  # time flows with the reading direction
    assert 'direction="ltr"' in ar  # anchors keep their meaning inside the RTL page
    assert "style=" not in ar.split("<main>")[1]  # CSP: no inline styles


def test_bad_period_is_refused_with_its_message(client, fake):
    response = client.get("/kpi/?period=month:2026-13&lang=en")
    assert response.status_code == 400
    assert "not a calendar date" in response.get_data(as_text=True)
    assert client.get("/kpi/area/nothing").status_code == 404
    for query in ("p=custom&from=2026-11-09&to=2026-11-03", "period=999d", "ap=abc",
                  "p=month&month=2026-99"):
        refused = client.get(f"/kpi/area/availability?{query}&lang=en")
        assert refused.status_code == 400, query
    odd = text(client.get("/kpi/?site=%3Cscript%3Ealert(1)%3C/script%3E&lang=en"))
    assert "<script>alert(1)" not in odd


def test_real_areas_render_on_an_empty_store(client):
    for path in ["/kpi/", *(f"/kpi/area/{a.name}" for a in areas.AREAS)]:
        for lang in ("ar", "en"):
            page = text(client.get(f"{path}?lang={lang}"))
            assert f'lang="{lang}"' in page


def test_delivered_page_without_schedules(client):
    page = text(client.get("/kpi/delivered?lang=en"))
    assert "No schedule yet" in page
    assert client.get("/kpi/delivered/1").status_code == 404
