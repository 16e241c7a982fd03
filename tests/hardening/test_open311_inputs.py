"""Bad-input corpus for Open311 GeoReport v2 (``/open311/v2/``), against the real portal app.

Each case: the spec's error array with its 4xx (or a 200 for odd but valid input), never a 5xx;
a body the XML or JSON parser reads (expat for XML: the feed every consumer parses); nothing
half-written; the API still serving afterwards.
"""

from __future__ import annotations

import json

import pytest

from tests.hardening.corpus import readable, still_serving, whole

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

BASE = "/open311/v2"
#: Characters XML 1.0 forbids (not even as &#...;), and their neighbours that it allows.
FORBIDDEN_IN_XML = "\x01\x08\x0b\x0c\x1b\ufffe\uffff"


def _post_raw(site, body: bytes, content_type: str, fmt: str = "json"):
    return site.client.post(f"{BASE}/requests.{fmt}", data=body, content_type=content_type)


def _valid_form(site, **fields) -> dict:
    data = {"api_key": site.API_KEY, "service_code": "lighting", "lat": "25.383",
            "long": "49.586", "description": "The lamp by the north gate is out"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# -- POST requests: form fields a careless or hostile client sends ------------------------------

FIELD_CASES = [
    # (fields, expected status)
    ({"api_key": None}, 403),
    ({"api_key": "wrong"}, 403),
    ({"api_key": "x" * 5000}, 403),
    ({"api_key": "\u202etest-open311-key"}, 403),
    ({"service_code": None}, 400),
    ({"service_code": "x" * 10_000}, 404),
    ({"service_code": "' OR 1=1 --"}, 404),
    ({"service_code": "../../etc/passwd"}, 404),
    ({"service_code": "lighting\x00"}, 404),
    ({"lat": "NaN", "long": "49.5"}, 400),
    ({"lat": "inf", "long": "49.5"}, 400),
    ({"lat": "-inf", "long": "49.5"}, 400),
    ({"lat": "1e309", "long": "49.5"}, 400),
    ({"lat": "9" * 5000, "long": "49.5"}, 400),
    ({"lat": "0x19", "long": "49.5"}, 400),
    ({"lat": "25.3", "long": "180.0001"}, 400),
    ({"lat": "25.3", "long": None}, 400),
    ({"lat": "٢٥٫٣", "long": "49.5"}, 400),
    ({"lat": "٢٥", "long": "٤٩"}, 200),       # Arabic-Indic digits are digits
    ({"lat": "-0", "long": "0"}, 200),
    ({"description": "x" * 4001}, 400),
    ({"description": "<script>alert(1)</script>"}, 400),
    ({"description": "&#x3c;b&#x3e;"}, 400),
    ({"description": "a" + "\u0301" * 3999}, 200),  # combining marks: 4,000 code points
    ({"description": "\U0001f4a1" * 4000}, 200),     # astral characters
    ({"description": "\u202eevil\u202c and \u200f marks"}, 200),
    ({"description": "line\rbreak\r\nand\n"}, 200),
    ({"description": "nul\x00 and bell\x07 go"}, 200),
    ({"description": FORBIDDEN_IN_XML + " lamp out"}, 200),
    ({"description": "\ud7ff\ue000\ufffd"}, 200),
    ({"description": None}, 200),
    ({"address_string": "x" * 501, "lat": None, "long": None}, 400),
    ({"address_string": "\uffff", "lat": None, "long": None}, 200),
    ({"address_id": "<a>", "lat": None, "long": None}, 400),
    ({"phone": "+966" + "5" * 40}, 400),
    ({"phone": "٠٥٠١٢٣٤٥٦٧"}, 200),
    ({"email": "a@" + "b" * 300}, 400),
    ({"email": "has space@x.sa"}, 400),
    ({"media_url": "data:text/html,<b>x</b>"}, 400),
    ({"media_url": "https://example.com/" + "a" * 3000}, 400),
    ({"first_name": "x" * 300}, 400),
    ({"first_name": "<i>"}, 400),
    ({"device_id": "\x00" * 100}, 200),
    ({"locale": "xx"}, 200),
    ({"attribute[colour]": "red", "jurisdiction_id": "al-ahsa"}, 200),
]


@pytest.mark.parametrize("fields, status", FIELD_CASES,
                         ids=[f"field{i}" for i in range(len(FIELD_CASES))])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_odd_fields_get_the_documented_answer(site, fields, status, fmt):
    answer = site.client.post(f"{BASE}/requests.{fmt}", data=_valid_form(site, **fields))
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    body = readable(answer)
    if status != 200:
        description = body[0]["description"] if fmt == "json" else body.find("error/description").text
        assert description
    whole(site)
    still_serving(site)


# -- POST requests: bodies that are not the form the spec says -----------------------------------

BODY_CASES = [
    # (body, content type, status)
    (b"", "application/x-www-form-urlencoded", 403),
    (b"%ZZ%%&&==", "application/x-www-form-urlencoded", 403),
    (b"api_key=%ED%A0%80", "application/x-www-form-urlencoded", 403),      # a surrogate's bytes
    (b"api_key=\xff\xfe\xfd", "application/x-www-form-urlencoded", 403),   # not UTF-8
    (b"\x00" * 1000, "application/x-www-form-urlencoded", 403),
    (b"a=" + b"b" * 70_000, "application/x-www-form-urlencoded", 413),
    (b"&" * 60_000, "application/x-www-form-urlencoded", 403),
    (json.dumps({"api_key": "test-open311-key", "service_code": "lighting",
                 "description": "\ud800"}).encode(), "application/json", 403),
    (b'{"api_key": "\\ud800"}', "application/json", 403),
    (b"{not json", "application/json", 403),
    (b"--x\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n",
     "multipart/form-data; boundary=x", 403),
    (b"garbage", "multipart/form-data", 403),
    (b"garbage", "multipart/form-data; boundary=" + "x" * 200, 403),
    (b"<xml>1</xml>", "text/xml", 403),
    (b"api_key=k", "application/x-www-form-urlencoded; charset=utf-7", 403),
]


@pytest.mark.parametrize("body, content_type, status", BODY_CASES,
                         ids=[f"body{i}" for i in range(len(BODY_CASES))])
def test_malformed_bodies_are_refused_in_the_spec_shape(site, body, content_type, status):
    answer = _post_raw(site, body, content_type)
    assert answer.status_code == status
    error = readable(answer)
    assert error[0]["code"] == status and error[0]["description"]
    assert site.counts() == (0, 0, 0, 0)
    still_serving(site)


def test_a_lone_surrogate_in_a_form_never_reaches_the_store(site):
    """Percent-encoded surrogate bytes decode as replacement characters, never as a surrogate
    SQLite could not store; the JSON and XML feeds stay readable."""
    body = (f"api_key={site.API_KEY}&service_code=lighting&lat=25.3&long=49.5"
            "&description=lamp%ED%A0%80out").encode()
    answer = _post_raw(site, body, "application/x-www-form-urlencoded")
    assert answer.status_code == 200
    tracking = answer.get_json()[0]["service_request_id"]
    stored = site.store.conn.execute("SELECT description FROM reports").fetchone()[0]
    assert stored.startswith("lamp") and stored.endswith("out")
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in stored)
    assert readable(site.client.get(f"{BASE}/requests/{tracking}.xml")).find(
        "request/description").text == stored
    assert readable(site.client.get(f"{BASE}/requests/{tracking}.json"))[0]["description"] == stored


