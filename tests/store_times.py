"""Checks the store-upgrade tests of every package share (not a test module)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence


def schema(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """Columns (name, declared type, not null, default, primary key) in order."""
    return [tuple(row[1:]) for row in conn.execute(f"PRAGMA table_info({table})")]


def assert_times_are_unix_seconds(conn: sqlite3.Connection,
                                  times: Mapping[str, Sequence[str]]) -> None:
    """Every listed time column is declared REAL and holds only REAL values (or NULL)."""
    for table, columns in times.items():
        declared = {row[1]: row[2] for row in conn.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            kinds = {row[0] for row in conn.execute(f"SELECT DISTINCT typeof({column}) "
                                                    f"FROM {table}")}
            assert kinds <= {"real", "null"}, (table, column, kinds)
            assert declared[column] == "REAL", (table, column)
