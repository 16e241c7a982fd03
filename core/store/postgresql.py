"""The store on PostgreSQL (psycopg 3), behind the same connection interface as SQLite's.

Why a thin layer of our own rather than SQLAlchemy Core: the project's ~450 statements are
SQLite SQL run through sqlite3's DB-API (``conn.execute(sql, params)``, ``lastrowid``,
tuples, ``sqlite3.IntegrityError``). Rewriting each into SQLAlchemy expressions would touch
every query for no behaviour gained; instead each statement is translated once by sqlglot
(`core.store.dialect`) and run through this adapter, which gives PostgreSQL's results the
shapes sqlite3 gives:

- rows are tuples (``conn.execute``) or dicts (``db.query``); ``numeric`` results (``sum`` of
  integers, ``avg``) come back as int or float, as from SQLite; Python bools go in as 0/1;
- ``cursor.lastrowid`` is the new row's id (the INSERT gets ``RETURNING <identity column>``);
- errors are raised as `sqlite3.IntegrityError` / `sqlite3.OperationalError`, so callers catch
  one family on both backends;
- a write transaction (``store.transaction()``, ``BEGIN IMMEDIATE``) takes a store-wide
  advisory lock first: write transactions are serialised exactly as SQLite serialises them, so
  every check-then-write the code does inside one (rate limits, claims, counters) keeps its
  guarantee across processes and nodes. Statements outside a transaction run concurrently.
  Inside a transaction each write runs under a savepoint, so a caught IntegrityError leaves
  the transaction usable, as on SQLite.

Connections come from a psycopg_pool pool per process and database (a Store is opened per
request and per worker pass; a new PostgreSQL connection costs milliseconds).

A new database gets its schema in one step: every migration is applied to an in-memory SQLite
database, and the resulting tables, indexes and rows are created in PostgreSQL (`create_schema`,
the same copy `oasis store copy` does). Migrations added after that apply to it one by one,
translated like any other statement.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql as pgsql
from psycopg.adapt import Dumper, Loader
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from core.store.dialect import COMPAT_FUNCTIONS, Translated, translate, translate_ddl

__all__ = ["PgConnection", "PgDatabase", "close_pools", "copy_tables", "create_schema",
           "is_url", "redacted"]

#: The advisory lock every write transaction takes (serialising writers as SQLite does).
WRITE_LOCK = 0x0A515_0940

_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(_SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class _NumericLoader(Loader):
    """numeric -> int when whole, else float (SQLite gives int or float, never Decimal)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


class _BoolAsInt(Dumper):
    """Python bools go in as 0/1: the store's flags are INTEGER columns, as on SQLite."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _StrWithoutNul(Dumper):
    """PostgreSQL text cannot hold NUL, which SQLite stores; a NUL a client sent (a form field,
    an SMS body) is kept as U+FFFD, the replacement character, instead of failing the write.
    Sent untyped (oid 0), as psycopg sends a str, so PostgreSQL casts it to the column's type."""

    oid = 0

    def dump(self, obj: str) -> bytes:
        return (obj.replace("\x00", "\ufffd") if "\x00" in obj else obj).encode()


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", _NumericLoader)
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_dumper(str, _StrWithoutNul)


_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(url: str) -> ConnectionPool:
    key = (os.getpid(), url)  # a forked worker opens its own
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ConnectionPool(url, min_size=0, max_size=int(os.environ.get(
                "OASIS_PG_POOL_MAX", "16")), kwargs={"autocommit": True},
                configure=_configure, open=True, timeout=30, name=f"oasis-{os.getpid()}")
            _pools[key] = pool
        return pool


def close_pools(url: str | None = None) -> None:
    """Close this process's pools (of ``url`` only, when given)."""
    with _pools_lock:
        for key in [k for k in _pools if url is None or k[1] == url]:
            pool = _pools.pop(key)
            if key[0] == os.getpid():
                pool.close(timeout=5)


def _raise_as_sqlite(exc: psycopg.Error, statement: str = "") -> None:
    if statement and os.environ.get("OASIS_PG_TRACE"):
        import sys
        print(f"PG-TRACE {type(exc).__name__}: {str(exc).strip()}\n  {statement}", file=sys.stderr)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.IntegrityError):
        raise sqlite3.IntegrityError(message) from exc
    if isinstance(exc, (psycopg.OperationalError, psycopg.ProgrammingError,
                        psycopg.DataError, psycopg.NotSupportedError)):
        raise sqlite3.OperationalError(message) from exc
    raise sqlite3.DatabaseError(message) from exc


class PgCursor:
    """The part of sqlite3.Cursor the project uses."""

    def __init__(self, rows: list[tuple] | None, description: Any, rowcount: int,
                 lastrowid: int | None):
        self._rows = rows or []
        self._at = 0
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> tuple | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[tuple]:
        rows, self._at = self._rows[self._at:], len(self._rows)
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = self._rows[self._at:self._at + size]
        self._at += len(rows)
        return rows

    def __iter__(self) -> Iterator[tuple]:
        return self

    def __next__(self) -> tuple:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def close(self) -> None:
        pass


