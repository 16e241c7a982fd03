"""``oasis store copy SOURCE TARGET``: move an SQLite store into a new PostgreSQL database.

The source is brought to this release's schema first (its pending migrations applied, as at
any start), then its tables, indexes and rows are created in the target in one transaction:
a copy that fails leaves the target as empty as it was. Row counts are compared table by table
afterwards. The target must hold no store yet (a database with ``schema_migrations`` is
refused: copying over a live store would mix two histories).

Stop every node that writes the source first (``systemctl stop oasis-*``); the copy reads a
consistent snapshot of the file, but writes made after it would be lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg

from core.store import Store
from core.store.postgresql import copy_tables, create_schema, is_url, redacted

__all__ = ["CopyError", "copy_store", "sqlite_path"]


class CopyError(Exception):
    """A copy refused or failed; the message says why, and the target is unchanged."""


def sqlite_path(location: str) -> Path:
    """``sqlite:///relative/path``, ``sqlite:////absolute/path`` or a plain path -> the path."""
    if location.startswith("sqlite:///"):
        return Path(location[len("sqlite:///"):])
    if location.startswith("sqlite:"):
        raise CopyError(f"{location}: write sqlite:///relative/path or sqlite:////absolute/path")
    return Path(location)


def copy_store(source: str, target: str,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy the SQLite store ``source`` into the empty PostgreSQL database ``target``; returns
    table -> rows copied."""
    if is_url(source) or not is_url(target):
        raise CopyError("copy from an SQLite store (a path or sqlite:///...) to a PostgreSQL"
                        " database (postgresql://...)")
    path = sqlite_path(source)
    if not path.is_file():
        raise CopyError(f"{path}: no such SQLite store")
    Store(path).close()  # pending migrations first: the target gets this release's schema
    try:
        raw = psycopg.connect(target, autocommit=True)
    except psycopg.Error as exc:
        raise CopyError(f"{redacted(target)}: cannot connect: {str(exc).strip()}") from None
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if raw.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchall()[0][0]:
            raise CopyError(f"{redacted(target)} already holds a store: copy into an empty"
                            f" database")
        src.execute("BEGIN")  # one snapshot of the file for the whole copy
        try:
            with raw.transaction():
                create_schema(raw, src)
                counts = copy_tables(raw, src, progress=progress)
        except psycopg.Error as exc:
            raise CopyError(f"copy failed, nothing written: {str(exc).strip()}") from None
        for table, n in counts.items():
            (copied,) = raw.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0]
            if copied != n:
                raise CopyError(f"{table}: {n} rows read but {copied} in the target")
        return counts
    finally:
        src.close()
        raw.close()
