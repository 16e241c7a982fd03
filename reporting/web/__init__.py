"""The "Reports" pages of the admin app: a KPI overview, a page per area, exports and the
reports built on a schedule. The JSON twin of these pages is `reporting.web.api`.

The admin app registers `pages_blueprint` with its own sign-in check (``guard``, a view
decorator), since reporting cannot import the controller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from core.config import MunicipalityConfig
from reporting import areas as registry
from reporting import charts, export, pdf, schedules
from reporting import format as fmt
from reporting.i18n import LOCALES, direction
from reporting.model import Filters, Period, PeriodError, Section
from reporting.web import common

#: Rows a page shows of a table; the exports carry all of them.
PAGE_ROWS = 200
PERIOD_CHOICES = ("1d", "7d", "30d", "365d", "month", "week", "custom")


def pages_blueprint(guard: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Blueprint:
    """The pages under /kpi/, every view behind ``guard`` (signed in, viewer role)."""
    bp = Blueprint("kpi", __name__, url_prefix="/kpi", template_folder="templates",
                   static_folder="static", static_url_path="/static")
    for rule, endpoint, view in (
            ("/", "overview", overview),
            ("/area/<name>", "area", area_page),
            ("/area/<name>/<table>.csv", "table_csv", table_csv),
            ("/area/<name>.xlsx", "area_xlsx", area_xlsx),
            ("/report.xlsx", "report_xlsx", report_xlsx),
            ("/report.pdf", "report_pdf", report_pdf),
            ("/delivered", "delivered", delivered),
            ("/delivered/<int:file_id>", "delivered_file", delivered_file)):
        bp.add_url_rule(rule, endpoint, guard(view))
    return bp


def _context(section: Section | None, lang: str, **extra: Any) -> dict[str, Any]:
    _ = common.gettext(lang)
    municipality = common.config().section(MunicipalityConfig)
    tz = municipality.timezone
    period = section.period if section is not None else None
    rtl = direction(lang) == "rtl"

    def show(value: object, unit: str) -> object:
        text = fmt.value(value, unit, _)  # type: ignore[arg-type]
        return text if unit == "text" else fmt.isolated(text)

    def svg(chart) -> object:
        assert period is not None
        return charts.svg(chart, _=_, rtl=rtl, tz=tz, since=period.start, until=period.end)

    def link(endpoint: str, **changes: Any) -> str:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if v not in ("", None)}
        args.update(changes)
        return url_for(endpoint, **{k: v for k, v in args.items() if v is not None})

    return dict(_=_, lang=lang, locale=lang, ltr=fmt.isolated, text_direction=direction(lang), show_time=lambda ts: fmt.when(ts, tz), dir=direction(lang), section=section, show=show, svg=svg,
                link=link, areas=registry.registry(), choices=registry.choices(common.store()),
                args=request.args, period_choices=PERIOD_CHOICES, page_rows=PAGE_ROWS,
                municipality=municipality.name_ar if lang == "ar" else municipality.name_en,
                period_label=(fmt.period_label(period.name, period.start, period.end, tz)
                              if period else ""),
                other_lang="en" if lang == "ar" else "ar", **extra)


def _page(template: str, section: Section | None, lang: str, status: int = 200, **extra: Any):
    """Render in ``lang``, the admin's own labels (its base template) too."""
    with common.forced_locale(lang):
        return render_template(template, **_context(section, lang, **extra)), status


def _asked() -> tuple[Period, Filters] | str:
    try:
        return common.period(), common.filters()
    except PeriodError as exc:
        return exc.message


def overview():
    lang = common.locale()
    asked = _asked()
    if isinstance(asked, str):
        return _page("kpi/error.html", None, lang, 400, error=asked)
    period, filters = asked
    section = registry.overview(common.store(), common.config(), period, filters)
    grouped: dict[str, list] = {}
    for figure in section.figures:
        grouped.setdefault(figure.key.split(".", 1)[0], []).append(figure)
    return _page("kpi/overview.html", section, lang, grouped=grouped)


def area_page(name: str):
    lang = common.locale()
    item = _area(name)
    asked = _asked()
    if isinstance(asked, str):
        return _page("kpi/error.html", None, lang, 400, error=asked)
    period, filters = asked
    section = item.build(common.store(), common.config(), period, filters)
    return _page("kpi/area.html", section, lang, area=item)


def _area(name: str) -> registry.Area:
    try:
        return registry.area(name)
    except PeriodError:
        abort(404)


def _section_for_export(name: str) -> Section:
    asked = _asked()
    if isinstance(asked, str):
        abort(400, asked)
    period, filters = asked
    return _area(name).build(common.store(), common.config(), period, filters)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _stem(section: Section, lang: str) -> str:
    return f"{section.area}-{section.period.name.replace(':', '-').replace('..', '_')}-{lang}"


def table_csv(name: str, table: str):
    lang = common.locale()
    section = _section_for_export(name)
    try:
        chosen = section.table(table)
    except StopIteration:
        abort(404)
    data = export.table_csv(chosen, common.gettext(lang))
    return _download(data, "text/csv; charset=utf-8",
                     f"{chosen.key}-{_stem(section, lang).split('-', 1)[1]}.csv")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def area_xlsx(name: str):
    lang = common.locale()
    section = _section_for_export(name)
    data = export.workbook([section], common.gettext(lang), rtl=direction(lang) == "rtl")
    return _download(data, XLSX, f"{_stem(section, lang)}.xlsx")


def _all_sections() -> list[Section]:
    asked = _asked()
    if isinstance(asked, str):
        abort(400, asked)
    period, filters = asked
    return registry.build_all(common.store(), common.config(), period, filters)


def report_xlsx():
    lang = common.locale()
    sections = _all_sections()
    data = export.workbook(sections, common.gettext(lang), rtl=direction(lang) == "rtl")
    stem = _stem(sections[0], lang).replace(sections[0].area, "kpi", 1) if sections else "kpi"
    return _download(data, XLSX, f"{stem}.xlsx")


def report_pdf():
    lang = common.locale()
    sections = _all_sections()
    if lang not in LOCALES:
        abort(400)
    data = pdf.render(sections, common.config(), lang)
    stem = _stem(sections[0], lang).replace(sections[0].area, "kpi", 1) if sections else "kpi"
    return _download(data, "application/pdf", f"{stem}.pdf")


def delivered():
    lang = common.locale()
    store = common.store()
    return _page("kpi/delivered.html", None, lang, schedules=schedules.list_schedules(store),
                 files=schedules.recent_files(store), runs=schedules.runs(store),
                 run_states={key: common.gettext(lang)(label)
                             for key, label in schedules.RUN_STATES.items()})


def delivered_file(file_id: int):
    found = schedules.kept_file(common.store(), common.config(), file_id)
    if found is None:
        abort(404)
    row, data = found
    return _download(data, schedules.MIME[row["format"]], row["filename"])
