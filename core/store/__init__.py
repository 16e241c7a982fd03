"""The SQLite store: WAL mode through sqlite-utils, numbered migrations applied at open.

Each thread opens its own `Store`; SQLite connections are not shared across threads.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast, overload

import sqlite_utils

from core.files import ensure_private, touch_private
from core.migrate import (MIGRATIONS_GROUP, RECORD_TABLE, Migration, available_migrations,
                          migration_folders)
from core.migrate import apply as apply_migrations
from core.store.dialect import COMPAT_FUNCTIONS
from core.store.postgresql import (PgConnection, PgDatabase, copy_tables, create_schema,
                                   forget_catalog, is_url, redacted)

__all__ = ["MIGRATIONS_GROUP", "Migration", "Store", "available_migrations", "is_url", "iso",
           "migration_folders", "now", "with_iso"]


def now() -> float:
    """Now as unix seconds (UTC epoch, a float): how the store keeps every time."""
    return time.time()


@overload
def iso(ts: float, timespec: str = ...) -> str: ...
@overload
def iso(ts: None, timespec: str = ...) -> None: ...
@overload
def iso(ts: float | None, timespec: str = ...) -> str | None: ...
def iso(ts: float | None, timespec: str = "seconds") -> str | None:
    """Unix seconds as ISO-8601 UTC with an explicit offset (``...T12:00:00+00:00``), the form
    the API, CLI, pages and payloads show; None stays None. ``timespec`` as
    `datetime.isoformat` (``"milliseconds"`` for times that came with them, e.g. a branch's).

    The time is rounded to the millisecond before the finer digits are cut: a time converted
    from ISO text by ``julianday()`` may sit some microseconds below the second it was on.
    """
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(round(ts, 3), dt.timezone.utc).isoformat(timespec=timespec)


def with_iso(row: Mapping[str, Any], *columns: str) -> dict[str, Any]:
    """A copy of ``row`` with the named time columns (unix seconds) as `iso` text, for output
    that showed the store's ISO-8601 text before times became unix seconds."""
    return {**row, **{column: iso(row[column]) for column in columns if column in row}}


class Store:
    """A connection to the store with its migrations applied.

    ``location`` is a file path (SQLite, the default) or a ``postgresql://`` URL
    (`core.store.postgresql`); both give the same interface: ``conn`` (sqlite3's DB-API),
    ``db.query`` (rows as dicts), `transaction`.
    """

    def __init__(self, location: str | Path, *, migrate: bool = True):
        self.backend = "postgresql" if is_url(location) else "sqlite"
        if self.backend == "postgresql":
            self.location = str(location)
            self.path = redacted(self.location)
            self._pg = PgConnection(self.location)
            # Typed as sqlite_utils' Database: PgDatabase has the part of it the code uses.
            self.db = cast(sqlite_utils.Database, PgDatabase(self._pg))
            if migrate:
                self.migrate()
            return
        self.path = self.location = str(location)
        if self.path != ":memory:":
            _private_files(Path(self.path))
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
        if self.backend == "postgresql":
            return cast(sqlite3.Connection, self._pg)  # sqlite3's interface (postgresql.py)
        return self.db.conn

    def schema_versions(self) -> dict[str, int]:
        """Component -> number of its newest applied migration."""
        if "schema_migrations" not in self.db.table_names():
            return {}
        return dict(self.conn.execute(
            "SELECT component, max(number) FROM schema_migrations GROUP BY component ORDER BY 1"))

    def migrate(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction; returns their numbers."""
        if self.backend == "postgresql":
            if (os.getpid(), self._pg.url) in _pg_migrated:  # once per process and database
                return []
            return _migrate_postgresql(self._pg, available_migrations())
        available = available_migrations()
        self._upgrade_migration_table(available)
        return apply_migrations(self.conn, available)

    def _upgrade_migration_table(self, available: list[Migration]) -> None:
        """Create the migration record, or bring an older one to the current form.

        Before each package brought its own migrations, numbers were global and the record had
        no component column; each recorded (number, name) names exactly one migration now.
        ``applied_at`` was ISO-8601 text before the store kept every time as unix seconds.
        """
        columns = {row[1]: row[2] for row in
                   self.conn.execute("PRAGMA table_info(schema_migrations)")}
        if "component" in columns and columns.get("applied_at") == "REAL":
            return
        with self.transaction():
            if columns:
                self.conn.execute("ALTER TABLE schema_migrations RENAME TO schema_migrations_old")
            self.conn.execute(RECORD_TABLE)
            if not columns:
                return
            component = "component" if "component" in columns else "NULL"
            owner = {(m.number, m.name): m.component for m in available}
            for recorded, number, name, applied_at in self.conn.execute(
                    f"SELECT {component}, number, name,"
                    f" round((julianday(applied_at) - 2440587.5) * 86400.0, 3)"
                    f" FROM schema_migrations_old").fetchall():
                self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                                  (recorded or owner.get((number, name), "unknown"), number,
                                   name, applied_at))
            self.conn.execute("DROP TABLE schema_migrations_old")

    def transaction(self):
        """``with store.transaction():`` -- BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
        return _Transaction(self.conn)

    def close(self) -> None:
        self.conn.close()


_pg_migrated: set[tuple[int, str]] = set()


def _migrate_postgresql(conn: PgConnection, available: list[Migration]) -> list[int]:
    """A new PostgreSQL database gets the whole schema at once (every migration applied to an
    in-memory SQLite database, then its tables, indexes and rows created in PostgreSQL); one
    made by an older release gets the migrations it lacks, translated. Once per process and
    database; a session advisory lock keeps two processes from migrating together."""
    key = (os.getpid(), conn.url)
    if key in _pg_migrated:
        return []
    raw = conn.raw
    raw.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        (exists,) = raw.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchall()[0]
        if not exists:
            src = sqlite3.connect(":memory:", isolation_level=None)
            try:
                src.execute(RECORD_TABLE)
                numbers = apply_migrations(src, available)
                with raw.transaction():
                    create_schema(raw, src)
                    copy_tables(raw, src)
            finally:
                src.close()
            applied = numbers
        else:
            raw.execute(COMPAT_FUNCTIONS)
            applied = apply_migrations(conn, available)  # type: ignore[arg-type]
        forget_catalog()
    finally:
        raw.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    _pg_migrated.add(key)
    return applied


#: The session advisory lock held while a PostgreSQL store is migrated.
MIGRATION_LOCK = 0x0A515_0001


def _private_files(path: Path) -> None:
    """The database file is made 0600 before SQLite first opens it; its ``-wal`` and ``-shm``
    files take the database's mode when SQLite creates them. Files an older release left open
    to others are narrowed, with a warning (`core.files.ensure_private`)."""
    touch_private(path)
    for suffix in ("-wal", "-shm"):
        ensure_private(f"{path}{suffix}")


class _Transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False
