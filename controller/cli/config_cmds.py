"""``oasis config ...``: templates, variables, backups, diffs, drift, pushes, adoption.

The CLI is a worker of its own: device operations run here (with a progress bar) rather than in
the controller; the same jobs table records them, so the admin UI sees CLI batches as well.
Whoever can open the store and its key file from a shell is trusted as an operator. Times are
printed as ISO-8601 text (the store keeps unix seconds).
"""

from __future__ import annotations

import json
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
import yaml

from controller.cli.context import CliContext, emit
from controller.provisioning import SnmpReachability
from core import inventory
from core.inventory import InventoryError
from core.store import Store, iso
from netconfig import adoption, backups, drift, hostkeys, jobs, variables
from netconfig.push import Outcome
from netconfig.service import ProvisioningService
from netconfig.settings import ProvisioningConfig
from netconfig.validate import ValidationFailed

pass_ctx = click.make_pass_decorator(CliContext)


@dataclass(frozen=True)
class ShellUser:
    """The person at the shell: may do what an operator may."""

    username: str

    def can(self, needed: str) -> bool:
        return needed in ("viewer", "operator")


def _settings(obj: CliContext) -> ProvisioningConfig:
    return getattr(obj.config, "provisioning", None) or ProvisioningConfig()


@contextmanager
def _service(obj: CliContext, *, devices: bool = False):
    """The provisioning service; with an SNMP checker when devices will be touched."""
    settings = _settings(obj)
    snmp = SnmpReachability(settings.snmp_timeout) if devices and settings.snmp_check else None
    location = obj.store.location
    service = ProvisioningService(lambda: Store(location), obj.secrets, settings, snmp=snmp)
    try:
        yield service, ShellUser(obj.actor)
    except ValidationFailed as exc:
        raise click.ClickException("\n".join(f"{p.field}: {p.message}" for p in exc.problems))
    except InventoryError as exc:
        raise click.ClickException(exc.message + (f" ({exc.field})" if exc.field else ""))
    finally:
        service.close()
        if snmp:
            snmp.close()


def _print_outcome(outcome: Outcome, show_diff: bool = True) -> None:
    where = f" at {outcome.stage}" if outcome.stage else ""
    click.echo(f"{outcome.ap}: {outcome.status}{where}: {outcome.message}")
    if show_diff and outcome.diff:
        click.echo(outcome.diff, nl=False)
    for command in outcome.commands:
        click.echo(f"  {command}")


@click.group("config")
def config() -> None:
    """AP configuration: templates, variables, backups, diffs, drift, pushes, adoption."""


@config.command("render")
@click.argument("ap")
@pass_ctx
def render(obj: CliContext, ap: str) -> None:
    """Print the exact config text a push to AP would send (after validation)."""
    with _service(obj) as (service, user):
        click.echo(service.render(user, ap).text, nl=False)


@config.command("validate")
@click.argument("ap")
@pass_ctx
def validate_cmd(obj: CliContext, ap: str) -> None:
    """Check AP's merged variables; exit status 1 with every problem listed."""
    with _service(obj) as (service, user):
        service.render(user, ap)
    click.echo(f"{ap}: variables valid")


# --- variables and groups ------------------------------------------------------------------

@config.group("vars")
def vars_group() -> None:
    """Variable layers: global -> site -> group -> AP."""


@vars_group.command("set")
@click.argument("scope", type=click.Choice(variables.SCOPES))
@click.argument("ref", required=False)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="YAML or JSON object; replaces the layer (an empty object removes it).")
@pass_ctx
def vars_set(obj: CliContext, scope: str, ref: str | None, path: str) -> None:
    """Replace one layer's variables from a file."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    with _service(obj) as (service, user):
        service.set_variables(user, scope, ref, data)
    click.echo(f"{scope} {ref or ''} variables set".replace("  ", " "))


@vars_group.command("show")
@click.argument("ap")
@pass_ctx
def vars_show(obj: CliContext, ap: str) -> None:
    """AP's merged variables (passphrases masked)."""
    with _service(obj) as (service, user):
        click.echo(json.dumps(service.effective_variables(user, ap), ensure_ascii=False,
                              indent=2))


