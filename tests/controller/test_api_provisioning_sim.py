"""End to end: jobs queued through the API, run as the worker would (through the service, in the
test's thread) against the AP simulator's SSH, then read back through the API and the job page."""

from __future__ import annotations

import pytest

from controller import auth
from core import audit
from netconfig import jobs
from tests.controller.web_harness import add_user, build_app, login
from tests.netconfig.sim_fleet import SimLab


@pytest.fixture
def api(config, secrets, sim_lab: SimLab):
    add_user(sim_lab.store, "olga", "operator")
    token = auth.create_token(sim_lab.store, "olga", "test", "test")
    client = build_app(config, secrets).test_client()
    return client, {"Authorization": f"Bearer {token}"}


def run_queued(sim_lab: SimLab, job_id: int) -> None:
    """What the provisioning worker does with a queued job."""
    service = sim_lab.service()
    try:
        service.run_job(job_id, jobs.get(sim_lab.store, job_id)["created_by"])
    finally:
        service.close()


def queue(client, headers, **body) -> int:
    response = client.post("/api/v1/provisioning/jobs", headers=headers, json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job"]


@pytest.mark.parametrize("sim_lab", [3], indirect=True)
def test_backup_dry_run_then_push_through_the_api(api, sim_lab: SimLab):
    client, headers = api
    ap = sim_lab.by_platform("openwrt")[0]["name"]

    job_id = queue(client, headers, operation="backup", target=ap)
    run_queued(sim_lab, job_id)
    history = client.get(f"/api/v1/aps/{ap}/config/history", headers=headers).get_json()
    assert [v["source"] for v in history["versions"]] == ["backup"]
    drift = client.get(f"/api/v1/aps/{ap}/config/diff", headers=headers).get_json()
    assert "Amanah WiFi" in drift["diff"]   # intended, not on the device yet

    dry = queue(client, headers, operation="push", target=ap, dry_run=True)
    run_queued(sim_lab, dry)
    job = client.get(f"/api/v1/provisioning/jobs/{dry}", headers=headers).get_json()
    assert (job["status"], job["items"][0]["status"]) == ("succeeded", "succeeded")
    assert "Amanah WiFi" not in sim_lab.state(ap).ssids()

    push = queue(client, headers, operation="push", target=ap)
    run_queued(sim_lab, push)
    job = client.get(f"/api/v1/provisioning/jobs/{push}", headers=headers).get_json()
    assert job["finished"] and job["status"] == "succeeded"
    item = job["items"][0]
    assert item["result"] == "succeeded" and "Amanah WiFi" in item["diff"]
    assert "Amanah WiFi" in sim_lab.state(ap).ssids()
    entry = audit.entries(sim_lab.store, action_prefix="config.push")[0]
    assert entry["actor"] == "api:olga" and entry["detail"]["job"] == push

    login(client, "olga")
    page = client.get(f"/config/jobs/{push}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and "Amanah WiFi" in page


@pytest.mark.parametrize("sim_lab", [3], indirect=True)
def test_a_failed_push_shows_rolled_back_per_ap(api, sim_lab: SimLab):
    client, headers = api
    ap = sim_lab.by_platform("openwrt")[0]["name"]
    sim_lab.state(ap).faults.hang_after_commands = 1
    job_id = queue(client, headers, operation="push", target=ap)
    run_queued(sim_lab, job_id)
    job = client.get(f"/api/v1/provisioning/jobs/{job_id}", headers=headers).get_json()
    assert job["status"] == "stopped" and job["message"] == "canary failed"   # its only AP
    assert job["items"][0]["status"] == "rolled_back"
    assert job["items"][0]["result"] == "rolled_back"
    assert "Amanah WiFi" not in sim_lab.state(ap).ssids()


@pytest.mark.parametrize("sim_lab", [3], indirect=True)
def test_a_rollback_job_restores_the_version(api, sim_lab: SimLab):
    client, headers = api
    ap = sim_lab.by_platform("openwrt")[0]
    run_queued(sim_lab, queue(client, headers, operation="backup", target=ap["name"]))
    run_queued(sim_lab, queue(client, headers, operation="push", target=ap["name"]))
    assert "Amanah WiFi" in sim_lab.state(ap["name"]).ssids()
    job_id = queue(client, headers, operation="rollback", target=ap["name"], version=1)
    run_queued(sim_lab, job_id)
    assert jobs.get(sim_lab.store, job_id)["status"] == "succeeded"
    assert "Amanah WiFi" not in sim_lab.state(ap["name"]).ssids()
    # The restored text is version 1 again (identical configs are stored once), and the
    # rollback is on record with what it changed.
    entry = next(e for e in audit.entries(sim_lab.store, action_prefix="config.rollback"))
    assert entry["target_id"] == ap["name"] and entry["detail"]["restored_version"] == 1
    assert "Amanah WiFi" in entry["detail"]["diff"]
