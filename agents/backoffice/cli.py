"""``oasis backoffice ...``: the reference back office (consume, dedup, ack; move reports)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Protocol

import click

from agents.backoffice.office import BackOffice
from core.config import Config, host_port
from core.contracts.reports import STATUSES
from core.mqtt import MQTT_V311



class CliContext(Protocol):
    """What the ``oasis`` command passes down: the loaded config (mounted there, not imported)."""

    @property
    def config(self) -> Config: ...


pass_ctx = click.pass_obj


@click.group()
def backoffice() -> None:
    """The reference 940 back office for demos and tests."""


def _open(obj: CliContext, db: str, auto: bool, *, one_off: bool = False) -> BackOffice:
    """The back office; ``one_off`` for a command run beside a running one (its own client id,
    no report topics, no persistent session: taking over the running one's session would leave
    it deaf until restarted)."""
    config = obj.config
    client_id = f"oasis-backoffice-cli-{os.getpid()}" if one_off else "oasis-backoffice"
    if config.mqtt.addresses():
        return BackOffice(config.resolve_path(db), config.mqtt, auto_acknowledge=auto,
                          client_id=client_id, consume_reports=not one_off)
    # No broker configured: `oasis run` has started the embedded one (MQTT 3.1.1 only).
    host, port = host_port(config.mqtt.embedded_listen, "mqtt.embedded_listen")
    return BackOffice(config.resolve_path(db), config.mqtt, host=host, port=port,
                      protocol=MQTT_V311, auto_acknowledge=auto, client_id=client_id,
                      consume_reports=not one_off)


@backoffice.command("run")
@click.option("--db", default="var/backoffice.db", show_default=True,
              help="The back office's own SQLite file.")
@click.option("--auto-acknowledge", is_flag=True, help="Acknowledge every new report at once.")
@pass_ctx
def run(obj: CliContext, db: str, auto_acknowledge: bool) -> None:
    """Receive reports until interrupted: store once per id, ack each by id."""
    office = _open(obj, db, auto_acknowledge)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    office.start()
    if not office.wait_ready(30):
        click.echo("broker not reachable yet; still trying", err=True)
    click.echo("back office running; Ctrl-C stops", err=True)
    try:
        stopping.wait()
        # Counted before stop(), which closes the back office's database.
        summary = f"{len(office.received_ids())} reports held, {office.copies()} copies seen"
    finally:
        office.stop()
    click.echo(summary)


@backoffice.command("move")
@click.argument("tracking")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--note")
@click.option("--assign", "assigned_to", help="Staff member now handling the report.")
@click.option("--db", default="var/backoffice.db", show_default=True)
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for the ack.")
@pass_ctx
def move(obj: CliContext, tracking: str, status: str, note: str | None,
         assigned_to: str | None, db: str, wait: float) -> None:
    """Send a status update for a report and wait until the controller acks it."""
    office = _open(obj, db, False, one_off=True)
    office.start()
    try:
        update_id = office.move(tracking, status, note=note, assigned_to=assigned_to)
        acked = office.wait_status_acked(update_id, wait)
    finally:
        office.stop()
    if not acked:
        raise click.ClickException(f"update {update_id} not acked yet; it is re-sent by the "
                                   "next `oasis backoffice run`")
    click.echo(f"{tracking} -> {status} (update {update_id})")
