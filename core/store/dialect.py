"""The store's SQL, written once in SQLite's dialect, as PostgreSQL runs it.

Every query in the project is SQLite SQL with ``?`` placeholders. On a PostgreSQL store each
statement is translated once (then served from a cache) by sqlglot, a maintained SQL
transpiler, plus the few rewrites it does not make:

- ``?`` placeholders become ``$1, $2, ...`` before parsing, so their order survives any
  reordering, and the statement runs on psycopg's raw cursor (no ``%`` escaping to get wrong);
- ``INSERT OR IGNORE`` gets ``ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE`` an upsert on the
  table's primary key (SQLite replaces on any unique key; every such statement here conflicts
  on the primary key);
- ``LIKE`` becomes ``ILIKE`` (SQLite's LIKE ignores ASCII case), ``GLOB`` a regular expression;
- ``NULLS FIRST`` that sqlglot adds to keep SQLite's NULL ordering stays in ORDER BY and
  leaves conflict targets and index columns, where PostgreSQL does not accept it;
- ``PRAGMA`` statements have no PostgreSQL meaning and become no-ops;
- DDL: every INTEGER column is BIGINT (SQLite integers are 64-bit), an ``INTEGER PRIMARY KEY``
  is an identity column (SQLite's rowid alias numbers itself too), REAL is DOUBLE PRECISION
  (PostgreSQL's REAL is 4 bytes: a unix time would lose its seconds), untyped columns TEXT.

The functions SQLite has and PostgreSQL lacks (julianday, total, round of a double...) are
created in the database instead (`COMPAT_FUNCTIONS`). Statements that still fail on
PostgreSQL are rewritten at their call site in SQL both engines accept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

__all__ = ["COMPAT_FUNCTIONS", "Translated", "numbered", "translate", "translate_ddl"]

#: SQLite functions the project's SQL uses, defined for PostgreSQL.
COMPAT_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL THEN NULL
                WHEN lower(t) = 'now' THEN extract(epoch FROM clock_timestamp()) / 86400.0 + 2440587.5
                ELSE extract(epoch FROM (t::timestamptz)) / 86400.0 + 2440587.5 END $$;
CREATE OR REPLACE FUNCTION julianday(t double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
CREATE OR REPLACE FUNCTION round(x double precision, digits integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE AS $$ SELECT round(x::numeric, digits)::double precision $$;
CREATE OR REPLACE FUNCTION round(x double precision, digits bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE AS $$ SELECT round(x::numeric, digits::integer)::double precision $$;
CREATE OR REPLACE FUNCTION json_extract_path_text(doc text, VARIADIC path text[]) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT json_extract_path_text(doc::json, VARIADIC path) $$;
CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT strpos(haystack, needle) $$;
CREATE OR REPLACE FUNCTION typeof(v anyelement) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL THEN 'null'
                WHEN pg_typeof(v)::text IN ('double precision', 'real', 'numeric') THEN 'real'
                WHEN pg_typeof(v)::text IN ('bigint', 'integer', 'smallint', 'boolean')
                    THEN 'integer'
                WHEN pg_typeof(v)::text = 'bytea' THEN 'blob' ELSE 'text' END $$;
DO $$ BEGIN
    CREATE AGGREGATE total(double precision) (sfunc = float8pl, stype = float8, initcond = '0');
EXCEPTION WHEN duplicate_function THEN NULL; END $$;
"""


class Translated(str):
    """A translated statement, with what running it needs to know."""

    #: The table an INSERT writes (for the new row's id, like sqlite3's ``lastrowid``).
    insert_table: str | None = None
    #: The columns an INSERT names.
    insert_columns: tuple[str, ...] = ()
    #: Whether it has a RETURNING clause already.
    returns: bool = False
    #: A statement that does nothing on PostgreSQL (PRAGMA).
    noop: bool = False
    #: The ``:name`` parameters in number order (a statement written with names).
    names: tuple[str, ...] = ()


