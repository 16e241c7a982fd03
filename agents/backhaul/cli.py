"""``oasis agent backhaul``: run the branch agent, the echo responder, or show state/schemas."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

import click

from agents.backhaul.config import ConfigError, load_agent_config
from agents.backhaul.probe import EchoResponder
from core.config import host_port
from core.contracts.backhaul import payload_schema
from core.logs import FORMAT as LOG_FORMAT
from core.systemd import ServiceNotifier

DEFAULT_CONFIG = "/etc/oasis/backhaul.toml"


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM/SIGINT, so systemd's stop ends the loops cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format=LOG_FORMAT)


@click.group("backhaul")
def backhaul() -> None:
    """Backhaul failover between a branch's links (probing, switching, reporting)."""


@backhaul.command("run")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True,
              envvar="OASIS_BACKHAUL_CONFIG", help="The agent's TOML file.")
@click.option("--responder", "responder_listen", default=None, metavar="HOST:PORT",
              help="Also answer probes from the far end's agent on HOST:PORT.")
@click.option("-v", "--verbose", is_flag=True)
def run(config_path: str, responder_listen: str | None, verbose: bool) -> None:
    """Probe the links, fail over and back, publish state and events."""
    # Imported here so `responder`, `schema` and `check-config` work on hosts without pyroute2
    # (headquarters, the controller); nothing circular is being worked around.
    from agents.backhaul.agent import BackhaulAgent

    _logging(verbose)
    try:
        config = load_agent_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    stop = _stop_on_signals()
    service = ServiceNotifier.from_environment()
    if responder_listen:
        _start_responder(responder_listen, stop)
    try:
        BackhaulAgent(config).run(stop, service)
    finally:
        service.stopping()


@backhaul.command("responder")
@click.option("--listen", default="0.0.0.0:7007", show_default=True, metavar="HOST:PORT")
@click.option("-v", "--verbose", is_flag=True)
def responder(listen: str, verbose: bool) -> None:
    """Answer the branches' probes (run at headquarters, the far end of every link)."""
    _logging(verbose)
    stop = _stop_on_signals()
    service = ServiceNotifier.from_environment()
    thread = _start_responder(listen, stop)
    service.ready(f"answering probes on {listen}")
    # The echo thread is the service: while it runs the watchdog hears from us, and should it
    # ever end the process ends too (and systemd starts it again).
    while thread.is_alive():
        thread.join(service.wait_interval(0.5))
        if thread.is_alive():
            service.watchdog()
    service.stopping()


def _start_responder(listen: str, stop: threading.Event) -> threading.Thread:
    try:
        host, port = host_port(listen, "--listen")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    echo = EchoResponder(host, port)
    logging.getLogger(__name__).info("answering probes on %s:%s", *echo.address)
    thread = threading.Thread(target=echo.serve, args=(stop,), name="backhaul-echo", daemon=True)
    thread.start()
    return thread


@backhaul.command("status")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True,
              envvar="OASIS_BACKHAUL_CONFIG")
def status(config_path: str) -> None:
    """Print the running agent's last state (its state file) as JSON."""
    try:
        config = load_agent_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    path = Path(config.backhaul.state_file)
    if not path.exists():
        raise click.ClickException(f"{path}: no state yet (is the agent running?)")
    click.echo(path.read_text())


@backhaul.command("check-config")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True,
              envvar="OASIS_BACKHAUL_CONFIG")
def check_config(config_path: str) -> None:
    """Validate the agent's file and print the links in priority order."""
    try:
        config = load_agent_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for link in config.backhaul.links_by_priority():
        click.echo(f"{link.priority:>4} {link.name}: {link.interface} via {link.gateway}, "
                   f"probe {link.probe_peer}, table {link.table}, fwmark {link.fwmark:#x}")


@backhaul.command("schema")
@click.argument("which", type=click.Choice(["state", "event"]))
def schema(which: str) -> None:
    """Print the JSON Schema of the state or event payload."""
    click.echo(json.dumps(payload_schema()[which], indent=2))


__all__ = ["backhaul"]
