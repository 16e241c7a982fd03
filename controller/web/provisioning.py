"""What the provisioning API and pages share: a per-request service and views built from the store.

Nothing here talks to a device. "Running" is the latest stored backup; a backup, dry run, push,
drift check or rollback is a queued job that the provisioning worker runs; adopting an AP adds it
to the inventory and queues the push of its site's template (the service's ``adopt_now`` pushes
in the caller's thread, which suits the CLI only). Refusals are `InventoryError`s, so the API and
the pages turn them into a status code the same way as inventory refusals. Times leave the store
as unix seconds and leave here as the ISO-8601 text the API and pages have always shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from flask import g

from controller import auth
from controller.web import context
from core import audit, inventory
from core.inventory import InventoryError, NotFound
from core.store import iso
from netconfig import adoption, backups, hostkeys, jobs, variables
from netconfig.platforms import get_platform
from netconfig.push import Outcome
from netconfig.render import NotProvisionable, driver_of, redact_variables
from netconfig.service import CHANGE, READ, ProvisioningService, require
from netconfig.validate import Problem, ValidationFailed

#: Job operations a request may queue (``adopt`` is queued through `adopt`).
OPERATIONS = ("backup", "drift", "push", "rollback")
#: Batch options a request may set, with their accepted ranges.
OPTION_RANGES = {"canary": (0, 1000), "max_failures": (0, 100_000), "workers": (1, 200)}
JOB_FIELDS = ("operation", "target", "dry_run", "version", *OPTION_RANGES)
#: What `redact_variables` shows instead of a passphrase; never stored as one.
MASK = variables.MASK
#: Variables the inventory supplies under every layer.
INVENTORY_KEYS = ("hostname", "ap_name", "site", "mgmt_ip")


class ConfigRefused(InventoryError):
    """Variables that would give a config that must not be pushed; names the first field and
    keeps every problem for pages that list them."""

    def __init__(self, found: list[Problem]):
        super().__init__(found[0].code, "; ".join(f"{p.field}: {p.message}" for p in found),
                         found[0].field)
        self.problems = found


@dataclass(frozen=True)
class Engineer:
    """A signed-in user as netconfig sees them: named the way the audit log names changes from
    the pages and the API (``web:olga``, ``api:olga``), with the user's role."""

    user: auth.User

    @property
    def username(self) -> str:
        return context.actor(self.user)

    def can(self, needed: str) -> bool:
        return self.user.can(needed)


def service() -> ProvisioningService:
    """This request's service, on the request's own store connection (closed at teardown)."""
    if "provisioning" not in g:
        rt = context.runtime()
        g.provisioning = ProvisioningService(context.store, rt.secret_box, rt.config.provisioning)
    return g.provisioning


def wake_worker() -> None:
    wake = context.runtime().provisioning_wake
    if wake is not None:
        wake()


# ---- previews and variables -------------------------------------------------------------------

def preview(user: Engineer, ap_ref: object) -> dict:
    """The exact text a push would send, passphrases masked."""
    svc = service()
    ap = inventory.get_ap(svc.store, ap_ref)
    try:
        rendered = svc.render(user, ap["id"])
    except ValidationFailed as exc:
        raise ConfigRefused(exc.problems) from None
    except NotProvisionable as exc:
        raise InventoryError("not_provisionable", str(exc), "platform") from None
    driver = driver_of(get_platform(rendered.platform))
    return {"ap": ap["name"], "platform": rendered.platform, "text": driver.redact(rendered.text)}


