"""Rate limits kept in the store: a sliding window every connection (worker, node) shares."""

from __future__ import annotations

import threading

import pytest

from core.limits import RateLimit
from core.store import Store


@pytest.fixture
def stores(tmp_path):
    """One store per thread on one file, as the portal's workers have."""
    path = tmp_path / "limits.db"
    Store(path).close()  # migrated once, before the threads open theirs
    local = threading.local()
    opened: list[Store] = []

    def store() -> Store:
        if not hasattr(local, "store"):
            local.store = Store(path)
            opened.append(local.store)
        return local.store
    yield store
    for each in opened:
        each.close()


def test_the_window_slides_and_a_refused_event_is_not_counted(stores):
    now = [1000.0]
    limit = RateLimit(stores, "posts", 3, 60.0, clock=lambda: now[0])
    assert [limit.hit("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limit.hit("10.0.0.2")  # another key has its own count
    now[0] += 30
    assert not limit.hit("10.0.0.1")  # the window slides: all three are still inside it
    now[0] += 30.5
    # The first three left the window; the refused hits at 1000 and 1030 were never counted.
    assert [limit.hit("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limit.used("10.0.0.1") == 3


def test_two_connections_share_one_count_and_expired_rows_go(tmp_path):
    path = tmp_path / "shared.db"
    first, second = Store(path), Store(path)  # two workers' connections
    now = [0.0]
    a = RateLimit(lambda: first, "logins", 5, 10.0, clock=lambda: now[0])
    b = RateLimit(lambda: second, "logins", 5, 10.0, clock=lambda: now[0])
    results = [(a if i % 2 else b).hit("alice") for i in range(8)]
    assert results.count(True) == 5 and results[5:] == [False] * 3
    now[0] = 10.0
    assert a.hit("bob")  # writing deletes what no window counts any more
    rows = first.conn.execute("SELECT key FROM rate_limit_events").fetchall()
    assert rows == [("logins:bob",)]
    first.close()
    second.close()


def test_concurrent_hits_never_pass_the_limit(stores):
    limit = RateLimit(stores, "burst", 25, 60.0)
    passed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(10):
            ok = limit.hit("one-address")
            with lock:
                passed.append(ok)
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert passed.count(True) == 25 and len(passed) == 80


def test_a_limit_needs_a_positive_limit_and_window(stores):
    with pytest.raises(ValueError, match="posts"):
        RateLimit(stores, "posts", 0, 60.0)
    with pytest.raises(ValueError):
        RateLimit(stores, "posts", 1, 0)
