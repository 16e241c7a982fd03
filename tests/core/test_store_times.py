"""The core tables keep their times as REAL unix seconds; a store from the release that kept
ISO-8601 text upgrades with every row, link and constraint intact."""

import sqlite3

from core import audit, inventory
from core.store import Store
from tests.store_times import assert_times_are_unix_seconds, schema

T0 = "2026-11-01T08:30:00+00:00"
T0_UNIX = 1793521800.0
T1 = "2026-11-02T09:45:17+00:00"
T1_UNIX = 1793612717.0

TIMES = {
    "sites": ["created_at", "updated_at"],
    "aps": ["created_at", "updated_at"],
    "users": ["created_at"],
    "api_tokens": ["created_at", "last_used_at"],
    "audit_log": ["at"],
}


def _previous_release_rows(path) -> None:
    """Rows as the previous release wrote them: times as ISO-8601 text."""
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("INSERT INTO sites (id, slug, name_ar, name_en, kind, created_at, updated_at) "
                "VALUES (1, 'park', 'حديقة', 'Park', 'park', ?, ?)", (T0, T1))
    raw.execute("INSERT INTO aps (id, name, mac, mgmt_ip, platform, site_id, snmp_version, "
                "created_at, updated_at) VALUES (1, 'ap-1', '02:00:00:00:00:01', '10.0.0.1', "
                "'openwrt', 1, '2c', ?, ?)", (T0, T1))
    raw.execute("INSERT INTO users (id, username, password_hash, role, created_at) "
                "VALUES (4, 'olga', 'h', 'operator', ?)", (T0,))
    raw.execute("INSERT INTO api_tokens (id, user_id, name, token_sha256, created_at, "
                "last_used_at) VALUES (8, 4, 'ci', 'abc', ?, ?)", (T0, T1))
    raw.execute("INSERT INTO api_tokens (id, user_id, name, token_sha256, created_at) "
                "VALUES (9, 4, 'unused', 'def', ?)", (T1,))
    raw.execute("INSERT INTO audit_log (id, at, actor, action, target_type, target_id, detail) "
                "VALUES (2, ?, 'cli:root', 'site.create', 'site', 'park', '{}')", (T0,))
    raw.execute("INSERT INTO ap_events (ap_id, at, kind, source) VALUES (1, ?, 'coldStart', "
                "'trap')", (T0,))
    raw.commit()
    raw.close()


def test_a_store_from_the_previous_release_gets_unix_seconds(store_before):
    path = store_before("core", "unix_times")
    _previous_release_rows(path)
    store = Store(path)
    conn = store.conn
    assert_times_are_unix_seconds(conn, TIMES)
    assert conn.execute("SELECT created_at, updated_at FROM sites").fetchone() == \
        (T0_UNIX, T1_UNIX)
    assert conn.execute("SELECT created_at, updated_at FROM aps").fetchone() == (T0_UNIX, T1_UNIX)
    assert conn.execute("SELECT created_at FROM users").fetchone() == (T0_UNIX,)
    assert conn.execute("SELECT id, user_id, created_at, last_used_at FROM api_tokens "
                        "ORDER BY id").fetchall() == [(8, 4, T0_UNIX, T1_UNIX),
                                                      (9, 4, T1_UNIX, None)]
    [entry] = audit.entries(store)
    assert (entry["id"], entry["at"], entry["action"]) == (2, T0_UNIX, "site.create")
    assert audit.shown(entry)["at"] == T0
    assert inventory.shown(inventory.get_ap(store, "ap-1"))["updated_at"] == T1
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert not [name for (name,) in conn.execute("SELECT name FROM sqlite_master")
                if name.endswith("_unix")]
    store.close()


def test_the_changed_tables_keep_their_links_indexes_and_columns(store_before, tmp_path):
    path = store_before("core", "unix_times")
    _previous_release_rows(path)
    upgraded, fresh = Store(path), Store(tmp_path / "fresh.db")
    for table in TIMES:
        # Same columns in the same order as a new store (the API and CLI print whole rows).
        assert schema(upgraded.conn, table) == schema(fresh.conn, table), table
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"
    assert upgraded.conn.execute(indexes).fetchall() == fresh.conn.execute(indexes).fetchall()
    # Nothing that refers to an AP or a user lost its rows, and deleting still cascades.
    assert upgraded.conn.execute("SELECT count(*) FROM ap_events").fetchone() == (1,)
    upgraded.conn.execute("DELETE FROM aps WHERE id = 1")
    assert upgraded.conn.execute("SELECT count(*) FROM ap_events").fetchone() == (0,)
    upgraded.conn.execute("DELETE FROM users WHERE id = 4")
    assert upgraded.conn.execute("SELECT count(*) FROM api_tokens").fetchone() == (0,)
    upgraded.close()
    fresh.close()
