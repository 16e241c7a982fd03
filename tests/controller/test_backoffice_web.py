"""The admin report queue (filters, overdue first, timeline, hand moves) and the back office
CLI commands."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from agents.backoffice.cli import backoffice
from captive_portal.reports.intake import NewReport, file_report
from controller.cli import cli
from controller.cli.reports import reports
from tests.captive_portal.reports_pipeline import FAST
from tests.controller.web_harness import add_user, build_app, login, post_form


@pytest.fixture
def admin(config, secrets, store):
    app = build_app(config, secrets)  # create_app registers the report queue itself
    add_user(store, "olga", "operator")
    add_user(store, "vic", "viewer")
    return app


def _file(store, category="lighting", **values):
    return file_report(store, NewReport(category=category, description="Lamp out",
                                        channel="portal", site="park-1", **values), FAST).tracking


def test_queue_shows_overdue_first_and_filters(admin, store):
    late = _file(store)
    fresh = _file(store, category="water")
    newest = _file(store)
    store.conn.execute("UPDATE reports SET due_at = ? WHERE tracking = ?",
                       (time.time() - 3600, late))
    client = admin.test_client()
    login(client, "vic")
    html = client.get("/reports/").get_data(as_text=True)
    # overdue first, then newest first
    assert html.index(late) < html.index(newest) < html.index(fresh)
    assert "overdue" in html
    only_water = client.get("/reports/?category=water").get_data(as_text=True)
    assert fresh in only_water and late not in only_water
    only_overdue = client.get("/reports/?overdue=1").get_data(as_text=True)
    assert late in only_overdue and fresh not in only_overdue
    assert client.get("/reports/?status=closed").get_data(as_text=True).count("940-") == 0


def test_detail_timeline_and_operator_moves(admin, store):
    tracking = _file(store)
    client = admin.test_client()
    login(client, "vic")
    page = client.get(f"/reports/{tracking}")
    assert page.status_code == 200 and 'id="timeline"' in page.get_data(as_text=True)
    assert client.get("/reports/940-2026-999999").status_code == 404
    client.get("/logout")
    viewer_move = client.post(f"/reports/{tracking}/move", data={"status": "rejected"})
    assert viewer_move.status_code in (302, 400, 403)
    operator = admin.test_client()
    login(operator, "olga")
    moved = post_form(operator, f"/reports/{tracking}/move",
                      {"status": "rejected", "note": "duplicate"},
                      token_from=f"/reports/{tracking}")
    assert moved.status_code == 302
    status = store.conn.execute("SELECT status FROM reports").fetchone()[0]
    assert status == "rejected"
    topics = [r[0] for r in store.conn.execute("SELECT topic FROM report_outbox ORDER BY id")]
    assert topics == ["reports/new", "reports/updates"]
    assert store.conn.execute("SELECT count(*) FROM audit_log WHERE action = 'report.move'"
                              ).fetchone()[0] == 1
    bad = post_form(operator, f"/reports/{tracking}/move", {"status": "in_progress"},
                    token_from=f"/reports/{tracking}")
    assert bad.status_code == 303
    assert store.conn.execute("SELECT status FROM reports").fetchone()[0] == "rejected"


def _cli(config, *args):
    cli.add_command(reports)
    cli.add_command(backoffice)
    env = {"OASIS_STORE_PATH": config.store.path, "OASIS_STORE_URL": config.store.url,
           "OASIS_STORE_KEY_FILE": config.store.key_file}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_cli_categories_keys_list_and_move(config, store):
    tracking = _file(store)
    listed = _cli(config, "reports", "category", "list")
    assert "lighting" in listed.output and "Lighting maintenance" in listed.output
    added = _cli(config, "reports", "category", "set", "graffiti", "--name-ar", "كتابة على الجدران",
                 "--name-en", "Graffiti", "--team", "Cleaning services", "--sla-hours", "48")
    assert added.exit_code == 0
    assert "graffiti" in _cli(config, "reports", "category", "list").output
    bad = _cli(config, "reports", "category", "set", "bad code!", "--name-ar", "x",
               "--name-en", "x", "--team", "x")
    assert bad.exit_code != 0
    key = _cli(config, "reports", "open311-key", "partner-app").output.strip()
    assert len(key) > 20
    assert tracking in _cli(config, "reports", "list").output
    moved = _cli(config, "reports", "move", tracking, "rejected", "--note", "spam")
    assert moved.exit_code == 0 and "rejected" in moved.output
    refused = _cli(config, "reports", "move", tracking, "resolved")
    assert refused.exit_code != 0 and "cannot move" in refused.output
    outbox = _cli(config, "reports", "outbox").output
    assert "pending" in outbox
