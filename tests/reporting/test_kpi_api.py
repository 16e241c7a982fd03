"""/api/v1/kpi: the pages' figures as JSON, behind the API's token authentication."""

from __future__ import annotations

import pytest

from reporting import areas
from tests.controller.web_harness import bearer, build_app, error_of
from tests.reporting import kpi_sections


@pytest.fixture
def api(config, secrets, store, monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)
    app = build_app(config, secrets)
    return app.test_client(), bearer(store, "reader", "viewer")


def test_token_required(api):
    client, _headers = api
    response = client.get("/api/v1/kpi")
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"


def test_overview_has_every_area_and_its_headlines(api):
    client, headers = api
    body = client.get("/api/v1/kpi?period=month:2026-11", headers=headers).get_json()
    period = body["period"]
    assert (period["name"], period["timezone"]) == ("month:2026-11", "Asia/Riyadh")
    assert period["start"].startswith("2026-10-31T21:00:00")  # midnight in Riyadh, UTC+3
    assert period["end"].startswith("2026-11-30T21:00:00")
    assert [a["name"] for a in body["areas"]] == ["availability", "service"]
    fleet = next(f for f in body["figures"] if f["key"] == "availability.fleet_percent")
    assert fleet == {"key": "availability.fleet_percent", "label": "Fleet availability",
                     "value": 98.2, "unit": "percent", "status": "amber",
                     "target": {"green": 99.0, "amber": 97.0, "higher_is_better": True}}
    assert "tables" not in body


def test_area_with_tables_charts_and_arabic_labels(api):
    client, headers = api
    body = client.get("/api/v1/kpi/availability?period=week:2026-W47&site=corniche&lang=ar",
                      headers=headers).get_json()
    assert body["filters"]["site"] == "corniche"
    table = body["tables"][0]
    assert table["key"] == "availability-aps"
    assert [r["site"] for r in table["rows"]] == ["Corniche", "Corniche"]
    series = body["charts"][0]["series"][0]["points"]
    assert len(series) == 7 and series[0][1] == 99.5 and series[0][0].startswith("2026-11-1")


def test_refusals(api):
    client, headers = api
    bad = client.get("/api/v1/kpi?period=quarter", headers=headers)
    assert bad.status_code == 400 and error_of(bad)["field"] == "period"
    missing = client.get("/api/v1/kpi/nothing", headers=headers)
    assert missing.status_code == 404 and "availability" in error_of(missing)["message"]
    lang = client.get("/api/v1/kpi/service?lang=fr", headers=headers)
    assert lang.status_code == 400 and error_of(lang)["field"] == "lang"
