"""The period's PDF report in Arabic and English: WeasyPrint with Debian's Noto fonts, checked
with poppler: pdftotext must give the Arabic words in logical order (not reversed, not as
isolated letter forms) and pdftoppm must draw a page that is not blank. Page 1 of each language
is saved under tests/artifacts/."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reporting import pdf
from reporting.model import Period
from tests.reporting import kpi_sections
from tests.support import require_tool

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NOVEMBER = Period.parse("month:2026-11", kpi_sections.RIYADH, now=0.0)


#: Bidi controls pdftotext puts around runs of each direction (they are not the text).
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def pdf_text(path: Path) -> str:
    return subprocess.run([require_tool("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout.translate(BIDI_CONTROLS)


def first_page_png(path: Path, stem: Path) -> Path:
    subprocess.run([require_tool("pdftoppm"), "-png", "-r", "50", "-f", "1", "-l", "1",
                    "-singlefile", str(path), str(stem)], check=True)
    return stem.with_suffix(".png")


def ink(png: Path) -> float:
    """The share of pixels that are not white."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        pixels = list(grey.get_flattened_data())
    return sum(1 for p in pixels if p < 200) / len(pixels)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from core.config import load_config

    config = load_config(env={})
    folder = tmp_path_factory.mktemp("pdf")
    out = {}
    for lang in ("ar", "en"):
        data = pdf.render(kpi_sections.sections(NOVEMBER), config, lang)
        assert data.startswith(b"%PDF-")
        out[lang] = folder / f"kpi-{lang}.pdf"
        out[lang].write_bytes(data)
    return out


def test_arabic_text_is_shaped_and_in_logical_order(rendered):
    text = pdf_text(rendered["ar"])
    for words in ("أمانة الأحساء", "مؤشرات الأداء الرئيسية", "توفر نقاط الوصول",
                  "حديقة الملك فهد", "خدمة 940"):
        assert words in text, words
        assert words[::-1] not in text
    # presentation forms (U+FB50-U+FEFF) would mean glyphs extracted instead of letters
    assert not any("\ufb50" <= ch <= "\ufeff" for ch in text.replace("\ufeff", ""))
    assert "2026-11-01 – 2026-11-30" in text  # dates keep their left-to-right order


def test_english_report_names_the_municipality_and_the_period(rendered):
    text = pdf_text(rendered["en"])
    assert "Al-Ahsa Municipality" in text and "Key performance indicators" in text
    assert "Availability per AP" in text and "98.2 %" in text


def test_first_pages_are_drawn(rendered):
    ARTIFACTS.mkdir(exist_ok=True)
    for lang, path in rendered.items():
        png = first_page_png(path, ARTIFACTS / f"kpi-report-{lang}-page1")
        assert png.stat().st_size > 5000
        assert ink(png) > 0.01, f"page 1 of the {lang} report is blank"


def test_nothing_is_fetched_from_outside():
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    for address in ("http://127.0.0.1:9/font.woff2", "file:///etc/hostname"):
        with pytest.raises(FatalURLFetchingError):
            HTML(string=f'<img src="{address}">', url_fetcher=pdf.offline_fetcher()).write_pdf()
