"""Batches, jobs, the worker, adoption and role checks, against the AP simulator."""

from __future__ import annotations

import dataclasses
import json

import pytest

from controller.auth import User
from controller.provisioning import ProvisioningWorker
from core import audit, inventory
from core.store import Store
from netconfig import adoption, drift, jobs, variables
from netconfig.service import Forbidden
from tests.netconfig.sim_fleet import ADMIN, SimLab
from tests.support import free_port, wait_for


def test_site_batch_with_canary_pushes_every_ap(sim_lab: SimLab):
    service = sim_lab.service()
    job_id = service.enqueue(ADMIN, "push", "all")
    seen = []
    result = service.run_job(job_id, ADMIN.username, seen.append)
    assert result.status == "succeeded" and len(seen) == len(sim_lab.aps)
    job = service.job(ADMIN, job_id)
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", len(sim_lab.aps), 0)
    assert {i["status"] for i in job["items"]} == {"succeeded"}
    for ap in sim_lab.aps:
        if ap["platform"] != "generic":
            assert "Amanah WiFi" in sim_lab.state(ap["name"]).ssids()
    service.close()


def test_a_failed_canary_stops_the_batch_before_anyone_else(sim_lab: SimLab):
    service = sim_lab.service()
    first = sorted(a["name"] for a in sim_lab.aps)[0]
    sim_lab.state(first).faults.auth_failure = True
    job_id = service.enqueue(ADMIN, "push", "all")
    result = service.run_job(job_id, ADMIN.username)
    assert result.status == "stopped" and result.skipped == len(sim_lab.aps) - 1
    job = service.job(ADMIN, job_id)
    assert job["message"] == "canary failed"
    assert all(sim_lab.state(a["name"]).applied == 0 for a in sim_lab.aps
               if a["platform"] != "generic")
    service.close()


def test_batch_stops_when_failures_exceed_the_threshold(sim_lab: SimLab):
    service = sim_lab.service()
    names = sorted(a["name"] for a in sim_lab.aps if a["platform"] != "generic")
    for name in names[1:3]:
        sim_lab.state(name).faults.auth_failure = True
    job_id = service.enqueue(ADMIN, "push", "all",
                             options={"canary": 1, "max_failures": 1, "workers": 1})
    result = service.run_job(job_id, ADMIN.username)
    assert result.status == "stopped" and result.failed == 2 and result.skipped >= 1
    statuses = [i["status"] for i in service.job(ADMIN, job_id)["items"]]
    assert statuses.count("failed") == 2 and "skipped" in statuses
    service.close()


def test_worker_runs_queued_jobs_and_progress_is_in_the_table(sim_lab: SimLab):
    service = sim_lab.service()
    site = sim_lab.aps[0]["site"]
    job_id = service.enqueue(ADMIN, "push", f"site:{site}", dry_run=True)
    assert service.job(ADMIN, job_id)["status"] == "queued"
    worker = ProvisioningWorker(lambda: Store(sim_lab.store.location), sim_lab.box,
                                sim_lab.settings, snmp=sim_lab.snmp, poll_seconds=0.2)
    worker.start()
    try:
        worker.wake()
        job = wait_for(lambda: (j := service.job(ADMIN, job_id))["status"] in jobs.FINAL and j,
                       timeout=30, what="job to finish")
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert job["status"] == "succeeded" and job["dry_run"] == 1
    assert all(sim_lab.state(a["name"]).applied == 0 for a in sim_lab.aps
               if a["platform"] != "generic")
    service.close()


def test_scheduled_drift_check_raises_an_alert(sim_lab: SimLab):
    ap = sim_lab.by_platform("openwrt")[0]
    sim_lab.provisioner().push(ap["id"], "engineer")
    state = sim_lab.state(ap["name"])
    with state.lock:
        state.uci["public_5g"][1]["ssid"] = "'Hand edited'"
    settings = dataclasses.replace(sim_lab.settings, drift_interval=0.2)
    worker = ProvisioningWorker(lambda: Store(sim_lab.store.location), sim_lab.box, settings,
                                snmp=sim_lab.snmp, poll_seconds=0.1)
    worker.start()
    try:
        alert = wait_for(lambda: next((a for a in drift.open_alerts(sim_lab.store)
                                       if a["ap_name"] == ap["name"]), None),
                         timeout=30, what="a drift alert")
    finally:
        worker.stop()
        worker.join(timeout=30)
    # (The APs never pushed drift too: their factory config is not what the template says.)
    assert alert["kind"] == "config_drift" and alert["severity"] == "warning"
    assert "Hand edited" in json.loads(alert["detail"])["diff"]
    assert any(j["kind"] == "drift" and j["created_by"] == "system:drift"
               for j in jobs.recent(sim_lab.store))


