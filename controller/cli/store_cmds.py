"""``oasis store``: the store itself (moving it to PostgreSQL)."""

from __future__ import annotations

import click

from core.store.copy import CopyError, copy_store
from core.store.postgresql import redacted


@click.group("store")
def store_group() -> None:
    """The store: SQLite file or PostgreSQL database ([store] path / url)."""


@store_group.command("copy")
@click.argument("source")
@click.argument("target")
def copy_cmd(source: str, target: str) -> None:
    """Copy the SQLite store SOURCE (a path or sqlite:///path) into the empty PostgreSQL
    database TARGET (postgresql://user:password@host:port/db). Stop the nodes first; then set
    [store] url = TARGET on every node."""
    def progress(table: str, rows: int) -> None:
        click.echo(f"  {table}: {rows} rows")
    try:
        counts = copy_store(source, target, progress)
    except CopyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"copied {sum(counts.values())} rows in {len(counts)} tables to "
               f"{redacted(target)}; set [store] url to it on every node")
