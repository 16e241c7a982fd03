"""What the CLI, the REST API and the UI call: every operation with its role check.

Viewers may read (render previews, history, diffs between stored versions, jobs); operators and
admins may also change devices (push, roll back, back up, adopt, accept host keys, edit
variables). Anything that talks to a device from a web request must go through `enqueue` and a
background worker; the ``*_now`` methods run in the caller's thread and are for the CLI and
workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from core import inventory
from core.inventory import InventoryError
from core.secrets import SecretBox
from core.store import Store
from netconfig import adoption, backups, hostkeys, jobs, variables
from netconfig.batch import BatchResult, BatchRunner
from netconfig.push import Outcome, Provisioner, SnmpCheck
from netconfig.render import Rendered, redact_variables
from netconfig.settings import ProvisioningConfig

READ, CHANGE = "viewer", "operator"


class Actor(Protocol):
    """controller.auth.User fits: a name and a role check."""

    @property
    def username(self) -> str: ...  # read-only, so frozen records and properties fit too

    def can(self, needed: str) -> bool: ...


class Forbidden(InventoryError):
    def __init__(self, actor: Actor, needed: str):
        super().__init__("forbidden", f"{actor.username} may not do this (needs {needed}+)", None)


def require(actor: Actor, needed: str) -> None:
    if not actor.can(needed):
        raise Forbidden(actor, needed)


class ProvisioningService:
    def __init__(self, open_store: Callable[[], Store], box: SecretBox,
                 settings: ProvisioningConfig, *, snmp: SnmpCheck | None = None):
        self.open_store, self.box, self.settings, self.snmp = open_store, box, settings, snmp
        self.store = open_store()
        self.provisioner = Provisioner(self.store, box, settings, snmp=snmp)

    def close(self) -> None:
        self.store.close()

    # --- reading -------------------------------------------------------------------------------

    def render(self, actor: Actor, ap_ref: object) -> Rendered:
        require(actor, READ)
        return self.provisioner.render(ap_ref)

    def effective_variables(self, actor: Actor, ap_ref: object) -> dict:
        require(actor, READ)
        ap = inventory.get_ap(self.store, ap_ref)
        return redact_variables(variables.effective(self.store, self.box, ap))

    def history(self, actor: Actor, ap_ref: object) -> list[dict]:
        require(actor, READ)
        return backups.history(self.store, inventory.get_ap(self.store, ap_ref)["id"])

    def diff_versions(self, actor: Actor, ap_ref: object, old: int, new: int) -> str:
        require(actor, READ)
        ap = inventory.get_ap(self.store, ap_ref)
        driver = self.provisioner.context(ap["id"], render=False).driver
        texts = [driver.redact(backups.body(self.store, self.box, ap["id"], v)) for v in (old, new)]
        return backups.unified_diff(texts[0], texts[1], f"{ap['name']} v{old}",
                                    f"{ap['name']} v{new}")

    def job(self, actor: Actor, job_id: int) -> dict:
        require(actor, READ)
        return jobs.get(self.store, job_id)

    # --- device operations in the caller's thread (CLI, workers) ---------------------------

    def diff_intended_now(self, actor: Actor, ap_ref: object) -> str:
        require(actor, READ)
        return self.provisioner.intended_diff(ap_ref, actor.username)

    def backup_now(self, actor: Actor, ap_ref: object) -> tuple[dict, bool]:
        require(actor, CHANGE)
        return self.provisioner.backup(ap_ref, actor.username)

    def push_now(self, actor: Actor, ap_ref: object, *, dry_run: bool = False) -> Outcome:
        require(actor, CHANGE)
        return self.provisioner.push(ap_ref, actor.username, dry_run=dry_run)

    def rollback_now(self, actor: Actor, ap_ref: object, version: int) -> Outcome:
        require(actor, CHANGE)
        return self.provisioner.rollback_to(ap_ref, version, actor.username)

    def run_job(self, job_id: int, actor_name: str,
                progress: Callable[[Outcome], None] | None = None, *,
                stop: threading.Event | None = None) -> BatchResult:
        """Run a queued job here (the worker, or the CLI showing a progress bar); setting
        ``stop`` skips the APs not started yet (the job ends ``stopped``)."""
        runner = BatchRunner(self.open_store, self.box, self.settings, snmp=self.snmp,
                             stop=stop)
        return runner.run(job_id, actor_name, progress)

    # --- changes that only write the store (safe in a web request) --------------------------

    def enqueue(self, actor: Actor, kind: str, target: str, *, dry_run: bool = False,
                options: Mapping | None = None) -> int:
        """Queue a job over ``target`` ("ap:NAME", "site:SLUG", "group:NAME", "all")."""
        require(actor, CHANGE)   # every job talks to devices and writes backups
        ap_ids = self.resolve(target)
        if not ap_ids:
            raise InventoryError("empty_target", f"{target} has no APs", "target")
        return jobs.create(self.store, kind, target, ap_ids, actor.username, dry_run=dry_run,
                           options=dict(options or {}))

    def resolve(self, target: str) -> list[int]:
        kind, _, ref = target.partition(":")
        if kind == "all":
            return [a["id"] for a in inventory.list_aps(self.store)]
        if kind == "site":
            return [a["id"] for a in inventory.list_aps(self.store, ref)]
        if kind == "group":
            return [a["id"] for a in variables.group_members(self.store, ref)]
        if kind == "ap":
            return [inventory.get_ap(self.store, ref)["id"]]
        raise InventoryError("invalid_field", "target must be ap:NAME, site:SLUG, group:NAME or "
                             "all", "target")

    def set_variables(self, actor: Actor, scope: str, ref: object, data: Mapping) -> None:
        """Replace one layer after the checks every way in shares (`variables.check_layer`);
        nothing is written when anything is refused."""
        require(actor, CHANGE)
        variables.check_layer(self.store, self.box, scope, ref, data)
        variables.set_layer(self.store, self.box, scope, ref, data, actor.username)

    def accept_host_key(self, actor: Actor, ap_ref: object, fingerprint: str) -> None:
        require(actor, CHANGE)
        hostkeys.accept(self.store, inventory.get_ap(self.store, ap_ref), fingerprint,
                        actor.username)

    def adopt_now(self, actor: Actor, pending_ref: object, data: Mapping) -> tuple[dict, Outcome]:
        require(actor, CHANGE)
        return adoption.adopt(self.provisioner, self.box, pending_ref, data, actor.username)

    def announce(self, *, mgmt_ip: str, source: str, mac: str | None = None,
                 platform: str | None = None, detail: Mapping | None = None) -> dict | None:
        """For the trap receiver (address only) and the MQTT hello handler (MAC too); no user
        check: the device speaks."""
        return adoption.announce(self.store, self.settings, mac=mac, mgmt_ip=mgmt_ip,
                                 source=source, platform=platform, detail=detail)
