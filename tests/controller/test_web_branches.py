"""Branch pages and /api/v1/branches over what the backhaul monitor stored.

The store is filled through `BackhaulRecorder`, the monitor's own writer (the MQTT path is
tested in test_backhaul_monitor.py), so pages see exactly what the monitor writes.
"""

from __future__ import annotations

import re

import pytest

from controller.backhaul.service import BackhaulRecorder
from tests.controller.branch_payloads import BRANCH, state, switch
from tests.controller.web_harness import add_user, bearer, login


@pytest.fixture
def history(store):
    """branch-a failed over and came back after 60 s, then failed over again (still on backup);
    branch-b never left its primary."""
    recorder = BackhaulRecorder(store)
    recorder.record_state(state("primary", 0))
    recorder.record_event(switch("failover", 5))
    recorder.record_event(switch("failback", 65))
    recorder.record_event(switch("failover", 100))
    recorder.record_state(state("backup", 101, primary_state="down"))
    recorder.record_state(state("primary", 0, branch="branch-b"))


def test_viewer_sees_the_branches_page(client, store, history):
    add_user(store, "vera", "viewer")
    login(client, "vera")
    page = client.get("/branches/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index(BRANCH) < html.index("branch-b")  # the one on backup first
    assert "Branch on its backup link" in html and "100.0 %" in html and "3.1 ms" in html
    assert 'href="/branches/"' in html  # the nav link
    assert "<script>" not in html  # the CSP allows no inline script


def test_branch_page_shows_links_path_and_history(client, store, history):
    add_user(store, "vera", "viewer")
    login(client, "vera")
    page = client.get(f"/branches/{BRANCH}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "wlan0" in html and "eth1" in html
    rows = re.findall(r'data-kind="(failover|failback)"', html)
    assert rows == ["failover", "failback", "failover"]  # newest first
    assert "1m 00s" in html and "so far" in html


def test_pages_need_a_session_and_unknown_branches_are_404(client, store, history):
    assert client.get("/branches/").status_code == 302
    add_user(store, "vera", "viewer")
    login(client, "vera")
    assert client.get("/branches/nowhere").status_code == 404


def test_api_lists_and_reads_branches(client, store, history):
    headers = bearer(store, "vera", "viewer")
    listed = client.get("/api/v1/branches", headers=headers).get_json()["branches"]
    assert [(b["branch"], b["path"]) for b in listed] == [(BRANCH, "backup"),
                                                         ("branch-b", "primary")]
    one = client.get(f"/api/v1/branches/{BRANCH}", headers=headers).get_json()
    assert (one["active_link"], one["primary_link"], one["alert"]["kind"]) == (
        "backup", "primary", "backhaul_failover")
    assert one["last_change"]["kind"] == "failover"
    assert [link["state"] for link in one["links"]] == ["down", "up"]

    events = client.get(f"/api/v1/branches/{BRANCH}/events?limit=2",
                        headers=headers).get_json()["events"]
    assert [(e["kind"], e["ongoing"]) for e in events] == [("failover", True),
                                                          ("failback", False)]
    assert events[1]["backup_s"] == 60.0


def test_api_errors_are_json(client, store, history):
    assert client.get("/api/v1/branches").status_code == 401
    headers = bearer(store, "vera", "viewer")
    missing = client.get("/api/v1/branches/nowhere/events", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    bad = client.get(f"/api/v1/branches/{BRANCH}/events?limit=0", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "limit"


def test_branch_alerts_show_on_the_alerts_api(client, store, history):
    headers = bearer(store, "vera", "viewer")
    [alert] = client.get("/api/v1/alerts", headers=headers).get_json()["alerts"]
    assert (alert["branch"], alert["ap_id"], alert["kind"]) == (BRANCH, None,
                                                                 "backhaul_failover")
    add_user(store, "olga", "viewer")
    login(client, "olga")
    page = client.get("/alerts/")
    assert page.status_code == 200 and "Branch on its backup link" in page.get_data(as_text=True)
