"""Gateway keys as the portal checks them: the store's current key, a bounded cache.

Defect 9 (a re-key took effect only after a portal restart) across worker processes is in
test_portal_serve.py; here the cache itself and one app.
"""

from __future__ import annotations

import pytest

import re

from cryptography.fernet import Fernet

from captive_portal.context import EXTENSION
from captive_portal.gateways import GatewayKeys, register_gateway
from core.contracts.signature import ClientClaim, sign
from core.secrets import SecretBox
from core.store import Store
from tests.captive_portal.portal_harness import Portal

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store

_CODE = re.compile(r'data-code="([^"]+)"')


def test_a_rekey_is_read_from_the_store_at_the_next_lookup(tmp_path):
    box = SecretBox(Fernet.generate_key())
    keys = GatewayKeys(box)
    store = Store(tmp_path / "keys.db")
    other_process = Store(tmp_path / "keys.db")  # another connection, as another worker has
    old = register_gateway(store, box, "gw1").encode()
    assert keys.get(store, "gw1") == old
    new = register_gateway(other_process, box, "gw1").encode()
    assert new != old
    assert keys.get(store, "gw1") == new
    assert len(keys) == 1


def test_unknown_gateways_are_never_cached_and_known_ones_are_bounded(tmp_path):
    """Defect 11: each unknown gateway id stayed in the cache for good (about 2 KB each)."""
    box = SecretBox(Fernet.generate_key())
    keys = GatewayKeys(box, max_entries=50)
    store = Store(tmp_path / "keys.db")
    for n in range(5_000):
        assert keys.get(store, f"nobody-{n}") is None
    assert len(keys) == 0
    issued = {f"gw{n}": register_gateway(store, box, f"gw{n}").encode() for n in range(120)}
    for gateway_id, key in issued.items():
        assert keys.get(store, gateway_id) == key
    assert len(keys) == 50
    assert keys.get(store, "gw0") == issued["gw0"]  # evicted, read again
    store.conn.execute("DELETE FROM portal_gateways WHERE id = 'gw119'")
    assert keys.get(store, "gw119") is None


def _landing(portal: Portal, key: bytes, gateway_id: str = "gw1") -> tuple[int, str | None]:
    claim = ClientClaim(gateway_id, "02:00:00:00:00:01", "10.77.0.100", "http://example.com/",
                        int(portal.now))
    reply = portal.client.get("/", query_string=sign(claim, key))
    found = _CODE.search(reply.get_data(as_text=True))
    return reply.status_code, found.group(1) if found else None


def test_the_running_portal_takes_a_new_key_at_once(tmp_path):
    """Defect 9 in one app: the old key stops working at the next request, without a restart."""
    portal = Portal(tmp_path)
    old = portal.gateway_key
    assert _landing(portal, old)[0] == 200
    box = portal.app.extensions[EXTENSION].secret_box
    new = register_gateway(Store(portal.store_path), box, "gw1").encode()
    assert _landing(portal, old) == (403, "signature_invalid")
    assert _landing(portal, new)[0] == 200


def test_unknown_gateway_ids_leave_nothing_behind_in_the_app(tmp_path):
    portal = Portal(tmp_path)
    for n in range(300):
        assert _landing(portal, b"k" * 32, f"stranger-{n}") == (403, "signature_unknown_gateway")
    assert len(portal.app.extensions[EXTENSION]._keys) == 0
