"""``oasis site ...`` and ``oasis ap ...``."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click
import yaml

from controller.cli.context import CliContext, emit
from core import inventory
from core.inventory import SITE_KINDS, InventoryError, problems_of

pass_ctx = click.make_pass_decorator(CliContext)


def _fail(exc: InventoryError) -> None:
    """Every problem of the refused input, one a line."""
    raise click.ClickException("\n".join(
        f"{p.message} ({p.field})" if p.field else p.message for p in problems_of(exc)))


@click.group()
def site() -> None:
    """Parks, walkways and branch offices."""


@site.command("add")
@click.argument("slug")
@click.option("--name-ar", required=True, help="Arabic name.")
@click.option("--name-en", required=True, help="English name.")
@click.option("--kind", type=click.Choice(SITE_KINDS), required=True)
@click.option("--lat", type=float)
@click.option("--lon", type=float)
@pass_ctx
def site_add(obj: CliContext, slug, name_ar, name_en, kind, lat, lon) -> None:
    """Add a site."""
    try:
        row = inventory.add_site(obj.store, {"slug": slug, "name_ar": name_ar, "name_en": name_en,
                                             "kind": kind, "lat": lat, "lon": lon}, obj.actor)
    except InventoryError as exc:
        _fail(exc)
    click.echo(f"site {row['slug']} added (id {row['id']})")


@site.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def site_list(obj: CliContext, as_json: bool) -> None:
    """List sites with their AP counts."""
    emit([inventory.shown(row) for row in inventory.list_sites(obj.store)],
         ["slug", "kind", "name_en", "name_ar", "lat", "lon", "ap_count"], as_json)


@site.command("remove")
@click.argument("slug")
@pass_ctx
def site_remove(obj: CliContext, slug: str) -> None:
    """Remove a site that has no APs."""
    try:
        inventory.remove_site(obj.store, slug, obj.actor)
    except InventoryError as exc:
        _fail(exc)
    click.echo(f"site {slug} removed")


@click.group()
def ap() -> None:
    """Access points."""


@ap.command("add")
@click.argument("name")
@click.option("--mac", required=True)
@click.option("--ip", "mgmt_ip", required=True, help="Management IP address.")
@click.option("--site", "site_ref", required=True, help="Site slug.")
@click.option("--platform", default="openwrt", show_default=True)
@click.option("--capacity", type=int, help="Clients above which an alert opens.")
@click.option("--snmp-version", type=click.Choice(["2c", "3"]), default="2c", show_default=True)
@click.option("--snmp-port", type=int, default=161, show_default=True)
@click.option("--community", help="SNMP v2c community (default public).")
@click.option("--snmp-user")
@click.option("--auth-proto", default="SHA", show_default=True)
@click.option("--auth-key", help="SNMPv3 auth pass phrase (prompted if --snmp-version 3).")
@click.option("--priv-proto", default="AES", show_default=True)
@click.option("--priv-key", help="SNMPv3 privacy pass phrase (prompted if --snmp-version 3).")
@click.option("--context", "snmp_context", default="", help="SNMPv3 context name (default none).")
@click.option("--engine-id", "snmp_engine_id",
              help="The AP's snmpEngineID in hex: another engine at its address is refused.")
@click.option("--ssh-user")
@click.option("--ssh-port", type=int, default=22, show_default=True)
@click.option("--ssh-password", help="Prompted when --ssh-user is given without it.")
@click.option("--lat", type=float, help="Where the AP stands, for the map (with --lon).")
@click.option("--lon", type=float)
@pass_ctx
def ap_add(obj: CliContext, name, mac, mgmt_ip, site_ref, platform, capacity, snmp_version,
           snmp_port, community, snmp_user, auth_proto, auth_key, priv_proto, priv_key,
           snmp_context, snmp_engine_id, ssh_user, ssh_port, ssh_password, lat, lon) -> None:
    """Add an access point. Secrets are prompted for (hidden) unless given."""
    if snmp_version == "3":
        auth_key = auth_key or click.prompt("SNMPv3 auth pass phrase", hide_input=True)
        priv_key = priv_key or click.prompt("SNMPv3 privacy pass phrase", hide_input=True)
    if ssh_user and not ssh_password:
        ssh_password = click.prompt("SSH password", hide_input=True)
    data = {"name": name, "mac": mac, "mgmt_ip": mgmt_ip, "site": site_ref, "platform": platform,
            "capacity": capacity, "snmp_version": snmp_version, "snmp_port": snmp_port,
            "snmp_community": community, "snmp_user": snmp_user, "snmp_auth_proto": auth_proto,
            "snmp_auth_key": auth_key, "snmp_priv_proto": priv_proto, "snmp_priv_key": priv_key,
            "snmp_context": snmp_context, "snmp_engine_id": snmp_engine_id,
            "ssh_username": ssh_user, "ssh_port": ssh_port, "ssh_password": ssh_password,
            "lat": lat, "lon": lon}
    if snmp_version == "2c":
        for key in inventory.V3_FIELDS:
            data.pop(key)
    try:
        row = inventory.add_ap(obj.store, obj.secrets, data, obj.actor)
    except InventoryError as exc:
        _fail(exc)
    click.echo(f"AP {row['name']} added (id {row['id']}, site {row['site']})")


@ap.command("list")
@click.option("--site", "site_ref")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def ap_list(obj: CliContext, site_ref: str | None, as_json: bool) -> None:
    """List access points."""
    try:
        rows = inventory.list_aps(obj.store, site_ref)
    except InventoryError as exc:
        _fail(exc)
    emit([inventory.shown(row) for row in rows],
         ["name", "site", "platform", "mac", "mgmt_ip", "snmp_version"], as_json)


@ap.command("show")
@click.argument("ref")
@pass_ctx
def ap_show(obj: CliContext, ref: str) -> None:
    """Show one AP by name, id, MAC or IP (secrets shown only as set/unset)."""
    try:
        row = inventory.get_ap(obj.store, ref)
    except InventoryError as exc:
        _fail(exc)
    click.echo(json.dumps(inventory.shown(row), ensure_ascii=False, indent=2))


@ap.command("remove")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def ap_remove(obj: CliContext, ref: str, yes: bool) -> None:
    """Remove an AP (its events, alerts and metrics go with it)."""
    try:
        row = inventory.get_ap(obj.store, ref)
        if not yes:
            click.confirm(f"remove AP {row['name']} ({row['mgmt_ip']})?", abort=True)
        inventory.remove_ap(obj.store, row["id"], obj.actor)
    except InventoryError as exc:
        _fail(exc)
    click.echo(f"AP {row['name']} removed")


def read_ap_file(path: Path) -> list[dict]:
    """Rows from a YAML file (a list, or a mapping with an ``aps`` list) or a CSV with a header."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise click.ClickException(f"{path}: expected a .csv, .yaml or .yml file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{path}: not valid YAML: {exc}") from None
    if isinstance(data, dict):
        data = data.get("aps")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise click.ClickException(f"{path}: expected a list of APs (or a mapping with 'aps:')")
    return [{k: (v if v is None else str(v) if not isinstance(v, (int, float)) else v)
             for k, v in r.items()} for r in data]


@ap.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ap_import(obj: CliContext, file: Path) -> None:
    """Add many APs from YAML or CSV. All or nothing: any bad row and nothing is written."""
    rows = read_ap_file(file)
    with click.progressbar(length=len(rows), label=f"checking {len(rows)} APs",
                           file=sys.stderr) as bar:
        result = inventory.import_aps(obj.store, obj.secrets, rows, obj.actor, progress=bar.update)
    if result.errors:
        for err in result.errors:
            field = f" [{err['field']}]" if err["field"] else ""
            click.echo(f"row {err['row']}{field}: {err['message']}", err=True)
        bad_rows = len({err["row"] for err in result.errors})
        raise click.ClickException(f"{bad_rows} bad row(s), {len(result.errors)} problem(s); "
                                   "nothing imported")
    click.echo(f"imported {len(result.created)} APs")
