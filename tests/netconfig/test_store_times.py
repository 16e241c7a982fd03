"""The provisioning tables keep their times as REAL unix seconds; a store from the release that
kept ISO-8601 text upgrades with every row, link and constraint intact, and the API and CLI show
the times as the ISO-8601 text they showed before."""

import json
import sqlite3

import click
import pytest
from click.testing import CliRunner

from controller.cli.config_cmds import config as config_group
from controller.cli.context import CliContext
from core.store import Store
from netconfig import adoption, backups, hostkeys, jobs
from netconfig.settings import ProvisioningConfig
from netconfig.ssh import HostKey
from tests.controller.web_harness import bearer, build_app
from tests.fleet import add_ap, add_site
from tests.store_times import assert_times_are_unix_seconds, schema

T0 = "2026-11-01T08:30:00+00:00"
T0_UNIX = 1793521800.0
T1 = "2026-11-02T09:45:17+00:00"
T1_UNIX = 1793612717.0

TIMES = {
    "ap_groups": ["created_at"],
    "config_variables": ["updated_at"],
    "config_versions": ["taken_at", "last_seen_at"],
    "ssh_host_keys": ["pinned_at", "pending_seen_at"],
    "provision_jobs": ["created_at", "started_at", "finished_at"],
    "provision_job_items": ["started_at", "finished_at"],
    "pending_aps": ["first_seen_at", "last_seen_at"],
}


def _previous_release_rows(path) -> None:
    """Rows as the previous release wrote them: times as ISO-8601 text."""
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("INSERT INTO sites (id, slug, name_ar, name_en, kind, created_at, updated_at) "
                "VALUES (1, 'park', 'حديقة', 'Park', 'park', ?, ?)", (T0, T0))
    raw.executemany(
        "INSERT INTO aps (id, name, mac, mgmt_ip, platform, site_id, snmp_version, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, 'openwrt', 1, '2c', ?, ?)",
        [(1, "ap-1", "02:00:00:00:00:01", "10.0.0.1", T0, T0),
         (2, "ap-2", "02:00:00:00:00:02", "10.0.0.2", T0, T0)])
    raw.execute("INSERT INTO ap_groups (id, name, created_at) VALUES (7, 'gate', ?)", (T0,))
    raw.execute("INSERT INTO ap_group_members (ap_id, group_id) VALUES (1, 7)")
    raw.execute("INSERT INTO config_variables VALUES ('global', 0, '{}', ?, 'web:olga')", (T1,))
    raw.execute("INSERT INTO config_versions (id, ap_id, version, sha256, body_enc, source, "
                "taken_at, taken_by, last_seen_at) VALUES (3, 1, 1, 'abc', '', 'backup', ?, "
                "'cli:root', ?)", (T0, T1))
    raw.execute("INSERT INTO ssh_host_keys (ap_id, key_type, key_base64, fingerprint, pinned_at, "
                "pinned_by, pending_fingerprint, pending_seen_at) VALUES (1, 'ssh-ed25519', "
                "'AAAA', 'SHA256:x', ?, 'system', 'SHA256:y', ?)", (T0, T1))
    raw.execute("INSERT INTO ssh_host_keys (ap_id, key_type, key_base64, fingerprint, pinned_at, "
                "pinned_by) VALUES (2, 'ssh-ed25519', 'BBBB', 'SHA256:z', ?, 'system')", (T1,))
    raw.execute("INSERT INTO provision_jobs (id, kind, target, status, total, created_by, "
                "created_at, started_at, finished_at, runner) VALUES (5, 'push', 'all', "
                "'succeeded', 2, 'web:olga', ?, ?, ?, 'host:1:2')", (T0, T0, T1))
    raw.execute("INSERT INTO provision_jobs (id, kind, target, status, created_by, created_at) "
                "VALUES (6, 'backup', 'ap:ap-2', 'queued', 'web:olga', ?)", (T1,))
    raw.execute("INSERT INTO provision_job_items (job_id, ap_id, status, started_at, "
                "finished_at) VALUES (5, 1, 'succeeded', ?, ?)", (T0, T1))
    raw.execute("INSERT INTO provision_job_items (job_id, ap_id, status) VALUES (5, 2, 'queued')")
    raw.execute("INSERT INTO pending_aps (id, mac, mgmt_ip, source, first_seen_at, last_seen_at, "
                "status, adopted_ap_id) VALUES (9, '02:00:00:00:00:09', '10.0.0.9', 'mqtt', ?, ?, "
                "'adopted', 2)", (T0, T1))
    raw.commit()
    raw.close()


