"""A store made by the last release (commit 8974c5c) opens with today's code: it is migrated
and every object is there, its secrets decrypt with the release's key file and its times show
as the same ISO-8601 text as before.

The fixture was made with that release's own code (tests/fixtures/build_release_8974c5c.py
says how); ``expected.json`` is what that release showed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from captive_portal import gateways
from captive_portal.reports import outbox, records
from captive_portal.sessions import Sessions
from controller import auth
from controller.cli import cli
from core import inventory
from core.secrets import SecretBox
from core.store import Store, available_migrations, iso
from netconfig import backups, jobs, variables

FIXTURE = Path(__file__).parents[1] / "fixtures" / "release-8974c5c"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def release(tmp_path):
    for name in ("oasis.db", "oasis.key"):
        shutil.copy2(FIXTURE / name, tmp_path / name)
    (tmp_path / "oasis.toml").write_text('[store]\npath = "oasis.db"\nkey_file = "oasis.key"\n')
    return tmp_path


def test_the_release_store_migrates_and_shows_every_object_as_before(release):
    store = Store(release / "oasis.db")
    box = SecretBox.from_key_file(release / "oasis.key", create=False)
    newest = {}
    for migration in available_migrations():
        newest[migration.component] = max(newest.get(migration.component, 0), migration.number)
    assert store.schema_versions() == newest
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []

    sites = {s["slug"]: inventory.shown(s) for s in inventory.list_sites(store)}
    assert set(sites) == set(EXPECTED["sites"])
    for slug, was in EXPECTED["sites"].items():
        assert {k: sites[slug][k] for k in was} == was
    aps = {a["name"]: inventory.shown(a) for a in inventory.list_aps(store)}
    assert set(aps) == set(EXPECTED["aps"])
    for name, was in EXPECTED["aps"].items():
        assert (aps[name]["site"], aps[name]["created_at"], aps[name]["updated_at"]) == \
            (was["site"], was["created_at"], was["updated_at"])
        assert inventory.ap_secrets(store, box, name) == was["secrets"]

    assert {u.username: u.role for u in auth.list_users(store)} == EXPECTED["users"]
    assert auth.authenticate(store, "amal", "a long admin password").role == "admin"
    assert auth.user_for_token(store, EXPECTED["token"]).username == "omar"
    assert gateways.gateway_key(store, box, "gw-north") == EXPECTED["gateway"]["key"].encode()
    session = Sessions(store, lambda: 0.0).get(EXPECTED["session"]["id"])
    assert (session.mac, session.state) == (EXPECTED["session"]["mac"], "active")

    for tracking, was in EXPECTED["reports"].items():
        report = records.get_report(store, tracking=tracking)
        assert report.status == was["status"]
        assert report.created_at == pytest.approx(was["created_at"], abs=1e-3)
        assert records.photo_tokens(store, report.id) == was["photos"]
        assert [m.state for m in outbox.of_report(store, report.id)] == was["outbox"]
    mime, data = records.photo(store, "photo-token-1")
    assert (mime, data[:2]) == ("image/jpeg", b"\xff\xd8")

    assert variables.get_layer(store, box, "site", "north-park") == EXPECTED["variables"]
    ap1 = inventory.get_ap(store, "ap-1")["id"]
    version = backups.shown(backups.get(store, ap1, EXPECTED["config_version"]["version"]))
    assert version["taken_at"] == EXPECTED["config_version"]["taken_at"]
    assert backups.body(store, box, ap1) == EXPECTED["config_version"]["body"]
    job = jobs.shown(jobs.get(store, EXPECTED["job"]["id"]))
    assert {k: job[k] for k in ("kind", "target", "status", "created_at")} == \
        {k: v for k, v in EXPECTED["job"].items() if k != "id"}
    assert iso(store.conn.execute("SELECT min(created_at) FROM sites").fetchone()[0]) == \
        min(s["created_at"] for s in EXPECTED["sites"].values())
    store.close()


def test_the_cli_shows_the_release_store_times_as_iso_text(release):
    result = CliRunner().invoke(cli, ["--config", str(release / "oasis.toml"), "ap", "list",
                                      "--json"])
    assert result.exit_code == 0, result.output
    shown = {ap["name"]: ap["created_at"] for ap in json.loads(result.output)}
    assert shown == {name: was["created_at"] for name, was in EXPECTED["aps"].items()}
