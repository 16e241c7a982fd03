"""The SQLite store: WAL mode through sqlite-utils, numbered migrations applied at open.

Each thread opens its own `Store`; SQLite connections are not shared across threads.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from importlib import resources
from pathlib import Path

import sqlite_utils

MIGRATIONS = "controller.store.migrations"


def utcnow() -> str:
    """Now as ISO-8601 UTC with seconds, the store's timestamp format."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def available_migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every ``NNNN_name.sql`` in the migrations folder, in order."""
    found = []
    for entry in resources.files(MIGRATIONS).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name[5:-4], entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"duplicate migration numbers in {MIGRATIONS}: {numbers}")
    return found


class Store:
    """A connection to the store with its migrations applied."""

    def __init__(self, path: str | Path, *, migrate: bool = True):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        if migrate:
            self.migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def schema_version(self) -> int:
        if "schema_migrations" not in self.db.table_names():
            return 0
        row = self.conn.execute("SELECT max(number) FROM schema_migrations").fetchone()
        return row[0] or 0

    def migrate(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction; returns their numbers."""
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        applied = []
        # By number recorded, not by the highest one: a migration numbered below one already
        # applied (added on another branch) is still applied.
        done = {row[0] for row in self.conn.execute("SELECT number FROM schema_migrations")}
        for number, name, sql in available_migrations():
            if number in done:
                continue
            with self.transaction():
                # executescript would commit on its own; run statement by statement instead.
                for statement in _statements(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                  (number, name, utcnow()))
            applied.append(number)
        return applied

    def transaction(self):
        """``with store.transaction():`` -- BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
        return _Transaction(self.conn)

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


def _statements(sql: str) -> list[str]:
    """Split a migration into complete statements (sqlite3.complete_statement knows quoting)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(l.strip().startswith("--") or not l.strip() for l in buf.splitlines()):
        raise RuntimeError(f"incomplete statement at end of migration: {buf[:80]!r}")
    return out
