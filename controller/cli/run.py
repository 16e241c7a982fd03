"""``oasis run``: the controller process (and with ``--demo``, simulated APs to watch)."""

from __future__ import annotations

import signal
import threading

import click

from controller import demo
from controller.cli.context import CliContext
from controller.cli.poller import run_poller
from controller.runtime import Controller
from core.store.postgresql import redacted
from core.systemd import ServiceNotifier

pass_ctx = click.make_pass_decorator(CliContext)


@click.command()
@click.option("--demo", "demo_mode", is_flag=True,
              help="Also start the AP simulator, register its APs and print an admin login.")
@click.option("--no-portal", is_flag=True,
              help="Leave the visitor portal to `oasis portal serve` (its own worker processes).")
@pass_ctx
def run(obj: CliContext, demo_mode: bool, no_portal: bool) -> None:
    """Run the controller until interrupted (Ctrl-C or SIGTERM)."""
    config = obj.config
    if config.monitoring.role == "poller":  # this node polls and nothing else
        run_poller(obj)
        return
    children = []
    gateway = None
    if demo_mode:
        demo.prepare(config, demo_paths=obj.config_path is None)
        added = demo.seed(config)
        login = demo.admin_login(config)
    controller = Controller(config, serve_portal=not no_portal, demo=demo_mode)
    service = ServiceNotifier.from_environment()  # before the demo's children start
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        try:
            controller.start()
            if demo_mode:
                children.append(demo.start_simulator(config, obj.config_path))
                children.append(demo.start_backoffice(config, obj.config_path))
                gateway = demo.start_gateway(config)
        except (OSError, RuntimeError) as exc:
            raise click.ClickException(f"could not start: {exc}") from None
        mqtt = (config.mqtt.describe() if config.mqtt.addresses()
                else f"embedded broker on {config.mqtt.embedded_listen}")
        click.echo(f"Oasis Edge controller running (store {redacted(str(config.store_location()))})")
        click.echo(f"  admin UI    {controller.admin_url}")
        click.echo(f"  REST API    {controller.admin_url}api/v1/")
        click.echo(f"  metrics     {controller.admin_url}metrics")
        if controller.portal_url:
            click.echo(f"  portal      {controller.portal_url} (visitors; 940 reports at "
                       f"{controller.portal_url}reports/new, Open311 at "
                       f"{controller.portal_url}open311/v2/discovery.json)")
        else:
            click.echo("  portal      not here: `oasis portal serve` runs it")
        click.echo(f"  SNMP traps  udp {config.snmp.trap_listen}")
        click.echo(f"  MQTT        {mqtt}, topics under {config.mqtt.prefix}")
        relay = (f"through {config.mail.host}:{config.mail.port}" if config.mail.host
                 else f"kept in {config.resolve_path(config.mail.outbox)}")
        click.echo(f"  alerts      to the on-call rota ({controller.admin_url}notifications/),"
                   f" mail {relay}")
        if demo_mode:
            click.echo(f"  simulator   {config.apsim.count} APs from {config.apsim.first_address}"
                       f" port {config.apsim.port} ({added} newly registered); polled every "
                       f"{config.snmp.interval:g}s")
            click.echo("  back office reference consumer (acks every report; "
                       "`oasis backoffice move` changes a report's status)")
            if controller.portal_url:
                click.echo(f"  visitor     {controller.portal_url}demo/visitor (a made-up phone "
                           f"on the demo's gateway, which acks logins and enforces nothing; "
                           f"the SMS codes it is sent are at {controller.admin_url}sms/)")
            click.echo(f"  demo login  {login[0]} / {login[1]}")
        click.echo("Ctrl-C stops.")
        service.ready(f"admin on {controller.admin_url}")
        service.serve_until(stopping, controller.health_problem)
    finally:
        service.stopping()
        click.echo("stopping...")
        for child in children:
            child.terminate()
        for child in children:
            child.wait(10)
        if gateway is not None:
            gateway.stop()
        controller.stop()
