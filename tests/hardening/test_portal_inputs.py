"""Bad-input corpus for the visitor's portal, against the real app: the login forms, the 940
form with odd fields, the photo corpus (real images of every kind and 240-style mutations),
SMS pumping, and the refusals a visitor meets in their own language.

Each case asserts the documented answer (never a 5xx), nothing half-written (no report without
its event and outbox row, no orphan photo), and the app still serving afterwards.
"""

from __future__ import annotations

import io
import re
import threading
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from PIL import Image

from captive_portal.reports.photos import PhotoError, PhotoWorkers
from core.contracts.signature import ClientClaim, sign
from tests.captive_portal.portal_harness import Portal, code_in, error_code
from tests.hardening import images
from tests.hardening.corpus import codes_sent, login, still_serving, tracking_in, whole
from tests.support import wait_for

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

PHOTO_CODES = {"photo_corrupt", "photo_type", "photo_dimensions", "photo_too_large"}


def _message(response) -> str:
    """The refusal's text: on an error page, or beside the field of a form shown again."""
    page = response.get_data(as_text=True)
    return re.search(r'<p class="error[^"]*"[^>]*data-code="[^"]+">([^<]*)</p>', page).group(1)


def _from(site, address: str) -> None:
    """Every next request of the test client comes from ``address``."""
    site.client.environ_base["REMOTE_ADDR"] = address


# -- photos: the corpus ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo_site(tmp_path_factory):
    """One portal for the whole photo corpus (a fresh store per image would be most of the
    time); the post limit is out of the way, the invariants are checked after every case."""
    return Portal(tmp_path_factory.mktemp("photos"), posts_per_minute=100_000)


PHOTO_CASES = images.named_cases() + images.random_cases()


@pytest.mark.parametrize("make, expected", [(make, expected) for _, make, expected in PHOTO_CASES],
                         ids=[name for name, _, _ in PHOTO_CASES])
def test_every_photo_is_filed_clean_or_refused_with_its_code(photo_site, make, expected):
    site = photo_site
    before = site.counts()
    answer = site.file_report(files=[(io.BytesIO(make()), "IMG_0001.jpg")])
    assert answer.status_code < 500
    if expected == "ok" or (expected == "any" and answer.status_code == 200):
        assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
        data = site.store.conn.execute("SELECT data FROM report_photos ORDER BY id DESC LIMIT 1"
                                       ).fetchone()[0]
        stored = Image.open(io.BytesIO(data))
        # A fresh JPEG: no EXIF (GPS, camera), no XMP, no ICC, no comment, no trailing payload.
        assert stored.format == "JPEG" and not dict(stored.getexif())
        assert not {"xmp", "icc_profile", "comment", "exif"} & set(stored.info)
        assert max(stored.size) <= 2048 and data.endswith(b"\xff\xd9")
    else:
        code = error_code(answer)
        assert code == expected if expected != "any" else code in PHOTO_CODES
        assert answer.status_code == (413 if code == "photo_too_large" else 400)
        assert site.counts() == before  # nothing written
    whole(site)


def test_the_photo_corpus_is_the_size_it_says():
    assert len(PHOTO_CASES) == 240


def test_the_issues_pixel_bomb_is_refused_in_the_visitors_language(site):
    """Defect 2: a 131 KB PNG of 6300 x 6300 cost 0.7 s of CPU and ~400 MB to decode."""
    bomb = images.pixel_bomb()
    assert len(bomb) < 140_000
    arabic = site.file_report(files=[(io.BytesIO(bomb), "bomb.png")])
    assert arabic.status_code == 400 and error_code(arabic) == "photo_dimensions"
    assert _message(arabic) == ("أبعاد إحدى الصور أكبر من أن تُعالَج. يرجى إرسال صورة أصغر أو "
                                "لقطة شاشة.")
    site.client.get("/terms?lang=en")
    english = site.file_report(files=[(io.BytesIO(bomb), "bomb.png")])
    assert _message(english) == ("A photo has too many pixels to be processed. Please send a "
                                 "smaller photo or a screenshot.")
    assert site.counts() == (0, 0, 0, 0)
    still_serving(site)


