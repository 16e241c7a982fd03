"""Background provisioning jobs: a table the UI and API read, and the queue workers take from.

A web request never talks to a device: it creates a ``queued`` job and returns its id; a worker
(`controller.provisioning.ProvisioningWorker`, or the CLI in its own process) claims it, runs
it and keeps ``done``/``failed`` and each AP's item row current, so progress is visible while it
runs.

On several nodes (docs/scale-out.md) every node's worker takes jobs: per-job claims, not a
lease, because jobs are independent and long (a push of hundreds of APs) and two nodes may well
run two at once. `claim_next` takes the oldest queued job by one conditional ``UPDATE ...
RETURNING`` (on SQLite and PostgreSQL the second node to try finds it taken), and the run holds
the lease ``provision-job:<id>`` (`core.leases.Hold`, renewed every 4 s, `CLAIM_TTL_S`) while
it lasts. A job whose node died is closed by `recover_interrupted` on any other node once that
lease has run out: failed, its APs not yet done skipped and saying why. It is not run again by
itself: an AP left halfway through a push is checked (drift) or pushed again by a person.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from core import inventory
from core.inventory import NotFound
from core.leases import WORKER_TTL_S, acquire, release
from core.store import Store, now, with_iso

KINDS = ("push", "rollback", "backup", "drift", "adopt")
FINAL = ("succeeded", "failed", "stopped", "partial")
#: The times of a job row and of its items' rows (unix seconds; items have the last two).
TIME_COLUMNS = ("created_at", "started_at", "finished_at")
#: A running job's lease: another node closes the job this long after its runner stopped
#: renewing it (died), 12 s.
CLAIM_TTL_S = WORKER_TTL_S


def claim_lease(job_id: int) -> str:
    """The lease a job's runner holds while it runs (`core.leases.Hold`)."""
    return f"provision-job:{job_id}"


def create(store: Store, kind: str, target: str, ap_ids: list[int], actor: str, *,
           dry_run: bool = False, options: dict | None = None) -> int:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    with store.transaction() as conn:
        job_id = conn.execute(
            "INSERT INTO provision_jobs (kind, target, status, dry_run, total, options, "
            "created_by, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?) RETURNING id",
            (kind, target, int(dry_run), len(ap_ids), json.dumps(options or {}), actor,
             now())).fetchone()[0]
        conn.executemany("INSERT INTO provision_job_items (job_id, ap_id, status) "
                         "VALUES (?, ?, 'queued')", [(job_id, i) for i in ap_ids])
    return job_id


_CLAIM = ("UPDATE provision_jobs SET status = 'running', started_at = ?, runner = ? "
          "WHERE id = (SELECT id FROM provision_jobs WHERE status = 'queued' ORDER BY id LIMIT 1)"
          " AND status = 'queued' RETURNING id")


def claim_next(store: Store) -> dict | None:
    """Mark the oldest queued job running and return it (None: nothing to do).

    One conditional update: of two nodes claiming at once, the second finds the job taken
    (and tries the next one, a few times)."""
    for _ in range(3):
        row = store.conn.execute(_CLAIM, (now(), runner_id())).fetchone()
        if row is not None:
            return get(store, row[0], items=False)
        if store.conn.execute("SELECT 1 FROM provision_jobs WHERE status = 'queued' LIMIT 1"
                              ).fetchone() is None:
            return None
    return None


