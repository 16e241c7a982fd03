"""Background provisioning jobs: a table the UI and API read, and the queue workers take from.

A web request never talks to a device: it creates a ``queued`` job and returns its id; a worker
(`controller.provisioning.ProvisioningWorker`, or the CLI in its own process) claims it, runs
it and keeps ``done``/``failed`` and each AP's item row current, so progress is visible while it
runs.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from core import inventory
from core.inventory import NotFound
from core.store import Store, now, with_iso

KINDS = ("push", "rollback", "backup", "drift", "adopt")
FINAL = ("succeeded", "failed", "stopped", "partial")
#: The times of a job row and of its items' rows (unix seconds; items have the last two).
TIME_COLUMNS = ("created_at", "started_at", "finished_at")


def create(store: Store, kind: str, target: str, ap_ids: list[int], actor: str, *,
           dry_run: bool = False, options: dict | None = None) -> int:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO provision_jobs (kind, target, status, dry_run, total, options, "
            "created_by, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
            (kind, target, int(dry_run), len(ap_ids), json.dumps(options or {}), actor, now()))
        conn.executemany("INSERT INTO provision_job_items (job_id, ap_id, status) "
                         "VALUES (?, ?, 'queued')", [(cur.lastrowid, i) for i in ap_ids])
    return cur.lastrowid


def claim_next(store: Store) -> dict | None:
    """Mark the oldest queued job running and return it (None: nothing to do)."""
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM provision_jobs WHERE status = 'queued' "
                           "ORDER BY id LIMIT 1").fetchone()
        if not row:
            return None
        conn.execute("UPDATE provision_jobs SET status = 'running', started_at = ?, runner = ? "
                     "WHERE id = ?", (now(), runner_id(), row[0]))
    return get(store, row[0], items=False)


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


def _alive(runner: str | None) -> bool:
    """Whether the process that claimed a job still runs; True if it is on another host."""
    if not runner:
        return False  # started before jobs named their runner
    host, _, rest = runner.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True  # cannot tell from here
    return pid.isdigit() and _start_time(int(pid)) == started


def recover_interrupted(store: Store) -> list[int]:
    """Close the jobs left ``running`` by a process that is gone; returns their ids.

    Their APs not yet done are marked skipped (one interrupted mid-push says so: check its
    drift or push again); the job is failed with the reason.
    """
    running = store.conn.execute(
        "SELECT id, runner FROM provision_jobs WHERE status = 'running'").fetchall()
    closed = []
    for job_id, runner in running:
        if _alive(runner):
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
