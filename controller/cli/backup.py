"""``oasis backup`` and ``oasis restore`` (`controller.backup`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from controller import backup
from controller.cli.context import CliContext
from core.secrets import SecretError

pass_ctx = click.make_pass_decorator(CliContext)


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False))
@pass_ctx
def backup_cmd(obj: CliContext, archive: str) -> None:
    """Write the store (a consistent copy while everything runs), the key files and the config
    into ARCHIVE (.tar.gz, mode 0600, with a manifest of SHA-256 checksums)."""
    try:
        manifest = backup.create(obj.config, archive)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup {archive} at {manifest.created_at}:")
    for entry in manifest.files:
        click.echo(f"  {entry.key:<28} {entry.bytes:>12} bytes  sha256 {entry.sha256[:16]}")
    versions = ", ".join(f"{c} {n}" for c, n in manifest.schema_versions.items())
    click.echo(f"  schema versions: {versions}")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help="Replace an existing store and key files (stop the services first).")
@pass_ctx
def restore_cmd(obj: CliContext, archive: str, force: bool) -> None:
    """Check ARCHIVE and bring it back: the config (when --config names no file yet), the key
    files and the store, at the paths the config gives; the store is then migrated."""
    config_path = Path(obj.config_path or os.environ.get("OASIS_CONFIG") or "oasis.toml")
    try:
        restored = backup.restore(archive, config_path, force=force)
    except (backup.BackupError, SecretError) as exc:
        raise click.ClickException(str(exc)) from None
    made = restored.manifest
    click.echo(f"restored the backup of {made.host} taken {made.created_at} "
               f"(oasis-edge {made.version}) with {restored.config}:")
    for key, path in restored.written.items():
        click.echo(f"  {key:<28} {path}")
    versions = ", ".join(f"{c} {n}" for c, n in restored.schema_versions.items())
    click.echo(f"  schema versions: {versions}")
    click.echo(f"  the restored key decrypts the secrets of {restored.aps_checked} APs")