_PLACEHOLDER = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|::|\?\d*|(?<![\w:]):[A-Za-z_]\w*)""")


def numbered(sql: str) -> tuple[str, tuple[str, ...] | int]:
    """``?`` (or ``:name``) outside quotes and comments -> ``$1, $2, ...``; returns the text
    and the count of ``?`` (or the names in order, a name used twice keeping one number).
    ``?NNN`` keeps its number, and a ``?`` after it takes the next, as in SQLite."""
    count = 0
    names: list[str] = []

    def repl(m: re.Match[str]) -> str:
        nonlocal count
        token = m.group(0)
        if token == "?":
            count += 1
            return f"${count}"
        if token.startswith("?"):
            count = max(count, int(token[1:]))
            return f"${int(token[1:])}"
        if token.startswith(":") and token != "::":
            name = token[1:]
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"
        return token

    text = _PLACEHOLDER.sub(repl, sql)
    return text, (tuple(names) if names else count)


def _glob_to_regex(pattern: str) -> str:
    out, i = ["^"], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out) + "$"


def _truthy(node: exp.Expression | None) -> exp.Expression | None:
    """SQLite takes any number as a condition; PostgreSQL wants a boolean. A bare column or
    number in a condition becomes ``<> 0`` (the store's flags are INTEGER columns)."""
    if isinstance(node, (exp.Column, exp.Literal)) and not (
            isinstance(node, exp.Literal) and node.is_string):
        return exp.NEQ(this=node.copy(), expression=exp.Literal.number(0))
    if isinstance(node, exp.Paren):
        inner = _truthy(node.this)
        return exp.Paren(this=inner) if inner is not node.this else node
    return node


def _is_parameter(node: exp.Expression | None) -> bool:
    """``$n`` (a numbered ``?``), which sqlglot's SQLite reader takes for a column name."""
    return (isinstance(node, (exp.Column, exp.Parameter, exp.Placeholder))
            and node.name.lstrip("$").isdigit() and node.sql().startswith("$"))


_INTEGER_TYPES = (exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT,
                  exp.DataType.Type.TINYINT)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_CONDITIONS = (exp.Predicate, exp.Connector, exp.Not)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.In) and not any(
            node.args.get(k) for k in ("expressions", "query", "unnest", "field")):
        return exp.false()  # ``x IN ()``: SQLite allows the empty list (never true)
    if (isinstance(node, exp.Cast) and node.to.this in _INTEGER_TYPES
            and not isinstance(node.this, _CONDITIONS)):  # a boolean casts to INT only
        # SQLite's integers are 64-bit; its CAST of a float truncates where PostgreSQL's
        # rounds (a day number from unix seconds would move to noon).
        node.set("to", exp.DataType.build("BIGINT"))
        if isinstance(node.this.unnest(), _ARITHMETIC):
            node.set("this", exp.Anonymous(this="TRUNC", expressions=[node.this.copy()]))
        return node
    if isinstance(node, (exp.Sum, exp.Avg, exp.Min, exp.Max)) and isinstance(
            node.this, _CONDITIONS):
        # ``sum(x > 0)``: a condition is 0 or 1 in SQLite, a boolean in PostgreSQL.
        node.set("this", exp.Cast(this=node.this.copy(), to=exp.DataType.build("INT")))
        return node
    if (isinstance(node, exp.Anonymous) and node.name.lower() == "total"
            and len(node.expressions) == 1 and isinstance(node.expressions[0], _CONDITIONS)):
        node.set("expressions", [exp.Cast(this=node.expressions[0].copy(),
                                          to=exp.DataType.build("INT"))])
        return node
    if isinstance(node, exp.Is) and _is_parameter(node.this):
        # ``? IS NULL``: PostgreSQL must know the parameter's type; any value casts to text.
        node.set("this", exp.Cast(this=node.this.copy(), to=exp.DataType.build("TEXT")))
        return node
    if isinstance(node, (exp.If, exp.Where, exp.Having, exp.Not)):
        fixed = _truthy(node.this)
        if fixed is not node.this:
            node.set("this", fixed)
    elif isinstance(node, (exp.And, exp.Or)):
        for key in ("this", "expression"):
            fixed = _truthy(node.args.get(key))
            if fixed is not node.args.get(key):
                node.set(key, fixed)
    if isinstance(node, exp.Join) and node.kind == "CROSS" and node.args.get("on") is not None:
        node.set("kind", None)  # SQLite allows CROSS JOIN ... ON; it is an inner join
    if isinstance(node, exp.Like):
        return exp.ILike(this=node.this, expression=node.expression)
    if isinstance(node, exp.Glob) and isinstance(node.expression, exp.Literal):
        return exp.RegexpLike(this=node.this,
                              expression=exp.Literal.string(_glob_to_regex(node.expression.name)))
    return node


def _qualify_upsert(insert: exp.Insert, table: str) -> None:
    """In ``ON CONFLICT ... DO UPDATE SET a = a + 1 WHERE b < 5`` SQLite reads a bare column as
    the existing row's; PostgreSQL calls it ambiguous (the row or EXCLUDED). Name the table."""
    conflict = insert.args.get("conflict")
    if conflict is None:
        return
    parts = [eq.expression for eq in conflict.expressions if isinstance(eq, exp.EQ)]
    if conflict.args.get("where") is not None:
        parts.append(conflict.args["where"])
    for part in parts:
        for column in part.find_all(exp.Column):
            if not column.table:
                column.set("table", exp.to_identifier(table))