@config.command("group")
@click.argument("name")
@click.argument("aps", nargs=-1)
@pass_ctx
def group(obj: CliContext, name: str, aps: tuple[str, ...]) -> None:
    """Create group NAME if needed and put APS in it."""
    with _service(obj) as (service, user):
        try:
            variables.get_group(service.store, name)
        except InventoryError:
            variables.create_group(service.store, name, user.username)
        for ap in aps:
            variables.set_group(service.store, ap, name, user.username)
    click.echo(f"group {name}: {len(aps)} AP(s) added")


# --- backups, diffs, drift --------------------------------------------------------------------

@config.command("history")
@click.argument("ap")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def history(obj: CliContext, ap: str, as_json: bool) -> None:
    """Stored config versions of AP, newest first."""
    with _service(obj) as (service, user):
        emit([backups.shown(v) for v in service.history(user, ap)],
             ["version", "source", "taken_at", "last_seen_at", "taken_by", "sha256"], as_json)


@config.command("diff")
@click.argument("ap")
@click.argument("versions", nargs=-1, type=int)
@pass_ctx
def diff(obj: CliContext, ap: str, versions: tuple[int, ...]) -> None:
    """Diff two stored versions (``diff AP 3 5``), or running vs intended (``diff AP``)."""
    if len(versions) not in (0, 2):
        raise click.UsageError("give two versions, or none for running vs intended")
    with _service(obj, devices=not versions) as (service, user):
        text = (service.diff_versions(user, ap, *versions) if versions
                else service.diff_intended_now(user, ap))
    click.echo(text or "(no difference)", nl=not text)


def _run_job(service: ProvisioningService, user: ShellUser, kind: str, target: str, *,
             dry_run: bool = False, options: dict | None = None) -> list[Outcome]:
    job_id = service.enqueue(user, kind, target, dry_run=dry_run, options=options)
    total = service.job(user, job_id)["total"]
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    with click.progressbar(length=total, label=f"{kind} {target} (job {job_id})",
                           show_pos=True, file=sys.stderr) as bar:
        def progress(outcome: Outcome) -> None:
            with lock:
                outcomes.append(outcome)
                bar.update(1)
        result = service.run_job(job_id, user.username, progress)
    left_alone = sum(o.status == "skipped" for o in outcomes)
    click.echo(f"job {job_id}: {result.status} "
               f"({len(outcomes) - result.failed - left_alone} ok, {result.failed} failed, "
               f"{result.skipped + left_alone} skipped)")
    return outcomes


def _target(ref: str) -> str:
    return ref if ":" in ref or ref == "all" else f"ap:{ref}"


@config.command("backup")
@click.argument("target")
@pass_ctx
def backup(obj: CliContext, target: str) -> None:
    """Back up running configs: an AP name, site:SLUG, group:NAME or all."""
    with _service(obj, devices=True) as (service, user):
        if _target(target) == "all" and not service.resolve("all"):
            # The nightly timer runs this from the first day: an empty inventory is not a failure.
            click.echo("no APs in the inventory: nothing to back up")
            return
        for outcome in _run_job(service, user, "backup", _target(target)):
            _print_outcome(outcome, show_diff=False)


@config.command("drift")
@click.argument("target", default="all")
@pass_ctx
def drift_cmd(obj: CliContext, target: str) -> None:
    """Compare running with intended now (also scheduled by the controller)."""
    with _service(obj, devices=True) as (service, user):
        outcomes = _run_job(service, user, "drift", _target(target))
        for outcome in sorted(outcomes, key=lambda o: o.ap):
            _print_outcome(outcome)
        click.echo(f"{len(drift.open_alerts(service.store))} AP(s) with open drift alerts")


# --- push and rollback --------------------------------------------------------------------

@config.command("push")
@click.argument("target")
@click.option("--dry-run", is_flag=True, help="Show diffs and commands; change nothing.")
@click.option("--workers", type=int, help="SSH sessions at once.")
@click.option("--canary", type=int, help="APs pushed alone first.")
@click.option("--max-failures", type=int, help="Stop once more APs than this failed.")
@pass_ctx
def push(obj: CliContext, target: str, dry_run: bool, workers, canary, max_failures) -> None:
    """Push intended config to an AP, site:SLUG, group:NAME or all (checked, rolled back on
    failure)."""
    options = {k: v for k, v in (("workers", workers), ("canary", canary),
                                 ("max_failures", max_failures)) if v is not None}
    with _service(obj, devices=True) as (service, user):
        outcomes = _run_job(service, user, "push", _target(target), dry_run=dry_run,
                            options=options)
    for outcome in sorted(outcomes, key=lambda o: o.ap):
        _print_outcome(outcome, show_diff=dry_run or len(outcomes) == 1)
    if any(o.failed for o in outcomes):
        raise SystemExit(1)


