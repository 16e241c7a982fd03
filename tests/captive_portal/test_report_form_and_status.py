"""The 940 form keeps what the visitor typed when it refuses it (the reason beside the field,
in their language); the status page shows category, photos and the municipality's note; a
tracking number may be typed in Arabic-Indic digits; a wrong closure code can be tried again."""

from __future__ import annotations

import pytest

import html
import io
import re

from PIL import Image

from captive_portal.reports.records import typed_tracking
from captive_portal.reports.workflow import transition
from tests.captive_portal.portal_harness import code_in, error_code
from tests.captive_portal.reports_pipeline import FAST

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 60, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _field_error(page: str, field: str) -> str:
    """The message beside ``field`` (``page`` as served, still escaped)."""
    return html.unescape(re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page).group(1))


def test_a_refused_form_comes_back_with_the_visitors_text_and_the_reason_beside_it(site):
    typed = "<b>حفرة عميقة</b> بجانب المراجيح"
    response = site.file_report(description=typed, address="البوابة الشمالية",
                                phone="0501234567", lat="25.4125", lon="49.61556")
    page = _text(response)
    assert response.status_code == 400 and error_code(response) == "description_html"
    assert typed in page and 'value="البوابة الشمالية"' in page
    assert 'value="0501234567"' in page and 'value="25.4125"' in page
    assert 'value="lighting" required\n          checked' in page
    assert _field_error(response.get_data(as_text=True), "description") == "يرجى حذف العلامتين < و > من الوصف."
    assert "HTML" not in page and 'id="form-refused"' in page
    assert 'aria-describedby="description-error"' in page
    assert site.counts() == (0, 0, 0, 0)
    # Corrected, the same form files the report.
    assert site.file_report(description="حفرة عميقة بجانب المراجيح").status_code == 200


def test_the_reason_is_in_english_for_an_english_visitor(site):
    site.client.get("/reports/new?lang=en")
    response = site.file_report(phone="0123", description="Deep pothole by the swings")
    page = _text(response)
    assert response.status_code == 400
    assert _field_error(page, "phone").startswith("Please enter a Saudi mobile number")
    assert "Deep pothole by the swings" in page and 'lang="en"' in page


def test_a_refused_photo_says_the_photos_must_be_chosen_again(site):
    response = site.file_report(files=[(io.BytesIO(b"GIF89a" + b"\0" * 64), "a.jpg")],
                                description="Broken bench near the lake")
    page = _text(response)
    assert response.status_code == 400 and error_code(response) == "photo_type"
    assert 'id="photos-error"' in page and 'id="photos-dropped"' in page
    assert "Broken bench near the lake" in page
    # A refusal of another field while photos were chosen says the same.
    other = site.file_report(files=[(io.BytesIO(_jpeg()), "a.jpg")], description="")
    assert error_code(other) == "description_missing" and 'id="photos-dropped"' in _text(other)
    assert site.counts() == (0, 0, 0, 0)


def test_tracking_numbers_typed_in_arabic_indic_digits_are_understood():
    assert typed_tracking("٩٤٠-٢٠٢٦-٠٠٠١٢٣") == "940-2026-000123"
    assert typed_tracking(" 940 – 2026 – 123 ") == "940-2026-000123"
    assert typed_tracking("۹۴۰-۲۰۲۶-۰۰۰۰۰۷") == "940-2026-000007"
    assert typed_tracking("not a number") == "NOTANUMBER"


def _filed_with_photo(site) -> str:
    tracking = site.file_report_with_phone()
    token = "t" + tracking[-6:]
    site.store.conn.execute(
        "INSERT INTO report_photos (report_id, token, mime, width, height, data) "
        "SELECT id, ?, 'image/jpeg', 320, 240, ? FROM reports WHERE tracking = ?",
        (token, _jpeg(), tracking))
    return tracking


def test_the_status_page_shows_category_photos_and_the_note_for_arabic_digits(site):
    tracking = _filed_with_photo(site)
    transition(site.store, tracking, "forwarded", actor="backoffice", now=site.now, config=FAST,
               note="سيصل الفريق غداً صباحاً")
    csrf = site.csrf("/reports/mine")
    shown = site.client.post("/reports/mine", data={
        "csrf_token": csrf, "tracking": tracking.translate(_ARABIC_DIGITS),
        "phone": "٠٥٠١٢٣٤٥٦٧"})
    page = _text(shown)
    assert shown.status_code == 200, page
    assert re.search(r'id="category">\s*إنارة الشوارع والحدائق', page)
    assert 'id="status-note" dir="auto">سيصل الفريق غداً صباحاً<' in page
    thumb = re.search(r'<img class="thumb" src="([^"]+)"', page).group(1)
    served = site.client.get(thumb)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    # Open311 reads the same typed forms of a tracking number.
    public = site.client.get(f"/open311/v2/requests/{tracking.translate(_ARABIC_DIGITS)}.json")
    assert public.status_code == 200 and public.get_json()[0]["service_request_id"] == tracking


def test_a_wrong_closure_code_is_offered_again(site):
    tracking = site.file_report_with_phone()
    for status in ("forwarded", "in_progress", "resolved"):
        transition(site.store, tracking, status, actor="backoffice", now=site.now, config=FAST)
    body = site.store.conn.execute("SELECT body FROM report_notifications WHERE purpose = "
                                   "'closure_code'").fetchone()[0]
    code = code_in(body)
    wrong = site.answer_closure(tracking, "111111" if code != "111111" else "222222")
    page = _text(wrong)
    assert wrong.status_code == 400 and error_code(wrong) == "closure_code_invalid"
    assert "رمز الإغلاق غير صحيح." in _field_error(page, "code")
    assert 'id="confirm"' in page and f'name="tracking" value="{tracking}"' in page
    assert site.answer_closure(tracking, code).status_code == 200
