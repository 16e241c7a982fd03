"""What every command needs, opened lazily: config, store, secret box, audit actor."""

from __future__ import annotations

import getpass
import json
from functools import cached_property

import click

from core.config import Config, ConfigError, load_config
from core.secrets import SecretBox, SecretError
from core.store import Store


class CliContext:
    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            raise click.ClickException(f"config error: {exc}") from None

    @cached_property
    def store(self) -> Store:
        return Store(self.config.store_location())

    @cached_property
    def secrets(self) -> SecretBox:
        try:
            return SecretBox.from_key_file(self.config.resolve_path(self.config.store.key_file))
        except SecretError as exc:
            raise click.ClickException(str(exc)) from None

    @property
    def actor(self) -> str:
        return f"cli:{getpass.getuser()}"


def emit(rows: list[dict], columns: list[str], as_json: bool) -> None:
    """Rows as JSON, or as an aligned table of ``columns``."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
