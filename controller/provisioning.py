"""The controller's provisioning runtime: SNMP checks for pushes, and the background worker.

`SnmpReachability` answers netconfig's "does the AP answer SNMP?" with the controller's own SNMP
adapter (one `SnmpClient` on a private event loop; push threads hand it requests). The
`ProvisioningWorker` thread runs queued jobs (the web app only queues them) and queues a drift
check of every AP every ``drift_interval`` seconds.

On several nodes every node's worker runs jobs, each claimed by one node (`netconfig.jobs`:
per-job claims, since jobs are independent and two may run at once), and one node queues the
drift checks: the worker holding the lease ``singleton:provisioning-drift`` (`core.leases`,
12 s) queues one when the newest drift job in the store is ``drift_interval`` old, so a node
taking that over neither repeats nor skips one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import uuid
from collections.abc import Callable

from controller.snmp.engine import (
    Credentials,
    PollTarget,
    SnmpClient,
    SnmpError,
    V2cCredentials,
    V3Credentials,
)
from core.leases import WORKER_TTL_S, Singleton, holder_id
from core.secrets import SecretBox
from core.store import Store, now
from netconfig import jobs
from netconfig.service import ProvisioningService
from netconfig.settings import ProvisioningConfig

log = logging.getLogger(__name__)
DRIFT_ACTOR = "system:drift"


class SnmpReachability:
    """Whether an AP answers an SNMP poll now; safe to call from many threads."""

    def __init__(self, timeout: float = 1.0, retries: int = 0):
        self.timeout, self.retries = timeout, retries
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="provision-snmp",
                                        daemon=True)
        self._thread.start()
        self._client = self._run(self._make_client(), 10.0)

    async def _make_client(self) -> SnmpClient:
        return SnmpClient(timeout=self.timeout, retries=self.retries)

    def _run(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def answers(self, ap: dict, secrets: dict) -> bool:
        credentials: Credentials
        if ap["snmp_version"] == "2c":
            credentials = V2cCredentials(secrets.get("snmp_community") or "public")
        else:
            credentials = V3Credentials(ap["snmp_user"], secrets.get("snmp_auth_key"),
                                        secrets.get("snmp_priv_key"),
                                        ap["snmp_auth_proto"] or "SHA",
                                        ap["snmp_priv_proto"] or "AES")
        target = PollTarget(ap["id"], ap["name"], ap["mgmt_ip"], ap["snmp_port"], ap["platform"],
                            credentials)
        try:
            result = self._run(self._client.poll(target),
                               self.timeout * (self.retries + 1) + 5.0)
        except (SnmpError, concurrent.futures.TimeoutError):
            return False
        return result.uptime_ticks is not None or result.sys_descr is not None

    async def _shutdown(self) -> None:
        self._client.close()
        # pysnmp leaves its dispatcher's timer task behind; end it rather than abandon it.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        try:
            self._run(self._shutdown(), 10.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()


class ProvisioningWorker(threading.Thread):
    """Runs queued provisioning jobs one at a time, and schedules drift checks."""

    def __init__(self, open_store: Callable[[], Store], box: SecretBox,
                 settings: ProvisioningConfig, *, snmp: SnmpReachability | None = None,
                 poll_seconds: float = 2.0):
        super().__init__(name="provisioning", daemon=True)
        self.open_store, self.box, self.settings, self.snmp = open_store, box, settings, snmp
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._started_at = now()
        self.drift_lease = Singleton(open_store, "provisioning-drift", ttl_s=WORKER_TTL_S,
                                     holder=holder_id(f"provisioning-drift:{uuid.uuid4().hex[:6]}"))

    def wake(self) -> None:
        """A job was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        service = ProvisioningService(self.open_store, self.box, self.settings, snmp=self.snmp)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                if self.drift_lease.held():
                    self._queue_drift(service)
                job = jobs.claim_next(service.store)
                if job is None:
                    for job_id in jobs.recover_interrupted(service.store):
                        log.warning("provisioning job %s was interrupted (its process ended);"
                                    " marked failed", job_id)
                    # Jobs queued by another process (the admin app) are found by this poll.
                    self._wake.wait(self.poll_seconds)
                    continue
                try:
                    service.run_job(job["id"], job["created_by"], stop=self._stopping)
                except Exception:  # a broken job is recorded failed; the worker carries on
                    log.exception("provisioning job %s", job["id"])
                    jobs.finish(service.store, job["id"], "failed", "internal error")
        finally:
            service.close()
            self.drift_lease.release()

    def _queue_drift(self, service: ProvisioningService) -> None:
        """Queue a drift check of every AP if the newest one is ``drift_interval`` old (the
        first one that long after this worker started)."""
        last = service.store.conn.execute(
            "SELECT max(created_at) FROM provision_jobs WHERE kind = 'drift' AND created_by = ?",
            (DRIFT_ACTOR,)).fetchone()[0]
        if now() - (last if last is not None else self._started_at) < self.settings.drift_interval:
            return
        ap_ids = service.resolve("all")
        if ap_ids:
            jobs.create(service.store, "drift", "all", ap_ids, DRIFT_ACTOR,
                        options={"canary": 0, "max_failures": len(ap_ids)})