def test_photos_wait_for_a_turn_and_a_full_queue_is_told_to_retry(site):
    """Photos are decoded on ``photo_workers`` threads of their own with ``photo_queue`` more
    waiting: the next one is refused at once (503, in the visitor's language), so uploads never
    hold every request thread."""
    workers = site.app.extensions["oasis_reports"].photo_workers = PhotoWorkers(1, 1, 30.0)
    working, release = threading.Event(), threading.Event()

    def occupy() -> None:  # a photo in work until the test lets it finish
        working.set()
        release.wait(30)
    holder = threading.Thread(target=workers.run, args=(occupy,))
    holder.start()
    working.wait(10)
    waited: list = []
    waiting_client = site.app.test_client()
    waiting_client.get("/terms?lang=en")
    csrf = _csrf(waiting_client)
    waiter = threading.Thread(target=lambda: waited.append(waiting_client.post(
        "/reports/new", content_type="multipart/form-data", data={
            "csrf_token": csrf, "category": "lighting", "description": "Lamp out",
            "address": "North gate", "photos": [(io.BytesIO(images.jpeg()), "a.jpg")]})))
    try:
        waiter.start()
        wait_for(lambda: workers.inside == 2, 10, what="the second photo to wait for a worker")
        site.client.get("/terms?lang=en")
        busy = site.file_report(files=[(io.BytesIO(images.jpeg()), "b.jpg")])
        assert busy.status_code == 503 and error_code(busy) == "photo_busy"
        assert busy.headers["Retry-After"] == "30"
        assert _message(busy) == ("Many photos are being sent right now. Please try again in a "
                                  "minute.")
        assert site.counts() == (0, 0, 0, 0)
        # Pages and reports without photos do not wait for the photo workers.
        assert site.client.get("/reports/mine").status_code == 200
        assert site.file_report().status_code == 200
    finally:
        release.set()
        holder.join(10)
        waiter.join(30)
    assert waited[0].status_code == 200  # the waiting photo had its turn
    assert workers.inside == 0
    whole(site)


def _csrf(client) -> str:
    page = client.get("/reports/new").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_photo_waiting_too_long_is_told_to_retry(site):
    workers = site.app.extensions["oasis_reports"].photo_workers = PhotoWorkers(1, 5, 0.2)
    working, release = threading.Event(), threading.Event()

    def occupy() -> None:
        working.set()
        release.wait(30)
    holder = threading.Thread(target=lambda: _run_quietly(workers, occupy))
    holder.start()
    working.wait(10)
    try:
        answer = site.file_report(files=[(io.BytesIO(images.jpeg()), "a.jpg")])
        assert answer.status_code == 503 and error_code(answer) == "photo_busy"
        assert site.counts() == (0, 0, 0, 0)
    finally:
        release.set()
        holder.join(10)
    wait_for(lambda: workers.inside == 0, 10, what="the dropped photo to leave the queue")
    assert site.file_report(files=[(io.BytesIO(images.jpeg()), "a.jpg")]).status_code == 200


def _run_quietly(workers: PhotoWorkers, work) -> None:
    """Occupy a worker; the caller's own wait may time out (PhotoError), the work goes on."""
    try:
        workers.run(work)
    except PhotoError:
        pass


def test_too_many_and_oversized_uploads(site):
    many = [(io.BytesIO(images.jpeg(size=(16, 16))), f"{i}.jpg") for i in range(40)]
    assert error_code(site.file_report(files=many)) == "photo_count"
    huge = site.file_report(files=[(io.BytesIO(b"\xff" * 26_000_000), "x.jpg")])
    assert huge.status_code == 413 and error_code(huge) == "upload_too_large"
    text_not_file = site.client.post("/reports/new", data={
        "csrf_token": site.csrf(), "category": "lighting", "description": "Lamp out",
        "address": "North gate", "photos": "not a file"})
    assert text_not_file.status_code == 200  # a text field named photos is no photo
    whole(site)
    still_serving(site)


# -- EXIF location (defect 16) ------------------------------------------------------------------

