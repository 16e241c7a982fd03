"""The ``oasis`` command line: one group, one module per area."""

from __future__ import annotations

import click

from agents.apsim.cli import apsim
from agents.backhaul.cli import backhaul
from agents.backoffice.cli import backoffice
from agents.gateway.cli import gateway
from captive_portal.cli import portal
from controller.cli.backup import backup_cmd, restore_cmd
from controller.cli.check import check_cmd
from controller.cli.config_cmds import config as config_group
from controller.cli.context import CliContext
from controller.cli.inventory import ap, site
from controller.cli.poller import poller
from controller.cli.reports import reports
from controller.cli.run import run
from controller.cli.store_cmds import store_group
from controller.cli.users import token, user
from core.config import ConfigError
from core.logs import configure as configure_logging
from reporting.cli import report


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="OASIS_CONFIG",
              help="Config file (default: $OASIS_CONFIG, else ./oasis.toml if present).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Oasis Edge: park WiFi, 940 reports and backhaul failover for a municipality."""
    configure_logging(verbose)
    ctx.obj = CliContext(config_path)


@cli.command()
@click.pass_obj
def migrate(obj: CliContext) -> None:
    """Create the store (and the key file) if needed and apply pending migrations."""
    store = obj.store  # opening applies migrations
    obj.secrets  # creates the key file on first use
    versions = ", ".join(f"{component} {number}" for component, number
                         in store.schema_versions().items())
    click.echo(f"store {store.path} at schema versions: {versions}")


@cli.group()
def agent() -> None:
    """Edge agents: the park gateway and the branch backhaul (each with its own config file)."""


agent.add_command(gateway)
agent.add_command(backhaul)
cli.add_command(site)
cli.add_command(ap)
cli.add_command(user)
cli.add_command(token)
cli.add_command(run)
cli.add_command(poller)
cli.add_command(apsim)
cli.add_command(config_group)
cli.add_command(portal)
cli.add_command(reports)
cli.add_command(backoffice)
cli.add_command(backup_cmd)
cli.add_command(restore_cmd)
cli.add_command(check_cmd)
cli.add_command(report)
cli.add_command(store_group)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:  # raised lazily when a command first needs the config
        raise SystemExit(f"config error: {exc}") from None
