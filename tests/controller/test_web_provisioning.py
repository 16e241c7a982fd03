"""Configuration pages: roles, CSRF, job pages that refresh while running, adoption, host keys."""

from __future__ import annotations

import base64
import json

import pytest

from core import audit, inventory
from netconfig import adoption, backups, hostkeys, jobs, variables
from netconfig.settings import ProvisioningConfig
from netconfig.ssh import HostKey
from tests.controller.web_harness import (
    VARIABLES,
    add_user,
    arabic_ssid,
    build_app,
    csrf_token,
    login,
    post_form,
)
from tests.fleet import add_ap, add_site


@pytest.fixture
def client(config, secrets, store, woken):
    add_site(store)
    add_ap(store, secrets, 1)
    variables.set_layer(store, secrets, "global", None, VARIABLES, "test")
    return build_app(config, secrets, woken=woken).test_client()


@pytest.fixture
def operator(client, store):
    add_user(store, "olga", "operator")
    login(client, "olga")
    return client


@pytest.fixture
def viewer(client, store):
    add_user(store, "vera", "viewer")
    login(client, "vera")
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def test_pages_need_a_sign_in(client):
    for path in ("/config/jobs", "/config/pending", "/config/aps/ap-001"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_ap_config_page_shows_preview_variables_history_and_actions(operator, store, secrets):
    ap = inventory.get_ap(store, "ap-001")
    backups.record(store, secrets, ap["id"], "wireless.a='1'\n", "backup", "t")
    backups.record(store, secrets, ap["id"], "wireless.a='2'\n", "backup", "t")
    page = operator.get("/config/aps/ap-001")
    assert page.status_code == 200
    body = text(page)
    assert "Amanah WiFi" in body and 'id="preview"' in body
    assert "radios.2g.channel" in body and "global" in body
    assert "/config/aps/ap-001/diff?from=1&amp;to=2" in body
    assert "Push (dry run)" in body and "Back up now" in body
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<style" not in body and "style=" not in body
    assert "/config/aps/ap-001" in text(operator.get("/aps/ap-001"))


def test_viewer_sees_pages_without_buttons_and_cannot_post(viewer, store):
    body = text(viewer.get("/config/aps/ap-001"))
    assert "Push (dry run)" not in body and "Save variables" not in body
    token = csrf_token(viewer, "/config/jobs")
    response = viewer.post("/config/jobs/new", data={"operation": "backup", "target": "all",
                                                     "csrf_token": token})
    assert response.status_code == 403 and jobs.recent(store) == []


def test_invalid_variables_are_listed_instead_of_a_preview(operator, store, secrets):
    store.conn.execute("UPDATE config_variables SET data = ? WHERE scope = 'global'",
                       (json.dumps({"ssids": [{"id": "x", "ssid": arabic_ssid(33)}]}),))
    body = text(operator.get("/config/aps/ap-001"))
    assert 'id="problems"' in body and "ssids[0].ssid" in body and "33 bytes" in body


def test_dry_run_from_the_ap_page_queues_a_job_and_shows_its_page(operator, store, woken):
    response = post_form(operator, "/config/jobs/new",
                         {"operation": "push", "target": "ap:ap-001", "dry_run": "1"},
                         token_from="/config/aps/ap-001")
    assert response.status_code == 302
    job = jobs.recent(store)[0]
    assert response.headers["Location"].endswith(f"/config/jobs/{job['id']}")
    assert (job["kind"], job["dry_run"], job["status"], job["created_by"]) == (
        "push", 1, "queued", "web:olga")
    assert woken == [True]
    page = operator.get(f"/config/jobs/{job['id']}")
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in text(page)
    assert "ap-001" in text(page) and "Push for real" not in text(page)


def test_finished_dry_run_offers_the_real_push_and_stops_refreshing(operator, store):
    ap = inventory.get_ap(store, "ap-001")
    job_id = jobs.create(store, "push", "ap:ap-001", [ap["id"]], "web:olga", dry_run=True)
    jobs.start(store, job_id)
    jobs.item_finished(store, job_id, ap["id"], "succeeded", None, "2 command(s)", failed=False)
    jobs.finish(store, job_id, "succeeded", "1 ok, 0 failed")
    body = text(operator.get(f"/config/jobs/{job_id}"))
    assert 'http-equiv="refresh"' not in body
    assert "Push for real" in body and "2 command(s)" in body
    listing = text(operator.get("/config/jobs"))
    assert f"/config/jobs/{job_id}" in listing and "(dry run)" in listing


def test_refused_job_form_says_why_and_queues_nothing(operator, store):
    response = post_form(operator, "/config/jobs/new",
                         {"operation": "push", "target": "site:nowhere", "back": "/config/jobs"})
    assert response.status_code == 302 and jobs.recent(store) == []
    assert "does not exist" in text(operator.get("/config/jobs"))
    response = post_form(operator, "/config/jobs/new",
                         {"operation": "push", "target": "all", "canary": "many",
                          "back": "//evil.example/"})
    assert response.headers["Location"].endswith("/config/jobs")
    response = post_form(operator, "/config/jobs/new",
                         {"operation": "backup", "target": "all", "dry_run": "1"})
    assert jobs.recent(store)[0]["kind"] == "backup"   # the ticked dry-run box is for pushes


def test_every_post_needs_the_csrf_token(operator, store):
    for path, data in (("/config/jobs/new", {"operation": "backup", "target": "all"}),
                       ("/config/aps/ap-001/variables", {"variables": "{}"}),
                       ("/config/aps/ap-001/hostkey", {"fingerprint": "SHA256:x"}),
                       ("/config/pending/1/ignore", {})):
        assert operator.post(path, data=data).status_code == 400
    assert jobs.recent(store) == []


def test_variables_form_refuses_a_33_byte_arabic_ssid(operator, store, secrets):
    bad = json.dumps({"ssids": [{"id": "public", "ssid": arabic_ssid(33)}]})
    post_form(operator, "/config/aps/ap-001/variables", {"variables": bad},
              token_from="/config/aps/ap-001")
    body = text(operator.get("/config/aps/ap-001"))
    assert "Variables not saved" in body and "ssids[0].ssid" in body
    assert variables.get_layer(store, secrets, "ap", "ap-001") == {}
    post_form(operator, "/config/aps/ap-001/variables", {"variables": "{not json"},
              token_from="/config/aps/ap-001")
    assert "not JSON" in text(operator.get("/config/aps/ap-001"))
    good = '{"ssids": [{"id": "public", "ssid": "واي فاي الأمانة"}]}'
    post_form(operator, "/config/aps/ap-001/variables", {"variables": good},
              token_from="/config/aps/ap-001")
    assert variables.get_layer(store, secrets, "ap", "ap-001")["ssids"][0]["ssid"] == \
        "واي فاي الأمانة"
    page = text(operator.get("/config/aps/ap-001"))
    assert "واي فاي الأمانة" in page and "\\u0648" not in page
    assert audit.entries(store, action_prefix="config.variables")[0]["actor"] == "web:olga"


def test_diff_pages(operator, store, secrets):
    ap = inventory.get_ap(store, "ap-001")
    response = operator.get("/config/aps/ap-001/diff")
    assert response.status_code == 302   # no backup yet: back to the AP with the reason
    backups.record(store, secrets, ap["id"], "wireless.a='1'\n", "backup", "t")
    backups.record(store, secrets, ap["id"], "wireless.a='2'\n", "backup", "t")
    body = text(operator.get("/config/aps/ap-001/diff?from=1&to=2"))
    assert "-wireless.a=" in body and "+wireless.a=" in body
    assert "Amanah WiFi" in text(operator.get("/config/aps/ap-001/diff"))
    assert operator.get("/config/aps/ap-001/diff?from=1&to=9").status_code == 404


def test_adopt_and_ignore_from_the_pending_page(operator, store, woken):
    settings = ProvisioningConfig()
    first = adoption.announce(store, settings, mgmt_ip="127.9.0.7", source="mqtt",
                              mac="02:aa:00:00:00:07", platform="openwrt")
    second = adoption.announce(store, settings, mgmt_ip="127.9.0.8", source="trap")
    page = text(operator.get("/config/pending"))
    assert "02:aa:00:00:00:07" in page and "127.9.0.8" in page
    response = post_form(operator, f"/config/pending/{first['id']}/adopt",
                         {"name": "ap-new", "site": "amanah-walkway"},
                         token_from="/config/pending")
    job = jobs.recent(store)[0]
    assert response.headers["Location"].endswith(f"/config/jobs/{job['id']}")
    assert (job["kind"], job["target"]) == ("push", "ap:ap-new") and woken == [True]
    assert audit.entries(store, action_prefix="ap.adopt")[-1]["actor"] == "web:olga"
    refused = post_form(operator, f"/config/pending/{second['id']}/adopt",
                        {"name": "ap-trap", "site": "amanah-walkway"},
                        token_from="/config/pending")
    assert refused.status_code == 302 and "mac" in text(operator.get("/config/pending"))
    post_form(operator, f"/config/pending/{second['id']}/ignore", {},
              token_from="/config/pending")
    assert adoption.pending(store) == []
    assert post_form(operator, "/config/pending/4242/ignore", {},
                     token_from="/config/pending").status_code == 404


def test_changed_host_key_accepted_from_the_ap_page(operator, store):
    ap = inventory.get_ap(store, "ap-001")
    old = HostKey("ssh-ed25519", base64.b64encode(b"old-" * 8).decode())
    new = HostKey("ssh-ed25519", base64.b64encode(b"new-" * 8).decode())
    hostkeys.pin_first(store, ap, old, "test")
    hostkeys.record_mismatch(store, ap, new)
    body = text(operator.get("/config/aps/ap-001"))
    assert new.fingerprint in body and "Accept the new key" in body
    post_form(operator, "/config/aps/ap-001/hostkey", {"fingerprint": "SHA256:wrong"},
              token_from="/config/aps/ap-001")
    assert hostkeys.pinned(store, ap["id"])["fingerprint"] == old.fingerprint
    post_form(operator, "/config/aps/ap-001/hostkey", {"fingerprint": new.fingerprint},
              token_from="/config/aps/ap-001")
    row = hostkeys.pinned(store, ap["id"])
    assert (row["fingerprint"], row["pending_fingerprint"]) == (new.fingerprint, None)
    assert audit.entries(store, action_prefix="ap.hostkey.accept")[0]["actor"] == "web:olga"