def _mark_sources(sources: dict[str, str], scope: str, data: Mapping, prefix: str = "") -> None:
    """Record ``scope`` as the source of every leaf ``data`` sets, as `variables.merge` would."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            sources.pop(path, None)   # a table over a plain value: the value is gone
            _mark_sources(sources, scope, value, path + ".")
        else:
            for stale in [k for k in sources if k.startswith(path + ".")]:
                del sources[stale]
            sources[path] = scope


def variable_layers(user: Engineer, ap_ref: object) -> dict:
    """The AP's effective variables, each leaf's layer, and the layers themselves (masked)."""
    svc = service()
    ap = inventory.get_ap(svc.store, ap_ref)
    effective = svc.effective_variables(user, ap["id"])
    layers = variables.layers_for(svc.store, svc.box, ap)
    refs = {"global": None, "site": ap["site"],
            "group": variables.group_name_of(svc.store, ap["id"]), "ap": ap["name"]}
    sources = {key: "inventory" for key in INVENTORY_KEYS}
    for scope, data in layers:
        _mark_sources(sources, scope, data)
    return {"ap": ap["name"], "variables": effective, "sources": sources,
            "layers": [{"scope": scope, "ref": refs[scope], "variables": redact_variables(data)}
                       for scope, data in layers]}


def set_layer(user: Engineer, scope: str, ref: object, data: object) -> None:
    """Replace one layer after the checks the CLI shares (`netconfig.variables.check_layer`);
    nothing is written when anything is refused."""
    require(user, CHANGE)
    if not isinstance(data, Mapping):
        raise InventoryError("invalid_body", "variables must be a JSON object", None)
    try:
        service().set_variables(user, scope, None if scope == "global" else ref, data)
    except ValidationFailed as exc:
        raise ConfigRefused(exc.problems) from None


# ---- history and diffs (stored versions only) -------------------------------------------------

def history(user: Engineer, ap_ref: object) -> list[dict]:
    """The AP's stored versions, newest first (bodies not included)."""
    return [backups.shown(version) for version in service().history(user, ap_ref)]


def stored_diff(user: Engineer, ap_ref: object, old: int | None, new: int | None) -> dict:
    """Between two stored versions, or (both None) the latest backup against the intended text."""
    require(user, READ)
    svc = service()
    ap = inventory.get_ap(svc.store, ap_ref)
    if (old is None) != (new is None):
        raise InventoryError("invalid_parameter", "give both from and to, or neither",
                             "from" if old is None else "to")
    if old is not None and new is not None:
        for number in (old, new):
            backups.get(svc.store, ap["id"], number)
        return {"ap": ap["name"], "from": old, "to": new,
                "diff": svc.diff_versions(user, ap["id"], old, new)}
    history = svc.history(user, ap["id"])
    if not history:
        raise InventoryError("no_backup", f"AP {ap['name']} has no stored config yet; "
                             "back it up first", None)
    latest = max(history, key=lambda v: (v["last_seen_at"], v["version"]))
    try:
        ctx = svc.provisioner.context(ap["id"])
    except ValidationFailed as exc:
        raise ConfigRefused(exc.problems) from None
    running = backups.body(svc.store, svc.box, ap["id"], latest["version"])
    diff = svc.provisioner.diff_view(ctx, running, ctx.intended.text,
                                     f"running (v{latest['version']})", "intended")
    return {"ap": ap["name"], "from": latest["version"], "to": "intended",
            "running_seen_at": iso(latest["last_seen_at"]), "diff": diff}


# ---- jobs ---------------------------------------------------------------------------------------

def _target(raw: object) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InventoryError("missing_field", "target is required: an AP, site:SLUG, "
                             "group:NAME or all", "target")
    if text == "all":
        return text
    kind, sep, ref = text.partition(":")
    if not sep:
        return f"ap:{text}"
    if kind not in ("ap", "site", "group") or not ref:
        raise InventoryError("invalid_field", "target must be an AP, site:SLUG, group:NAME or "
                             "all", "target")
    return text


