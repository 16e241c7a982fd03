"""Numbered SQL migrations: found in folders, applied in order, each in its own transaction.

The central store (`core.store.Store`) takes its folders from the ``oasis.migrations`` entry
points of the installed distributions. The edge databases (the park gateway's session book,
the branch agent's telemetry spool, the reference back office's database) each give their own
folder directly (`migrate_file`), so a gateway or a branch router upgrades its file in place
when a new release first opens it. This module imports only the standard library: the slim
agent distribution uses it without the store's sqlite-utils.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.metadata import entry_points
from typing import NamedTuple

#: Entry-point group under which each package names its migrations folder (a Python package
#: holding ``NNNN_name.sql`` files): ``<component> = "<package>.migrations"``. The store imports no
#: package of ours; it learns the folders from the installed distribution's metadata.
MIGRATIONS_GROUP = "oasis.migrations"

#: The record of applied migrations, as every database made by this code keeps it.
RECORD_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL,"
                " number INTEGER NOT NULL, name TEXT NOT NULL, applied_at REAL NOT NULL,"
                " PRIMARY KEY (component, number))")


class Migration(NamedTuple):
    component: str
    number: int
    name: str
    sql: str


@functools.cache
def migration_folders() -> dict[str, str]:
    """Component -> migrations package, as registered by the installed distributions."""
    found = {ep.name: ep.value for ep in entry_points(group=MIGRATIONS_GROUP)}
    if not found:
        raise RuntimeError(f"no migrations registered under the entry-point group "
                           f"{MIGRATIONS_GROUP!r}: is the project installed (pip install -e .)?")
    return found


def available_migrations(folders: Mapping[str, str] | None = None) -> list[Migration]:
    """Every ``NNNN_name.sql`` of every component (``folders``, else the registered ones), in
    the order they apply.

    Numbers are unique within a component. Across components the number orders them, so a
    migration that refers to another package's table is numbered above that table's migration.
    """
    found = []
    for component, package in (migration_folders() if folders is None else folders).items():
        numbers = []
        for entry in resources.files(package).iterdir():
            name = entry.name
            if name.endswith(".sql") and name[:4].isdigit():
                numbers.append(int(name[:4]))
                found.append(Migration(component, int(name[:4]), name[5:-4],
                                       entry.read_text(encoding="utf-8")))
        if len(set(numbers)) != len(numbers):
            raise RuntimeError(f"duplicate migration numbers in {package}: {sorted(numbers)}")
    found.sort(key=lambda m: (m.number, m.component))
    return found


def apply(conn: sqlite3.Connection, migrations: Iterable[Migration]) -> list[int]:
    """Apply those of ``migrations`` not recorded in ``schema_migrations`` yet; returns their
    numbers. ``conn`` is in autocommit mode (``isolation_level=None``)."""
    applied = []
    # By (component, number) recorded, not by the highest one: a migration numbered below
    # one already applied (added on another branch) is still applied.
    done = set(conn.execute("SELECT component, number FROM schema_migrations"))
    for migration in migrations:
        if (migration.component, migration.number) in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit on its own; run statement by statement instead.
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                         (migration.component, migration.number, migration.name, time.time()))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(migration.number)
    return applied


def migrate_file(conn: sqlite3.Connection, folders: Mapping[str, str]) -> list[int]:
    """Bring an edge database up to date from ``folders`` (component -> migrations package).

    A file an older release created from its inline schema has no record yet: its first
    migration creates the same tables ``IF NOT EXISTS``, so the file is adopted as it is and
    later migrations apply to it.
    """
    conn.execute(RECORD_TABLE)
    return apply(conn, available_migrations(folders))


def schema_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """Component -> number of its newest applied migration ({} before any)."""
    try:
        return dict(conn.execute("SELECT component, max(number) FROM schema_migrations "
                                 "GROUP BY component ORDER BY 1"))
    except sqlite3.OperationalError:
        return {}


def statements(sql: str) -> list[str]:
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


__all__ = ["MIGRATIONS_GROUP", "RECORD_TABLE", "Migration", "apply", "available_migrations",
           "migrate_file", "migration_folders", "schema_versions", "statements"]
