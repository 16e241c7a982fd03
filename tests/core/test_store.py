import os
import sqlite3

import pytest

from core.secrets import SecretBox, SecretError
from core.store import Migration, Store, available_migrations, iso, with_iso


def test_migrations_apply_once_in_order(tmp_path):
    path = tmp_path / "s.db"
    store = Store(path)
    numbers = [m.number for m in available_migrations()]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert max(store.schema_versions().values()) == numbers[-1]
    assert store.migrate() == []  # nothing left to apply
    store.close()
    again = Store(path)
    assert max(again.schema_versions().values()) == numbers[-1]
    assert again.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_package_brings_its_own_migrations():
    components = {m.component for m in available_migrations()}
    assert {"core", "controller", "portal", "reports", "netconfig"} <= components
    for component in components:
        numbers = [m.number for m in available_migrations() if m.component == component]
        assert numbers == sorted(set(numbers)), component


def test_a_store_recorded_before_components_upgrades_without_reapplying(tmp_path):
    path = tmp_path / "old.db"
    Store(path).close()
    raw = sqlite3.connect(path)  # the record as the previous release kept it: global numbers
    raw.execute("DROP TABLE schema_migrations")
    raw.execute("CREATE TABLE schema_migrations "
                "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    raw.executemany("INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01T00:00:00+00:00')",
                    [(m.number, m.name) for m in available_migrations()])
    raw.commit()
    raw.close()
    store = Store(path)  # would fail on CREATE TABLE if anything were applied again
    recorded = set(store.conn.execute("SELECT component, number, name FROM schema_migrations"))
    assert recorded == {(m.component, m.number, m.name) for m in available_migrations()}
    assert "schema_migrations_old" not in store.db.table_names()


def test_a_migration_numbered_below_the_newest_is_still_applied(tmp_path, monkeypatch):
    import core.store as store_module

    store = Store(tmp_path / "s.db")
    late = Migration("portal", 15, "late_branch", "CREATE TABLE late_branch (id INTEGER PRIMARY KEY);")
    real = available_migrations()
    monkeypatch.setattr(store_module, "available_migrations",
                        lambda: sorted([*real, late], key=lambda m: (m.number, m.component)))
    assert store.migrate() == [15]
    assert "late_branch" in store.db.table_names()
    assert store.migrate() == []


def test_a_store_from_the_previous_release_gets_the_sessions_ap(tmp_path):
    path = tmp_path / "old.db"
    Store(path).close()
    raw = sqlite3.connect(path)  # as the release before it left the database
    raw.execute("ALTER TABLE portal_sessions DROP COLUMN ap")
    raw.execute("DELETE FROM schema_migrations WHERE name = 'session_ap'")
    raw.commit()
    raw.close()
    store = Store(path)
    assert "ap" in {row[1] for row in store.conn.execute("PRAGMA table_info(portal_sessions)")}


def test_failed_transaction_writes_nothing(store):
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as conn:
            conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                         "VALUES ('a', 'h', 'admin', 1.0)")
            conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                         "VALUES ('a', 'h', 'admin', 1.0)")
    assert store.conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_secret_box_round_trip_and_key_file_mode(tmp_path):
    key = tmp_path / "k"
    box = SecretBox.from_key_file(key)
    assert os.stat(key).st_mode & 0o777 == 0o600
    token = box.encrypt("s3cret-ssh")
    assert "s3cret" not in token
    assert SecretBox.from_key_file(key).decrypt(token) == "s3cret-ssh"
    assert box.encrypt("") is None and box.decrypt(None) is None
    assert "hidden" in repr(box)


def test_secret_box_narrows_a_loose_key_file_and_refuses_a_wrong_key(tmp_path):
    key = tmp_path / "k"
    token = SecretBox.from_key_file(key).encrypt("x")
    os.chmod(key, 0o644)
    assert SecretBox.from_key_file(key).decrypt(token) == "x"  # with a warning: core.files
    assert os.stat(key).st_mode & 0o777 == 0o600
    with pytest.raises(SecretError, match="does not decrypt"):
        SecretBox.from_key_file(tmp_path / "other").decrypt(token)


def test_a_migration_record_with_iso_times_gets_unix_seconds(tmp_path):
    path = tmp_path / "old.db"
    Store(path).close()
    raw = sqlite3.connect(path)  # as this release's record kept them before: ISO-8601 text
    raw.execute("ALTER TABLE schema_migrations RENAME TO record")
    raw.execute("CREATE TABLE schema_migrations (component TEXT NOT NULL, number INTEGER NOT NULL,"
                " name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, number))")
    raw.execute("INSERT INTO schema_migrations SELECT component, number, name,"
                " '2026-11-01T10:00:00+00:00' FROM record")
    raw.execute("DROP TABLE record")
    raw.commit()
    raw.close()
    store = Store(path)
    assert store.migrate() == []
    assert set(store.conn.execute("SELECT typeof(applied_at), applied_at FROM schema_migrations")) \
        == {("real", 1793527200.0)}
    assert iso(1793527200.0) == "2026-11-01T10:00:00+00:00"


def test_iso_shows_unix_seconds_as_the_store_showed_its_text():
    assert iso(None) is None
    assert iso(1795376486.0) == "2026-11-22T19:41:26+00:00"
    # julianday() converts '19:41:26+00:00' to 1795376485.9999804: still 19:41:26.
    assert iso(1795376485.9999804) == "2026-11-22T19:41:26+00:00"
    assert iso(1795376486.9, "milliseconds") == "2026-11-22T19:41:26.900+00:00"
    assert with_iso({"at": 1795376486.0, "end": None, "n": 1}, "at", "end", "gone") == \
        {"at": "2026-11-22T19:41:26+00:00", "end": None, "n": 1}
