"""``oasis report build``: a period's report to a file in each format, with progress on stderr;
``oasis report schedule``: add, list, run what is due, remove."""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from controller.cli import cli
from core.store import Store
from reporting import areas
from reporting.history import availability as availability_history
from reporting.model import Period
from tests.reporting import kpi_sections
from tests.support import require_tool


@pytest.fixture
def run(tmp_path, config):
    """``oasis ...`` on the test's store (on the PostgreSQL pass OASIS_STORE_URL names it)."""
    cfg = tmp_path / "oasis.toml"
    cfg.write_text(f"[store]\npath = '{config.store.path}'\nkey_file = '{config.store.key_file}'\n"
                   "[mail]\noutbox = 'outbox'\n")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    return invoke


def test_pdf_of_a_month_with_history(run, tmp_path, config):
    november = Period.parse("month:2026-11", "Asia/Riyadh", now=0.0)
    store = Store(config.store_location())
    availability_history.seed(store, start=november.start, end=november.end, aps=6)
    store.close()
    out = tmp_path / "nov-ar.pdf"
    result = run("report", "build", "--period", "month:2026-11", "--lang", "ar",
                 "--format", "pdf", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "report month:2026-11" in result.stderr  # the progress bar
    assert out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run([require_tool("pdftotext"), str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "توفر نقاط الوصول" in text and "2026-11-01 – 2026-11-30" in text
    assert "الموقع" not in text.split("توفر نقاط الوصول")[0]  # no filter, none named
    narrowed = tmp_path / "nov-site.pdf"
    assert run("report", "build", "--period", "month:2026-11", "--lang", "en", "--site",
               "corniche", "-o", str(narrowed)).exit_code == 0
    text = subprocess.run([require_tool("pdftotext"), str(narrowed), "-"], capture_output=True,
                          text=True, check=True).stdout
    controls = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u2066\u2067\u2068\u2069"))
    assert "Site: corniche" in text.translate(controls)  # a narrowed report says so


def test_xlsx_csv_and_json(run, tmp_path, monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)
    xlsx = tmp_path / "w47.xlsx"
    assert run("report", "build", "--period", "week:2026-W47", "--lang", "en", "--format",
               "xlsx", "-o", str(xlsx)).exit_code == 0
    assert load_workbook(xlsx).sheetnames == ["Figures", "Availability per AP", "Backlog by age"]
    table = tmp_path / "aps.csv"
    assert run("report", "build", "--period", "week:2026-W47", "--format", "csv", "--table",
               "availability-aps", "--site", "corniche", "--lang", "en", "-o",
               str(table)).exit_code == 0
    rows = list(csv.reader(io.StringIO(table.read_text("utf-8-sig"))))
    assert rows[0][0] == "Access point" and len(rows) == 3
    everything = tmp_path / "all.csv"
    assert run("report", "build", "--period", "7d", "--format", "csv", "--lang", "ar", "-o",
               str(everything)).exit_code == 0
    assert everything.read_bytes().decode("utf-8-sig").count("\r\n\r\n") == 2  # a block a table
    as_json = tmp_path / "kpi.json"
    assert run("report", "build", "--format", "json", "--area", "service", "-o",
               str(as_json)).exit_code == 0
    assert [s["area"] for s in json.loads(as_json.read_text())] == ["service"]
    wrong = run("report", "build", "--format", "csv", "--table", "nope", "-o", str(table))
    assert wrong.exit_code == 2 and "availability-aps" in wrong.output
    assert run("report", "build", "--period", "month:2026-13", "-o", str(table)).exit_code == 2


def test_schedule_commands(run, tmp_path, config, monkeypatch):
    monkeypatch.setattr(areas, "registry", kpi_sections.fake_areas)
    added = run("report", "schedule", "add", "monthly", "--every", "month", "--lang", "en",
                "--format", "pdf", "--to", "director@amanah.example")
    assert added.exit_code == 0, added.output
    listed = json.loads(run("report", "schedule", "list", "--json").output)
    assert listed[0]["name"] == "monthly" and listed[0]["recipients"] == "director@amanah.example"
    assert run("report", "schedule", "run").output.strip() == "nothing due"
    # a month later the report of the month it was made in is due; with no relay the mail
    # goes to the outbox folder
    store = Store(config.store_location())
    store.conn.execute("UPDATE report_schedules SET created_at = 0")
    store.close()
    ran = run("report", "schedule", "run", "--at", "2026-12-01T07:00")
    assert ran.output.strip() == "monthly month:2026-11: sent"
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert run("report", "schedule", "run", "--at", "2026-12-01T08:00").output.strip() \
        == "nothing due"
    runs = json.loads(run("report", "schedule", "runs", "--json").output)
    assert [(r["period"], r["status"]) for r in runs] == [("month:2026-11", "sent")]
    assert run("report", "schedule", "remove", "monthly").exit_code == 0
    assert run("report", "schedule", "list").output.strip() == "(none)"
