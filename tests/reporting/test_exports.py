"""CSV and XLSX of the KPI tables: raw values, headers in the chosen language, Arabic sheets
right to left, formula-looking text defused; and the page routes that serve them."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from reporting import areas, export
from reporting.i18n import translator
from reporting.model import Period
from tests.controller.web_harness import add_user, build_app, login
from tests.reporting import kpi_sections

NOVEMBER = Period.parse("month:2026-11", kpi_sections.RIYADH, now=0.0)


def test_csv_has_raw_values_a_bom_and_no_formulas():
    table = kpi_sections.sections(NOVEMBER)[1].table("service-backlog")
    data = export.table_csv(table, translator("en"))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Age", "Reports"]
    assert rows[1:] == [["0-3", "10"], ["4-7", "4"], ["'=cmd|' /C calc'!A0", "1"]]


def test_workbook_has_figures_then_a_sheet_per_table_right_to_left_in_arabic():
    sections = kpi_sections.sections(NOVEMBER)
    book = load_workbook(io.BytesIO(export.workbook(sections, translator("ar"), rtl=True)))
    assert len(book.sheetnames) == 3
    figures = book.worksheets[0]
    assert figures.sheet_view.rightToLeft
    values = {(row[1], row[2]) for row in figures.iter_rows(min_row=2, values_only=True)}
    assert ("Fleet availability", 98.2) in values  # a label the catalogue does not know stays
    aps = book.worksheets[1]
    assert aps.sheet_view.rightToLeft
    rows = list(aps.iter_rows(values_only=True))
    assert rows[1] == ("ap-001", "حديقة الملك فهد", 99.5, 1, 600.0)
    english = load_workbook(io.BytesIO(export.workbook(sections, translator("en"), rtl=False)))
    assert not english.worksheets[1].sheet_view.rightToLeft
    assert list(english.worksheets[1].iter_rows(values_only=True))[0] == (
        "Access point", "Site", "Availability (%)", "Outages", "Longest outage (seconds)")


@pytest.fixture
def client(config, secrets, store, monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)
    add_user(store, "viewer", "viewer")
    c = build_app(config, secrets).test_client()
    login(c, "viewer")
    return c


def test_export_routes(client):
    response = client.get("/kpi/area/availability/availability-aps.csv?period=month:2026-11"
                          "&site=corniche&lang=en")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="availability-aps-month-2026-11-en.csv"' in \
        response.headers["Content-Disposition"]
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 3  # the header and the two Corniche APs: the filter applies
    xlsx = client.get("/kpi/report.xlsx?period=week:2026-W47&lang=ar")
    assert xlsx.status_code == 200
    assert len(load_workbook(io.BytesIO(xlsx.get_data())).sheetnames) == 3
    assert client.get("/kpi/area/availability/nothing.csv").status_code == 404


def test_pdf_route(client):
    response = client.get("/kpi/report.pdf?period=month:2026-11&lang=ar")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF-")
    assert 'filename="kpi-month-2026-11-ar.pdf"' in response.headers["Content-Disposition"]
    assert client.get("/kpi/report.pdf?period=month:2026-00").status_code == 400
