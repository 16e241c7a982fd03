"""The ``gateway`` click group (wired as ``oasis agent gateway``)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import click

from agents.gateway.agent import GatewayAgent, read_key
from agents.gateway.config import ConfigError, GatewayAgentConfig, load_gateway_config
from agents.gateway.dnsmasq import render_dnsmasq, render_lease_hook
from agents.gateway.enforcer import Enforcer
from agents.gateway.nft import Nftables
from agents.gateway.sessions import SessionBook
from core.logs import configure as configure_logging
from core.systemd import ServiceNotifier


def _load(config_path: str | None) -> GatewayAgentConfig:
    try:
        return load_gateway_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"config error: {exc}") from None


@click.group(name="gateway")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="OASIS_GATEWAY_CONFIG", help="The agent's TOML file ([gateway], [mqtt]).")
@click.pass_context
def gateway(ctx: click.Context, config_path: str | None) -> None:
    """Park gateway agent: nftables enforcement, redirector, RFC 8908 API, accounting."""
    ctx.obj = config_path


@gateway.command()
@click.option("-v", "--verbose", count=True)
@click.pass_obj
def run(config_path: str | None, verbose: int) -> None:
    """Install the table and enforce until SIGTERM/SIGINT (authorised clients stay)."""
    configure_logging(verbose)
    service = ServiceNotifier.from_environment()  # before `nft` and friends are started
    agent = GatewayAgent(_load(config_path))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent._stop.set())
    agent.start()
    gateway_id = agent.config.gateway.gateway_id
    click.echo(f"gateway {gateway_id} ready", err=True)
    service.ready(f"gateway {gateway_id} enforcing, {len(agent.book)} authorised clients")
    try:
        agent.run(service)
    finally:
        service.stopping()
        agent.stop()


@gateway.command("dnsmasq-config")
@click.option("--lease-file", default="/var/lib/oasis/dnsmasq.leases", show_default=True)
@click.option("--pid-file", default="")
@click.option("--lease-hook", type=click.Path(dir_okay=False),
              default="/etc/oasis/dnsmasq-lease-hook", show_default=True,
              help="Write the lease script recording each client's AP (option 82) here; "
                   "'' for none.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.pass_obj
def dnsmasq_config(config_path: str | None, lease_file: str, pid_file: str, lease_hook: str,
                   output: str | None) -> None:
    """Print the dnsmasq config (DHCP option 114, DNS, walled-garden nftset, AP lease hook)."""
    config = _load(config_path).gateway
    if lease_hook and config.ap_option:
        hook = Path(lease_hook)
        hook.parent.mkdir(parents=True, exist_ok=True)
        hook.write_text(render_lease_hook(config))
        hook.chmod(0o755)
    text = render_dnsmasq(config, lease_file=lease_file, pid_file=pid_file,
                          lease_hook=lease_hook)
    if output:
        Path(output).write_text(text)
    else:
        click.echo(text, nl=False)


@gateway.command("check-config")
@click.pass_obj
def check_config(config_path: str | None) -> None:
    """Validate the agent's file and its HMAC key file; print what the agent would run with."""
    config = _load(config_path)
    gw, mqtt = config.gateway, config.mqtt
    try:
        read_key(gw.hmac_key_file)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"config error: {config.source}: [gateway] hmac_key_file: "
                                   f"{exc}") from None
    click.echo(f"gateway {gw.gateway_id}: visitors on {gw.lan_interface} ({gw.lan_address}), "
               f"portal {gw.portal_url}")
    click.echo(f"redirector port {gw.redirect_port}, RFC 8908 API port {gw.api_port}, "
               f"nft table inet {gw.table}, state {gw.state_db}")
    click.echo(f"broker {mqtt.describe()} as {mqtt.client_id}, "
               f"topics under {mqtt.prefix}")


@gateway.command()
@click.pass_obj
def clients(config_path: str | None) -> None:
    """List the authorised clients in the agent's book."""
    book = SessionBook(_load(config_path).gateway.state_db)
    now = time.time()
    for session in book:
        left = session.bytes_left()
        click.echo(f"{session.mac}  {session.ip:15}  session {session.session_id}  "
                   f"{session.seconds_left(now)}s left  "
                   f"{'unlimited' if left is None else f'{left} bytes left'}")
    book.close()


@gateway.command()
@click.confirmation_option(prompt="Every visitor will be captive again. Continue?")
@click.pass_obj
def teardown(config_path: str | None) -> None:
    """Remove the agent's nft table (all clients lose access)."""
    config = _load(config_path).gateway
    Enforcer(config, Nftables(), SessionBook(config.state_db), []).teardown()
    click.echo(f"table inet {config.table} removed")


__all__ = ["gateway"]
