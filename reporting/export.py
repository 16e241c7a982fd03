"""Tables as files: CSV (one table) and XLSX (one sheet per table, right to left in Arabic).

Values stay raw (percentages as numbers, durations in seconds) so a spreadsheet can compute with
them; the header row carries each column's label and unit in the chosen language.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from reporting.format import Gettext
from reporting.i18n import N_
from reporting.model import Column, Section, Table

_UNIT_LABELS = {"percent": "%", "seconds": N_("seconds"), "days": N_("business days"),
                "bytes": N_("bytes"), "bps": "bit/s", "ms": "ms"}
#: Characters a spreadsheet would take as the start of a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header(column: Column, _: Gettext) -> str:
    unit = _UNIT_LABELS.get(column.unit)
    return f"{_(column.label)} ({_(unit)})" if unit else _(column.label)


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_csv(table: Table, _: Gettext) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read Arabic as Arabic."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(c, _) for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if row.get(c.key) is None else _cell(row.get(c.key))
                         for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def workbook(sections: Sequence[Section], _: Gettext, *, rtl: bool,
             tables: Sequence[Table] | None = None) -> bytes:
    """Every table of ``sections`` (or just ``tables``), a sheet each, with a summary sheet of
    the sections' figures first."""
    book = Workbook()
    used: set[str] = set()
    summary = book.active
    summary.title = _sheet_name(_(N_("Figures")), used)
    summary.sheet_view.rightToLeft = rtl
    summary.append([_(N_("Area")), _(N_("Figure")), _(N_("Value")), _(N_("Unit")),
                    _(N_("Status"))])
    for section in sections:
        for figure in section.figures:
            summary.append([_(section.title), _(figure.label), figure.value,
                            _(_UNIT_LABELS.get(figure.unit, figure.unit)),
                            "" if figure.status == "none" else _(figure.status)])
    for cell in summary[1]:
        cell.font = Font(bold=True)
    chosen = list(tables) if tables is not None else [t for s in sections for t in s.tables]
    for table in chosen:
        sheet = book.create_sheet(_sheet_name(_(table.title), used))
        sheet.sheet_view.rightToLeft = rtl
        sheet.append([header(c, _) for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(row.get(c.key)) for c in table.columns])
        sheet.freeze_panes = "A2"
        for index, column in enumerate(table.columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = max(12, min(40, len(header(column, _)) + 4))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
