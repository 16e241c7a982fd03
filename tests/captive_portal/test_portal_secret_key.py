"""The portal's signing key file (portal.secret_key_file) is readable by its owner only."""

from __future__ import annotations

import logging
import os
import stat

from captive_portal.security import load_secret_key


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
