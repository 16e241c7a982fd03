"""Many APs at once: a canary first, then a bounded thread pool, and a stop on too many failures.

Device I/O here is netmiko, which blocks, so concurrency is threads (each mostly waits on the
network). Every thread gets its own `Provisioner` and store connection. The canary APs go one at
a time before anyone else: if a canary fails, nothing else is touched. After that, once more
than ``max_failures`` APs have failed, APs not yet started are skipped and the job ends
``stopped``; the ones already in flight finish (or roll back) normally.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core import inventory
from core.leases import Hold, holder_id
from core.secrets import SecretBox
from core.store import Store
from netconfig import drift, hostkeys, jobs
from netconfig.push import Outcome, Provisioner, SnmpCheck
from netconfig.settings import ProvisioningConfig
from netconfig.ssh import SshError

log = logging.getLogger(__name__)

#: A dry run that worked is a succeeded item; the job row says it was a dry run.
_ITEM_STATUS = {"dry_run": "succeeded"}


@dataclass
class BatchResult:
    job_id: int
    status: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: int = 0

    @property
    def failed(self) -> int:
        return sum(o.failed for o in self.outcomes)


class BatchRunner:
    """Runs one job's items; ``progress`` is called (from worker threads) after each AP."""

    def __init__(self, open_store: Callable[[], Store], box: SecretBox,
                 settings: ProvisioningConfig, *, snmp: SnmpCheck | None = None,
                 stop: threading.Event | None = None):
        self.open_store, self.box, self.settings, self.snmp = open_store, box, settings, snmp
        self.stop = stop or threading.Event()
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()

    def _provisioner(self) -> Provisioner:
        prov = getattr(self._local, "provisioner", None)
        if prov is None:
            store = self.open_store()
            with self._lock:
                self._stores.append(store)
            prov = Provisioner(store, self.box, self.settings, snmp=self.snmp, stop=self.stop)
            self._local.provisioner = prov
        return prov

    def _one(self, job: dict, ap_id: int, actor: str) -> Outcome:
        prov = self._provisioner()
        started = time.monotonic()
        jobs.item_started(prov.store, job["id"], ap_id, "pre-check")
        try:
            if job["kind"] == "push":
                outcome = prov.push(ap_id, actor, dry_run=bool(job["dry_run"]), job_id=job["id"])
            elif job["kind"] == "backup":
                row, created = prov.backup(ap_id, actor)
                outcome = Outcome(inventory.get_ap(prov.store, ap_id)["name"], "succeeded", None,
                                  f"version {row['version']}" + ("" if created else " (unchanged)"))
            elif job["kind"] == "drift":
                outcome = drift.check(prov, ap_id).as_outcome()
            elif job["kind"] == "rollback":
                outcome = prov.rollback_to(ap_id, int(job["options"]["version"]), actor)
            else:
                outcome = Outcome(str(ap_id), "failed", None, f"unsupported kind {job['kind']}")
        except (SshError, hostkeys.HostKeyPending) as exc:  # expected in the field: one line
            name = inventory.get_ap(prov.store, ap_id)["name"]
            log.warning("job %s AP %s: %s", job["id"], name, exc)
            outcome = Outcome(name, "failed", "connect", str(exc))
        except Exception as exc:  # one AP's bug must not take down the batch; record and go on
            log.exception("job %s AP %s", job["id"], ap_id)
            outcome = Outcome(str(ap_id), "failed", "internal", f"{exc.__class__.__name__}: {exc}")
        outcome.seconds = time.monotonic() - started
        jobs.item_finished(prov.store, job["id"], ap_id, _ITEM_STATUS.get(outcome.status,
                                                                          outcome.status),
                           outcome.stage, outcome.message, failed=outcome.failed)
        return outcome

    def run(self, job_id: int, actor: str,
            progress: Callable[[Outcome], None] | None = None) -> BatchResult:
        """Run job ``job_id``, holding its lease all along (`jobs.claim_lease`: another node
        closes the job as interrupted only once this process stops renewing it)."""
        with Hold(self.open_store, jobs.claim_lease(job_id), holder_id("provisioning"),
                  ttl_s=jobs.CLAIM_TTL_S):
            return self._run(job_id, actor, progress)

    def _run(self, job_id: int, actor: str,
             progress: Callable[[Outcome], None] | None = None) -> BatchResult:
        store = self.open_store()
        try:
            jobs.start(store, job_id)
            job = jobs.get(store, job_id)
            items = [i["ap_id"] for i in job["items"]]   # ordered by AP name
            result = BatchResult(job_id, "running")
            options = job["options"]
            canary = int(options.get("canary", self.settings.canary))
            max_failures = int(options.get("max_failures", self.settings.max_failures))
            workers = int(options.get("workers", self.settings.workers))
            stopped = threading.Event()
            failures = 0
            counter = threading.Lock()

            def run_one(ap_id: int) -> None:
                nonlocal failures
                if stopped.is_set() or self.stop.is_set():
                    return
                outcome = self._one(job, ap_id, actor)
                with counter:
                    result.outcomes.append(outcome)
                    failures += outcome.failed
                    if failures > max_failures:
                        stopped.set()
                if progress:
                    progress(outcome)

            head, rest = items[:canary], items[canary:]
            for ap_id in head:
                run_one(ap_id)
                if failures:
                    stopped.set()
            if not stopped.is_set() and rest:
                with ThreadPoolExecutor(max_workers=max(1, workers),
                                        thread_name_prefix=f"job{job_id}") as pool:
                    list(pool.map(run_one, rest))
            if self.stop.is_set() and not stopped.is_set():
                reason = "the worker is shutting down"
            elif failures and head and any(o.failed for o in result.outcomes[:len(head)]):
                reason = "canary failed"
            else:
                reason = f"more than {max_failures} AP(s) failed"
            if stopped.is_set() or self.stop.is_set():
                result.skipped = jobs.skip_remaining(store, job_id, reason)
            if stopped.is_set() or self.stop.is_set():
                result.status = "stopped"
            elif failures == 0:
                result.status = "succeeded"
            else:
                result.status = "failed" if failures == len(items) else "partial"
            left_alone = sum(o.status == "skipped" for o in result.outcomes)
            jobs.finish(store, job_id, result.status,
                        reason if result.status == "stopped" else
                        f"{len(items) - failures - left_alone} ok, {failures} failed"
                        + (f", {left_alone} skipped (no SSH login)" if left_alone else ""))
            return result
        finally:
            store.close()
            with self._lock:
                for opened in self._stores:
                    opened.close()
                self._stores.clear()
            self._local = threading.local()
