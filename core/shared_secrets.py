"""Secrets that every node of one deployment must hold alike, kept in the store.

A web app signs its session cookies and CSRF tokens with a key; the portal also peppers its
one-time codes and visitor hashes with its own. Two nodes behind one load balancer with two
keys would refuse each other's cookies and forms (a visitor's second page, answered by the other
node, would lose the login). So the key lives in the store, once, encrypted with the store's
`SecretBox` (the key file each node already needs to read gateway and device secrets).

It is created race-free: every node that finds no row offers a candidate with ``INSERT ... ON
CONFLICT DO NOTHING`` and then reads the row back, so the first insert wins and all nodes use
it, on SQLite and PostgreSQL alike. The candidate is the key an older release kept in a file
when there is one (sessions signed with it survive the upgrade), else a new random key.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable

from core.secrets import SecretBox, SecretError
from core.store import Store, now

log = logging.getLogger(__name__)

__all__ = ["SharedSecretError", "shared_secret"]


class SharedSecretError(SecretError):
    """The store's shared secret does not decrypt with this node's key file."""


def _random() -> bytes:
    return secrets.token_bytes(32)


def shared_secret(store: Store, box: SecretBox, name: str, *,
                  legacy: Callable[[], bytes | None] | None = None,
                  make: Callable[[], bytes] = _random) -> bytes:
    """The secret ``name`` every node shares, created on first use.

    ``legacy()`` gives the key an older release kept elsewhere (a file), or None: it becomes the
    shared key when the store has none yet. Otherwise ``make()`` makes one. A node whose key
    file cannot decrypt the stored secret raises `SharedSecretError`: its key file is not the
    deployment's, and it could not read the gateways' keys either.
    """
    offered = legacy() if legacy is not None else None
    token = _stored(store, name)
    if token is None:
        value = offered or make()
        store.conn.execute(
            "INSERT INTO shared_secrets (name, value_enc, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (name, box.encrypt(base64.b64encode(value).decode("ascii")), now()))
        token = _stored(store, name)
        assert token is not None  # inserted just above, or by whoever came first
    try:
        stored = base64.b64decode(box.decrypt(token))
    except SecretError:
        raise SharedSecretError(
            f"the shared secret {name!r} in the store does not decrypt with this node's key "
            f"file (store.key_file): every node needs the same key file") from None
    if offered is not None and offered != stored:
        log.warning("the %s key file of this node differs from the key every node shares "
                    "(kept in the store); the store's is used and the file can go", name)
    return stored


def _stored(store: Store, name: str) -> str | None:
    row = store.conn.execute("SELECT value_enc FROM shared_secrets WHERE name = ?",
                             (name,)).fetchone()
    return None if row is None else row[0]
