"""The backhaul tables: the latest word of each branch agent and every event it sent.

Reads and writes only; `controller.backhaul.service` decides what a message changes. Writers
take the connection of the caller's transaction. Times are unix seconds: ``state_at``,
``path_at`` and an event's ``at`` are the branch's clock, ``updated_at`` and ``received_at``
the controller's.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.store import Store

#: The events that move a branch from one link to another.
SWITCH_KINDS = ("failover", "failback")


def _row(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    names = [c[0] for c in cursor.description]
    found = cursor.fetchone()
    return dict(zip(names, found)) if found else None


def branch_for_update(conn: sqlite3.Connection, branch: str, at: float) -> dict[str, Any]:
    """The branch's row, created (heard from at ``at``) on first contact."""
    conn.execute("INSERT INTO backhaul_branches (branch, updated_at) VALUES (?, ?) "
                 "ON CONFLICT (branch) DO NOTHING", (branch, at))
    row = _row(conn.execute("SELECT * FROM backhaul_branches WHERE branch = ?", (branch,)))
    assert row is not None  # inserted above if it was missing
    return row


def save_state(conn: sqlite3.Connection, branch: str, state: dict[str, Any], state_at: float,
               at: float) -> None:
    conn.execute("UPDATE backhaul_branches SET state = ?, state_at = ?, updated_at = ?"
                 " WHERE branch = ?", (json.dumps(state, ensure_ascii=False), state_at, at, branch))


def heard_from(conn: sqlite3.Connection, branch: str, at: float) -> None:
    conn.execute("UPDATE backhaul_branches SET updated_at = ? WHERE branch = ?", (at, branch))


def save_path(conn: sqlite3.Connection, branch: str, active_link: str, path: str,
              path_at: float) -> None:
    conn.execute("UPDATE backhaul_branches SET active_link = ?, path = ?, path_at = ?"
                 " WHERE branch = ?", (active_link, path, path_at, branch))


def add_event(conn: sqlite3.Connection, event: dict[str, Any], at: float,
              received_at: float) -> bool:
    """Store an agent's event (``at``: its time as unix seconds); False if its id is stored
    already (a redelivery, or another node stored it first), and then nothing is written.
    One statement either way: the second node's insert waits for the first's transaction and
    then finds the id taken."""
    return conn.execute(
        "INSERT INTO backhaul_events (event_id, branch, at, kind, link, from_link, to_link,"
        " reason, detail, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        (event["id"], event["branch"], at, event["kind"], event.get("link"),
         event.get("from_link"), event.get("to_link"), event.get("reason"),
         json.dumps(event, ensure_ascii=False), received_at)).fetchone() is not None


# -- reading ---------------------------------------------------------------------------------

def branches(store: Store) -> list[dict[str, Any]]:
    """Every branch heard from: those on a backup link first, then by id."""
    return list(store.db.query("SELECT * FROM backhaul_branches"
                               " ORDER BY path = 'backup' DESC, branch"))


def branch(store: Store, branch: str) -> dict[str, Any] | None:
    return _row(store.conn.execute("SELECT * FROM backhaul_branches WHERE branch = ?", (branch,)))


def events(store: Store, branch: str, limit: int) -> list[dict[str, Any]]:
    """The branch's events, newest first."""
    return list(store.db.query("SELECT * FROM backhaul_events WHERE branch = ?"
                               " ORDER BY at DESC, id DESC LIMIT ?", [branch, limit]))


def last_switch(store: Store, branch: str) -> dict[str, Any] | None:
    """The branch's newest failover or failback."""
    return _row(store.conn.execute(
        "SELECT * FROM backhaul_events WHERE branch = ? AND kind IN (?, ?)"
        " ORDER BY at DESC, id DESC LIMIT 1", (branch, *SWITCH_KINDS)))


def switches(store: Store, branch: str) -> list[tuple[str, str, float]]:
    """(event id, kind, at) of the branch's failovers and failbacks, oldest first."""
    return store.conn.execute(
        "SELECT event_id, kind, at FROM backhaul_events WHERE branch = ? AND kind IN (?, ?)"
        " ORDER BY at, id", (branch, *SWITCH_KINDS)).fetchall()