@config.command("rollback")
@click.argument("ap")
@click.argument("version", type=int)
@pass_ctx
def rollback(obj: CliContext, ap: str, version: int) -> None:
    """Put stored VERSION back on AP (the current config is backed up first)."""
    with _service(obj, devices=True) as (service, user):
        outcome = service.rollback_now(user, ap, version)
    _print_outcome(outcome)
    if outcome.failed:
        raise SystemExit(1)


@config.command("jobs")
@click.argument("job_id", type=int, required=False)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def jobs_cmd(obj: CliContext, job_id: int | None, as_json: bool) -> None:
    """Recent provisioning jobs, or one job with its APs."""
    with _service(obj) as (service, user):
        if job_id is None:
            emit([jobs.shown(job) for job in jobs.recent(service.store)],
                 ["id", "kind", "target", "status", "done", "failed", "total", "created_by",
                  "created_at"], as_json)
        else:
            emit(jobs.shown(service.job(user, job_id))["items"],
                 ["ap_name", "status", "stage", "message"], as_json)


# --- host keys and adoption ---------------------------------------------------------------

@config.command("hostkey")
@click.argument("ap")
@click.option("--accept", "fingerprint", help="Pin the changed key with this fingerprint.")
@pass_ctx
def hostkey(obj: CliContext, ap: str, fingerprint: str | None) -> None:
    """Show AP's pinned SSH host key (and a changed one waiting), or accept the changed one."""
    with _service(obj) as (service, user):
        if fingerprint:
            service.accept_host_key(user, ap, fingerprint)
            click.echo(f"{ap}: pinned {fingerprint}")
            return
        row = hostkeys.pinned(service.store, inventory.get_ap(service.store, ap)["id"])
    if not row:
        click.echo(f"{ap}: no key pinned yet (pinned on first contact)")
        return
    click.echo(f"{ap}: pinned {row['fingerprint']} ({row['key_type']}) since "
               f"{iso(row['pinned_at'])}")
    if row["pending_fingerprint"]:
        click.echo(f"{ap}: PRESENTED A DIFFERENT KEY {row['pending_fingerprint']} at "
                   f"{iso(row['pending_seen_at'])}; pushes refused until accepted")


@config.command("pending")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def pending(obj: CliContext, as_json: bool) -> None:
    """APs that announced themselves and wait for adoption."""
    with _service(obj) as (service, _):
        emit([adoption.shown(row) for row in adoption.pending(service.store)],
             ["id", "mac", "mgmt_ip", "platform", "source", "last_seen_at"], as_json)


@config.command("adopt")
@click.argument("pending_ref", metavar="MAC|ADDRESS|ID")
@click.option("--mac", help="The AP's MAC, when it announced itself by trap (address only).")
@click.option("--name", required=True)
@click.option("--site", required=True)
@click.option("--platform")
@click.option("--ssh-user", default="root", show_default=True)
@click.option("--ssh-port", type=int, default=22, show_default=True)
@click.option("--ssh-password", help="Prompted when not given.")
@click.option("--snmp-port", type=int, default=161, show_default=True)
@click.option("--community", default="public", show_default=True)
@pass_ctx
def adopt(obj: CliContext, pending_ref, mac, name, site, platform, ssh_user, ssh_port,
          ssh_password, snmp_port, community) -> None:
    """Adopt a pending AP into SITE and push the site's template to it."""
    ssh_password = ssh_password or click.prompt("SSH password", hide_input=True)
    data = {"name": name, "site": site, "ssh_username": ssh_user, "ssh_port": ssh_port,
            "ssh_password": ssh_password, "snmp_port": snmp_port, "snmp_community": community}
    if platform:
        data["platform"] = platform
    if mac:
        data["mac"] = mac
    with _service(obj, devices=True) as (service, user):
        ap, outcome = service.adopt_now(user, pending_ref, data)
    click.echo(f"AP {ap['name']} adopted")
    _print_outcome(outcome)
