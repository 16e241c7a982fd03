"""core.shared_secrets: a secret every node shares is created once, whoever starts first, and
kept encrypted with the store's key file (on SQLite and, with ``--store postgresql``, on
PostgreSQL)."""

from __future__ import annotations

import threading

from cryptography.fernet import Fernet

from core.secrets import SecretBox
from core.shared_secrets import shared_secret
from core.store import Store


def test_nodes_starting_together_all_get_the_one_secret_inserted_first(config):
    path = config.store_location()
    Store(path).close()
    box = SecretBox(Fernet.generate_key())
    start = threading.Barrier(8)
    got: list[bytes] = []

    def node(n: int) -> None:
        store = Store(path)
        start.wait()
        try:
            got.append(shared_secret(store, box, "web", make=lambda: bytes([n]) * 32))
        finally:
            store.close()

    threads = [threading.Thread(target=node, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and len(set(got)) == 1  # each offered its own: one won, all use it
    store = Store(path)
    assert store.conn.execute("SELECT count(*) FROM shared_secrets").fetchone()[0] == 1
    assert shared_secret(store, box, "web", make=lambda: b"x" * 32) == got[0]
    assert shared_secret(store, box, "other") != got[0]  # another name, another secret
    store.close()


def test_an_older_key_is_offered_only_while_the_store_has_none(config):
    store = Store(config.store_location())
    box = SecretBox(Fernet.generate_key())
    assert shared_secret(store, box, "web", legacy=lambda: b"from the file") == b"from the file"
    assert shared_secret(store, box, "web", legacy=lambda: b"another file") == b"from the file"
    assert shared_secret(store, box, "web", legacy=lambda: None) == b"from the file"
    store.close()