_ON_CONFLICT = re.compile(r"ON CONFLICT\s*\(([^)]*)\)")


def _strip_nulls_first(sql: str) -> str:
    return _ON_CONFLICT.sub(lambda m: "ON CONFLICT (" + m.group(1).replace(" NULLS FIRST", "")
                            + ")", sql)


@functools.lru_cache(maxsize=8192)
def translate(sql: str, primary_key: Callable[[str], tuple[str, ...]] | None = None) -> Translated:
    """SQLite statement -> PostgreSQL statement (cached by text).

    ``primary_key(table)`` names a table's key columns, for ``INSERT OR REPLACE``.
    """
    stripped = sql.strip().rstrip(";").strip()
    head = stripped[:16].upper()
    if head.startswith("PRAGMA"):
        out = Translated("SELECT 1")
        out.noop = True
        return out
    if head.startswith(("BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE")):
        return Translated("COMMIT" if head.startswith("END") else stripped.split()[0].upper()
                          if head.startswith("BEGIN") else stripped)
    text, params = numbered(stripped)
    if head.startswith("CREATE") and " TABLE " in f" {stripped[:40].upper()} ":
        return Translated(translate_ddl(text))
    tree = sqlglot.parse_one(text, read="sqlite")
    tree = tree.transform(_rewrite)
    unnamed = [s for s in tree.find_all(exp.Subquery)
               if isinstance(s.parent, (exp.From, exp.Join)) and not s.alias]
    for n, subquery in enumerate(unnamed, 1):  # PostgreSQL 15 wants a name for each
        subquery.set("alias", exp.TableAlias(this=exp.to_identifier(f"_subquery{n}")))
    alternative = None
    table = None
    columns: tuple[str, ...] = ()
    if isinstance(tree, exp.Insert):
        alternative = (tree.args.get("alternative") or "").upper() or None
        tree.set("alternative", None)
        target = tree.this
        if isinstance(target, exp.Schema):
            columns = tuple(c.name for c in target.expressions)
            target = target.this
        if isinstance(target, exp.Table):
            table = target.name
            _qualify_upsert(tree, target.alias_or_name)
    out_sql = _strip_nulls_first(tree.sql(dialect="postgres"))
    if isinstance(tree, exp.Create) and tree.kind == "INDEX":
        out_sql = out_sql.replace(" NULLS FIRST", "")
    if alternative in ("IGNORE", "REPLACE") and table:
        if alternative == "IGNORE":
            clause = " ON CONFLICT DO NOTHING"
        else:
            keys = primary_key(table) if primary_key else ()
            if not keys:
                raise ValueError(f"INSERT OR REPLACE INTO {table}: the table has no primary key")
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
            clause = (f" ON CONFLICT ({', '.join(keys)}) "
                      + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING"))
        at = out_sql.upper().rfind(" RETURNING ")
        out_sql = (out_sql[:at] + clause + out_sql[at:]) if at >= 0 else out_sql + clause
    result = Translated(out_sql)
    if isinstance(params, tuple):
        result.names = params
    if isinstance(tree, exp.Insert):
        result.insert_table = table
        result.insert_columns = columns
        result.returns = tree.args.get("returning") is not None
    return result


_INTEGER_PK = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b(?!\s+AUTOINCREMENT)", re.I)


def translate_ddl(sqlite_sql: str) -> str:
    """A SQLite CREATE TABLE as PostgreSQL DDL (see the module docstring for the type rules)."""
    source = re.sub(r"\)\s*WITHOUT\s+ROWID\s*$", ")", sqlite_sql.strip().rstrip(";"), flags=re.I)
    source = re.sub(r"\)\s*STRICT\s*$", ")", source, flags=re.I)
    source = _INTEGER_PK.sub("INTEGER PRIMARY KEY AUTOINCREMENT", source)
    tree = sqlglot.parse_one(source, read="sqlite")
    for column in tree.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        if kind is None:
            column.set("kind", exp.DataType.build("TEXT"))
        elif kind.this in (exp.DataType.Type.INT, exp.DataType.Type.SMALLINT,
                           exp.DataType.Type.TINYINT):
            column.set("kind", exp.DataType.build("BIGINT"))
    tree = tree.transform(_rewrite)
    return _strip_nulls_first(tree.sql(dialect="postgres"))