def start(store: Store, job_id: int) -> None:
    store.conn.execute("UPDATE provision_jobs SET status = 'running', started_at = ?, runner = ? "
                       "WHERE id = ? AND status = 'queued'", (now(), runner_id(), job_id))


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a live process from a reused pid)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def runner_id(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _local(runner: str | None) -> bool:
    return runner is not None and runner.partition(":")[0] == socket.gethostname()


def _alive(runner: str | None) -> bool:
    """Whether the process that claimed a job still runs; True if it is on another host."""
    if not runner:
        return False  # started before jobs named their runner
    host, _, rest = runner.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True  # cannot tell from here
    return pid.isdigit() and _start_time(int(pid)) == started


def _claim_expired(store: Store, job_id: int, started_at: float | None, at: float) -> bool:
    """Whether nobody renews the job's lease (its runner's node is gone). A job claimed less
    than a TTL ago may not hold it yet: it counts as live."""
    if started_at is not None and started_at > at - CLAIM_TTL_S:
        return False
    probe = f"recover:{runner_id()}"
    if not acquire(store, claim_lease(job_id), probe, CLAIM_TTL_S, at):
        return False
    release(store, claim_lease(job_id), probe)
    return True


def recover_interrupted(store: Store) -> list[int]:
    """Close the jobs left ``running`` by a process that is gone; returns their ids.

    A runner on this host is looked up among its processes; one on another node is gone when
    its job's lease has run out. Their APs not yet done are marked skipped (one interrupted
    mid-push says so: check its drift or push again); the job is failed with the reason.
    """
    running = store.conn.execute(
        "SELECT id, runner, started_at FROM provision_jobs WHERE status = 'running'").fetchall()
    closed = []
    at = now()
    for job_id, runner, started_at in running:
        if _alive(runner) and (_local(runner)
                               or not _claim_expired(store, job_id, started_at, at)):
            continue
        with store.transaction() as conn:
            conn.execute("UPDATE provision_job_items SET status = 'skipped', message = "
                         "CASE status WHEN 'running' THEN 'interrupted during ' || "
                         "coalesce(stage, 'the push') || ': check its drift or push again' "
                         "ELSE 'interrupted before it started' END, finished_at = ? "
                         "WHERE job_id = ? AND status IN ('queued', 'running')",
                         (now(), job_id))
            conn.execute("UPDATE provision_jobs SET status = 'failed', finished_at = ?, "
                         "message = 'interrupted: the process running it ended' "
                         "WHERE id = ? AND status = 'running'", (now(), job_id))
        closed.append(job_id)
    return closed


def item_started(store: Store, job_id: int, ap_id: int, stage: str) -> None:
    store.conn.execute("UPDATE provision_job_items SET status = 'running', stage = ?, "
                       "started_at = coalesce(started_at, ?) WHERE job_id = ? AND ap_id = ?",
                       (stage, now(), job_id, ap_id))


def item_finished(store: Store, job_id: int, ap_id: int, status: str, stage: str | None,
                  message: str | None, *, failed: bool) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE provision_job_items SET status = ?, stage = ?, message = ?, "
                     "finished_at = ? WHERE job_id = ? AND ap_id = ?",
                     (status, stage, message, now(), job_id, ap_id))
        conn.execute("UPDATE provision_jobs SET done = done + 1, failed = failed + ? WHERE id = ?",
                     (int(failed), job_id))


def skip_remaining(store: Store, job_id: int, reason: str) -> int:
    cur = store.conn.execute("UPDATE provision_job_items SET status = 'skipped', message = ? "
                             "WHERE job_id = ? AND status = 'queued'", (reason, job_id))
    return cur.rowcount


def finish(store: Store, job_id: int, status: str, message: str | None = None) -> None:
    if status not in FINAL:
        raise ValueError(f"final status must be one of {', '.join(FINAL)}")
    store.conn.execute("UPDATE provision_jobs SET status = ?, finished_at = ?, message = ? "
                       "WHERE id = ?", (status, now(), message, job_id))


def get(store: Store, job_id: int, *, items: bool = True) -> dict:
    rows = list(store.db.query("SELECT * FROM provision_jobs WHERE id = ?", [job_id]))
    if not rows:
        raise NotFound("job", job_id)
    job = rows[0]
    job["options"] = json.loads(job["options"] or "{}")
    if items:
        named = [{**item, "ap_name": inventory.ap_name(store.conn, item["ap_id"])} for item in
                 store.db.query("SELECT * FROM provision_job_items WHERE job_id = ?", [job_id])]
        # Deleting an AP deletes its items; one left where foreign keys were off is not listed.
        job["items"] = sorted((item for item in named if item["ap_name"] is not None),
                              key=lambda item: item["ap_name"])
    return job


def shown(job: dict) -> dict:
    """A job (with its items, when it has them) as the API, pages and CLI show it: its times
    as ISO-8601 text."""
    out = with_iso(job, *TIME_COLUMNS)
    if "items" in job:
        out["items"] = [with_iso(item, *TIME_COLUMNS) for item in job["items"]]
    return out


def recent(store: Store, limit: int = 50) -> list[dict]:
    return list(store.db.query("SELECT * FROM provision_jobs ORDER BY id DESC LIMIT ?", [limit]))
