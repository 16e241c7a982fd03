"""A provisioning job whose process died (controller killed, CLI push interrupted) does not stay
"running" for ever: the next idle poll of the worker closes it and says what was left undone."""

from __future__ import annotations

import subprocess
import sys

from netconfig import jobs
from tests.fleet import add_ap, add_site


def _job(store, secrets, count: int = 3) -> int:
    add_site(store)
    ap_ids = [add_ap(store, secrets, n)["id"] for n in range(1, count + 1)]
    return jobs.create(store, "push", "all", ap_ids, "test")


def _dead_runner() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    runner = jobs.runner_id(child.pid)  # read while it may still run: host, pid, start time
    child.wait()
    return runner


def test_a_job_of_a_live_process_is_left_alone(store, secrets):
    job_id = _job(store, secrets)
    assert jobs.claim_next(store)["id"] == job_id  # claimed by this (live) process
    assert jobs.recover_interrupted(store) == []
    assert jobs.get(store, job_id)["status"] == "running"


def test_a_job_whose_process_ended_is_failed_and_its_aps_say_why(store, secrets):
    job_id = _job(store, secrets)
    jobs.claim_next(store)
    first, second, _ = (i["ap_id"] for i in jobs.get(store, job_id)["items"])
    jobs.item_finished(store, job_id, first, "succeeded", "post-check", None, failed=False)
    jobs.item_started(store, job_id, second, "apply")
    store.conn.execute("UPDATE provision_jobs SET runner = ? WHERE id = ?",
                       (_dead_runner(), job_id))

    assert jobs.recover_interrupted(store) == [job_id]
    job = jobs.get(store, job_id)
    assert (job["status"], job["message"]) == ("failed",
                                               "interrupted: the process running it ended")
    items = {i["ap_id"]: (i["status"], i["message"]) for i in job["items"]}
    assert items[first] == ("succeeded", None)
    assert items[second] == ("skipped", "interrupted during apply: check its drift or push again")
    assert ("skipped", "interrupted before it started") in items.values()
    assert jobs.recover_interrupted(store) == []  # once


def test_a_reused_pid_is_not_taken_for_the_runner(store, secrets):
    job_id = _job(store, secrets, 1)
    jobs.claim_next(store)
    host, pid, _ = jobs.runner_id().split(":")
    store.conn.execute("UPDATE provision_jobs SET runner = ? WHERE id = ?",
                       (f"{host}:{pid}:1", job_id))  # our pid, but not our start time
    assert jobs.recover_interrupted(store) == [job_id]


def test_jobs_started_before_runners_were_recorded_are_closed(store, secrets):
    job_id = _job(store, secrets, 1)
    jobs.claim_next(store)
    store.conn.execute("UPDATE provision_jobs SET runner = NULL WHERE id = ?", (job_id,))
    assert jobs.recover_interrupted(store) == [job_id]