def test_exif_gps_is_neither_stored_nor_public_unless_the_visitor_shares_a_location(site):
    for photo in (images.jpeg(gps=True), images.png_with_exif_and_text(),
                  images.jpeg_with_xmp_gps()):
        answer = site.file_report(files=[(io.BytesIO(photo), "IMG.jpg")])
        tracking = tracking_in(answer)
        public = site.client.get(f"/open311/v2/requests/{tracking}.json").get_json()[0]
        assert (public["lat"], public["long"]) == (None, None)
    for (data,) in site.store.conn.execute("SELECT data FROM report_photos"):
        assert b"GPS" not in data and b"xmpmeta" not in data and b"25,22" not in data
        assert not Image.open(io.BytesIO(data)).getexif()
    assert site.store.conn.execute("SELECT count(*) FROM reports WHERE lat IS NOT NULL"
                                   ).fetchone()[0] == 0


@pytest.mark.parametrize("value", ["", "0", "yes", "true", "1 ", "11", "\u0661"])
def test_only_the_forms_own_share_value_counts_as_a_choice(site, value):
    answer = site.file_report(files=[(io.BytesIO(images.jpeg(gps=True)), "IMG.jpg")],
                              share_location=value)
    assert answer.status_code == 200
    assert site.store.conn.execute("SELECT lat FROM reports").fetchone()[0] is None


# -- AP identities are data (defect 15) ---------------------------------------------------------

@pytest.mark.parametrize("ap", ["&x;", "<tag", "<script>alert(1)</script>", "AP&amp;1",
                                "lamp \"post\" 'A'", "{{7*7}}", "&#60;b&#62;", "<!--", "x" * 100])
def test_an_ap_named_like_markup_never_stops_a_report(site, ap):
    login(site, ap=ap)
    form = site.client.get("/reports/new")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert str(escape(ap)) in html  # shown, escaped...
    assert "<" not in ap or ap not in html  # ...never as markup
    answer = site.file_report(address=None)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert site.store.conn.execute("SELECT ap FROM reports").fetchone()[0] == ap
    feed = site.client.get("/open311/v2/requests.xml")
    assert feed.status_code == 200
    whole(site)


# -- SMS pumping (defect 4) and a refused code (defect 8) ---------------------------------------

def test_the_940_form_cannot_pump_sms_from_one_address(site):
    """30 reports with 30 numbers from one address without a WiFi login sent 30 codes in 0.1 s:
    each is filed, but codes stop at the address's budget, which another report cannot reset."""
    _from(site, "203.0.113.9")
    trackings, refused = [], []
    for i in range(30):
        answer = site.file_report(phone=f"0550{i:06d}")
        assert answer.status_code == 200
        trackings.append(tracking_in(answer))
        if 'id="sms-refused"' in answer.get_data(as_text=True):
            refused.append(error_code(answer))
    budget = site.settings.portal.otp_per_client_per_hour
    assert len(set(trackings)) == 30 and None not in trackings  # every report filed
    assert codes_sent(site) == budget
    assert refused == ["sms_rate_client"] * (30 - budget)
    _from(site, "203.0.113.10")  # another address has its own budget
    assert 'id="verify-phone"' in site.file_report(phone="0551111111").get_data(as_text=True)
    whole(site)


def test_a_wifi_visitors_codes_count_against_their_device_whatever_the_address(site):
    login(site, mac="02:00:00:00:00:41")
    budget = site.settings.portal.otp_per_client_per_hour
    for i in range(budget + 2):
        _from(site, f"10.77.0.{i + 1}")  # a new address each time: the device is the source
        site.file_report(phone=f"0551{i:06d}")
    assert codes_sent(site) == budget
    # The device's login codes share the same budget.
    claim = ClientClaim("gw1", "02:00:00:00:00:41", "10.77.0.9", "http://example.com/",
                        int(site.now))
    landing = site.client.get("/", query_string=sign(claim, site.gateway_key))
    ask = site.post("/login/phone", landing, phone="0559999999")
    assert ask.status_code == 429 and error_code(ask) == "sms_rate_client"


def test_a_global_ceiling_holds_whatever_the_sources(tmp_path):
    site = Portal(tmp_path, otp_global_per_minute=3, otp_global_per_hour=5)
    for i in range(4):
        _from(site, f"198.51.100.{i}")
        answer = site.file_report(phone=f"0552{i:06d}")
    assert codes_sent(site) == 3 and error_code(answer) == "sms_busy"
    site.now += 61  # the minute passed: the hour's ceiling still stands after two more
    for i in range(4, 7):
        _from(site, f"198.51.100.{i}")
        answer = site.file_report(phone=f"0552{i:06d}")
    assert codes_sent(site) == 5 and error_code(answer) == "sms_busy"
    assert tracking_in(answer)  # filed all the same


