"""The store's SQLite statements as PostgreSQL runs them (core.store.dialect), and the same
statements run on the `store` fixture: on the PostgreSQL pass (`--store postgresql`) they run
on PostgreSQL, so each translation is checked against the real server."""

import sqlite3

import pytest

from core.store.dialect import numbered, translate


@pytest.mark.parametrize("sqlite, postgres", [
    ("SELECT a FROM t WHERE b IS NOT ? AND c = ?",
     "SELECT a FROM t WHERE b IS DISTINCT FROM $1 AND c = $2"),
    ("SELECT '?' FROM t WHERE x = ? -- what?\n", "SELECT '?' FROM t WHERE x = $1 /* what? */"),
    ("SELECT 1 FROM t WHERE name LIKE ?", "SELECT 1 FROM t WHERE name ILIKE $1"),
    ("SELECT CASE WHEN enabled THEN 1 ELSE 0 END FROM t WHERE NOT deleted",
     "SELECT CASE WHEN enabled <> 0 THEN 1 ELSE 0 END FROM t WHERE NOT deleted <> 0"),
    ("SELECT 1 FROM t WHERE (? IS NULL OR g = ?)",
     "SELECT 1 FROM t WHERE (CAST($1 AS TEXT) IS NULL OR g = $2)"),
    ("SELECT r.id FROM r CROSS JOIN e ON e.r = r.id", "SELECT r.id FROM r JOIN e ON e.r = r.id"),
    ("SELECT max(a, ?), iif(b, 1, 2) FROM t",
     "SELECT GREATEST(a, $1), CASE WHEN b <> 0 THEN 1 ELSE 2 END FROM t"),
    ("PRAGMA foreign_keys=ON", "SELECT 1"),
    ("SELECT CAST((at + ?) / 86400 AS INTEGER), CAST(n AS INTEGER) FROM t",
     "SELECT CAST(TRUNC((at + $1) / NULLIF(86400, 0)) AS BIGINT), CAST(n AS BIGINT) FROM t"),
    ("SELECT sum(a > 0), total(a IS NULL) FROM t",
     "SELECT SUM(CAST(a > 0 AS INT)), TOTAL(CAST(a IS NULL AS INT)) FROM t"),
    ("SELECT count(*) FROM (SELECT a FROM t) JOIN (SELECT b FROM u) ON a = b",
     ("SELECT COUNT(*) FROM (SELECT a FROM t) AS _subquery1 JOIN (SELECT b FROM u) AS _subquery2"
      " ON a = b")),
    ("SELECT a FROM t WHERE a IN () OR b NOT IN () OR c IN (?)",
     "SELECT a FROM t WHERE FALSE OR NOT FALSE OR c IN ($1)"),
    ("INSERT INTO t (a, b, c) VALUES (?2, ?1, ?, '?3')",
     "INSERT INTO t (a, b, c) VALUES ($2, $1, $3, '?3')"),
    ("BEGIN IMMEDIATE", "BEGIN"),
])
def test_translations(sqlite, postgres):
    assert translate(sqlite) == postgres


def test_named_parameters_keep_one_number_per_name():
    text, names = numbered("SELECT :a, :b, :a, '::x', CAST(y AS TEXT)")
    assert text == "SELECT $1, $2, $1, '::x', CAST(y AS TEXT)"
    assert names == ("a", "b")


def test_upserts_and_insert_or(store):
    conn = store.conn
    conn.execute("INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at)"
                 " VALUES ('x', 'a', 1, 1, 5)")
    # a bare column in DO UPDATE is the existing row's, as on SQLite
    conn.execute("INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at)"
                 " VALUES ('x', 'b', 2, 2, 9) ON CONFLICT (name) DO UPDATE SET"
                 " expires_at = expires_at + 1 WHERE holder = 'a'")
    assert conn.execute("SELECT holder, expires_at FROM leases").fetchall() == [("a", 6.0)]
    conn.execute("INSERT OR IGNORE INTO leases (name, holder, acquired_at, renewed_at,"
                 " expires_at) VALUES ('x', 'c', 3, 3, 3)")
    assert conn.execute("SELECT holder FROM leases").fetchall() == [("a",)]
    conn.execute("INSERT OR REPLACE INTO leases (name, holder, acquired_at, renewed_at,"
                 " expires_at) VALUES ('x', 'd', 4, 4, 4)")
    assert conn.execute("SELECT holder, expires_at FROM leases").fetchall() == [("d", 4.0)]