class PgConnection:
    """A pooled psycopg connection speaking sqlite3's interface (see the module docstring)."""

    def __init__(self, url: str):
        self.url = url
        self._pool = _pool(url)
        self._raw: psycopg.Connection | None = self._pool.getconn()

    #: sqlite3's trace callback: given each statement the store runs, as translated.
    _trace: Callable[[str], object] | None = None

    def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        self._trace = callback

    @property
    def raw(self) -> psycopg.Connection:
        if self._raw is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._raw

    @property
    def in_transaction(self) -> bool:
        # INTRANS or INERROR; ACTIVE is another thread's statement running on this
        # connection (sqlite3 lets threads share one too), not an open transaction.
        status = self.raw.info.transaction_status
        return status in (psycopg.pq.TransactionStatus.INTRANS,
                          psycopg.pq.TransactionStatus.INERROR)

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            self._pool.putconn(raw)

    def __del__(self) -> None:  # a Store left open returns its connection when collected
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown, closed pool
            pass

    def _run(self, query: str, params: Sequence[Any] | None, *,
             row_factory: Any = None) -> Any:
        conn = self.raw
        cursor = (psycopg.RawCursor(conn, row_factory=row_factory) if row_factory
                  else psycopg.RawCursor(conn))
        with cursor:
            cursor.execute(query, params or None)
            rows = cursor.fetchall() if cursor.description is not None else None
            if row_factory:
                return rows or []
            return PgCursor(rows, cursor.description, cursor.rowcount, None)

    def _run_guarded(self, query: str, params: Sequence[Any] | None) -> PgCursor:
        """A write inside a transaction, under a savepoint sent with it in one round trip
        (pipeline mode): if it fails, the transaction goes back to just before it and stays
        usable. Savepoints are not released (they end with the transaction), which saves a
        round trip per write."""
        raw = self.raw
        cursor = psycopg.RawCursor(raw)
        try:
            with raw.pipeline():
                raw.execute("SAVEPOINT oasis_write")
                cursor.execute(query, params or None)
        except BaseException:
            cursor.close()
            if raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                raw.execute("ROLLBACK TO SAVEPOINT oasis_write")
            raise
        with cursor:
            rows = cursor.fetchall() if cursor.description is not None else None
            return PgCursor(rows, cursor.description, cursor.rowcount, None)

    def execute(self, sql: str, params: Sequence[Any] | dict | None = (), /) -> PgCursor:
        stmt = translate(sql, primary_key_of(self.url))
        if stmt.noop:
            return PgCursor([], None, -1, None)
        if self._trace is not None:
            self._trace(str(stmt))
        upper = stmt[:8].upper()
        try:
            if upper.startswith("BEGIN"):
                self.raw.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                return PgCursor([], None, -1, None)
            if upper.startswith(("COMMIT", "ROLLBACK")) and not upper.startswith("ROLLBACK T"):
                if self.in_transaction:
                    self.raw.execute(stmt)
                return PgCursor([], None, -1, None)
            params = _positional(params, stmt.names)
            identity = None
            query: str = stmt
            if stmt.insert_table and not stmt.returns:
                identity = identity_of(self.url, stmt.insert_table)
                if identity:
                    query = f"{stmt} RETURNING {identity}"
            guarded = self.in_transaction and upper.startswith(("INSERT", "UPDATE", "DELETE"))
            cur = self._run_guarded(query, params) if guarded else self._run(query, params)
            assert isinstance(cur, PgCursor)
            if identity:
                rows = cur.fetchall()
                cur = PgCursor([], None, cur.rowcount, rows[-1][0] if rows else None)
                if identity in stmt.insert_columns:
                    _advance_identity(self.raw, stmt.insert_table, identity)
            return cur
        except psycopg.Error as exc:
            _raise_as_sqlite(exc, stmt)
            raise  # unreachable

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]], /) -> PgCursor:
        stmt = translate(sql, primary_key_of(self.url))
        rows = [_positional(p, stmt.names) for p in seq]
        if not rows:
            return PgCursor([], None, 0, None)
        if self._trace is not None:
            self._trace(str(stmt))
        try:
            with psycopg.RawCursor(self.raw) as cursor:
                cursor.executemany(stmt, [r or [] for r in rows])
                count = cursor.rowcount
            if stmt.insert_table and (identity := identity_of(self.url, stmt.insert_table)) \
                    and identity in stmt.insert_columns:
                _advance_identity(self.raw, stmt.insert_table, identity)
            return PgCursor([], None, count, None)
        except psycopg.Error as exc:
            _raise_as_sqlite(exc, stmt)
            raise

    def query_dicts(self, sql: str, params: Sequence[Any] | dict | None = ()) -> list[dict]:
        stmt = translate(sql, primary_key_of(self.url))
        if self._trace is not None:
            self._trace(str(stmt))
        try:
            result = self._run(stmt, _positional(params, stmt.names), row_factory=dict_row)
        except psycopg.Error as exc:
            _raise_as_sqlite(exc, stmt)
            raise
        assert isinstance(result, list)
        return result

    def commit(self) -> None:
        if self.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")