def test_a_refused_code_still_gives_the_tracking_number_and_a_way_to_ask_again(site):
    """Defect 8: the second report with the same phone within a minute showed "Something went
    wrong" (429) without its tracking number, so the visitor filed again."""
    site.client.get("/terms?lang=en")
    first = site.file_report(phone="0501234567")
    assert 'id="verify-phone"' in first.get_data(as_text=True)
    second = site.file_report(phone="0501234567")
    html = second.get_data(as_text=True)
    tracking = tracking_in(second)
    assert second.status_code == 200 and tracking and tracking != tracking_in(first)
    assert 'id="sms-refused" data-code="sms_resend_wait"' in html
    assert "Your report is filed, but we could not send the code to confirm" in html
    assert "A code was just sent. Please wait a minute before asking for another." in html
    assert site.counts()[:2] == (2, 2)  # both filed, both on their way to the back office
    # A minute later the visitor asks again from the same page, and confirms the number.
    site.now += 61
    again = site.client.post(f"/reports/{tracking}/code", data={"csrf_token": site.csrf()})
    assert again.status_code == 200 and 'id="verify-phone"' in again.get_data(as_text=True)
    code = code_in(site.last_sms())
    done = site.client.post(f"/reports/{tracking}/verify", data={"csrf_token": site.csrf(),
                                                                 "code": code})
    assert done.status_code == 200 and "We will send updates by SMS" in done.get_data(
        as_text=True)
    assert site.store.conn.execute("SELECT phone_verified FROM reports WHERE tracking = ?",
                                   (tracking,)).fetchone()[0] == 1


@pytest.mark.parametrize("tracking", ["940-2026-999999", "x" * 300, "%00", "..%2F..",
                                      "940-2026-000001%0d%0aSet-Cookie:x=1"])
def test_asking_a_code_for_an_unknown_report(site, tracking):
    answer = site.client.post(f"/reports/{tracking}/code", data={"csrf_token": site.csrf()})
    assert answer.status_code == 404 and error_code(answer) in ("report_unknown", "not_found")
    assert "Set-Cookie" not in str(answer.headers).replace("Set-Cookie: oasis_portal", "")
    assert codes_sent(site) == 0


# -- the 940 form with odd fields ---------------------------------------------------------------

FORM_CASES = [
    # (fields, status, code or None for filed)
    ({"category": None}, 400, "category_missing"),
    ({"category": "x" * 5000}, 400, "category_unknown"),
    ({"category": "lighting'; DROP TABLE reports; --"}, 400, "category_unknown"),
    ({"description": ""}, 400, "description_missing"),
    ({"description": "\x00\x01\x02"}, 400, "description_missing"),
    ({"description": "<img src=x onerror=alert(1)>"}, 400, "description_html"),
    ({"description": "&lt;b&gt;"}, 400, "description_html"),
    ({"description": "\uffff\ufffe lamp out"}, 200, None),
    ({"description": "\u202e\u200f\u061c mixed directions"}, 200, None),
    ({"description": "\U0001f4a1" * 1000}, 200, None),
    ({"address": None}, 400, "location_missing"),
    ({"address": "<b>gate</b>"}, 400, "field_html"),
    ({"address": "x" * 501}, 400, "field_too_long"),
    ({"lat": "NaN", "lon": "1"}, 400, "location_invalid"),
    ({"lat": "1e999", "lon": "1"}, 400, "location_invalid"),
    ({"lat": "25.3", "lon": None}, 400, "location_invalid"),
    ({"lat": "٢٥", "lon": "٤٩"}, 200, None),
    ({"phone": "1" * 100}, 400, "phone_invalid"),
    ({"phone": "0131234567"}, 400, "phone_invalid"),   # a landline
    ({"phone": "\x00"}, 400, "phone_invalid"),
    ({"phone": "   "}, 200, None),
    ({"share_location": "1" * 10_000}, 200, None),
    ({"next": "/\r\nSet-Cookie: evil=1"}, 200, None),
    ({"csrf_token": "forged"}, 400, "csrf"),
    ({"csrf_token": None}, 400, "csrf"),
]


