"""The visitor's 940 pages: filing (with the WiFi session's site, photos, a phone to verify),
"my reports", and confirming or disputing a resolution with the closure code."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image

from captive_portal.reports.workflow import transition
from core.contracts.signature import ClientClaim, sign
from tests.captive_portal.portal_harness import code_in, error_code
from tests.captive_portal.reports_pipeline import FAST, config_with
from tests.fleet import add_ap, add_site

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

MAC = "02:00:00:00:00:07"


def _jpeg(size=(1200, 900), gps=True) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif[0x8825] = {1: "N", 2: (25.0, 22.0, 48.0), 3: "E", 4: (49.0, 35.0, 10.0)}
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 40)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares a gigantic image: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def _login(site, ap: str = "") -> None:
    claim = ClientClaim("gw1", MAC, "10.77.0.7", "http://example.com/", int(site.now), ap)
    params = sign(claim, site.gateway_key)
    landing = site.client.get("/", query_string=params).get_data(as_text=True)
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', landing))
    answer = site.client.post("/login/terms", data={**fields, "accept": "yes"})
    assert answer.status_code in (200, 303)


def test_the_form_is_arabic_by_default_and_needs_no_script(site):
    page = site.client.get("/reports/new")
    html = page.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "إنارة الشوارع والحدائق" in html and "مشكلة في الواي فاي" in html
    # One script, our own file, deferred: it only adds "use my location" (hidden without it).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/locate.js" defer>']
    assert '<button type="button" id="use-location" class="secondary" hidden' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "script-src" not in site.client.get("/reports/mine").headers[
        "Content-Security-Policy"]
    english = site.client.get("/reports/new?lang=en").get_data(as_text=True)
    assert "Street and park lighting" in english and 'dir="ltr"' in english


def test_a_report_from_a_wifi_session_takes_its_site(site):
    _login(site)
    assert "gw1" in site.client.get("/reports/new").get_data(as_text=True)
    response = site.file_report(address=None)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    tracking = re.search(r"940-\d{4}-\d{6}", html).group(0)
    row = site.store.conn.execute(
        "SELECT site, gateway_id, channel, locale, location_source, status FROM reports "
        "WHERE tracking = ?", (tracking,)).fetchone()
    assert row == ("gw1", "gw1", "portal", "ar", "site", "received")
    assert site.counts()[:2] == (1, 1)


def test_a_gateway_registered_at_a_park_locates_its_visitors_reports(site):
    from captive_portal.gateways import register_gateway
    from core import inventory
    from core.secrets import SecretBox

    inventory.add_site(site.store, {"slug": "kap", "name_ar": "متنزه الملك عبدالله البيئي",
                                    "name_en": "King Abdullah Environmental Park",
                                    "kind": "park"}, "test")
    box = site.app.extensions["oasis_portal"].secret_box
    assert isinstance(box, SecretBox)
    with pytest.raises(ValueError, match="does not exist"):
        register_gateway(site.store, box, "gw1", key=site.gateway_key.decode(), site="nope")
    register_gateway(site.store, box, "gw1", key=site.gateway_key.decode(), site="kap")
    _login(site)
    form = site.client.get("/reports/new").get_data(as_text=True)
    assert "متنزه الملك عبدالله البيئي" in form  # the park's name, in the visitor's language
    tracking = re.search(r"940-\d{4}-\d{6}",
                         site.file_report(address=None).get_data(as_text=True)).group(0)
    row = site.store.conn.execute("SELECT site, gateway_id FROM reports WHERE tracking = ?",
                                  (tracking,)).fetchone()
    assert row == ("kap", "gw1")


def test_the_ap_of_the_session_locates_the_report_at_that_ap_and_its_site(site):
    from core import inventory

    add_site(site.store)  # the walkway the AP stands in; gw1 itself has no site
    box = site.app.extensions["oasis_portal"].secret_box
    ap = add_ap(site.store, box, 7)
    # Aruba-style option 82: the AP's MAC and the SSID, as the gateway signed it.
    _login(site, ap="02-00-00-00-00-07:OasisPark")
    session_ap = site.store.conn.execute(
        "SELECT ap FROM portal_sessions ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert session_ap == "02-00-00-00-00-07:OasisPark"
    form = site.client.get("/reports/new").get_data(as_text=True)
    assert "ممشى أمانة" in form and ap["name"] in form
    tracking = re.search(r"940-\d{4}-\d{6}",
                         site.file_report(address=None).get_data(as_text=True)).group(0)
    row = site.store.conn.execute("SELECT site, ap, gateway_id FROM reports WHERE tracking = ?",
                                  (tracking,)).fetchone()
    assert row == ("amanah-walkway", "ap-007", "gw1")
    outbox = site.store.conn.execute("SELECT payload FROM report_outbox ORDER BY id DESC "
                                     "LIMIT 1").fetchone()[0]
    assert '"ap": "ap-007"' in outbox
    # An AP the inventory does not know is kept as the gateway named it.
    inventory.remove_ap(site.store, ap["id"], "test")
    _login(site, ap="lamp-post-12")
    tracking = re.search(r"940-\d{4}-\d{6}",
                         site.file_report(address=None).get_data(as_text=True)).group(0)
    assert site.store.conn.execute("SELECT site, ap FROM reports WHERE tracking = ?",
                                   (tracking,)).fetchone() == ("gw1", "lamp-post-12")


def test_without_a_session_a_location_is_required(site):
    response = site.file_report(address="")
    assert response.status_code == 400 and error_code(response) == "location_missing"
    assert site.counts() == (0, 0, 0, 0)


@pytest.mark.parametrize("fields, code", [
    ({"description": "<a href='http://x'>click</a>"}, "description_html"),
    ({"description": "x" * 4001}, "description_missing"),  # the form's limit is checked first
    ({"description": "   "}, "description_missing"),
    ({"category": "volcano"}, "category_unknown"),
    ({"category": None}, "category_missing"),
    ({"lat": "91", "lon": "49"}, "location_invalid"),
    ({"phone": "0123"}, "phone_invalid"),
])
def test_bad_forms_get_a_clear_error_and_nothing_is_written(site, fields, code):
    if code == "description_missing" and len(fields["description"]) > 10:
        site.app.config["MAX_CONTENT_LENGTH"] = 1 << 20
        code = "description_too_long"
    response = site.file_report(**fields)
    assert response.status_code == 400
    assert error_code(response) == code
    assert site.counts() == (0, 0, 0, 0)


def test_a_photos_gps_is_never_public_unless_the_visitor_shares_a_location(site):
    # Without "use my location" the photo's position is not a location: the report needs one.
    refused = site.file_report(files=[(io.BytesIO(_jpeg()), "IMG_0001.jpg")], address=None)
    assert refused.status_code == 400 and error_code(refused) == "location_missing"
    filed = site.file_report(files=[(io.BytesIO(_jpeg()), "IMG_0001.jpg")])
    assert filed.status_code == 200
    tracking = re.search(r"940-\d{4}-\d{6}", filed.get_data(as_text=True)).group(0)
    public = site.client.get(f"/open311/v2/requests/{tracking}.json").get_json()[0]
    assert (public["lat"], public["long"], public["address"]) == (None, None, "North gate")
    # "Use my location" pressed, the browser gave no position: the photo's stands in.
    shared = site.file_report(files=[(io.BytesIO(_jpeg()), "IMG_0002.jpg")], address=None,
                              share_location="1")
    assert shared.status_code == 200
    lat, lon, source = site.store.conn.execute(
        "SELECT lat, lon, location_source FROM reports ORDER BY id DESC").fetchone()
    assert (round(lat, 3), round(lon, 3), source) == (25.38, 49.586, "photo_exif")
    # Coordinates the browser gave win over the photo's.
    site.file_report(files=[(io.BytesIO(_jpeg()), "IMG_0003.jpg")], share_location="1",
                     lat="25.4", lon="49.6")
    assert site.store.conn.execute("SELECT lat, lon, location_source FROM reports ORDER BY id "
                                   "DESC").fetchone() == (25.4, 49.6, "browser")


def test_a_photo_is_reencoded_without_exif(site):
    response = site.file_report(files=[(io.BytesIO(_jpeg()), "IMG_0001.jpg")])
    assert response.status_code == 200, response.get_data(as_text=True)
    token, data = site.store.conn.execute("SELECT token, data FROM report_photos").fetchone()
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG" and not dict(stored.getexif())
    served = site.client.get(f"/reports/photos/{token}.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert site.client.get("/reports/photos/guess.jpg").status_code == 404
    payload = site.store.conn.execute("SELECT payload FROM report_outbox").fetchone()[0]
    assert f"/reports/photos/{token}.jpg" in payload


def _truncated_jpeg() -> bytes:
    return _jpeg()[:600]


@pytest.mark.parametrize("make, code, status", [
    (lambda: b"GIF89a" + b"\x00" * 100, "photo_type", 400),
    (lambda: b"<?php echo 1; ?>", "photo_type", 400),
    (lambda: _png_claiming(100_000, 100_000), "photo_dimensions", 400),
    (lambda: _png_claiming(7_000, 7_000), "photo_dimensions", 400),
    (_truncated_jpeg, "photo_corrupt", 400),
])
def test_wrong_or_dangerous_photos_are_refused(site, make, code, status):
    response = site.file_report(files=[(io.BytesIO(make()), "photo.jpg")])
    assert response.status_code == status
    assert error_code(response) == code
    assert site.counts() == (0, 0, 0, 0)


def test_photo_limits_by_size_count_and_upload(site):
    site.app.extensions["oasis_reports"].config = config_with(max_photo_bytes=20_000,
                                                              max_upload_bytes=1_000_000)
    noisy = io.BytesIO()
    Image.effect_noise((400, 400), 60).convert("RGB").save(noisy, "JPEG", quality=95)
    assert len(noisy.getvalue()) > 20_000
    response = site.file_report(files=[(io.BytesIO(noisy.getvalue()), "a.jpg")])
    assert error_code(response) == "photo_too_large"
    small = [(io.BytesIO(_jpeg(size=(64, 64), gps=False)), f"{i}.jpg") for i in range(4)]
    assert error_code(site.file_report(files=small)) == "photo_count"
    huge = site.file_report(files=[(io.BytesIO(b"\xff" * 1_200_000), "x.jpg")])
    assert huge.status_code == 413 and error_code(huge) == "upload_too_large"
    assert site.counts() == (0, 0, 0, 0)


def test_a_phone_is_verified_by_sms_before_it_gets_updates(site):
    tracking = site.file_report_with_phone()
    verified, = site.store.conn.execute("SELECT phone_verified FROM reports").fetchone()
    assert verified == 1
    body, locale = site.store.conn.execute(
        "SELECT body, locale FROM report_notifications WHERE purpose = 'report_received'"
    ).fetchone()
    assert locale == "ar" and tracking in body and "تم استلام بلاغك" in body
    topics = [r[0] for r in site.store.conn.execute("SELECT topic FROM report_outbox")]
    assert topics == ["reports/new", "reports/updates"]  # the back office learns the phone


def test_my_reports_by_tracking_number_and_phone(site):
    tracking = site.file_report_with_phone()
    csrf = site.csrf("/reports/mine")
    shown = site.client.post("/reports/mine", data={"csrf_token": csrf, "tracking": tracking,
                                                     "phone": "+966 50 123 4567"})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and 'data-status="received"' in html and "مستلم" in html
    wrong = site.client.post("/reports/mine", data={"csrf_token": csrf, "tracking": tracking,
                                                     "phone": "0509999999"})
    assert wrong.status_code == 404 and error_code(wrong) == "report_unknown"
    unknown = site.client.post("/reports/mine", data={"csrf_token": csrf,
                                                       "tracking": "940-2026-999999"})
    assert unknown.status_code == 404


def test_lookups_are_rate_limited(site):
    csrf = site.csrf("/reports/mine")
    statuses = [site.client.post("/reports/mine", data={"csrf_token": csrf,
                                                        "tracking": f"940-2026-{i:06d}"}
                                 ).status_code for i in range(FAST.lookups_per_minute + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {404}


def _resolved(site) -> tuple[str, str]:
    tracking = site.file_report_with_phone()
    for status in ("forwarded", "in_progress", "resolved"):
        transition(site.store, tracking, status, actor="backoffice", now=site.now, config=FAST)
    body = site.store.conn.execute("SELECT body FROM report_notifications WHERE purpose = "
                                   "'closure_code'").fetchone()[0]
    return tracking, code_in(body)


def test_the_citizen_confirms_with_the_closure_code(site):
    tracking, code = _resolved(site)
    response = site.answer_closure(tracking, code)
    assert response.status_code == 200 and 'id="answered"' in response.get_data(as_text=True)
    status, = site.store.conn.execute("SELECT status FROM reports").fetchone()
    assert status == "closed"
    again = site.answer_closure(tracking, code)
    assert again.status_code == 409 and error_code(again) == "closure_not_pending"


def test_the_citizen_disputes_and_the_report_is_reopened(site):
    tracking, code = _resolved(site)
    assert site.answer_closure(tracking, code, "dispute").status_code == 200
    status, due, level = site.store.conn.execute(
        "SELECT status, due_at, escalation_level FROM reports").fetchone()
    assert status == "reopened" and due > site.now and level == 0
    payloads = [r[0] for r in site.store.conn.execute(
        "SELECT payload FROM report_outbox WHERE topic = 'reports/updates'")]
    assert any('"status": "reopened"' in p for p in payloads)


def test_forged_closure_codes_are_limited(site):
    tracking, code = _resolved(site)
    forged = "111111" if code != "111111" else "222222"
    for left in range(FAST.closure_max_attempts - 1, 0, -1):
        response = site.answer_closure(tracking, forged)
        assert response.status_code == 400 and error_code(response) == "closure_code_invalid"
    locked = site.answer_closure(tracking, forged)
    assert locked.status_code == 429 and error_code(locked) == "closure_locked"
    assert site.answer_closure(tracking, code).status_code == 429  # even the right one, now
    status, attempts = site.store.conn.execute(
        "SELECT status, closure_attempts FROM reports").fetchone()
    assert (status, attempts) == ("resolved", FAST.closure_max_attempts)
