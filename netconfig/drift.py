"""Drift: the running config of an AP no longer matches what its template and variables give.

A check reads the running config (and keeps it as a backup version when it is new, so the
drifted state is on record), compares it with the intended one over what the template manages,
and keeps one open ``config_drift`` alert per drifted AP in the ``alerts`` table; the alert is
cleared when the AP is back in line (pushed, or fixed on the device).
"""

from __future__ import annotations

from dataclasses import dataclass

from core import alerts
from core.store import Store
from netconfig import backups
from netconfig.alerts import ALERT_KIND, set_alert
from netconfig.hostkeys import HostKeyPending
from netconfig.push import Outcome, Provisioner
from netconfig.ssh import SshError
from netconfig.validate import ValidationFailed

ACTOR = "system:drift"


@dataclass
class DriftResult:
    ap: str
    drifted: bool | None        # None: could not tell (unreachable, bad variables)
    diff: str = ""
    error: str = ""

    def as_outcome(self) -> Outcome:
        if self.drifted is None:
            return Outcome(self.ap, "failed", "drift", self.error)
        return Outcome(self.ap, "succeeded", None, "drift" if self.drifted else "in sync",
                       self.diff)


def check(prov: Provisioner, ap_ref: object) -> DriftResult:
    try:
        ctx = prov.context(ap_ref)
    except ValidationFailed as exc:
        return DriftResult(str(ap_ref), None, error=f"variables invalid: {exc}")
    name = ctx.ap["name"]
    try:
        with prov.open(ctx, ACTOR) as session:
            running = ctx.driver.read_running(session, ctx.intended.text)
    except (SshError, HostKeyPending) as exc:
        return DriftResult(name, None, error=str(exc))
    backups.record(prov.store, prov.box, ctx.ap["id"], running, "backup", ACTOR)
    want = ctx.intended.text
    drifted = ctx.driver.comparable(running, want) != ctx.driver.canonical(want)
    diff = prov.diff_view(ctx, running, want, "running", "intended") if drifted else ""
    set_alert(prov.store, ctx.ap["id"], drifted, {"diff": diff} if drifted else None)
    return DriftResult(name, drifted, diff)


def open_alerts(store: Store) -> list[dict]:
    """The open drift alerts, with their AP's name, by name."""
    return alerts.open_of_kind(store, ALERT_KIND)