def test_a_store_from_the_previous_release_gets_unix_seconds(store_before):
    path = store_before("netconfig", "unix_times")
    _previous_release_rows(path)
    store = Store(path)
    conn = store.conn
    assert_times_are_unix_seconds(conn, TIMES)
    assert conn.execute("SELECT created_at FROM ap_groups").fetchone() == (T0_UNIX,)
    assert conn.execute("SELECT * FROM ap_group_members").fetchall() == [(1, 7)]
    assert conn.execute("SELECT updated_at, updated_by FROM config_variables").fetchone() == \
        (T1_UNIX, "web:olga")
    assert conn.execute("SELECT taken_at, last_seen_at FROM config_versions").fetchone() == \
        (T0_UNIX, T1_UNIX)
    assert conn.execute("SELECT ap_id, pinned_at, pending_seen_at FROM ssh_host_keys "
                        "ORDER BY ap_id").fetchall() == [(1, T0_UNIX, T1_UNIX),
                                                         (2, T1_UNIX, None)]
    assert conn.execute("SELECT id, created_at, started_at, finished_at, runner FROM "
                        "provision_jobs ORDER BY id").fetchall() == [
        (5, T0_UNIX, T0_UNIX, T1_UNIX, "host:1:2"), (6, T1_UNIX, None, None, None)]
    assert conn.execute("SELECT ap_id, started_at, finished_at FROM provision_job_items "
                        "ORDER BY ap_id").fetchall() == [(1, T0_UNIX, T1_UNIX), (2, None, None)]
    assert conn.execute("SELECT first_seen_at, last_seen_at, adopted_ap_id FROM "
                        "pending_aps").fetchone() == (T0_UNIX, T1_UNIX, 2)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert not [name for (name,) in conn.execute("SELECT name FROM sqlite_master")
                if name.endswith("_old")]
    store.close()


def test_the_rebuilt_tables_keep_their_links_indexes_and_columns(store_before, tmp_path):
    path = store_before("netconfig", "unix_times")
    _previous_release_rows(path)
    upgraded, fresh = Store(path), Store(tmp_path / "fresh.db")
    for table in TIMES:
        # Same columns in the same order as a new store (the API and CLI print whole rows).
        assert schema(upgraded.conn, table) == schema(fresh.conn, table), table
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"
    assert upgraded.conn.execute(indexes).fetchall() == fresh.conn.execute(indexes).fetchall()
    # The children follow their parents, as before: deleting an AP or a job cascades.
    upgraded.conn.execute("DELETE FROM provision_jobs WHERE id = 5")
    assert upgraded.conn.execute("SELECT count(*) FROM provision_job_items").fetchone() == (0,)
    upgraded.conn.execute("DELETE FROM aps WHERE id = 1")
    for table in ("ap_group_members", "config_versions", "ssh_host_keys"):
        assert upgraded.conn.execute(f"SELECT count(*) FROM {table} WHERE ap_id = 1"
                                     ).fetchone() == (0,), table
    upgraded.conn.execute("DELETE FROM ap_groups WHERE id = 7")
    upgraded.close()
    fresh.close()


# ---- what the API and CLI show: ISO-8601 text, as before -------------------------------------

