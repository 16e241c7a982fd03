"""The ``portal`` click group: serve the portal, register gateways and their keys."""

from __future__ import annotations

import click

from captive_portal.config import PortalSettings
from captive_portal.gateways import register_gateway
from captive_portal.serve import serve_workers
from core.config import ConfigError, load_config
from core.logs import configure as configure_logging
from core.secrets import SecretBox
from core.store import Store


@click.group(name="portal")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="oasis.toml (default: `oasis --config`, then $OASIS_CONFIG, ./oasis.toml).")
@click.pass_context
def portal(ctx: click.Context, config_path: str | None) -> None:
    """Visitor captive portal ([portal] and [sms] in oasis.toml)."""
    # Under `oasis`, the top-level --config has already been read (the root context's obj);
    # alone (python -m captive_portal) this group's --config, OASIS_CONFIG or ./oasis.toml apply.
    parent = ctx.find_root().obj
    try:
        if config_path is None and hasattr(parent, "config"):
            config = parent.config
        else:
            config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"config error: {exc}") from None
    ctx.obj = (config, PortalSettings.from_config(config))


@portal.command()
@click.option("-v", "--verbose", count=True)
@click.option("--workers", type=click.IntRange(1, 64),
              help="Worker processes (default: portal.workers).")
@click.pass_obj
def serve(obj, verbose: int, workers: int | None) -> None:
    """Serve the portal with worker processes until SIGTERM/SIGINT."""
    configure_logging(verbose)
    config, settings = obj
    if workers:
        settings.portal.workers = workers
    click.echo(f"portal on {settings.portal.listen} with {settings.portal.workers} worker(s)",
               err=True)
    serve_workers(config, settings, verbose)


@portal.command("gateway-add")
@click.argument("gateway_id")
@click.option("--name", default="")
@click.option("--key", help="Use this key (at least 32 characters) instead of a random one.")
@click.option("--site", help="Slug of the park or walkway it serves (visitors' reports are "
                             "located there).")
@click.pass_obj
def gateway_add(obj, gateway_id: str, name: str, key: str | None, site: str | None) -> None:
    """Register a gateway (or re-key it) and print the key to install on it."""
    config, _ = obj
    if key is not None and len(key) < 32:
        raise click.BadParameter("at least 32 characters", param_hint="--key")
    store = Store(config.store_location())
    box = SecretBox.from_key_file(config.resolve_path(config.store.key_file))
    try:
        click.echo(register_gateway(store, box, gateway_id, name, key=key, site=site))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


__all__ = ["portal"]
