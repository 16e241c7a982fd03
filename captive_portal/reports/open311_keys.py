"""Open311 API keys: one per client system, shown once when issued; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from core.store import Store, now


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def issue(store: Store, client: str) -> str:
    """A new key for ``client``; the caller shows it once, the store keeps only its hash."""
    key = secrets.token_urlsafe(24)
    with store.transaction() as conn:
        conn.execute("INSERT INTO open311_keys (name, key_sha256, created_at) VALUES (?, ?, ?)",
                     (client, _digest(key), now()))
    return key


def client_of(store: Store, key: str) -> str | None:
    """The client a key was issued to; None for a key never issued."""
    digest = _digest(key)
    row = store.conn.execute("SELECT name, key_sha256 FROM open311_keys WHERE key_sha256 = ?",
                             (digest,)).fetchone()
    if row is None or not hmac.compare_digest(row[1], digest):
        return None
    return row[0]


__all__ = ["client_of", "issue"]
