"""The audit log: who changed what, when. Written in the same transaction as the change."""

from __future__ import annotations

import json
import sqlite3

from core.store import Store, utcnow


def record(conn: sqlite3.Connection, actor: str, action: str, target_type: str | None = None,
           target_id: object = None, detail: dict | None = None) -> None:
    """Append one entry. ``detail`` must never carry secrets (callers pass redacted views)."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (utcnow(), actor, action, target_type, None if target_id is None else str(target_id),
         json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail is not None else None))


def entries(store: Store, *, limit: int = 200, actor: str | None = None,
            action_prefix: str | None = None) -> list[dict]:
    """Newest first, optionally filtered by actor and action prefix (e.g. ``ap.``)."""
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
    rows = []
    for row in store.db.query(sql, args):
        row["detail"] = json.loads(row["detail"]) if row["detail"] else None
        rows.append(row)
    return rows
