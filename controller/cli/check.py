"""``oasis check`` (`controller.check`): the config, then every peer it names."""

from __future__ import annotations

import click

from controller.check import FAIL, WARN, describe_config, run_checks
from controller.cli.context import CliContext

pass_ctx = click.make_pass_decorator(CliContext)

_LABEL = {"ok": "ok", WARN: "WARN", FAIL: "FAIL"}


@click.command("check")
@click.option("--timeout", "timeout_s", type=float, default=5.0, show_default=True,
              help="Seconds to wait for each peer.")
@click.option("--gateway-quiet", "gateway_quiet_h", type=float, default=24.0, show_default=True,
              help="Warn about a gateway not heard from for this many hours.")
@pass_ctx
def check_cmd(obj: CliContext, timeout_s: float, gateway_quiet_h: float) -> None:
    """Validate the config and reach each configured peer: the store and its key file, the
    MQTT broker, the SMS provider (http driver), and each gateway's last contact. Changes
    nothing; exits 1 if any check fails (warnings do not)."""
    config = obj.config  # a config error ends here, with the key and the file named
    failed = 0
    findings = [describe_config(config)]
    for finding in run_checks(config, timeout_s=timeout_s,
                              gateway_quiet_s=gateway_quiet_h * 3600):
        findings.append(finding)
    for finding in findings:
        failed += finding.status == FAIL
        click.echo(f"{_LABEL[finding.status]:<5} {finding.what:<8} {finding.message}")
    if failed:
        click.echo(f"{failed} check{'s' if failed > 1 else ''} failed", err=True)
        raise SystemExit(1)
