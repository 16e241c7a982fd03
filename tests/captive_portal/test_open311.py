"""Open311 GeoReport v2 conformance: every endpoint in JSON and XML, the filters of GET
requests, and every error path with the spec's ``[{code, description}]`` and status code."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

import pytest

from captive_portal.reports.workflow import transition
from tests.captive_portal.reports_pipeline import FAST


def _error(response, status):
    assert response.status_code == status
    body = response.get_json()
    assert isinstance(body, list) and body[0]["code"] == status and body[0]["description"]
    return body[0]["description"]


def _xml(response):
    assert response.content_type.startswith("text/xml")
    return ET.fromstring(response.get_data())


def test_discovery_lists_the_endpoint_in_both_formats(site):
    body = site.client.get("/open311/v2/discovery.json").get_json()
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert body["endpoints"][0]["url"].endswith("/open311/v2/")
    assert set(body["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    root = _xml(site.client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert root.find("endpoints/endpoint/formats/format") is not None


def test_services_in_english_arabic_and_xml(site):
    services = site.client.get("/open311/v2/services.json").get_json()
    codes = [s["service_code"] for s in services]
    assert codes == ["lighting", "cleanliness", "roads", "water", "parks", "pests", "wifi"]
    assert services[0]["service_name"] == "Street and park lighting"
    assert services[0]["metadata"] is False and services[0]["type"] == "realtime"
    arabic = site.client.get("/open311/v2/services.json?locale=ar").get_json()
    assert arabic[0]["service_name"] == "إنارة الشوارع والحدائق"
    root = _xml(site.client.get("/open311/v2/services.xml"))
    assert root.tag == "services"
    assert [e.text for e in root.findall("service/service_code")] == codes
    assert root.find("service/metadata").text == "false"


def test_service_definition_and_unknown_service(site):
    body = site.client.get("/open311/v2/services/water.json").get_json()
    assert body == {"service_code": "water", "attributes": []}
    assert _xml(site.client.get("/open311/v2/services/water.xml")).tag == "service_definition"
    _error(site.client.get("/open311/v2/services/nope.json"), 404)
    root = _xml(site.client.get("/open311/v2/services/nope.xml"))
    assert root.tag == "errors" and root.find("error/code").text == "404"


def test_post_creates_a_report_with_its_outbox_row_and_token(site):
    response = site.post311(description="Exposed wire hanging from the lamp post",
                            first_name="Sara", phone="0501234567", email="s@example.sa")
    assert response.status_code == 200
    [created] = response.get_json()
    tracking = created["service_request_id"]
    assert tracking.startswith(f"940-{dt.date.today().year}-") and len(tracking) == 15
    assert site.counts()[:2] == (1, 1)
    [record] = site.client.get(f"/open311/v2/requests/{tracking}.json").get_json()
    assert record["status"] == "open" and record["status_notes"] == "received"
    assert record["service_code"] == "lighting"
    assert record["agency_responsible"] == "Lighting maintenance"
    assert record["lat"] == pytest.approx(25.383) and record["long"] == pytest.approx(49.586)
    assert record["expected_datetime"] > record["requested_datetime"]
    row = site.store.conn.execute("SELECT priority, channel, api_client, reporter_name FROM "
                                  "reports").fetchone()
    assert row == ("urgent", "open311", "tests", "Sara")  # "exposed wire" raised it
    token = site.client.get(f"/open311/v2/tokens/{created['token']}.json").get_json()
    assert token == [{"service_request_id": tracking, "token": created["token"]}]
    assert _xml(site.client.get(f"/open311/v2/tokens/{created['token']}.xml")).find(
        "request/service_request_id").text == tracking


def test_post_in_xml_and_address_only_location(site):
    response = site.post311("xml", lat=None, long=None, address_string="King Abdullah Park, gate 2")
    root = _xml(response)
    assert response.status_code == 200 and root.tag == "service_requests"
    assert root.find("request/service_request_id").text.startswith("940-")


def test_empty_parameters_count_as_missing(site):
    _error(site.post311(lat="", long=""), 400)
    _error(site.post311(service_code=""), 400)
    assert site.counts() == (0, 0, 0, 0)


@pytest.mark.parametrize("fields, status, words", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "wrong"}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "volcano"}, 404, "service_code"),
    ({"lat": None, "long": None}, 400, "location"),
    ({"long": None}, 400, "long"),
    ({"lat": "95"}, 400, "lat"),
    ({"lat": "north"}, 400, "lat"),
    ({"long": "nan"}, 400, "long"),
    ({"description": "x" * 4001}, 400, "4000"),
    ({"description": "Lamp out <script>alert(1)</script>"}, 400, "HTML"),
    ({"description": "<b>bold</b> claim"}, 400, "HTML"),
    ({"description": "Tom &amp; Jerry"}, 400, "HTML"),
    ({"phone": "12345"}, 400, "phone"),
    ({"email": "not-an-email"}, 400, "email"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"address_string": "<img src=x>", "lat": None, "long": None}, 400, "HTML"),
])
def test_bad_posts_are_refused_and_nothing_is_written(site, fields, status, words):
    description = _error(site.post311(**fields), status)
    assert words.lower() in description.lower()
    assert site.counts() == (0, 0, 0, 0)


def test_errors_in_xml_and_oversized_bodies(site):
    root = _xml(site.post311("xml", api_key="wrong"))
    assert root.tag == "errors" and root.find("error/code").text == "403"
    huge = site.client.post("/open311/v2/requests.json",
                            data={"api_key": site.API_KEY, "description": "x" * 200_000})
    _error(huge, 413)
    assert site.counts() == (0, 0, 0, 0)


def test_four_thousand_characters_and_arabic_are_accepted(site):
    text = ("مصباح مطفأ قرب البوابة " * 200)[:4000]
    assert site.post311(description=text).status_code == 200


def test_unknown_requests_tokens_and_endpoints_are_404(site):
    _error(site.client.get("/open311/v2/requests/940-2026-999999.json"), 404)
    assert _xml(site.client.get("/open311/v2/requests/940-2026-999999.xml")).tag == "errors"
    _error(site.client.get("/open311/v2/tokens/nothing.json"), 404)
    _error(site.client.get("/open311/v2/services"), 404)
    _error(site.client.delete("/open311/v2/requests.json"), 404)
    _error(site.client.get("/open311/v2/requests.html"), 404)


def _file(site, n, **fields):
    return [site.post311(**fields).get_json()[0]["service_request_id"] for _ in range(n)]


def test_get_requests_filters(site):
    lights = _file(site, 3)
    water = _file(site, 2, service_code="water")
    transition(site.store, lights[0], "forwarded", actor="forwarder", now=site.now, config=FAST)
    transition(site.store, lights[0], "resolved", actor="backoffice", now=site.now, config=FAST,
               note="lamp replaced")
    url = "/open311/v2/requests.json"
    every = site.client.get(url).get_json()
    assert {r["service_request_id"] for r in every} == set(lights + water)
    by_code = site.client.get(url, query_string={"service_code": "water"}).get_json()
    assert {r["service_request_id"] for r in by_code} == set(water)
    closed = site.client.get(url, query_string={"status": "closed"}).get_json()
    assert [r["service_request_id"] for r in closed] == [lights[0]]
    assert closed[0]["status_notes"] == "resolved: lamp replaced"
    assert closed[0]["expected_datetime"] is None
    open_ = site.client.get(url, query_string={"status": "open"}).get_json()
    assert len(open_) == 4
    both = site.client.get(url, query_string={"status": "open,closed"}).get_json()
    assert len(both) == 5
    # service_request_id overrides every other filter
    chosen = site.client.get(url, query_string={
        "service_request_id": f"{water[0]},{lights[1]}", "service_code": "pests",
        "status": "closed"}).get_json()
    assert {r["service_request_id"] for r in chosen} == {water[0], lights[1]}
    xml = _xml(site.client.get("/open311/v2/requests.xml", query_string={"status": "closed"}))
    assert [e.text for e in xml.findall("request/status")] == ["closed"]


def test_get_requests_date_window(site):
    old = _file(site, 1)[0]
    site.store.conn.execute("UPDATE reports SET created_at = created_at - 100 * 86400 "
                            "WHERE tracking = ?", (old,))
    recent = _file(site, 1)[0]
    url = "/open311/v2/requests.json"
    default = [r["service_request_id"] for r in site.client.get(url).get_json()]
    assert default == [recent]  # the default window is the last 90 days
    now = dt.datetime.fromtimestamp(site.now, dt.timezone.utc)
    window = {"start_date": (now - dt.timedelta(days=120)).isoformat(),
              "end_date": (now - dt.timedelta(days=60)).isoformat()}
    found = site.client.get(url, query_string=window).get_json()
    assert [r["service_request_id"] for r in found] == [old]
    zulu = {"start_date": (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert [r["service_request_id"] for r in site.client.get(url, query_string=zulu
                                                              ).get_json()] == [recent]


@pytest.mark.parametrize("query, words", [
    ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2026-13-45"}, "end_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
    ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "before"),
    ({"status": "pending"}, "status"),
])
def test_get_requests_bad_filters(site, query, words):
    assert words in _error(site.client.get("/open311/v2/requests.json", query_string=query), 400)