def _count(body: Mapping, name: str, lo: int, hi: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InventoryError("invalid_field", f"{name} must be an integer from {lo} to {hi}",
                             name)
    return value


def job_request(body: Mapping) -> tuple[str, str, bool, dict]:
    """Check a job request: (operation, target, dry_run, options) or a refusal naming the field."""
    for name in body:
        if name not in JOB_FIELDS:
            raise InventoryError("unknown_field", f"unknown field {name!r}", str(name))
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise InventoryError("invalid_field", f"operation must be one of "
                             f"{', '.join(OPERATIONS)}", "operation")
    target = _target(body.get("target"))
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InventoryError("invalid_field", "dry_run must be true or false", "dry_run")
    if dry_run and operation != "push":
        raise InventoryError("invalid_field", "only a push has a dry run", "dry_run")
    options = {name: value for name, (lo, hi) in OPTION_RANGES.items()
               if (value := _count(body, name, lo, hi)) is not None}
    version = _count(body, "version", 1, 2 ** 31)
    if operation == "rollback":
        if version is None:
            raise InventoryError("missing_field", "a rollback needs the version to restore",
                                 "version")
        if not target.startswith("ap:"):
            raise InventoryError("invalid_field", "a rollback is to one AP's version", "target")
        options["version"] = version
    elif version is not None:
        raise InventoryError("invalid_field", "version applies to a rollback only", "version")
    return operation, target, dry_run, options


def enqueue(user: Engineer, body: Mapping) -> int:
    """Queue a job for the worker and wake it; the request returns at once."""
    operation, target, dry_run, options = job_request(body)
    svc = service()
    try:
        if operation == "rollback":
            ap = inventory.get_ap(svc.store, target.removeprefix("ap:"))
            try:
                backups.get(svc.store, ap["id"], options["version"])
            except NotFound:
                raise InventoryError("unknown_version", f"AP {ap['name']} has no version "
                                     f"{options['version']}", "version") from None
        job_id = svc.enqueue(user, operation, target, dry_run=dry_run, options=options)
    except NotFound as exc:
        raise InventoryError("unknown_target", exc.message, "target") from None
    wake_worker()
    return job_id


def _pushes_of(job_id: int) -> dict[str, dict]:
    """Each AP's ``config.push`` audit entry of the job: its result and (redacted) diff."""
    entries = audit.entries_with(service().store, "config.push", "job", job_id)
    return {entry["target_id"]: entry["detail"] for entry in entries}


def job_view(user: Engineer, job_id: int) -> dict:
    """A job with its per-AP items; items of applied pushes carry the result and diff."""
    job = jobs.shown(service().job(user, job_id))
    pushes = _pushes_of(job_id) if job["kind"] == "push" else {}
    for item in job["items"]:
        detail = pushes.get(item["ap_name"], {})
        item["result"] = detail.get("result")
        item["diff"] = detail.get("diff")
    job["finished"] = job["status"] in jobs.FINAL
    return job


def recent_jobs(user: Engineer, limit: int) -> list[dict]:
    require(user, READ)
    return [jobs.shown(job) for job in jobs.recent(service().store, limit)]


# ---- adoption and host keys -----------------------------------------------------------------

class _QueuedPush:
    """Stands in for the Provisioner that `adoption.adopt` pushes with: from a web request the
    site's template push becomes a queued job instead of SSH in the request's thread."""

    def __init__(self, user: Engineer):
        self.user = user
        self.store = service().store
        self.job_id: int | None = None

    def push(self, ap_id: int, actor: str) -> Outcome:
        name = inventory.get_ap(self.store, ap_id)["name"]
        self.job_id = service().enqueue(self.user, "push", f"ap:{name}")
        return Outcome(name, "queued", None, f"push queued as job {self.job_id}")


def pending(user: Engineer) -> list[dict]:
    require(user, READ)
    return [adoption.shown(row) | {"detail": json.loads(row["detail"]) if row["detail"] else {}}
            for row in adoption.pending(service().store)]


def adopt(user: Engineer, pending_ref: object, data: Mapping) -> tuple[dict, int]:
    """Add the pending AP (inventory validation applies) and queue its push; (AP, job id)."""
    require(user, CHANGE)
    queued = _QueuedPush(user)
    ap, _ = adoption.adopt(queued, service().box, pending_ref, data, user.username)
    wake_worker()
    assert queued.job_id is not None  # adopt() pushed, which queued the job
    return ap, queued.job_id


def ignore(user: Engineer, pending_ref: object) -> dict:
    require(user, CHANGE)
    store = service().store
    row = adoption.get_pending(store, pending_ref)
    if row["status"] != "pending":
        raise InventoryError("not_pending", f"{row['mac'] or row['mgmt_ip']} is "
                             f"{row['status']}, not pending", None)
    adoption.ignore(store, row["id"], user.username)
    return adoption.shown(adoption.get_pending(store, row["id"]))


def host_key(user: Engineer, ap_ref: object) -> dict:
    """The AP's pinned key and, when it presented another one, that key's fingerprint."""
    require(user, READ)
    store = service().store
    ap = inventory.get_ap(store, ap_ref)
    row = hostkeys.shown(hostkeys.pinned(store, ap["id"]) or {})
    return {"ap": ap["name"], "pinned": bool(row), "fingerprint": row.get("fingerprint"),
            "key_type": row.get("key_type"), "pinned_at": row.get("pinned_at"),
            "pinned_by": row.get("pinned_by"),
            "pending_fingerprint": row.get("pending_fingerprint"),
            "pending_seen_at": row.get("pending_seen_at")}


def accept_host_key(user: Engineer, ap_ref: object, fingerprint: object) -> dict:
    if not isinstance(fingerprint, str) or not fingerprint.strip():
        raise InventoryError("missing_field", "fingerprint is required: the one you checked on "
                             "the device", "fingerprint")
    service().accept_host_key(user, ap_ref, fingerprint.strip())
    return host_key(user, ap_ref)
