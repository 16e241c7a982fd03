"""The period's KPI report as a PDF: HTML rendered by WeasyPrint, in Arabic (right to left) or
English, with the municipality's name, every area's figures, charts and tables.

Fonts come from the system's fontconfig (Debian's fonts-noto-core: Noto Naskh Arabic for
Arabic, Noto Sans for Latin); nothing is fetched: the URL fetcher refuses every address that is
not inline data. HarfBuzz (through Pango) shapes the Arabic and the text stays in logical order,
so a PDF reader's text extraction gives the words as written.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup

from core.config import Config, MunicipalityConfig
from core.localtime import show
from reporting import charts
from reporting import format as fmt
from reporting.i18n import N_, direction, translator
from reporting.model import Section

#: Rows of a table the PDF prints; the XLSX and CSV carry every row.
PDF_ROWS = 15
_TEMPLATES = Path(__file__).parent / "templates"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)

TITLE = N_("Key performance indicators")


def offline_fetcher():
    """WeasyPrint's fetcher limited to inline ``data:`` URLs (the charts); any other address
    stops the rendering (`weasyprint.urls.FatalURLFetchingError`): the report is
    self-contained and nothing is fetched from the network or the disk."""
    from weasyprint.urls import URLFetcher  # weasyprint loads Pango: imported on use

    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)


def html(sections: Sequence[Section], config: Config, lang: str, *,
         generated_at: float | None = None) -> str:
    """The report's HTML (what `render` prints)."""
    _ = translator(lang)
    municipality = config.section(MunicipalityConfig)
    tz = municipality.timezone
    rtl = direction(lang) == "rtl"
    period = sections[0].period if sections else None

    def show_value(value: object, unit: str) -> object:
        # Isolate characters, no <bdi> element: one inline box fewer per cell for the layout.
        text = fmt.value(value, unit, _)  # type: ignore[arg-type]
        return text if unit == "text" else fmt.isolate_marks(text)

    def svg(chart) -> Markup:
        # As an image: WeasyPrint draws it without styling each of its elements as HTML.
        assert period is not None
        drawing = charts.svg(chart, _=_, rtl=rtl, tz=tz, since=period.start, until=period.end)
        encoded = base64.b64encode(str(drawing).encode("utf-8")).decode("ascii")
        return Markup('<img class="chart-image" alt="" src="data:image/svg+xml;base64,{}">'
                      ).format(encoded)

    return _env.get_template("report.html").render(
        _=_, lang=lang, dir=direction(lang), sections=sections, show=show_value, svg=svg,
        ltr=fmt.isolate_marks,
        title=_(TITLE), rows=PDF_ROWS,
        municipality=municipality.name_ar if lang == "ar" else municipality.name_en,
        period_name=period.name if period else "",
        period_label=fmt.period_label(period.name, period.start, period.end, tz) if period else "",
        generated=show(generated_at if generated_at is not None else time.time(), tz),
        narrowed=[(_(label), fmt.isolate_marks(str(value))) for label, value in (
            (N_("Site"), sections[0].filters.site), (N_("Access point"), sections[0].filters.ap),
            (N_("Category"), sections[0].filters.category),
            (N_("Branch"), sections[0].filters.branch), (N_("Link"), sections[0].filters.link))
            if sections and value is not None],
        status_words={"green": _("on target"), "amber": _("near target"),
                      "red": _("off target"), "none": ""})


def render(sections: Sequence[Section], config: Config, lang: str, *,
           progress: Callable[[str], None] | None = None) -> bytes:
    """The report as PDF bytes."""
    from weasyprint import HTML  # imported on use: it loads Pango and fontconfig

    text = html(sections, config, lang)
    if progress:
        progress("layout")
    document = HTML(string=text, base_url=str(_TEMPLATES), url_fetcher=offline_fetcher())
    return document.write_pdf()