def test_a_trap_gives_only_the_address_and_the_engineer_gives_the_mac(sim_lab: SimLab):
    service = sim_lab.service()
    newcomer = sim_lab.by_platform("cisco_aironet")[0]
    inventory.remove_ap(sim_lab.store, newcomer["id"], "test")
    pending = service.announce(mgmt_ip=newcomer["mgmt_ip"], source="trap",
                               detail={"trap": "coldStart"})
    assert pending["mac"] is None and pending["platform"] is None
    # The MQTT hello that follows fills in the MAC on the same row.
    again = service.announce(mgmt_ip=newcomer["mgmt_ip"], source="mqtt", mac=newcomer["mac"],
                             platform="cisco_aironet")
    assert again["id"] == pending["id"] and again["mac"] == newcomer["mac"]
    service.announce(mgmt_ip="127.0.99.9", source="trap")
    adoption.ignore(sim_lab.store, "127.0.99.9", "engineer")
    assert service.announce(mgmt_ip="127.0.99.9", source="trap") is None   # stays ignored
    ap, outcome = service.adopt_now(ADMIN, newcomer["mgmt_ip"], {
        "name": newcomer["name"], "site": newcomer["site"], "ssh_port": newcomer["ssh_port"],
        "snmp_port": newcomer["snmp_port"], "ssh_username": "admin", "ssh_password": "oasis-sim"})
    assert ap["platform"] == "cisco_aironet" and outcome.status == "succeeded", outcome
    service.close()


def test_viewer_may_preview_but_not_push():
    class Viewer:
        username = "visitor-desk"

        def can(self, needed: str) -> bool:
            return User(2, self.username, "viewer").can(needed)
    from netconfig.service import require
    require(Viewer(), "viewer")
    with pytest.raises(Forbidden):
        require(Viewer(), "operator")


def test_viewer_cannot_push_through_the_service(sim_lab: SimLab):
    service = sim_lab.service()
    viewer = User(3, "desk", "viewer")
    assert "Amanah WiFi" in service.render(viewer, sim_lab.aps[0]["id"]).text
    with pytest.raises(Forbidden):
        service.push_now(viewer, sim_lab.aps[0]["id"])
    with pytest.raises(Forbidden):
        service.enqueue(viewer, "push", "all")
    service.close()


def test_unknown_ap_announces_itself_and_is_adopted_with_the_site_template(sim_lab: SimLab):
    service = sim_lab.service()
    newcomer = sim_lab.by_platform("openwrt")[-1]
    inventory.remove_ap(sim_lab.store, newcomer["id"], "test")   # as if never registered
    assert service.announce(mac=newcomer["mac"], mgmt_ip="10.99.0.5", source="trap") is None
    pending = service.announce(mac=newcomer["mac"], mgmt_ip=newcomer["mgmt_ip"], source="trap",
                               platform="openwrt", detail={"sysDescr": "OpenWrt"})
    assert pending["status"] == "pending"
    assert [p["mac"] for p in adoption.pending(sim_lab.store)] == [newcomer["mac"]]
    variables.set_layer(sim_lab.store, sim_lab.box, "site", newcomer["site"],
                        {"ssids": [{"id": "park", "ssid": "Park WiFi"}]}, "test")
    ap, outcome = service.adopt_now(ADMIN, newcomer["mac"], {
        "name": newcomer["name"], "site": newcomer["site"], "ssh_port": newcomer["ssh_port"],
        "snmp_port": newcomer["snmp_port"], "ssh_username": "root", "ssh_password": "oasis-sim"})
    assert outcome.status == "succeeded", outcome
    assert "Park WiFi" in sim_lab.state(newcomer["name"]).ssids()
    assert adoption.pending(sim_lab.store) == []
    actions = [e["action"] for e in audit.entries(sim_lab.store, limit=20)]
    assert {"ap.adopt", "ap.adopt.push", "config.push"} <= set(actions)
    # A known AP announcing itself again is not pending (by MAC or by address alone).
    assert service.announce(mgmt_ip=newcomer["mgmt_ip"], source="trap") is None
    assert service.announce(mac=newcomer["mac"], mgmt_ip=newcomer["mgmt_ip"], source="mqtt") is None
    service.close()


def test_an_ap_without_an_ssh_login_is_left_alone_not_failed(sim_lab: SimLab, capsys):
    """Monitoring-only APs (the demo's generic ones) in a site push are skipped, and say why."""
    service = sim_lab.service()
    alone = sim_lab.aps[0]
    inventory.update_ap(sim_lab.store, sim_lab.box, alone["id"], {"ssh_password": None}, "test")
    job_id = service.enqueue(ADMIN, "push", "all")
    result = service.run_job(job_id, ADMIN.username)
    assert result.status == "succeeded" and result.failed == 0
    items = {i["ap_name"]: i for i in service.job(ADMIN, job_id)["items"]}
    assert items[alone["name"]]["status"] == "skipped"
    assert "no SSH login" in items[alone["name"]]["message"]
    assert {i["status"] for n, i in items.items() if n != alone["name"]} == {"succeeded"}
    service.close()


def test_an_unreachable_ap_fails_in_one_log_line_without_a_traceback(sim_lab: SimLab, caplog):
    service = sim_lab.service()
    ap = sim_lab.aps[1]
    inventory.update_ap(sim_lab.store, sim_lab.box, ap["id"], {"ssh_port": free_port()}, "test")
    job_id = service.enqueue(ADMIN, "backup", f"ap:{ap['name']}")
    with caplog.at_level("WARNING"):
        result = service.run_job(job_id, ADMIN.username)
    [outcome] = result.outcomes
    assert (outcome.status, outcome.stage) == ("failed", "connect")
    assert outcome.ap == ap["name"] and "internal" not in outcome.message
    mine = [r for r in caplog.records if r.name == "netconfig.batch"]
    assert len(mine) == 1 and mine[0].exc_info is None and ap["name"] in mine[0].getMessage()
    service.close()