# -- the public feeds: what a visitor typed never breaks them ------------------------------------

def test_forbidden_characters_leave_the_xml_feed_readable_and_the_json_exact(site):
    """Defect 3: one description with U+FFFF made requests.xml unreadable for every consumer."""
    text = f"lamp {FORBIDDEN_IN_XML} out\rnow & <then> \U0001f4a1 \u200f"
    ok = site.post311(description=text.replace("<then>", "then"))
    assert ok.status_code == 200
    site.post311(description="an ordinary report")
    stored = site.store.conn.execute("SELECT description FROM reports ORDER BY id").fetchone()[0]
    assert "\uffff" in stored and "\ufffe" in stored and "\r" in stored  # kept as typed...
    feed = readable(site.client.get(f"{BASE}/requests.xml"))  # ...the feed parses...
    descriptions = [node.text for node in feed.iter("description")]
    xml_safe = "".join(ch for ch in stored if ch not in FORBIDDEN_IN_XML)
    assert xml_safe in descriptions and "an ordinary report" in descriptions
    assert "\r" in xml_safe  # ...with the carriage return read back as one, not as a newline
    feed_json = readable(site.client.get(f"{BASE}/requests.json"))  # ...and the JSON is exact
    assert stored in [record["description"] for record in feed_json]
    whole(site)


def test_forbidden_characters_in_an_error_description_keep_it_readable(site):
    for path in ("requests/940-\uffff\x01.xml", "services/\uffff\x08.xml", "tokens/\ufffe.xml"):
        answer = site.client.get(f"{BASE}/{path}")
        assert answer.status_code == 404
        assert readable(answer).tag == "errors"


# -- GET requests: filters and paths --------------------------------------------------------------

GET_CASES = [
    # (path with query, status)
    ("requests.json?start_date=yesterday", 400),
    ("requests.json?start_date=9999-99-99", 400),
    ("requests.json?start_date=99999-01-01T00:00:00Z", 400),
    ("requests.json?start_date=2026-01-01T00:00:00%2B25:00", 400),
    ("requests.json?start_date=0001-01-01T00:00:00Z", 200),
    ("requests.json?start_date=2026-01-01&end_date=2025-01-01", 400),
    ("requests.json?start_date=&end_date=", 200),
    ("requests.json?end_date=1970-01-01T00:00:00Z", 200),
    ("requests.json?status=opened", 400),
    ("requests.json?status=open,closed,,", 200),
    ("requests.json?service_code=" + ",".join(["x"] * 1001), 400),
    ("requests.json?service_request_id=" + ",".join(["940-1"] * 1001), 400),
    ("requests.json?service_request_id=%00,%FF,%ED%A0%80", 200),
    ("requests.json?service_request_id=" + "9" * 5000, 200),
    ("requests.xml?service_code=%EF%BF%BF", 200),
    ("requests/" + "x" * 3000 + ".json", 404),
    ("requests/%ED%A0%80.xml", 404),
    ("requests/..%2F..%2Fetc%2Fpasswd.json", 404),
    ("tokens/%00.json", 404),
    ("services/%25.json", 404),
    ("services.yaml", 404),
    ("discovery.xml?x=%FF", 200),
    ("requests.json?page=-1&page_size=99999999999999999999", 200),
    ("requests.xml?lang=%ED%A0%80", 200),
]


@pytest.mark.parametrize("path, status", GET_CASES, ids=[f"get{i}" for i in range(len(GET_CASES))])
def test_odd_queries_and_paths_get_the_documented_answer(site, path, status):
    site.post311(description="a report the filters may find")
    answer = site.client.get(f"{BASE}/{path}")
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    readable(answer)
    still_serving(site)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_other_methods_are_refused_without_a_5xx(site, method):
    answer = site.client.open(f"{BASE}/requests.json", method=method)
    assert answer.status_code < 500 and (method in ("OPTIONS", "HEAD") or answer.status_code == 404)
    assert site.counts() == (0, 0, 0, 0)
    still_serving(site)
