"""``oasis poller``: a poller alone, one of several that split the APs (docs/scale-out.md)."""

from __future__ import annotations

import signal
import threading

import click

from controller.cli.context import CliContext
from controller.poller_node import PollerNode
from core.systemd import ServiceNotifier

pass_ctx = click.make_pass_decorator(CliContext)


@click.command("poller")
@pass_ctx
def poller(obj: CliContext) -> None:
    """Poll this node's share of the APs until interrupted (no admin app, no portal).

    Every poller of [monitoring] group splits the APs with the others alive; admin nodes show
    what they publish in the store."""
    run_poller(obj)


def run_poller(obj: CliContext) -> None:
    config = obj.config
    node = PollerNode(config, config.store_location())
    service = ServiceNotifier.from_environment()
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        try:
            node.start()
        except (OSError, RuntimeError) as exc:
            raise click.ClickException(f"could not start: {exc}") from None
        assert node.monitoring is not None
        click.echo(f"Oasis Edge poller {node.monitoring.holder} running: group "
                   f"{config.monitoring.group!r}, lease "
                   f"{config.monitoring.ttl_s(config.snmp):g}s, every {config.snmp.interval:g}s",
                   )
        if node.monitoring.trap_port is not None:
            click.echo(f"  SNMP traps  udp {config.snmp.trap_listen}")
        click.echo("Ctrl-C stops.")
        service.ready(f"poller {node.monitoring.holder}")
        service.serve_until(stopping, node.health_problem)
    finally:
        service.stopping()
        click.echo("stopping...")
        node.stop()