@pytest.mark.parametrize("fields, status, code", FORM_CASES,
                         ids=[f"form{i}" for i in range(len(FORM_CASES))])
def test_the_940_form_with_odd_fields(site, fields, status, code):
    answer = site.file_report(**fields)
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    if code:
        assert error_code(answer) == code
        assert site.counts() == (0, 0, 0, 0)
    else:
        assert tracking_in(answer)
    assert "evil" not in answer.headers.get("Set-Cookie", "")
    whole(site)
    still_serving(site)


def test_a_form_of_too_many_parts_is_refused_not_crashed(site):
    data = {"csrf_token": site.csrf(), **{f"f{i}": "x" for i in range(3000)}}
    answer = site.client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert answer.status_code in (400, 413)
    still_serving(site)


LOOKUP_CASES = [
    ("/reports/mine", {"tracking": "x" * 10_000, "phone": "0501234567"}, 404),
    ("/reports/mine", {"tracking": "\uffff", "phone": "\x00"}, 404),
    ("/reports/mine", {}, 404),
    ("/reports/closure", {"tracking": "940-2026-000001", "answer": "\r\n", "code": "9" * 999}, 404),
    ("/reports/940-2026-000001/verify", {"code": "٠١٢٣٤٥"}, 404),
    ("/reports/" + "9" * 500 + "/verify", {"code": "1"}, 404),
]


@pytest.mark.parametrize("path, fields, status", LOOKUP_CASES,
                         ids=[f"lookup{i}" for i in range(len(LOOKUP_CASES))])
def test_lookups_with_odd_fields(site, path, fields, status):
    answer = site.client.post(path, data={"csrf_token": site.csrf(), **fields})
    assert answer.status_code == status and error_code(answer) == "report_unknown"
    still_serving(site)


@pytest.mark.parametrize("token", ["x" * 100, "%00", "..%2F..%2Fetc%2Fpasswd", "\uffff", "a.b"])
def test_photo_urls_with_odd_tokens(site, token):
    assert site.client.get(f"/reports/photos/{token}.jpg").status_code == 404


# -- the login forms ----------------------------------------------------------------------------

def _signed(site, **changes) -> dict:
    params = site.params()
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


LANDING_CASES = [
    # (changes to the signed query, status, code)
    ({"sig": None}, 400, "signature_missing"),
    ({"mac": "zz:zz:zz:zz:zz:zz"}, 400, "signature_malformed"),
    ({"mac": "0" * 5000}, 400, "signature_malformed"),
    ({"ts": "abc"}, 400, "signature_malformed"),
    ({"ts": "1e9"}, 400, "signature_malformed"),
    ({"ts": "9" * 5000}, 400, "signature_malformed"),     # over Python's int digit limit
    ({"ts": "99999999999999999999"}, 403, "signature_invalid"),
    ({"ts": "-1"}, 403, "signature_invalid"),
    ({"ts": "\u0661\u0667"}, 403, "signature_invalid"),  # Arabic-Indic digits parse as digits
    ({"url": "http://x/" + "a" * 3000}, 400, "signature_malformed"),
    ({"ap": "bad\x00ap"}, 400, "signature_malformed"),
    ({"ap": "\uffff"}, 400, "signature_malformed"),
    ({"gw": "\uffff" * 50}, 403, "signature_unknown_gateway"),
    ({"gw": "../gw1"}, 403, "signature_unknown_gateway"),
    ({"sig": "00" * 32}, 403, "signature_invalid"),
    ({"sig": "zz"}, 403, "signature_invalid"),
    ({"lang": "%00"}, 200, None),
    ({"lang": "ar\r\nSet-Cookie: x=1"}, 200, None),
]


@pytest.mark.parametrize("changes, status, code", LANDING_CASES,
                         ids=[f"landing{i}" for i in range(len(LANDING_CASES))])
def test_the_landing_page_with_odd_signed_parameters(site, changes, status, code):
    answer = site.client.get("/", query_string=_signed(site, **changes))
    assert answer.status_code == status
    if code:
        assert error_code(answer) == code
    assert "x=1" not in answer.headers.get("Set-Cookie", "")
    still_serving(site)


