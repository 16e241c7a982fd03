"""/api/v1 provisioning: roles, validation as 4xx, queued jobs, stored diffs, adoption, host keys.

No worker runs here: a request only queues a job, which is what the tests check. The end-to-end
test runs the queued job itself through the service against the AP simulator's SSH.
"""

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
    error_of,
    login,
)
from tests.fleet import add_ap, add_site

ARABIC_OK = "واي فاي الأمانة"     # 15 characters, 28 bytes


@pytest.fixture
def client(config, secrets, store, woken):
    add_site(store)
    add_ap(store, secrets, 1)
    add_ap(store, secrets, 2)
    variables.set_layer(store, secrets, "global", None, VARIABLES, "test")
    return build_app(config, secrets, woken=woken).test_client()


def queued_jobs(store) -> list[dict]:
    return jobs.recent(store)


# ---- jobs: roles, 202, validation -------------------------------------------------------------

def test_operator_queues_a_job_and_gets_202_with_its_address(client, store, op, woken):
    response = client.post("/api/v1/provisioning/jobs", headers=op,
                           json={"operation": "push", "target": "site:amanah-walkway",
                                 "dry_run": True, "canary": 1, "max_failures": 0})
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job"]
    assert response.headers["Location"].endswith(f"/api/v1/provisioning/jobs/{job_id}")
    assert woken == [True]
    job = client.get(f"/api/v1/provisioning/jobs/{job_id}", headers=op).get_json()
    assert (job["kind"], job["status"], job["dry_run"], job["total"]) == ("push", "queued", 1, 2)
    assert job["options"] == {"canary": 1, "max_failures": 0}
    assert job["created_by"] == "api:olga" and not job["finished"]
    assert [i["ap_name"] for i in job["items"]] == ["ap-001", "ap-002"]
    assert {i["status"] for i in job["items"]} == {"queued"}
    listed = client.get("/api/v1/provisioning/jobs", headers=op).get_json()["jobs"]
    assert [j["id"] for j in listed] == [job_id]


def test_a_plain_ap_name_is_a_one_ap_target(client, store, op):
    response = client.post("/api/v1/provisioning/jobs", headers=op,
                           json={"operation": "backup", "target": "ap-002"})
    assert response.status_code == 202
    assert queued_jobs(store)[0]["target"] == "ap:ap-002"


def test_viewer_cannot_queue_a_job(client, store, viewer):
    response = client.post("/api/v1/provisioning/jobs", headers=viewer,
                           json={"operation": "backup", "target": "all"})
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert queued_jobs(store) == []
    assert client.get("/api/v1/provisioning/jobs", headers=viewer).status_code == 200


def test_the_session_cookie_alone_cannot_queue(client, store):
    add_user(store, "olga", "operator")
    login(client, "olga")
    response = client.post("/api/v1/provisioning/jobs", json={"operation": "backup",
                                                              "target": "all"})
    assert response.status_code == 401 and queued_jobs(store) == []


@pytest.mark.parametrize("body, status, field", [
    ({"operation": "reboot", "target": "all"}, 422, "operation"),
    ({"target": "all"}, 422, "operation"),
    ({"operation": "push"}, 422, "target"),
    ({"operation": "push", "target": "site:no-such-park"}, 422, "target"),
    ({"operation": "push", "target": "group:nobody"}, 422, "target"),
    ({"operation": "push", "target": "no-such-ap"}, 422, "target"),
    ({"operation": "push", "target": "rack:1"}, 422, "target"),
    ({"operation": "push", "target": 7}, 422, "target"),
    ({"operation": "backup", "target": "all", "dry_run": True}, 422, "dry_run"),
    ({"operation": "push", "target": "all", "dry_run": "yes"}, 422, "dry_run"),
    ({"operation": "push", "target": "all", "canary": -1}, 422, "canary"),
    ({"operation": "push", "target": "all", "max_failures": 1.5}, 422, "max_failures"),
    ({"operation": "push", "target": "all", "workers": True}, 422, "workers"),
    ({"operation": "push", "target": "all", "colour": "red"}, 422, "colour"),
    ({"operation": "rollback", "target": "ap-001"}, 422, "version"),
    ({"operation": "rollback", "target": "ap-001", "version": 9}, 422, "version"),
    ({"operation": "rollback", "target": "all", "version": 1}, 422, "target"),
    ({"operation": "backup", "target": "all", "version": 1}, 422, "version"),
    ({"operation": "push", "target": "all", "nested": {"a": [1]}}, 422, "nested"),
])
def test_bad_job_requests_are_refused_naming_the_field(client, store, op, body, status, field):
    response = client.post("/api/v1/provisioning/jobs", headers=op, json=body)
    assert response.status_code == status, response.get_json()
    assert error_of(response)["field"] == field
    assert queued_jobs(store) == []


