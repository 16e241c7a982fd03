"""Park gateways as the portal sees them: their HMAC keys, and how to command them.

A gateway is registered once (`register_gateway`): the controller creates a random key, keeps it
encrypted at rest (SecretBox) and the operator installs the same key on the gateway
(``hmac_key_file``). The portal verifies redirects with it.

`GatewayControl` is the portal's only view of enforcement: ``allow`` and ``deny`` return an
`Ack` once the gateway has applied the change (or failed/timed out). The MQTT implementation is
in `captive_portal.gateway_link`; tests of the portal alone use a fake that says so in its name.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from core import inventory
from core.contracts.gateway import GATEWAY_ID, SessionGrant
from core.secrets import SecretBox
from core.store import Store, now


@dataclass(frozen=True)
class Ack:
    ok: bool
    #: Stable reason when not ok: ``timeout``, ``unreachable`` or the gateway's own error code.
    error: str | None = None
    #: Milliseconds the gateway spent updating its nft sets.
    nft_ms: float | None = None


class GatewayControl(Protocol):
    def allow(self, gateway_id: str, grant: SessionGrant, timeout_s: float) -> Ack: ...

    def deny(self, gateway_id: str, session_id: int, mac: str, ip: str, reason: str,
             timeout_s: float) -> Ack: ...


def register_gateway(store: Store, secret_box: SecretBox, gateway_id: str, name: str = "",
                     *, key: str | None = None, site: str | None = None) -> str:
    """Create (or re-key) a gateway; returns the hex key to install on it.

    ``site`` is the slug of the park or walkway the gateway serves (it must exist in the
    inventory); re-keying without it keeps the site already recorded.
    """
    if not GATEWAY_ID.match(gateway_id):
        raise ValueError(f"gateway id: letters, digits, '_', '.', '-' only ({gateway_id!r})")
    if site is not None:
        try:
            site = inventory.get_site(store, site)["slug"]
        except inventory.NotFound:
            raise ValueError(f"site {site!r} does not exist") from None
    key = key or secrets.token_hex(32)
    store.conn.execute(
        "INSERT INTO portal_gateways (id, name, hmac_key_enc, created_at, site) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET hmac_key_enc = excluded.hmac_key_enc,"
        " name = excluded.name, site = coalesce(excluded.site, portal_gateways.site)",
        (gateway_id, name, secret_box.encrypt(key), now(), site))
    return key


def gateway_key(store: Store, secret_box: SecretBox, gateway_id: str) -> bytes | None:
    token = _key_token(store, gateway_id)
    return None if token is None else (secret_box.decrypt(token) or "").encode()


def _key_token(store: Store, gateway_id: str) -> str | None:
    """The gateway's key as the store holds it (encrypted), or None for an unknown gateway."""
    row = store.conn.execute("SELECT hmac_key_enc FROM portal_gateways WHERE id = ?",
                             (gateway_id,)).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class GatewayContact:
    gateway_id: str
    name: str
    registered_at: float
    #: The newest time the gateway spoke to the controller (unix seconds), as the store can
    #: tell: a login it acked or its accounting of a client (both set a session's
    #: ``last_seen``); None when neither has happened.
    heard_at: float | None
    #: Its HMAC key as the store holds it (encrypted).
    key_token: str


def last_heard(store: Store) -> list[GatewayContact]:
    """Every registered gateway with the last time it was heard from, by id."""
    rows = store.conn.execute(
        "SELECT g.id, g.name, g.created_at, max(s.last_seen), g.hmac_key_enc "
        "  FROM portal_gateways g LEFT JOIN portal_sessions s ON s.gateway_id = g.id "
        " GROUP BY g.id ORDER BY g.id")
    return [GatewayContact(gid, name, created, heard, token)
            for gid, name, created, heard, token in rows]


class GatewayKeys:
    """The keys of registered gateways as the store holds them now, decrypted once each.

    Every look-up reads the gateway's encrypted key (one indexed row), so a re-key made by any
    process (``oasis portal gateway-add``) holds from the next request in every portal worker
    and node; only the decryption is cached, under the encrypted text it came from, and a
    re-keyed gateway's old entry is replaced. An unknown gateway id is never cached, and at
    most ``max_entries`` keys are kept (the least recently used go first).
    """

    def __init__(self, secret_box: SecretBox, max_entries: int = 1024):
        self.secret_box = secret_box
        self.max_entries = max_entries
        self._keys: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, gateway_id: str) -> bytes | None:
        token = _key_token(store, gateway_id)
        if token is None:
            with self._lock:
                self._keys.pop(gateway_id, None)  # removed from the store
            return None
        with self._lock:
            cached = self._keys.get(gateway_id)
            if cached is not None and cached[0] == token:
                self._keys.move_to_end(gateway_id)
                return cached[1]
        key = (self.secret_box.decrypt(token) or "").encode()
        with self._lock:
            self._keys[gateway_id] = (token, key)
            self._keys.move_to_end(gateway_id)
            while len(self._keys) > self.max_entries:
                self._keys.popitem(last=False)
        return key

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)


__all__ = ["Ack", "GatewayControl", "GatewayKeys", "SessionGrant", "gateway_key",
           "register_gateway"]