def test_a_signed_url_with_cr_lf_is_only_ever_a_link(site):
    params = site.params(url="http://example.com/\r\nSet-Cookie: evil=1")
    landing = site.client.get("/", query_string=params)
    assert landing.status_code == 200
    fields = site.form(landing.get_data(as_text=True))
    answer = site.client.post("/login/terms", data={**fields, "accept": "yes",
                                                    "next": "//evil\r\nLocation: //evil"})
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/status")
    assert "evil" not in answer.headers.get("Set-Cookie", "")
    status = site.client.get("/status").get_data(as_text=True)
    assert "\r\nSet-Cookie" not in status  # not a plain http(s) URL: no link at all


POST_CASES = [
    # (path, form changes, status, code)
    ("/login/terms", {"accept": None}, 400, "terms_not_accepted"),
    ("/login/terms", {"accept": "YES"}, 400, "terms_not_accepted"),
    ("/login/terms", {"ts": "1" * 30}, 403, "signature_invalid"),
    ("/login/phone", {"phone": "x" * 1000}, 400, "phone_invalid"),
    ("/login/phone", {"phone": "+966 50 123 4567 ext 9"}, 200, None),  # the extension goes
    ("/login/phone", {"phone": "05O1234567"}, 400, "phone_invalid"),
    ("/login/phone", {"phone": "٠٥٠١٢٣٤٥٦٧"}, 200, None),
    ("/login/code", {"phone": "0501234567", "code": "1" * 1000}, 400, "code_format"),
    ("/login/code", {"phone": "0501234567", "code": "١٢٣٤٥٦"}, 400, "code_expired"),
    ("/login/code", {"phone": "0501234567", "code": "12 34 56"}, 400, "code_expired"),
    ("/login/code", {"phone": "0501234567", "code": "-12345"}, 400, "code_format"),
    ("/logout", {}, 400, "no_session"),
]


@pytest.mark.parametrize("path, changes, status, code", POST_CASES,
                         ids=[f"post{i}" for i in range(len(POST_CASES))])
@pytest.mark.parametrize("language", ["ar", "en"])
def test_login_posts_with_odd_fields(site, path, changes, status, code, language):
    site.client.get(f"/terms?lang={language}")
    fields = {**site.form(site.landing().get_data(as_text=True)), "accept": "yes",
              "next": "/\r\nSet-Cookie: evil=1"}
    fields.update(changes)
    answer = site.client.post(path, data={k: v for k, v in fields.items() if v is not None})
    assert answer.status_code == status
    if code:
        assert error_code(answer) == code
        page = answer.get_data(as_text=True)
        assert f'<html lang="{language}"' in page  # the refusal in the visitor's language
    assert "evil" not in answer.headers.get("Set-Cookie", "")
    still_serving(site)


@pytest.mark.parametrize("headers", [
    {"Cookie": "oasis_portal=garbage; lang=xx"},
    {"Cookie": "lang=" + "a" * 4000},
    {"Accept-Language": "ar;q=nan, en;q=1e999, *;q=-1"},
    {"Accept-Language": "\uffff"},
    {"Content-Type": "multipart/form-data; boundary="},
], ids=[f"headers{i}" for i in range(5)])
def test_odd_headers_and_cookies(site, headers):
    for path in ("/", "/status", "/reports/new", "/terms"):
        assert site.client.get(path, headers=headers).status_code < 500
    answer = site.client.post("/logout", headers=headers, data={"csrf_token": "x"})
    assert answer.status_code == 400
    still_serving(site)


def test_a_body_over_the_login_limit_is_a_translated_413(site):
    """The 413 page itself used to read the refused form again (for its language switch)
    and fail inside the error handler: a 500."""
    answer = site.client.post("/login/terms", data={"accept": "x" * 100_000},
                              headers={"Accept-Language": "en"})
    assert answer.status_code == 413 and error_code(answer) == "request_too_large"
    assert _message(answer) == "This form sent more than the portal accepts."
    still_serving(site)


def test_a_surrogates_bytes_in_a_login_form_are_no_phone(site):
    fields = site.form(site.landing().get_data(as_text=True))
    body = urlencode(fields) + "&phone=%ED%A0%80"
    answer = site.client.post("/login/phone", data=body.encode(),
                              content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and error_code(answer) == "phone_invalid"