@pytest.fixture
def recorded(store, secrets, monkeypatch):
    """A version, a finished job, a pending AP and a changed host key, each at a known time."""
    for module in ("backups", "jobs", "adoption", "hostkeys"):
        monkeypatch.setattr(f"netconfig.{module}.now", lambda: T0_UNIX)
    add_site(store)
    ap = add_ap(store, secrets, 1)
    backups.record(store, secrets, ap["id"], "config\n", "backup", "test")
    job_id = jobs.create(store, "backup", "ap:ap-001", [ap["id"]], "test")
    jobs.start(store, job_id)
    jobs.item_started(store, job_id, ap["id"], "read")
    monkeypatch.setattr("netconfig.jobs.now", lambda: T1_UNIX)
    jobs.item_finished(store, job_id, ap["id"], "succeeded", None, None, failed=False)
    jobs.finish(store, job_id, "succeeded")
    adoption.announce(store, ProvisioningConfig(adoption_networks="10.9.0.0/24"),
                      mgmt_ip="10.9.0.5", source="mqtt", mac="02:00:00:00:09:05")
    hostkeys.pin_first(store, ap, HostKey("ssh-ed25519", "AAAA"), "test")
    monkeypatch.setattr("netconfig.hostkeys.now", lambda: T1_UNIX)
    hostkeys.record_mismatch(store, ap, HostKey("ssh-ed25519", "BBBB"))
    return job_id


def test_the_api_shows_provisioning_times_as_iso_text(config, secrets, store, recorded):
    client, op = build_app(config, secrets).test_client(), bearer(store, "olga", "operator")
    version = client.get("/api/v1/aps/ap-001/config/history", headers=op).get_json()["versions"][0]
    assert (version["taken_at"], version["last_seen_at"]) == (T0, T0)
    job = client.get(f"/api/v1/provisioning/jobs/{recorded}", headers=op).get_json()
    assert (job["created_at"], job["started_at"], job["finished_at"]) == (T0, T0, T1)
    assert (job["items"][0]["started_at"], job["items"][0]["finished_at"]) == (T0, T1)
    listed = client.get("/api/v1/provisioning/jobs", headers=op).get_json()["jobs"][0]
    assert (listed["created_at"], listed["finished_at"]) == (T0, T1)
    pending = client.get("/api/v1/provisioning/pending", headers=op).get_json()["pending"][0]
    assert (pending["first_seen_at"], pending["last_seen_at"]) == (T0, T0)
    key = client.get("/api/v1/aps/ap-001/hostkey", headers=op).get_json()
    assert (key["pinned_at"], key["pending_seen_at"]) == (T0, T1)
    ignored = client.post(f"/api/v1/provisioning/pending/{pending['id']}/ignore", headers=op)
    assert ignored.get_json()["last_seen_at"] == T0


def test_the_cli_shows_provisioning_times_as_iso_text(config, store, recorded, tmp_path):
    toml = tmp_path / "cli.toml"
    toml.write_text(f"[store]\npath = '{config.store.path}'\nkey_file = "
                    f"'{config.store.key_file}'\n")

    @click.group()
    @click.pass_context
    def root(ctx):
        ctx.obj = CliContext(str(toml))
    root.add_command(config_group)

    def oasis(*args):
        result = CliRunner().invoke(root, ["config", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    version = json.loads(oasis("history", "ap-001", "--json"))[0]
    assert (version["taken_at"], version["last_seen_at"]) == (T0, T0)
    assert f"  {T0}  {T0}  test" in oasis("history", "ap-001")
    job = json.loads(oasis("jobs", "--json"))[0]
    assert (job["created_at"], job["started_at"], job["finished_at"]) == (T0, T0, T1)
    assert oasis("jobs").splitlines()[1].endswith(f"test        {T0}")
    item = json.loads(oasis("jobs", str(recorded), "--json"))[0]
    assert (item["started_at"], item["finished_at"]) == (T0, T1)
    pending = json.loads(oasis("pending", "--json"))[0]
    assert (pending["first_seen_at"], pending["last_seen_at"]) == (T0, T0)
    shown = oasis("hostkey", "ap-001")
    assert f"since {T0}\n" in shown and f"at {T1}; pushes refused" in shown
