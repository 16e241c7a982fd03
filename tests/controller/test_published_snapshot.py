"""The snapshot as published in the store: what a poller writes is what an admin node reads,
field for field; a row of another release's layout is left out until rewritten; an AP deleted
from the inventory leaves the picture."""

from __future__ import annotations

import time

from controller.monitoring import published
from controller.monitoring.snapshot import ApState, ApStatus, CycleStats, InterfaceStatus, Snapshot
from core import inventory, leases


def full_status(ap_id: int, name: str) -> ApStatus:
    """An ApStatus with no field left at its default."""
    now = time.time()
    interfaces = (InterfaceStatus(1, "lo", 24, True, True, "loopback", 1, 2, 3, 4, 0, 0),
                  InterfaceStatus(2, "eth0", 6, True, False, "uplink", 2**64 - 5, 10, 20, 30,
                                  1, 2, 1.5e6, 2.25e5, 120.5, 80.25, 0.5, 64))
    return ApStatus(ap_id, name, ApState.DEGRADED, now, now - 60, 2, "timeout: x", "OpenWrt",
                    name, 12345.67, True, 17, interfaces, 1.5e6, 2.25e5, 120.5, 80.25, 3e6,
                    4e5, 0.5, "eth0", ("eth0",), now - 120, 12.5, ("clients: genErr",), True)


def add_aps(store, secrets, count: int) -> list[dict]:
    inventory.add_site(store, {"slug": "park", "name_en": "Park", "name_ar": "حديقة",
                               "kind": "park"}, "test")
    return [inventory.add_ap(store, secrets, {
        "name": f"ap-{n}", "mac": f"02:00:00:00:00:{n:02x}", "mgmt_ip": f"10.0.0.{n}",
        "platform": "openwrt", "site": "park", "snmp_community": "public"}, "test")
        for n in range(1, count + 1)]


def test_every_field_survives_the_store(store, secrets):
    aps = add_aps(store, secrets, 2)
    statuses = [full_status(ap["id"], ap["name"]) for ap in aps]
    publisher = published.SnapshotPublisher("poller-a")
    counters = Snapshot()
    counters.count_trap(known=True)
    stats = CycleStats(time.time(), 1.25, 2, 1, 1)
    assert publisher.cycle(store, statuses, stats, counters) == 2
    leases.join(store, "pollers", "poller-a", 30)
    view = published.PublishedSnapshots().current(store)
    assert [view.get(ap["id"]) for ap in aps] == statuses
    assert view.last_cycle == stats and view.cycles == 1 and view.traps_received == 1
    assert [(p.holder, p.live, p.aps) for p in view.pollers] == [("poller-a", True, 2)]


def test_rows_of_another_layout_and_of_deleted_aps_leave_the_picture(store, secrets):
    aps = add_aps(store, secrets, 3)
    publisher = published.SnapshotPublisher("poller-a")
    stats = CycleStats(time.time(), 1.0, 3, 3, 0)
    publisher.cycle(store, [full_status(ap["id"], ap["name"]) for ap in aps], stats, Snapshot())
    reader = published.PublishedSnapshots()
    assert len(reader.current(store).statuses) == 3
    store.conn.execute("UPDATE ap_status SET status = '[1, \"from another release\"]'"
                       " WHERE ap_id = ?", (aps[0]["id"],))
    inventory.remove_ap(store, aps[1]["name"], "test")
    publisher.cycle(store, [full_status(aps[2]["id"], aps[2]["name"])], stats, Snapshot())
    view = reader.current(store)
    assert set(view.statuses) == {aps[2]["id"]}
    assert published.published_statuses(store, [ap["id"] for ap in aps]) == [
        view.get(aps[2]["id"])]


def test_an_admin_reads_again_only_what_a_poller_published_since(store, secrets):
    aps = add_aps(store, secrets, 4)
    a, b = published.SnapshotPublisher("poller-a"), published.SnapshotPublisher("poller-b")
    stats = CycleStats(time.time(), 1.0, 2, 2, 0)
    mine = [full_status(ap["id"], ap["name"]) for ap in aps]
    a.cycle(store, mine[:2], stats, Snapshot())
    b.cycle(store, mine[2:], stats, Snapshot())
    reader = published.PublishedSnapshots()
    assert reader.current(store).get(aps[3]["id"]).state is ApState.DEGRADED
    b.cycle(store, [ApStatus(s.ap_id, s.name, ApState.UP) for s in mine[2:]], stats, Snapshot())
    view = reader.current(store)
    assert [view.get(ap["id"]).state for ap in aps] == [ApState.DEGRADED] * 2 + [ApState.UP] * 2