@pytest.mark.parametrize("data, content_type, status", [
    (b"{not json", "application/json", 400),
    (b'{"operation": NaN}', "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'["push"]', "application/json", 422),
    (b"operation=push", "application/x-www-form-urlencoded", 415),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json", 400),
])
def test_garbage_bodies_are_4xx_never_500(client, store, op, data, content_type, status):
    response = client.post("/api/v1/provisioning/jobs", headers=op, data=data,
                           content_type=content_type)
    assert response.status_code == status
    assert error_of(response)["code"]
    assert queued_jobs(store) == []


def test_rollback_to_a_stored_version_is_queued(client, store, secrets, op):
    ap = add_ap(store, secrets, 3)
    backups.record(store, secrets, ap["id"], "wireless.a=1\n", "backup", "test")
    response = client.post("/api/v1/provisioning/jobs", headers=op,
                           json={"operation": "rollback", "target": "ap-003", "version": 1})
    assert response.status_code == 202
    job = jobs.get(store, response.get_json()["job"])
    assert (job["kind"], job["options"]) == ("rollback", {"version": 1})


def test_unknown_job_is_404(client, op):
    response = client.get("/api/v1/provisioning/jobs/999", headers=op)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


# ---- preview and variables ------------------------------------------------------------------

def test_render_preview_masks_passphrases(client, store, secrets, viewer):
    variables.set_layer(store, secrets, "ap", "ap-001", {"ssids": [
        {"id": "staff", "ssid": ARABIC_OK, "security": "wpa2",
         "passphrase": "very-secret-pass"}]}, "test")
    response = client.get("/api/v1/aps/ap-001/config/render", headers=viewer)
    assert response.status_code == 200
    body = response.get_json()
    assert body["platform"] == "openwrt" and ARABIC_OK in body["text"]
    assert "very-secret-pass" not in response.get_data(as_text=True)


def test_render_of_invalid_variables_is_422_naming_the_field(client, store, secrets, viewer):
    store.conn.execute("UPDATE config_variables SET data = ? WHERE scope = 'global'",
                       (json.dumps({"ssids": [{"id": "x", "ssid": arabic_ssid(33)}]}),))
    response = client.get("/api/v1/aps/ap-001/config/render", headers=viewer)
    assert response.status_code == 422
    assert error_of(response) | {"message": ""} == {"code": "ssid_too_long", "message": "",
                                                    "field": "ssids[0].ssid"}


def test_effective_variables_say_which_layer_each_came_from(client, store, secrets, viewer):
    variables.set_layer(store, secrets, "site", "amanah-walkway",
                        {"radios": {"2g": {"channel": 11}}}, "test")
    body = client.get("/api/v1/aps/ap-001/config/variables", headers=viewer).get_json()
    assert body["variables"]["radios"]["2g"] == {"channel": 11, "tx_power": 17}
    assert body["sources"]["radios.2g.channel"] == "site"
    assert body["sources"]["radios.2g.tx_power"] == "global"
    assert body["sources"]["ssids"] == "global"
    assert body["sources"]["hostname"] == "inventory"
    assert [(l["scope"], l["ref"]) for l in body["layers"]] == [("global", None),
                                                               ("site", "amanah-walkway")]


@pytest.mark.parametrize("path", ["/api/v1/config/variables/global",
                                  "/api/v1/config/variables/site/amanah-walkway",
                                  "/api/v1/aps/ap-001/config/variables"])
def test_arabic_ssid_of_33_bytes_is_refused_at_every_layer(client, store, secrets, op, path):
    too_long = arabic_ssid(33)
    assert len(too_long.encode("utf-8")) == 33 and len(too_long) < 32
    before = variables.get_layer(store, secrets, "global", None)
    response = client.put(path, headers=op, json={"ssids": [{"id": "public", "ssid": too_long}]})
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("ssid_too_long", "ssids[0].ssid")
    assert "33 bytes" in error["message"]
    assert variables.get_layer(store, secrets, "global", None) == before
    assert variables.get_layer(store, secrets, "site", "amanah-walkway") == {}


def test_variables_saved_per_layer_with_audit(client, store, secrets, op):
    response = client.put("/api/v1/config/variables/site/amanah-walkway", headers=op,
                          json={"ssids": [{"id": "public", "ssid": ARABIC_OK,
                                           "security": "wpa2", "passphrase": "park-pass-123"}]})
    assert response.status_code == 200, response.get_json()
    assert "park-pass-123" not in response.get_data(as_text=True)
    assert variables.get_layer(store, secrets, "site", "amanah-walkway")["ssids"][0][
        "passphrase"] == "park-pass-123"
    entry = audit.entries(store, action_prefix="config.variables")[0]
    assert (entry["actor"], entry["target_type"], entry["target_id"]) == (
        "api:olga", "site", "amanah-walkway")
    assert "park-pass-123" not in str(entry["detail"])
    response = client.put("/api/v1/aps/ap-002/config/variables", headers=op,
                          json={"radios": {"2g": {"channel": 1}}})
    assert response.status_code == 200
    assert response.get_json()["sources"]["radios.2g.channel"] == "ap"


def test_a_layer_is_checked_for_what_it_sets_only(client, store, secrets, op):
    variables.set_layer(store, secrets, "global", None, {}, "test")   # no SSID anywhere yet
    response = client.put("/api/v1/config/variables/global", headers=op,
                          json={"radios": {"2g": {"channel": 6}}})
    assert response.status_code == 200
    response = client.put("/api/v1/config/variables/global", headers=op,
                          json={"radios": {"2g": {"channel": 14}}})
    assert response.status_code == 422 and error_of(response)["field"] == "radios.2g.channel"


@pytest.mark.parametrize("path, body, status, field", [
    ("/api/v1/config/variables/global", {"ssids": [{"id": "p", "ssid": "x",
                                                    "security": "wpa2",
                                                    "passphrase": "********"}]},
     422, "ssids[0].passphrase"),
    ("/api/v1/config/variables/group/nobody", {"radios": {}}, 404, None),
    ("/api/v1/config/variables/site/no-such-park", {"radios": {}}, 404, None),
    ("/api/v1/aps/ap-001/config/variables", {"ssids": "public"}, 422, "ssids"),
])
def test_bad_variables_are_refused(client, op, path, body, status, field):
    response = client.put(path, headers=op, json=body)
    assert response.status_code == status
    assert error_of(response)["field"] == field


def test_viewer_cannot_change_variables(client, viewer):
    response = client.put("/api/v1/config/variables/global", headers=viewer, json={})
    assert response.status_code == 403


# ---- history and diffs (stored versions only) ------------------------------------------------

def test_history_and_diffs_of_stored_versions(client, store, secrets, viewer):
    ap_id = client.get("/api/v1/aps/ap-001", headers=viewer).get_json()["id"]
    backups.record(store, secrets, ap_id, "wireless.public_2g.ssid='Old'\n", "backup", "t")
    backups.record(store, secrets, ap_id, "wireless.public_2g.ssid='New'\n", "backup", "t")
    versions = client.get("/api/v1/aps/ap-001/config/history", headers=viewer).get_json()
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    body = client.get("/api/v1/aps/ap-001/config/diff?from=1&to=2", headers=viewer).get_json()
    assert "-wireless.public_2g.ssid='Old'" in body["diff"]
    assert "+wireless.public_2g.ssid='New'" in body["diff"]
    intended = client.get("/api/v1/aps/ap-001/config/diff", headers=viewer).get_json()
    assert (intended["from"], intended["to"]) == (2, "intended")
    assert "Amanah WiFi" in intended["diff"] and "running (v2)" in intended["diff"]


@pytest.mark.parametrize("query, status, field", [
    ("?from=1", 422, "to"), ("?from=x&to=1", 422, "from"), ("?from=1&to=7", 404, None),
    ("?from=0&to=1", 422, "from"),
])
def test_bad_diff_requests(client, store, secrets, viewer, query, status, field):
    ap_id = client.get("/api/v1/aps/ap-001", headers=viewer).get_json()["id"]
    backups.record(store, secrets, ap_id, "a\n", "backup", "t")
    response = client.get(f"/api/v1/aps/ap-001/config/diff{query}", headers=viewer)
    assert response.status_code == status
    assert error_of(response)["field"] == field


def test_intended_diff_without_a_backup_is_refused(client, viewer):
    response = client.get("/api/v1/aps/ap-001/config/diff", headers=viewer)
    assert response.status_code == 422 and error_of(response)["code"] == "no_backup"


# ---- adoption ---------------------------------------------------------------------------------

def _announce(store, ip: str = "127.9.0.5", mac: str | None = "02:aa:00:00:00:05"):
    return adoption.announce(store, ProvisioningConfig(), mgmt_ip=ip, source="mqtt", mac=mac,
                             platform="openwrt")


def test_adopting_a_pending_ap_queues_its_push(client, store, op, woken):
    row = _announce(store)
    listed = client.get("/api/v1/provisioning/pending", headers=op).get_json()["pending"]
    assert [p["mac"] for p in listed] == ["02:aa:00:00:00:05"]
    response = client.post(f"/api/v1/provisioning/pending/{row['id']}/adopt", headers=op,
                           json={"name": "ap-new", "site": "amanah-walkway",
                                 "ssh_password": "pw-123456"})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["ap"]["name"] == "ap-new" and woken == [True]
    job = jobs.get(store, body["job"])
    assert (job["kind"], job["target"], job["status"]) == ("push", "ap:ap-new", "queued")
    actions = [e["action"] for e in audit.entries(store, actor="api:olga")]
    assert {"ap.adopt", "ap.adopt.push", "ap.create"} <= set(actions)
    assert client.get("/api/v1/provisioning/pending", headers=op).get_json()["pending"] == []


def test_adoption_refusals_write_nothing(client, store, op):
    row = _announce(store, "127.9.0.6", None)   # trap only: no MAC known
    response = client.post(f"/api/v1/provisioning/pending/{row['id']}/adopt", headers=op,
                           json={"name": "ap-new", "site": "amanah-walkway"})
    assert response.status_code == 422 and error_of(response)["field"] == "mac"
    response = client.post(f"/api/v1/provisioning/pending/{row['id']}/adopt", headers=op,
                           json={"name": "ap-new", "site": "nowhere",
                                 "mac": "02:aa:00:00:00:06"})
    assert response.status_code == 422
    assert client.post("/api/v1/provisioning/pending/424242/adopt", headers=op,
                       json={"name": "x", "site": "amanah-walkway"}).status_code == 404
    assert queued_jobs(store) == []


def test_ignore_then_ignore_again(client, store, op, viewer):
    row = _announce(store)
    assert client.post(f"/api/v1/provisioning/pending/{row['id']}/ignore",
                       headers=viewer).status_code == 403
    response = client.post(f"/api/v1/provisioning/pending/{row['id']}/ignore", headers=op)
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"
    assert audit.entries(store, action_prefix="ap.adopt.ignore")[0]["actor"] == "api:olga"
    again = client.post(f"/api/v1/provisioning/pending/{row['id']}/ignore", headers=op)
    assert again.status_code == 422 and error_of(again)["code"] == "not_pending"


# ---- host keys -------------------------------------------------------------------------------

def _key(seed: bytes) -> HostKey:
    return HostKey("ssh-ed25519", base64.b64encode(seed * 8).decode())


def test_a_changed_host_key_is_accepted_by_its_fingerprint(client, store, op, viewer):
    ap = inventory.get_ap(store, "ap-001")
    assert client.get("/api/v1/aps/ap-001/hostkey", headers=viewer).get_json()["pinned"] is False
    old, new = _key(b"old-"), _key(b"new-")
    hostkeys.pin_first(store, ap, old, "test")
    hostkeys.record_mismatch(store, ap, new)
    body = client.get("/api/v1/aps/ap-001/hostkey", headers=viewer).get_json()
    assert (body["fingerprint"], body["pending_fingerprint"]) == (old.fingerprint,
                                                                  new.fingerprint)
    assert client.post("/api/v1/aps/ap-001/hostkey", headers=viewer,
                       json={"fingerprint": new.fingerprint}).status_code == 403
    wrong = client.post("/api/v1/aps/ap-001/hostkey", headers=op,
                        json={"fingerprint": old.fingerprint})
    assert wrong.status_code == 422 and error_of(wrong)["field"] == "fingerprint"
    missing = client.post("/api/v1/aps/ap-001/hostkey", headers=op, json={})
    assert missing.status_code == 422 and error_of(missing)["field"] == "fingerprint"
    response = client.post("/api/v1/aps/ap-001/hostkey", headers=op,
                           json={"fingerprint": new.fingerprint})
    assert response.status_code == 200
    assert (response.get_json()["fingerprint"], response.get_json()["pending_fingerprint"]) == (
        new.fingerprint, None)
    entry = audit.entries(store, action_prefix="ap.hostkey.accept")[0]
    assert entry["actor"] == "api:olga" and entry["detail"]["new"] == new.fingerprint
