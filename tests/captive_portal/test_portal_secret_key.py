"""The portal's signing key: one for every portal node and worker, kept in the store (encrypted
with the store's key file); the key file of an older release (portal.secret_key_file) becomes
it, and is readable by its owner only."""

from __future__ import annotations

import logging
import os
import re
import stat
import time

import pytest
from cryptography.fernet import Fernet

from captive_portal import create_app
from captive_portal.config import PortalSettings
from captive_portal.gateways import register_gateway
from captive_portal.security import load_secret_key
from core.contracts.signature import ClientClaim, sign
from core.secrets import SecretBox
from core.shared_secrets import SharedSecretError
from core.store import Store
from tests.captive_portal.portal_harness import MAC, FakeGatewayControl

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store


def test_the_portal_key_is_created_0600_and_an_open_one_narrowed(tmp_path, caplog):
    path = tmp_path / "var" / "portal-secret.key"
    old = os.umask(0o022)
    try:
        key = load_secret_key(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 64
    path.chmod(0o644)  # as an older release left it
    with caplog.at_level(logging.WARNING, logger="core.files"):
        assert load_secret_key(path) == key  # the same key: sessions survive the fix
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "portal-secret.key was readable by others" in caplog.text


# ---- one key for every portal node, kept in the store ------------------------------------------

def _node(tmp_path, box, secret_key_file):
    """A portal node's app on the shared store (its own key-file setting, as its config says)."""
    settings = PortalSettings()
    settings.portal.secure_cookies = False
    settings.portal.secret_key_file = str(secret_key_file)
    settings.sms.outbox = str(tmp_path / "sms.jsonl")
    return create_app(settings, store_path=str(tmp_path / "oasis.db"), secret_box=box,
                      gateway=FakeGatewayControl(), testing=True)


def test_every_portal_node_signs_with_the_one_key_in_the_store(tmp_path):
    """Two nodes, each with its own (missing) key file: the first start puts one key in the
    store, the second reads it; a visitor's form from one node is accepted by the other."""
    box = SecretBox(Fernet.generate_key())
    store = Store(tmp_path / "oasis.db")
    gateway_key = register_gateway(store, box, "gw1").encode()
    first = _node(tmp_path, box, tmp_path / "a" / "portal.key")
    second = _node(tmp_path, box, tmp_path / "b" / "portal.key")
    assert first.secret_key == second.secret_key and len(first.secret_key) == 64
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # no file made
    (token,) = store.conn.execute("SELECT value_enc FROM shared_secrets "
                                  "WHERE name = 'portal-signing'").fetchone()
    assert first.secret_key not in token.encode()  # encrypted with the store's key file

    params = sign(ClientClaim("gw1", MAC, "10.77.0.100", "http://example.com/", int(time.time())),
                  gateway_key)
    browser = first.test_client()
    landing = browser.get("/", query_string=params)
    form = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"',
                           landing.get_data(as_text=True)))
    other = second.test_client()
    other.set_cookie("oasis_portal", browser.get_cookie("oasis_portal").value)
    logged_in = other.post("/login/terms", data={**form, "accept": "yes"})
    assert logged_in.status_code == 303  # the CSRF token of node one, accepted by node two
    browser.set_cookie("oasis_portal", other.get_cookie("oasis_portal").value)
    assert browser.get("/status").status_code == 200  # logged in as node one sees it
    store.close()


def test_the_key_file_of_the_release_before_becomes_the_shared_key(tmp_path, caplog):
    """Visitors stay logged in across the upgrade: the first node's old key file is put in the
    store; a second node whose file differs is told, and uses the store's."""
    box = SecretBox(Fernet.generate_key())
    old = load_secret_key(tmp_path / "a.key")
    other = load_secret_key(tmp_path / "b.key")
    assert _node(tmp_path, box, tmp_path / "a.key").secret_key == old
    with caplog.at_level(logging.WARNING, logger="core.shared_secrets"):
        assert _node(tmp_path, box, tmp_path / "b.key").secret_key == old != other
    assert "differs from the key every node shares" in caplog.text


def test_a_node_with_another_key_file_is_refused_with_the_reason(tmp_path):
    _node(tmp_path, SecretBox(Fernet.generate_key()), tmp_path / "none")
    with pytest.raises(SharedSecretError, match="every node needs the same key file"):
        _node(tmp_path, SecretBox(Fernet.generate_key()), tmp_path / "none")