def _positional(params: Sequence[Any] | dict | None,
               names: tuple[str, ...] = ()) -> list[Any] | None:
    if params is None:
        return None
    if isinstance(params, dict):
        try:
            return [params[name] for name in names]
        except KeyError as exc:
            raise sqlite3.ProgrammingError(f"You did not supply a value for binding"
                                           f" parameter :{exc.args[0]}.") from None
    return list(params)


def _advance_identity(conn: psycopg.Connection, table: str | None, column: str) -> None:
    """An INSERT that gave the id itself leaves the identity sequence behind; move it on so
    the next INSERT without one does not collide (SQLite numbers from the largest id)."""
    conn.execute(pgsql.SQL(
        "SELECT setval(pg_get_serial_sequence({t}, {c}), m) FROM"
        " (SELECT max({col}) AS m FROM {tbl}) x WHERE m IS NOT NULL").format(
        t=pgsql.Literal(table), c=pgsql.Literal(column), col=pgsql.Identifier(column),
        tbl=pgsql.Identifier(table or "")))


@functools.lru_cache(maxsize=64)
def _catalog(url: str) -> dict[str, Any]:
    """Table -> primary key columns and identity column, read once per database."""
    pool = _pool(url)
    with pool.connection() as conn:
        pk: dict[str, tuple[str, ...]] = {}
        for table, column in conn.execute(
                "SELECT c.relname, a.attname FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
                " JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true"
                " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
                " WHERE i.indisprimary ORDER BY c.relname, k.ord"):
            pk[table] = pk.get(table, ()) + (column,)
        identity: dict[str, str] = dict(conn.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " WHERE a.attidentity <> '' AND NOT a.attisdropped").fetchall())
    return {"pk": pk, "identity": identity}


def forget_catalog() -> None:
    """After DDL (a migration), the catalog is read again."""
    _catalog.cache_clear()
    primary_key_of.cache_clear()


def identity_of(url: str, table: str) -> str | None:
    return _catalog(url)["identity"].get(table)


@functools.lru_cache(maxsize=64)
def primary_key_of(url: str):
    def lookup(table: str) -> tuple[str, ...]:
        return _catalog(url)["pk"].get(table, ())
    return lookup


class PgDatabase:
    """The part of sqlite_utils.Database the project uses."""

    def __init__(self, conn: PgConnection):
        self.conn = conn

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict]:
        yield from self.conn.query_dicts(sql, params)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        return self.conn.execute(sql, params or ())

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " ORDER BY tablename").fetchall()]


# -- schema and copy -----------------------------------------------------------------------

def _sqlite_tables(src: sqlite3.Connection) -> list[str]:
    """Tables in an order that satisfies their foreign keys."""
    names = [r[0] for r in src.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name")]
    deps = {n: {r[2] for r in src.execute(f"PRAGMA foreign_key_list('{n}')")} - {n}
            for n in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and deps[n] <= set(ordered)]
        if not ready:  # a cycle: take the rest in name order
            ready = [n for n in names if n not in ordered]
        ordered.extend(ready)
    return ordered


def create_schema(raw: psycopg.Connection, src: sqlite3.Connection) -> None:
    """The tables and indexes of SQLite database ``src``, created in PostgreSQL."""
    raw.execute(COMPAT_FUNCTIONS)
    for table in _sqlite_tables(src):
        (ddl,) = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (table,)).fetchone()
        raw.execute(translate_ddl(ddl))
    for (ddl,) in src.execute("SELECT sql FROM sqlite_master WHERE type = 'index'"
                              " AND sql IS NOT NULL ORDER BY name"):
        raw.execute(translate(ddl))


def copy_tables(raw: psycopg.Connection, src: sqlite3.Connection, *,
                progress: Any = None) -> dict[str, int]:
    """Copy every row of ``src`` into the same tables in PostgreSQL (COPY, in FK order), then
    move each identity sequence past the largest id. Returns table -> rows copied."""
    counts: dict[str, int] = {}
    for table in _sqlite_tables(src):
        columns = [r[1] for r in src.execute(f"PRAGMA table_info('{table}')")]
        kinds = {r[0]: r[1] for r in raw.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s", (table,))}
        binary = [i for i, c in enumerate(columns) if kinds.get(c) == "bytea"]
        n = 0
        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(table), pgsql.SQL(", ").join(map(pgsql.Identifier, columns)))
        with raw.cursor().copy(stmt) as copy:
            for row in src.execute(
                    f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM "{table}"'
                    f" ORDER BY rowid" if _has_rowid(src, table) else
                    f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM "{table}"'):
                if binary:
                    row = tuple(v.encode() if i in binary and isinstance(v, str) else v
                                for i, v in enumerate(row))
                copy.write_row(row)
                n += 1
        counts[table] = n
        if progress:
            progress(table, n)
    for table, column in raw.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = current_schema()"
            " WHERE a.attidentity <> '' AND NOT a.attisdropped").fetchall():
        _advance_identity(raw, table, column)
    return counts


def _has_rowid(src: sqlite3.Connection, table: str) -> bool:
    try:
        src.execute(f'SELECT rowid FROM "{table}" LIMIT 0')
        return True
    except sqlite3.OperationalError:
        return False
