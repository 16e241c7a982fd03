"""The audit log: who changed what, when. Written in the same transaction as the change."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable

from core.store import Store, now, with_iso


def record(conn: sqlite3.Connection, actor: str, action: str, target_type: str | None = None,
           target_id: object = None, detail: dict | None = None) -> None:
    """Append one entry. ``detail`` must never carry secrets (callers pass redacted views)."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (now(), actor, action, target_type, None if target_id is None else str(target_id),
         json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail is not None else None))


def entries(store: Store, *, limit: int = 200, actor: str | None = None,
            action_prefix: str | None = None) -> list[dict]:
    """Newest first, optionally filtered by actor and action prefix (e.g. ``ap.``); ``at`` in
    unix seconds."""
    where: list[str] = []
    args: list[str | int] = []
    if actor:
        where.append("actor = ?")
        args.append(actor)
    if action_prefix:
        where.append("action LIKE ? ESCAPE '\\'")
        args.append(action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return _decoded(store.db.query(sql, args))


def entries_with(store: Store, action: str, key: str, value: object) -> list[dict]:
    """The entries of ``action`` whose detail has ``key`` set to ``value`` (e.g. the
    ``config.push`` entries of one job), oldest first.

    The key is part of the statement (PostgreSQL reads a JSON path only from a literal) and the
    value is compared as text (SQLite's json_extract gives a number, PostgreSQL's text)."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a detail key: {key!r}")
    return _decoded(store.db.query("SELECT * FROM audit_log WHERE action = ? AND"
                                   f" CAST(json_extract(detail, '$.{key}') AS TEXT) = ?"
                                   " ORDER BY id", [action, str(value)]))


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def shown(entry: dict) -> dict:
    """An entry as the API and pages show it: ``at`` as ISO-8601 text."""
    return with_iso(entry, "at")


def _decoded(rows: Iterable[dict]) -> list[dict]:
    return [{**row, "detail": json.loads(row["detail"]) if row["detail"] else None}
            for row in rows]
