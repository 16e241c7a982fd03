"""Numbers that said STOP: no awareness messages for them until they say START.

Only optional messages (`captive_portal.sms.service.OPTIONAL_PURPOSES`) are held back; a
one-time code, a report's status or its closure code was asked for and always goes.
"""

from __future__ import annotations

import sqlite3


def is_opted_out(conn: sqlite3.Connection, number: str) -> bool:
    return conn.execute("SELECT 1 FROM sms_opt_outs WHERE number = ?",
                        (number,)).fetchone() is not None


def opt_out(conn: sqlite3.Connection, number: str, *, at: float, via: str) -> bool:
    """Record the number's STOP; False when it had already opted out."""
    return conn.execute("INSERT INTO sms_opt_outs (number, at, via) VALUES (?, ?, ?) "
                        "ON CONFLICT (number) DO NOTHING", (number, at, via)).rowcount > 0


def opt_in(conn: sqlite3.Connection, number: str) -> bool:
    """Forget the number's STOP; False when it had none."""
    return conn.execute("DELETE FROM sms_opt_outs WHERE number = ?", (number,)).rowcount > 0


def opted_out(conn: sqlite3.Connection, numbers: list[str]) -> set[str]:
    """Those of ``numbers`` that opted out (for an awareness message's audience)."""
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(row[0] for row in conn.execute(
            f"SELECT number FROM sms_opt_outs WHERE number IN ({marks})", chunk))
    return found


__all__ = ["is_opted_out", "opt_in", "opt_out", "opted_out"]
