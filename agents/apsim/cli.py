"""``oasis apsim``: run the AP simulator and steer a running one.

``run`` serves until SIGINT/SIGTERM; the other commands talk to its control endpoint
(JSON lines over TCP, ``--control``, default 127.0.0.1:1163; see ``control.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import overload

import click

from agents.apsim.control import CONTROL_ENV, DEFAULT_CONTROL, ControlError, send_command
from agents.apsim.inventory import simulated_inventory
from agents.apsim.runner import run_forever
from agents.apsim.simulator import SimulatorSettings
from agents.apsim.traps import ON_DEMAND
from core.config import ConfigError, host_port, load_config

_DEFAULT_CONTROL = f"{DEFAULT_CONTROL[0]}:{DEFAULT_CONTROL[1]}"


@overload
def _address(value: str, option: str) -> tuple[str, int]: ...
@overload
def _address(value: None, option: str) -> None: ...
@overload
def _address(value: str | None, option: str) -> tuple[str, int] | None: ...
def _address(value: str | None, option: str) -> tuple[str, int] | None:
    if value is None:
        return None
    try:
        return host_port(value, option)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, _, shards = value.partition("/")
    if not (index.isdigit() and shards.isdigit() and int(index) < int(shards)):
        raise click.BadParameter(f"{value!r}: want I/N with 0 <= I < N", param_hint="--shard")
    return int(index), int(shards)


def _control_option(command):
    return click.option("--control", default=_DEFAULT_CONTROL, show_default=True,
                        envvar=CONTROL_ENV,
                        help="The running simulator's control endpoint HOST:PORT.")(command)


def _print(reply: dict) -> None:
    reply.pop("ok", None)
    click.echo(json.dumps(reply, ensure_ascii=False, indent=2))


def _send(control: str, op: str, **args) -> None:
    try:
        _print(send_command(op, _address(control, "--control"), **args))
    except ControlError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(name="apsim")
def apsim() -> None:
    """Simulated access points speaking real SNMP (v2c and v3), for demos, tests and load."""


@apsim.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="oasis.toml to read [apsim] and the [snmp] trap receiver from.")
@click.option("--count", type=click.IntRange(min=0), help="Number of APs ([apsim] count).")
@click.option("--first-address", help="First AP's IPv4 address; the others count up.")
@click.option("--port", type=click.IntRange(1, 65535), help="UDP port every AP listens on.")
@click.option("--trap-target", help="HOST:PORT for traps (default: [snmp] trap_listen).")
@click.option("--no-traps", is_flag=True, help="Send no traps at all.")
@click.option("--no-auth-traps", is_flag=True,
              help="No authenticationFailure trap on a wrong community.")
@click.option("--near-wrap", multiple=True, metavar="NAME",
              help="Start this AP's HC counters just below 2**64 (repeatable).")
@click.option("--no-v3", is_flag=True, help="Answer SNMPv2c only.")
@click.option("--shard", metavar="I/N", help="Serve only the APs whose index is I modulo N "
              "(N processes share one fleet of --count APs).")
@click.option("--ssh-port", type=click.IntRange(1, 65535),
              help="Also serve SSH (OpenWrt and IOS CLIs) on this TCP port of every AP.")
@_control_option
def run(config_file, count, first_address, port, trap_target, no_traps, no_auth_traps,
        near_wrap, no_v3, shard, ssh_port, control) -> None:
    """Serve the simulated APs until interrupted."""
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    settings = SimulatorSettings.from_config(
        config, count=count, first_address=first_address, port=port,
        trap_target=_address(trap_target, "--trap-target"), near_wrap=tuple(near_wrap) or None,
        auth_failure_traps=False if no_auth_traps else None, v3=False if no_v3 else None,
        ssh_port=ssh_port, shard=_shard(shard))
    if no_traps:
        settings = dataclasses.replace(settings, trap_target=None)
    try:
        asyncio.run(run_forever(settings, _address(control, "--control"), click.echo))
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@apsim.command()
@click.argument("name")
@_control_option
def reboot(name, control) -> None:
    """Reboot an AP: uptime and counters restart, a coldStart trap is sent."""
    _send(control, "reboot", ap=name)


@apsim.command("link-down")
@click.argument("name")
@click.argument("ifindex", type=int)
@_control_option
def link_down(name, ifindex, control) -> None:
    """Take an interface down (ifOperStatus down, linkDown trap)."""
    _send(control, "link-down", ap=name, ifindex=ifindex)


@apsim.command("link-up")
@click.argument("name")
@click.argument("ifindex", type=int)
@_control_option
def link_up(name, ifindex, control) -> None:
    """Bring an interface back up (linkUp trap)."""
    _send(control, "link-up", ap=name, ifindex=ifindex)


@apsim.command()
@click.argument("name")
@_control_option
def unreachable(name, control) -> None:
    """Stop answering (and sending traps) as if the AP's network path were cut."""
    _send(control, "unreachable", ap=name)


@apsim.command()
@click.argument("name")
@_control_option
def reachable(name, control) -> None:
    """Answer again."""
    _send(control, "reachable", ap=name)


@apsim.command()
@click.argument("name")
@click.argument("kind", type=click.Choice(ON_DEMAND))
@_control_option
def trap(name, kind, control) -> None:
    """Send a warmStart or authenticationFailure trap from the AP."""
    _send(control, "trap", ap=name, kind=kind)


@apsim.command("wrap-soon")
@click.argument("name")
@click.option("--headroom", type=click.IntRange(min=0), help="Octets left below 2**64.")
@_control_option
def wrap_soon(name, headroom, control) -> None:
    """Move the AP's HC counters just below 2**64 so they wrap within about a minute."""
    _send(control, "wrap-soon", ap=name, headroom=headroom)


@apsim.command()
@click.argument("name")
@_control_option
def status(name, control) -> None:
    """Show one AP's state as the simulator sees it."""
    _send(control, "status", ap=name)


@apsim.command()
@_control_option
def stats(control) -> None:
    """Requests served, wrong communities, traps sent, CPU seconds."""
    _send(control, "stats")


@apsim.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
def inventory(config_file) -> None:
    """Print the simulated inventory as JSON (what the demo seeds the controller with)."""
    config = load_config(config_file)
    click.echo(json.dumps(simulated_inventory(config.apsim.count, config.apsim.first_address,
                                              config.apsim.port), ensure_ascii=False, indent=2))
