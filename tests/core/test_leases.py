"""Leases: one holder at a time, taken over after expiry, members split keys evenly."""

from collections import Counter

from core import leases


def test_one_holder_until_expiry(store):
    assert leases.acquire(store, "singleton:x", "a", 10, now=100)
    assert not leases.acquire(store, "singleton:x", "b", 10, now=105)
    assert leases.acquire(store, "singleton:x", "a", 10, now=105)  # renewal
    assert not leases.acquire(store, "singleton:x", "b", 10, now=114.9)
    assert leases.acquire(store, "singleton:x", "b", 10, now=115)  # a stopped renewing
    assert not leases.acquire(store, "singleton:x", "a", 10, now=116)


def test_release_frees_at_once(store):
    assert leases.acquire(store, "singleton:x", "a", 10, now=100)
    leases.release(store, "singleton:x", "b")  # not b's to give up
    assert not leases.acquire(store, "singleton:x", "b", 10, now=101)
    leases.release(store, "singleton:x", "a")
    assert leases.acquire(store, "singleton:x", "b", 10, now=101)


def test_members_and_shares(store):
    for name in ("p1", "p2", "p3"):
        leases.join(store, "pollers", name, 10, now=100)
    leases.join(store, "other", "q", 10, now=100)
    assert leases.members(store, "pollers", now=105) == ["p1", "p2", "p3"]
    live = leases.members(store, "pollers", now=105)
    shares = Counter(leases.owner_of(f"ap-{i}", live) for i in range(3000))
    assert set(shares) == {"p1", "p2", "p3"}
    assert min(shares.values()) > 800
    # p2 dies: only its keys move
    leases.join(store, "pollers", "p1", 10, now=108)
    leases.join(store, "pollers", "p3", 10, now=108)
    after = leases.members(store, "pollers", now=111)
    assert after == ["p1", "p3"]
    for i in range(3000):
        before_owner = leases.owner_of(f"ap-{i}", live)
        if before_owner != "p2":
            assert leases.owner_of(f"ap-{i}", after) == before_owner


def test_singleton_renews_and_hands_over(store, config):
    from core.store import Store
    clock = [1000.0]
    make = lambda: Store(config.store_location())
    a = leases.Singleton(make, "forwarder", ttl_s=9, holder="a", clock=lambda: clock[0])
    b = leases.Singleton(make, "forwarder", ttl_s=9, holder="b", clock=lambda: clock[0])
    assert a.held() and not b.held()
    clock[0] += 4
    assert a.held() and not b.held()
    clock[0] += 9.5  # a's process is gone: it renews no more
    assert b.held()
    b.release()
    assert a.held()
