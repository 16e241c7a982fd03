"""`oasis store copy`: an SQLite store moves into PostgreSQL whole, or not at all."""

import sqlite3

import pytest
from click.testing import CliRunner

from controller.cli import cli
from core import inventory
from core.secrets import SecretBox
from core.store import Store
from core.store.copy import CopyError, copy_store


@pytest.fixture
def box(tmp_path):
    return SecretBox.from_key_file(tmp_path / "key")


@pytest.fixture
def filled(tmp_path, box):
    path = tmp_path / "old.db"
    store = Store(path)
    site = inventory.add_site(store, {"slug": "north-walk", "name_ar": "ممشى الشمال",
                                      "name_en": "North walk", "kind": "walkway"}, actor="test")
    for i in range(3):
        inventory.add_ap(store, box, {"name": f"ap-{i}", "mgmt_ip": f"10.0.0.{i + 1}",
                                 "mac": f"00:11:22:33:44:0{i}", "site": site["slug"],
                                 "platform": "openwrt"}, actor="test")
    store.close()
    return path


def test_copy_moves_every_row_and_new_ids_follow(filled, postgres_cluster, box):
    target = postgres_cluster.empty_database()
    counts = copy_store(str(filled), target)
    assert counts["aps"] == 3 and counts["sites"] == 1
    src = sqlite3.connect(filled)
    for table, n in counts.items():
        assert src.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == n, table
    pg = Store(target)
    try:
        names = [r[0] for r in pg.conn.execute("SELECT name_ar FROM sites")]
        assert names == ["ممشى الشمال"]
        before = max(r[0] for r in pg.conn.execute("SELECT id FROM aps"))
        new = inventory.add_ap(pg, box, {"name": "ap-new", "mgmt_ip": "10.0.0.99",
                                    "mac": "00:11:22:33:44:99", "site": "north-walk",
                                    "platform": "openwrt"}, actor="test")
        assert new["id"] == before + 1  # the identity sequence moved past the copied ids
        assert pg.schema_versions() == Store(filled).schema_versions()
    finally:
        pg.close()


def test_copy_refuses_a_database_that_holds_a_store(filled, postgres_cluster):
    target = postgres_cluster.database()  # a migrated store already
    with pytest.raises(CopyError, match="already holds a store"):
        copy_store(str(filled), target)


def test_cli_copy_and_its_errors(filled, postgres_cluster, tmp_path):
    target = postgres_cluster.empty_database()
    runner = CliRunner()
    done = runner.invoke(cli, ["store", "copy", f"sqlite:///{filled}", target])
    assert done.exit_code == 0, done.output
    assert "aps: 3 rows" in done.output and "set [store] url" in done.output
    again = runner.invoke(cli, ["store", "copy", str(filled), target])
    assert again.exit_code == 1 and "already holds a store" in again.output
    missing = runner.invoke(cli, ["store", "copy", str(tmp_path / "none.db"), target])
    assert missing.exit_code == 1 and "no such SQLite store" in missing.output
    backwards = runner.invoke(cli, ["store", "copy", target, str(filled)])
    assert backwards.exit_code == 1 and "copy from an SQLite store" in backwards.output
