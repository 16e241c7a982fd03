"""Provisioning on two nodes sharing one store (docs/scale-out.md): jobs are claimed one node
each, by one conditional update; the claimed job's lease is held while it runs and, when the
node running it dies (on another host, where no process table can tell), any node closes the
job once the lease has run out; drift checks are queued once per interval, whichever node's
worker holds the drift lease; two workers against the AP simulator run each job once."""

from __future__ import annotations

import dataclasses
import threading
import time

from controller.provisioning import ProvisioningWorker
from core.leases import acquire
from core.store import Store
from netconfig import jobs
from tests.fleet import add_ap, add_site
from tests.netconfig.sim_fleet import ADMIN, SimLab
from tests.support import wait_for


def test_two_nodes_claiming_at_once_take_each_job_once(store, secrets):
    add_site(store)
    ap_id = add_ap(store, secrets, 1)["id"]
    created = [jobs.create(store, "backup", "all", [ap_id], "test") for _ in range(40)]
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def node(name: str) -> None:
        own = Store(store.location, migrate=False)
        barrier.wait()
        while (job := jobs.claim_next(own)) is not None:
            claimed[name].append(job["id"])
        own.close()

    threads = [threading.Thread(target=node, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed["a"] + claimed["b"]) == created  # each once, none left
    assert {j["status"] for j in jobs.recent(store, 100)} == {"running"}


def _running_elsewhere(store, secrets) -> int:
    """A job another host's node claimed (its runner names that host) a while ago."""
    add_site(store)
    ap_ids = [add_ap(store, secrets, n)["id"] for n in (1, 2)]
    job_id = jobs.create(store, "push", "all", ap_ids, "test")
    jobs.claim_next(store)
    store.conn.execute("UPDATE provision_jobs SET runner = 'node-b.example:4242:777', "
                       "started_at = ? WHERE id = ?", (time.time() - 60, job_id))
    return job_id


def test_a_job_whose_node_keeps_its_lease_is_left_running(store, secrets):
    job_id = _running_elsewhere(store, secrets)
    assert acquire(store, jobs.claim_lease(job_id), "node-b.example:4242:777", jobs.CLAIM_TTL_S)
    assert jobs.recover_interrupted(store) == []
    assert jobs.get(store, job_id)["status"] == "running"


def test_a_job_whose_node_died_is_closed_once_its_lease_runs_out(store, secrets):
    job_id = _running_elsewhere(store, secrets)
    # The node renewed the lease last 20 s ago, then died: the lease ran out 8 s ago.
    assert acquire(store, jobs.claim_lease(job_id), "node-b.example:4242:777",
                   jobs.CLAIM_TTL_S, now=time.time() - 20)
    assert jobs.recover_interrupted(store) == [job_id]
    job = jobs.get(store, job_id)
    assert (job["status"], job["message"]) == ("failed",
                                               "interrupted: the process running it ended")
    assert {i["status"] for i in job["items"]} == {"skipped"}


def test_a_job_just_claimed_elsewhere_is_not_taken_for_dead(store, secrets):
    job_id = _running_elsewhere(store, secrets)
    store.conn.execute("UPDATE provision_jobs SET started_at = ? WHERE id = ?",
                       (time.time(), job_id))  # claimed, its lease not taken yet
    assert jobs.recover_interrupted(store) == []


def _worker(sim_lab: SimLab, drift_interval: float) -> ProvisioningWorker:
    settings = dataclasses.replace(sim_lab.settings, drift_interval=drift_interval)
    worker = ProvisioningWorker(lambda: Store(sim_lab.store.location), sim_lab.box, settings,
                                snmp=sim_lab.snmp, poll_seconds=0.1)
    worker.start()
    return worker


def test_two_workers_run_each_job_once_and_queue_drift_once_per_interval(sim_lab: SimLab):
    service = sim_lab.service()
    queued = [service.enqueue(ADMIN, "backup", "all") for _ in range(4)]
    workers = [_worker(sim_lab, drift_interval=1.5), _worker(sim_lab, drift_interval=1.5)]
    try:
        def finished() -> bool:
            done = [jobs.get(sim_lab.store, j, items=False) for j in queued]
            return all(j["status"] in jobs.FINAL for j in done)
        wait_for(finished, timeout=60, what="the queued jobs to finish")
        for job_id in queued:
            job = jobs.get(sim_lab.store, job_id)
            # Each AP backed up by one run of the job: one item each, done once.
            assert (job["status"], job["done"]) == ("succeeded", len(sim_lab.aps))
            assert {i["status"] for i in job["items"]} == {"succeeded"}
        wait_for(lambda: len(_drift_times(sim_lab.store)) >= 2, timeout=30,
                 what="two drift checks queued")
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(30)
        service.close()
    times = _drift_times(sim_lab.store)
    assert all(b - a >= 1.5 for a, b in zip(times, times[1:])), times


def _drift_times(store) -> list[float]:
    return [r[0] for r in store.conn.execute(
        "SELECT created_at FROM provision_jobs WHERE kind = 'drift' ORDER BY created_at")]