def test_results_have_sqlite_shapes(store):
    conn = store.conn
    for i, flag in enumerate((True, False, True)):
        conn.execute("INSERT INTO rate_limit_events (key, at, expires_at) VALUES (?, ?, ?)",
                      (f"k{int(flag)}", float(i), i + 0.5))
    row = conn.execute("SELECT count(*), sum(at), total(at), avg(at), round(avg(expires_at), 1)"
                       " FROM rate_limit_events WHERE key LIKE 'K%'").fetchone()
    assert row == (3, 3.0, 3.0, 1.0, 1.5)
    assert [type(v) for v in row[:1]] == [int]
    assert list(store.db.query("SELECT key FROM rate_limit_events WHERE at = ?", [1.0])) == [
        {"key": "k0"}]
    cursor = conn.execute("INSERT INTO audit_log (at, actor, action, detail)"
                          " VALUES (?, ?, ?, ?)", (1.0, "t", "x", "{}"))
    assert isinstance(cursor.lastrowid, int) and cursor.lastrowid > 0


def test_errors_are_sqlite_errors_and_a_transaction_survives_one(store):
    conn = store.conn
    with store.transaction():
        conn.execute("INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at)"
                     " VALUES ('y', 'a', 1, 1, 5)")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO leases (name, holder, acquired_at, renewed_at,"
                         " expires_at) VALUES ('y', 'b', 1, 1, 5)")
        conn.execute("UPDATE leases SET holder = 'c' WHERE name = 'y'")  # still usable
    assert conn.execute("SELECT holder FROM leases WHERE name = 'y'").fetchone() == ("c",)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT no_such_column FROM leases")


def test_text_with_nul_is_stored(store):
    conn = store.conn
    conn.execute("INSERT INTO leases (name, holder, acquired_at, renewed_at, expires_at)"
                 " VALUES (?, 'a', 1, 1, 1)", ("a\x00b",))
    (name,) = conn.execute("SELECT name FROM leases").fetchone()
    assert name in ("a\x00b", "a\ufffdb")  # SQLite keeps the NUL; PostgreSQL U+FFFD


def test_sqlite_arithmetic_and_subqueries_run_alike(store):
    conn = store.conn
    conn.executemany("INSERT INTO rate_limit_events (key, at, expires_at) VALUES (?, ?, ?)",
                     [("a", 86400 * 1.75, 0.0), ("b", 86400 * 0.25, 0.0), ("b", 3e9 * 4, 0.0)])
    # a float cast to an integer truncates (1.75 days is day 1), 64-bit
    assert conn.execute("SELECT CAST((at + ?) / 86400 AS INTEGER), CAST(at * 1000 AS INTEGER)"
                        " FROM rate_limit_events WHERE key = 'a'", (0,)).fetchone() == (
        1, 151200000)
    assert conn.execute("SELECT CAST(at AS INTEGER) FROM rate_limit_events WHERE at > 1e10"
                        ).fetchone() == (12000000000,)
    # a condition counts as 0 or 1
    assert conn.execute("SELECT sum(at > 86400), total(key = 'b') FROM rate_limit_events"
                        ).fetchone() == (2, 2.0)
    assert conn.execute("SELECT count(*) FROM (SELECT key FROM rate_limit_events GROUP BY key)"
                        ).fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM rate_limit_events WHERE key IN () OR at NOT IN ()"
                        ).fetchone() == (3,)
    # ?NNN keeps its number; a bare ? after it takes the next
    assert conn.execute("SELECT count(*) FROM rate_limit_events WHERE key = ?2 AND at > ?1"
                        " AND expires_at = ?", (1.0, "b", 0.0)).fetchone() == (2,)
