"""The edge databases upgrade in place: a file made by the release that created its tables
inline is adopted by migration 0001 with every row kept, and a later migration applies to it."""

from __future__ import annotations

import sqlite3
from importlib import resources

import pytest

from agents.backhaul.telemetry import Spool
from agents.backoffice import office
from agents.gateway.sessions import MIGRATIONS as GATEWAY_MIGRATIONS
from agents.gateway.sessions import SessionBook
from core import migrate

# The tables as the release before numbered migrations created them (its inline schemas).
OLD_SESSION_BOOK = """
CREATE TABLE IF NOT EXISTS clients (mac TEXT PRIMARY KEY, ip TEXT NOT NULL UNIQUE,
  session_id INTEGER NOT NULL, started_at REAL NOT NULL, expires_at REAL NOT NULL,
  quota_bytes INTEGER NOT NULL, idle_timeout_s INTEGER NOT NULL, rate_up_kbps INTEGER NOT NULL,
  rate_down_kbps INTEGER NOT NULL, bytes_up INTEGER NOT NULL DEFAULT 0,
  bytes_down INTEGER NOT NULL DEFAULT 0, last_seen REAL NOT NULL);
INSERT INTO clients VALUES ('02:aa:00:00:00:01', '10.20.0.50', 7, 1793521800.0, 1793525400.0,
  500000000, 900, 2048, 8192, 1200, 34000, 1793521900.0);
"""
OLD_SPOOL = """
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
  schema TEXT NOT NULL, payload TEXT NOT NULL, retain INTEGER NOT NULL);
INSERT INTO outbox (topic, schema, payload, retain) VALUES ('oasis/backhaul/b1/events',
  'backhaul-event/1', '{"kind": "failover"}', 0);
"""
OLD_BACK_OFFICE = """
CREATE TABLE IF NOT EXISTS received (message_id TEXT PRIMARY KEY, topic TEXT NOT NULL,
  tracking TEXT, payload TEXT NOT NULL, received_at REAL NOT NULL,
  copies INTEGER NOT NULL DEFAULT 1, status TEXT);
CREATE TABLE IF NOT EXISTS status_outbox (update_id TEXT PRIMARY KEY, tracking TEXT NOT NULL,
  payload TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL);
INSERT INTO received (message_id, topic, tracking, payload, received_at)
  VALUES ('940-2026-000001', 'oasis/reports/new', '940-2026-000001', '{}', 1793521800.0);
"""


def _old_file(path, script: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.close()


def _versions(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return migrate.schema_versions(conn)
    finally:
        conn.close()


def test_a_gateways_session_book_from_the_old_release_is_adopted(tmp_path):
    path = tmp_path / "sessions.db"
    _old_file(path, OLD_SESSION_BOOK)
    book = SessionBook(path)
    client = book.by_mac("02:aa:00:00:00:01")
    assert (client.ip, client.session_id, client.bytes_down) == ("10.20.0.50", 7, 34000)
    book.close()
    assert _versions(path) == {"gateway": 1}
    SessionBook(path).close()  # opening again applies nothing and keeps the record
    assert _versions(path) == {"gateway": 1}


def test_a_branch_spool_from_the_old_release_keeps_its_unsent_messages(tmp_path):
    path = tmp_path / "spool.db"
    _old_file(path, OLD_SPOOL)
    spool = Spool(path)
    [(_id, topic, _schema, payload, retain)] = spool.oldest()
    assert (topic, payload, retain) == ("oasis/backhaul/b1/events", {"kind": "failover"}, False)
    spool.close()
    assert _versions(path) == {"backhaul": 1}


def test_the_back_offices_database_from_the_old_release_is_adopted(tmp_path):
    path = tmp_path / "backoffice.db"
    _old_file(path, OLD_BACK_OFFICE)
    db = office._open(str(path))
    assert db.execute("SELECT tracking FROM received").fetchall() == [("940-2026-000001",)]
    db.close()
    assert _versions(path) == {"backoffice": 1}


def test_a_later_migration_applies_to_a_deployed_session_book(tmp_path, monkeypatch):
    """What the next release's migration 0002 does to a gateway's file: a package of SQL files
    given to the same runner."""
    path = tmp_path / "sessions.db"
    _old_file(path, OLD_SESSION_BOOK)
    SessionBook(path).close()
    package = tmp_path / "next_release" / "migrations"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package.parent / "__init__.py").write_text("")
    for sql in resources.files(GATEWAY_MIGRATIONS["gateway"]).iterdir():
        if sql.name.endswith(".sql"):
            (package / sql.name).write_text(sql.read_text())
    (package / "0002_client_ap.sql").write_text(
        "ALTER TABLE clients ADD COLUMN ap TEXT;\nUPDATE clients SET ap = 'ap-1';\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate.migrate_file(conn, {"gateway": "next_release.migrations"}) == [2]
    assert conn.execute("SELECT mac, ap FROM clients").fetchall() == \
        [("02:aa:00:00:00:01", "ap-1")]
    assert migrate.migrate_file(conn, {"gateway": "next_release.migrations"}) == []
    conn.close()
    assert _versions(path) == {"gateway": 2}


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    package = tmp_path / "broken_release" / "migrations"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "0001_spool.sql").write_text(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    conn = sqlite3.connect(tmp_path / "spool.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate.migrate_file(conn, {"backhaul": "broken_release.migrations"})
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'outbox'").fetchall() == []
    assert migrate.schema_versions(conn) == {}
    conn.close()
