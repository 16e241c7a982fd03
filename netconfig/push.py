"""One AP: read, back up, push with pre- and post-checks, and roll back when a check fails.

The sequence is a commit-confirm done from the controller's side (as OpenWrt's ``uci apply``
rollback does from the device's side): the running config is backed up first; after the change
the AP must answer SNMP, answer a *new* SSH session, and read back exactly what was intended.
Anything less and the backup is put back, retrying for ``rollback_window`` seconds while the AP
is unreachable. Every push and rollback is in the audit log with its (redacted) diff.

A `Provisioner` holds one store connection: make one per thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from core import audit, inventory
from core.secrets import SecretBox
from core.store import Store
from netconfig import alerts, backups, hostkeys, variables
from netconfig.platforms import get_platform
from netconfig.platforms.base import ConfigDriver
from netconfig.render import Rendered, Renderer, driver_of, mask_values, secret_values
from netconfig.settings import ProvisioningConfig
from netconfig.ssh import (
    DeviceSession,
    HostKeyChanged,
    SshError,
    SshTarget,
    SshTimeouts,
    SshUnreachable,
    open_session,
)
from netconfig.validate import ValidationFailed

log = logging.getLogger(__name__)


class SnmpCheck(Protocol):
    """Whether an AP answers SNMP now (the controller supplies one built on controller.snmp.engine)."""

    def answers(self, ap: dict, secrets: dict) -> bool: ...


class SkipSnmpCheck:
    """For APs or deployments without SNMP: the check is skipped, and says so in results."""

    skipped = True

    def answers(self, ap: dict, secrets: dict) -> bool:
        return True


class StageFailed(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(f"{stage}: {message}")
        self.stage, self.message = stage, message


#: Why a push leaves an AP alone (not a failure: nobody asked for it to be provisioned).
NO_SSH_LOGIN = ("no SSH login stored for this AP: it is monitored only (give it an SSH username "
                "and password, or set [provisioning] ssh_key_file, to provision it)")


@dataclass
class Outcome:
    ap: str
    status: str          # succeeded, unchanged, dry_run, skipped, failed, rolled_back
    stage: str | None = None
    message: str = ""
    diff: str = ""
    commands: list[str] = field(default_factory=list)
    #: Wall time spent on this AP (set by the batch runner).
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "rolled_back")


@dataclass
class _Context:
    ap: dict
    secrets: dict
    driver: ConfigDriver
    desired: Rendered | None
    #: Passphrases and the SSH password: masked in whatever an outcome shows.
    masked: list[str] = field(default_factory=list)

    def shown(self, text: str) -> str:
        """``text`` as a result, the CLI, the API, a page or a log may show it."""
        return mask_values(self.driver.redact(text), self.masked)

    @property
    def intended(self) -> Rendered:
        """The rendered config; only a context built with ``render=True`` has one."""
        assert self.desired is not None, "context built with render=False"
        return self.desired


class Provisioner:
    def __init__(self, store: Store, box: SecretBox, settings: ProvisioningConfig, *,
                 snmp: SnmpCheck | None = None, renderer: Renderer | None = None,
                 stop: threading.Event | None = None):
        self.store, self.box, self.settings = store, box, settings
        self.snmp = snmp if snmp is not None and settings.snmp_check else SkipSnmpCheck()
        self.renderer = renderer or Renderer()
        self.stop = stop or threading.Event()
        self.timeouts = SshTimeouts(settings.ssh_connect_timeout, settings.ssh_command_timeout)

    # --- building blocks ---------------------------------------------------------------------

    def context(self, ap_ref: object, *, render: bool = True) -> _Context:
        ap = inventory.get_ap(self.store, ap_ref)
        driver = driver_of(get_platform(ap["platform"]))
        desired = None
        effective = variables.effective(self.store, self.box, ap)
        if render:
            desired = self.renderer.render(ap["platform"], effective)
        secrets = inventory.ap_secrets(self.store, self.box, ap["id"])
        password = secrets.get("ssh_password")
        masked = secret_values(effective) + ([password] if password and len(password) >= 6
                                             else [])
        return _Context(ap, secrets, driver, desired, sorted(masked, key=len, reverse=True))

    def can_log_in(self, ctx: _Context) -> bool:
        """False for an AP registered for monitoring only: no SSH password of its own and no
        key for the whole fleet (``[provisioning] ssh_key_file``)."""
        return bool(ctx.secrets.get("ssh_password") or self.settings.ssh_key_file)

    def render(self, ap_ref: object) -> Rendered:
        return self.context(ap_ref).intended

    def open(self, ctx: _Context, actor: str) -> DeviceSession:
        """An SSH session with the AP's pinned host key (pinning it on first contact)."""
        hostkeys.refuse_if_pending(self.store, ctx.ap)
        pinned = hostkeys.pinned_key(self.store, ctx.ap["id"])
        target = SshTarget(ctx.ap["mgmt_ip"], ctx.ap["ssh_port"], ctx.ap["ssh_username"] or "root",
                           ctx.secrets["ssh_password"] or "", get_platform(ctx.ap["platform"])
                           .netmiko_device_type, pinned, self.settings.ssh_key_file or None)
        try:
            session = open_session(target, self.timeouts)
        except HostKeyChanged as exc:
            hostkeys.record_mismatch(self.store, ctx.ap, exc.presented)
            raise hostkeys.HostKeyPending(ctx.ap["name"], exc.presented.fingerprint
                                          if exc.presented else "unknown") from None
        if pinned is None:
            hostkeys.pin_first(self.store, ctx.ap, session.host_key, actor)
        return session

    def _hint(self, ctx: _Context) -> str:
        return ctx.desired.text if ctx.desired else ""

    def read_running(self, ap_ref: object, actor: str) -> str:
        ctx = self._context_for_read(ap_ref)
        with self.open(ctx, actor) as session:
            return ctx.driver.read_running(session, self._hint(ctx))

    def _context_for_read(self, ap_ref: object) -> _Context:
        try:
            return self.context(ap_ref)
        except ValidationFailed:   # a backup must work even while the variables are broken
            return self.context(ap_ref, render=False)

    def backup(self, ap_ref: object, actor: str, source: str = "backup") -> tuple[dict, bool]:
        ctx = self._context_for_read(ap_ref)
        with self.open(ctx, actor) as session:
            running = ctx.driver.read_running(session, self._hint(ctx))
        return backups.record(self.store, self.box, ctx.ap["id"], running, source, actor)

    def intended_diff(self, ap_ref: object, actor: str) -> str:
        """Unified diff running -> intended over what the template manages (redacted)."""
        ctx = self.context(ap_ref)
        with self.open(ctx, actor) as session:
            running = ctx.driver.read_running(session, self._hint(ctx))
        return self.diff_view(ctx, running, ctx.intended.text, "running", "intended")

    def diff_view(self, ctx: _Context, old: str, new: str, old_label: str,
                  new_label: str) -> str:
        """Unified diff of what a desired config manages, passphrases masked."""
        driver = ctx.driver
        return backups.unified_diff(driver.redact(driver.comparable(old, new)),
                                    driver.redact(driver.canonical(new)), old_label, new_label)

    def _snmp(self, ctx: _Context, stage: str) -> None:
        if not self.snmp.answers(ctx.ap, ctx.secrets):
            raise StageFailed(stage, "the AP does not answer SNMP")

    # --- push ----------------------------------------------------------------------------------

    def push(self, ap_ref: object, actor: str, *, dry_run: bool = False,
             job_id: int | None = None) -> Outcome:
        """Render, validate, pre-check, apply, post-check; roll back if the post-check fails."""
        try:
            ctx = self.context(ap_ref)
        except ValidationFailed as exc:   # nothing was sent to the AP
            return Outcome(inventory.get_ap(self.store, ap_ref)["name"], "failed", "render",
                           str(exc))
        name = ctx.ap["name"]
        if not self.can_log_in(ctx):
            return Outcome(name, "skipped", None, NO_SSH_LOGIN)
        try:
            self._snmp(ctx, "pre-check")
            with self.open(ctx, actor) as session:
                running = ctx.driver.read_running(session, self._hint(ctx))
                commands = ctx.driver.commands(running, ctx.intended.text, exact=False)
                diff = self.diff_view(ctx, running, ctx.intended.text, "running", "intended")
                if dry_run:
                    return Outcome(name, "dry_run", None, f"{len(commands)} command(s)", diff,
                                   [ctx.shown(c) for c in commands])
                if not commands:
                    return Outcome(name, "unchanged", None, "already as intended", diff)
                good, _ = backups.record(self.store, self.box, ctx.ap["id"], running, "pre-push",
                                         actor)
                try:
                    ctx.driver.converge(session, running, ctx.intended.text, exact=False)
                except SshError as exc:
                    raise _ApplyFailed("apply", ctx.shown(str(exc))) from None
        except _ApplyFailed as exc:     # before StageFailed: it is one, but needs a rollback
            return self._roll_back(ctx, good, actor, exc, diff, job_id)
        except hostkeys.HostKeyPending as exc:
            return Outcome(name, "failed", "pre-check", exc.message)
        except StageFailed as exc:
            return Outcome(name, "failed", exc.stage, ctx.shown(exc.message))
        except SshError as exc:
            return Outcome(name, "failed", "pre-check", ctx.shown(str(exc)))
        try:
            after = self._post_check(ctx, actor)
        except StageFailed as exc:
            return self._roll_back(ctx, good, actor, exc, diff, job_id)
        backups.record(self.store, self.box, ctx.ap["id"], after, "post-push", actor)
        alerts.set_alert(self.store, ctx.ap["id"], False, None)   # in line with intent now
        self._audit(actor, "config.push", name, {"diff": diff, "commands": len(commands),
                                                 "job": job_id, "result": "succeeded"})
        return Outcome(name, "succeeded", None, f"{len(commands)} command(s) applied", diff)

    def _post_check(self, ctx: _Context, actor: str) -> str:
        self._snmp(ctx, "post-check")
        try:
            with self.open(ctx, actor) as session:
                after = ctx.driver.read_running(session, self._hint(ctx))
        except (SshError, hostkeys.HostKeyPending) as exc:
            raise StageFailed("post-check", ctx.shown(f"SSH: {exc}")) from None
        want = ctx.driver.canonical(ctx.intended.text)
        if ctx.driver.comparable(after, ctx.intended.text) != want:
            raise StageFailed("post-check", "the config read back differs from the intended one")
        return after

    # --- rollback ------------------------------------------------------------------------------

    def _roll_back(self, ctx: _Context, good: dict, actor: str, failure: StageFailed,
                   diff: str, job_id: int | None) -> Outcome:
        name = ctx.ap["name"]
        backup_text = backups.body_by_id(self.store, self.box, good["id"])
        detail = {"diff": diff, "job": job_id, "failed_stage": failure.stage,
                  "reason": failure.message, "restored_version": good["version"]}
        try:
            restored = self.restore(ctx, backup_text, actor)
        except StageFailed as exc:
            self._audit(actor, "config.push", name, detail | {"result": "rollback_failed",
                                                              "rollback_error": exc.message})
            return Outcome(name, "failed", "rollback",
                           f"{failure}; rollback failed: {exc.message}", diff)
        self._audit(actor, "config.push", name, detail | {"result": "rolled_back"})
        self._audit(actor, "config.rollback", name, detail | {"diff": restored})
        return Outcome(name, "rolled_back", failure.stage,
                       f"{failure.message}; restored version {good['version']}", diff)

    def restore(self, ctx: _Context, text: str, actor: str) -> str:
        """Put ``text`` back exactly, retrying while the AP is unreachable; returns the diff."""
        deadline = time.monotonic() + self.settings.rollback_window
        delay, last = 0.2, "not attempted"
        while True:
            try:
                with self.open(ctx, actor) as session:
                    running = ctx.driver.read_running(session, text)
                    ctx.driver.converge(session, running, text, exact=True)
                with self.open(ctx, actor) as session:
                    after = ctx.driver.read_running(session, text)
                if ctx.driver.canonical(after) != ctx.driver.canonical(text):
                    raise StageFailed("rollback", "the restored config does not read back")
                return backups.unified_diff(ctx.driver.redact(ctx.driver.canonical(running)),
                                            ctx.driver.redact(ctx.driver.canonical(text)),
                                            "failed", "restored")
            except (SshUnreachable, SshError) as exc:
                last = ctx.shown(str(exc))
            if time.monotonic() + delay > deadline or self.stop.is_set():
                raise StageFailed("rollback", f"AP unreachable for {self.settings.rollback_window}"
                                  f" s: {last}")
            # Back off between attempts; the stop event ends the wait early on shutdown.
            self.stop.wait(delay)
            delay = min(delay * 2, 5.0)

    def rollback_to(self, ap_ref: object, version: int, actor: str) -> Outcome:
        """An engineer's rollback to a stored version (backed up first, so it can be undone)."""
        ctx = self._context_for_read(ap_ref)
        text = backups.body(self.store, self.box, ctx.ap["id"], version)
        try:
            self.backup(ap_ref, actor, "pre-push")
            diff = self.restore(ctx, text, actor)
        except (StageFailed, SshError, hostkeys.HostKeyPending) as exc:
            return Outcome(ctx.ap["name"], "failed", "rollback", str(exc))
        backups.record(self.store, self.box, ctx.ap["id"], text, "rollback", actor)
        self._audit(actor, "config.rollback", ctx.ap["name"],
                    {"diff": diff, "restored_version": version, "reason": "requested"})
        return Outcome(ctx.ap["name"], "succeeded", None, f"restored version {version}", diff)

    def _audit(self, actor: str, action: str, ap_name: str, detail: dict) -> None:
        with self.store.transaction() as conn:
            audit.record(conn, actor, action, "ap", ap_name, detail)


class _ApplyFailed(StageFailed):
    """The change broke off half-way (timeout, dropped session)."""
