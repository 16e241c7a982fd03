"""The store and the key files are readable by their owner only (0600), whatever the umask; one
an older release left open to others is narrowed, with a warning."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest

from core.files import create_private, ensure_private
from core.secrets import SecretBox
from core.store import Store


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    """The usual umask, which leaves files a program creates readable by everyone (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_store_and_its_wal_and_shm_are_0600(tmp_path, umask_022):
    path = tmp_path / "var" / "oasis.db"
    store = Store(path)
    with store.transaction() as conn:  # a write, so the -wal holds something
        conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                     "VALUES ('olga', 'x', 'viewer', 0)")
    files = {p.name: mode(p) for p in path.parent.iterdir()}
    store.close()
    assert files == {"oasis.db": 0o600, "oasis.db-wal": 0o600, "oasis.db-shm": 0o600}


def test_a_store_left_readable_by_others_is_narrowed_with_a_warning(tmp_path, umask_022, caplog):
    path = tmp_path / "oasis.db"
    Store(path).close()
    for each in (path, tmp_path / "oasis.db-wal", tmp_path / "oasis.db-shm"):
        each.touch()
        each.chmod(0o644)  # as an older release left them
    with caplog.at_level(logging.WARNING, logger="core.files"):
        store = Store(path)
        opened = {p.name: mode(p) for p in tmp_path.iterdir()}
        store.close()
    assert opened == {"oasis.db": 0o600, "oasis.db-wal": 0o600, "oasis.db-shm": 0o600}
    warned = sorted(r.getMessage().split(" was ")[0].rsplit("/", 1)[1] for r in caplog.records)
    assert warned == ["oasis.db", "oasis.db-shm", "oasis.db-wal"]
    assert "readable by others (mode 644); now 600" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.files"):
        Store(path).close()
    assert not caplog.records  # said once: the file stays private


def test_a_new_key_file_is_0600_and_an_open_one_is_narrowed(tmp_path, umask_022, caplog):
    key = tmp_path / "keys" / "oasis.key"
    box = SecretBox.from_key_file(key)
    assert mode(key) == 0o600
    key.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="core.files"):
        again = SecretBox.from_key_file(key)  # used, not refused: the same key still decrypts
    assert mode(key) == 0o600
    assert again.decrypt(box.encrypt("ssh-pass")) == "ssh-pass"
    assert "readable by others (mode 644)" in caplog.text


def test_create_private_never_overwrites_and_one_creator_wins(tmp_path, umask_022):
    path = tmp_path / "secret"
    results: list[bool] = []
    start = threading.Barrier(6)

    def create(n: int) -> None:
        start.wait()
        results.append(create_private(path, f"key-{n}".encode()))
    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert path.read_bytes().startswith(b"key-") and mode(path) == 0o600


def test_ensure_private_leaves_private_and_missing_files_alone(tmp_path):
    path = tmp_path / "private"
    path.write_bytes(b"x")
    path.chmod(0o600)
    assert not ensure_private(path)
    assert not ensure_private(tmp_path / "missing")
    path.chmod(0o640)  # group-readable is open to others too
    assert ensure_private(path) and mode(path) == 0o600


def test_racing_creators_each_read_one_whole_key(tmp_path):
    """Workers starting together: one key wins, and nobody reads it empty or half-written."""
    import threading

    from core.files import create_private

    path = tmp_path / "portal-secret.key"
    start = threading.Barrier(16)
    seen, won = [], []

    def worker(n: int) -> None:
        data = f"{n:02d}".encode() * 4096
        start.wait()
        if create_private(path, data):
            won.append(data)
        seen.append(path.read_bytes())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and seen == won * 16
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
