"""SSH host keys pinned per AP: trust on first contact, then refuse any other key.

A different key (a swapped unit, a factory reset, or someone in the middle) is kept as
*pending*, and every push to that AP is refused until an engineer compares the fingerprint with
the device and accepts it: `accept` takes the fingerprint the engineer saw, so what is pinned is
exactly what was checked, not whatever the device presents next.
"""

from __future__ import annotations

from core import audit
from core.inventory import InventoryError
from core.store import Store, now, with_iso
from netconfig.ssh import HostKey


#: The times of a pinned key's row (unix seconds).
TIME_COLUMNS = ("pinned_at", "pending_seen_at")


class HostKeyPending(InventoryError):
    def __init__(self, ap_name: str, fingerprint: str):
        super().__init__("host_key_changed",
                         f"AP {ap_name} presented a new SSH host key {fingerprint}; "
                         "pushes are refused until an engineer accepts it", "ssh_host_key")


def pinned(store: Store, ap_id: int) -> dict | None:
    rows = list(store.db.query("SELECT * FROM ssh_host_keys WHERE ap_id = ?", [ap_id]))
    return rows[0] if rows else None


def shown(row: dict) -> dict:
    """A pinned key's row as the API, pages and CLI show it: its times as ISO-8601 text."""
    return with_iso(row, *TIME_COLUMNS)


def pinned_key(store: Store, ap_id: int) -> HostKey | None:
    row = pinned(store, ap_id)
    return HostKey(row["key_type"], row["key_base64"]) if row else None


def refuse_if_pending(store: Store, ap: dict) -> None:
    row = pinned(store, ap["id"])
    if row and row["pending_fingerprint"]:
        raise HostKeyPending(ap["name"], row["pending_fingerprint"])


def pin_first(store: Store, ap: dict, key: HostKey, actor: str) -> bool:
    """Pin ``key`` if the AP has no key yet; returns whether it was pinned now."""
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM ssh_host_keys WHERE ap_id = ?", (ap["id"],)).fetchone():
            return False
        conn.execute("INSERT INTO ssh_host_keys (ap_id, key_type, key_base64, fingerprint, "
                     "pinned_at, pinned_by) VALUES (?, ?, ?, ?, ?, ?)",
                     (ap["id"], key.key_type, key.base64, key.fingerprint, now(), actor))
        audit.record(conn, actor, "ap.hostkey.pin", "ap", ap["name"],
                     {"fingerprint": key.fingerprint, "key_type": key.key_type})
    return True


def record_mismatch(store: Store, ap: dict, presented: HostKey | None) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE ssh_host_keys SET pending_key_type = ?, pending_key_base64 = ?, "
                     "pending_fingerprint = ?, pending_seen_at = ? WHERE ap_id = ?",
                     (presented.key_type if presented else None,
                      presented.base64 if presented else None,
                      presented.fingerprint if presented else "unknown", now(), ap["id"]))
        audit.record(conn, "system", "ap.hostkey.mismatch", "ap", ap["name"],
                     {"presented": presented.fingerprint if presented else None})


def accept(store: Store, ap: dict, fingerprint: str, actor: str) -> None:
    """Pin the pending key whose fingerprint the engineer confirmed."""
    row = pinned(store, ap["id"])
    if not row or not row["pending_fingerprint"]:
        raise InventoryError("no_pending_key", f"AP {ap['name']} has no changed key to accept",
                             "fingerprint")
    if fingerprint != row["pending_fingerprint"] or not row["pending_key_base64"]:
        raise InventoryError("fingerprint_mismatch", "the fingerprint does not match the key the "
                             f"AP presented ({row['pending_fingerprint']})", "fingerprint")
    with store.transaction() as conn:
        conn.execute("UPDATE ssh_host_keys SET key_type = pending_key_type, key_base64 = "
                     "pending_key_base64, fingerprint = pending_fingerprint, pinned_at = ?, "
                     "pinned_by = ?, pending_key_type = NULL, pending_key_base64 = NULL, "
                     "pending_fingerprint = NULL, pending_seen_at = NULL WHERE ap_id = ?",
                     (now(), actor, ap["id"]))
        audit.record(conn, actor, "ap.hostkey.accept", "ap", ap["name"],
                     {"old": row["fingerprint"], "new": fingerprint})


def forget(store: Store, ap: dict, actor: str) -> None:
    """Drop the pin (the next contact pins again); for a unit replaced on purpose."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM ssh_host_keys WHERE ap_id = ?", (ap["id"],))
        audit.record(conn, actor, "ap.hostkey.forget", "ap", ap["name"], None)
