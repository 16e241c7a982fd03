"""AP availability against figures worked out by hand on small timelines (Riyadh, UTC+3)."""

import datetime as dt

import pytest

from core import inventory, maintenance
from core.localtime import day_start
from reporting import availability
from reporting.model import Filters, Period
from tests.support import free_udp_port

TZ = "Asia/Riyadh"
H = 3600.0
DAY_10 = day_start(dt.date(2026, 11, 10), TZ)     # 2026-11-09 21:00 UTC


def period(text="2026-11-10..2026-11-10"):
    return Period.parse(text, TZ, now=0)


def at(hour: float, day: int = 10) -> float:
    """Local time on 2026-11-<day> as unix seconds."""
    return day_start(dt.date(2026, 11, day), TZ) + hour * H


def timeline(store, ap_id, *steps, site_id=None):
    for when, state in steps:
        availability.record_transition(store, ap_id, state, when, site_id=site_id,
                                       source="test")


@pytest.fixture
def sites(store):
    """Two parks: the first with two APs, the second with one."""
    made = {}
    for slug in ("park-a", "park-b"):
        made[slug] = inventory.add_site(store, {"slug": slug, "name_ar": "حديقة", "name_en": slug,
                                                "kind": "park"}, "test")["id"]
    return made


def add_ap(store, secrets, name, site, address):
    return inventory.add_ap(store, secrets, {
        "name": name, "mac": f"02:00:00:00:00:{address[-2:]}", "mgmt_ip": address,
        "platform": "openwrt", "site": site, "snmp_version": "2c", "snmp_community": "public"},
        "test")["id"]


def test_the_local_day_starts_at_21_utc():
    assert DAY_10 == dt.datetime(2026, 11, 9, 21, tzinfo=dt.UTC).timestamp()
    assert period().start == DAY_10 and period().seconds == 86400


def test_an_outage_spanning_the_period_start_counts_only_its_part_inside(store, config):
    # down 23:00 on the 9th to 01:00 on the 10th: one hour of it falls on the 10th
    timeline(store, 1, (at(0, 9), "up"), (at(23, 9), "down"), (at(1), "up"))
    section = availability.build(store, config, period(), Filters())
    assert section.figure("availability.fleet_percent").value == pytest.approx(100 * 23 / 24)
    assert section.figure("availability.outages").value == 1
    assert section.figure("availability.longest_outage").value == pytest.approx(H)
    assert section.figure("availability.mttr").value == pytest.approx(H)
    assert section.figure("availability.fleet_percent").status == "red"     # below 97 %
    day_before = availability.build(store, config, period("2026-11-09..2026-11-09"), Filters())
    assert day_before.figure("availability.own_down").value == pytest.approx(H)
    # both days together: the whole two hours, one outage
    both = availability.build(store, config, period("2026-11-09..2026-11-10"), Filters())
    assert both.figure("availability.outages").value == 1
    assert both.figure("availability.longest_outage").value == pytest.approx(2 * H)
    assert both.figure("availability.fleet_percent").value == pytest.approx(100 * 46 / 48)


def test_maintenance_inside_an_outage_is_taken_out_of_it_and_of_scheduled_time(
        store, config, secrets, sites):
    site = sites["park-a"]
    ap = add_ap(store, secrets, "a7", "park-a", "127.0.9.17")
    timeline(store, ap, (at(0, 9), "up"), (at(10), "down"), (at(14), "up"), site_id=site)
    maintenance.add(store, starts_at=at(11), ends_at=at(12), actor="test", ap_id=ap)
    # a site window overlapping the AP's: the two are merged, not taken out twice
    maintenance.add(store, starts_at=at(11.5), ends_at=at(12.5), actor="test", site_id=site)
    # a window on the other park does not touch this AP
    maintenance.add(store, starts_at=at(2), ends_at=at(3), actor="test",
                    site_id=sites["park-b"])
    section = availability.build(store, config, period(), Filters())
    # planned 11:00-12:30 (1.5 h, all inside the outage): down 4 h - 1.5 h = 2.5 h,
    # scheduled 24 h - 1.5 h = 22.5 h
    assert section.figure("availability.own_down").value == pytest.approx(2.5 * H)
    assert section.figure("availability.maintenance").value == pytest.approx(1.5 * H)
    assert section.figure("availability.fleet_percent").value == pytest.approx(100 * 20 / 22.5)
    assert section.figure("availability.longest_outage").value == pytest.approx(2.5 * H)
    row = section.table("availability-aps").rows[0]
    assert row["scheduled"] == pytest.approx(22.5 * H) and row["site"] == "park-a"
    # maintenance while the AP was up is taken out of scheduled time only
    maintenance.add(store, starts_at=at(20), ends_at=at(22), actor="test")   # whole network
    section = availability.build(store, config, period(), Filters())
    assert section.figure("availability.fleet_percent").value == pytest.approx(100 * 18 / 20.5)
    daily = section.charts[0].series[0].points
    assert daily == [(DAY_10, pytest.approx(100 * 18 / 20.5))]
    # the 1-day window ends where the period ends: the same day, reckoned the same way
    windows = {r["window"]: r for r in section.table("availability-windows").rows}
    assert windows["1d"]["availability"] == pytest.approx(100 * 18 / 20.5)
    assert windows["1d"]["outages"] == 1 and windows["1d"]["mttr"] == pytest.approx(2.5 * H)
    row = section.table("availability-aps").rows[0]
    assert row["availability_1d"] == pytest.approx(100 * 18 / 20.5)
    assert section.table("availability-sites").rows[0]["availability_1d"] == pytest.approx(
        100 * 18 / 20.5)
    # an outage wholly inside planned maintenance is no outage at all
    maintenance.add(store, starts_at=at(9.5), ends_at=at(14.5), actor="test", ap_id=ap)
    section = availability.build(store, config, period(), Filters())
    assert section.figure("availability.outages").value == 0
    windows = {r["window"]: r for r in section.table("availability-windows").rows}
    assert windows["1d"]["outages"] == 0 and windows["1d"]["mttr"] is None
    assert windows["1d"]["availability"] == pytest.approx(100)


def test_parent_down_is_counted_apart_from_own_outages(store, config, secrets, sites):
    a1 = add_ap(store, secrets, "a1", "park-a", "127.0.9.11")
    a2 = add_ap(store, secrets, "a2", "park-a", "127.0.9.12")
    b1 = add_ap(store, secrets, "b1", "park-b", "127.0.9.13")
    up = {a1: "up", a2: "up", b1: "up"}
    assert availability.record_states(store, at(0), up) == 3
    assert availability.record_states(store, at(0.5), up) == 0          # nothing changed
    # park-a's gateway fails: both its APs stop answering together -> parent down;
    # park-b's only AP going down cannot be told from its own outage -> down
    assert availability.record_states(store, at(6), {a1: "down", a2: "down", b1: "down"}) == 3
    # the gateway is back, a2 answers; a1 stays down: from now on its own outage
    availability.record_states(store, at(7), {a1: "down", a2: "degraded", b1: "up"})
    availability.record_states(store, at(8), {a1: "up", a2: "up", b1: "up"})
    transitions = store.conn.execute(
        "SELECT ap_id, at, state FROM kpi_ap_transitions ORDER BY at, ap_id").fetchall()
    assert transitions[3:] == [(a1, at(6), "parent_down"), (a2, at(6), "parent_down"),
                               (b1, at(6), "down"), (a1, at(7), "down"),
                               (a2, at(7), "up"), (b1, at(7), "up"), (a1, at(8), "up")]
    section = availability.build(store, config, period(), Filters())
    assert section.figure("availability.parent_down").value == pytest.approx(2 * H)
    assert section.figure("availability.own_down").value == pytest.approx(2 * H)   # a1 1h, b1 1h
    assert section.figure("availability.parent_episodes").value == 1
    assert section.figure("availability.outages").value == 2
    # scheduled: 3 APs x 24 h; answered: 72 h - 4 h
    assert section.figure("availability.fleet_percent").value == pytest.approx(100 * 68 / 72)
    # parent down set aside: 68 / (72 - 2)
    assert section.figure("availability.own_percent").value == pytest.approx(100 * 68 / 70)
    park_a = availability.build(store, config, period(), Filters(site="park-a"))
    assert park_a.figure("availability.fleet_percent").value == pytest.approx(100 * 45 / 48)
    rows = {r["site"]: r for r in section.table("availability-sites").rows}
    assert rows["park-a"]["parent_episodes"] == 1 and rows["park-b"]["parent_down"] == 0
    one = availability.build(store, config, period(), Filters(ap=b1))
    assert one.figure("availability.fleet_percent").value == pytest.approx(100 * 23 / 24)
    # a site whose gateway the caller knows to be down: its down AP is parent down, even alone
    assert availability.classify({b1: "down"}, {b1: sites["park-b"]},
                                 parent_down_sites=[sites["park-b"]]) == {b1: "parent_down"}
    assert availability.classify({a1: "down", a2: "up"}, {a1: 1, a2: 1},
                                 parent_down_sites=[1]) == {a1: "parent_down", a2: "up"}
    # an AP removed from the inventory stops counting from then on
    inventory.remove_ap(store, b1, "test")
    availability.record_states(store, at(12), {a1: "up", a2: "up"})
    section = availability.build(store, config, period(), Filters(ap=b1))
    assert section.table("availability-aps").rows[0]["scheduled"] == pytest.approx(12 * H)
    # behind a failed gateway the APs need not time out in the same cycle: the first one
    # found down is parent down from its own start when the rest follow within 5 minutes
    availability.record_states(store, at(13), {a1: "down", a2: "up"})
    availability.record_states(store, at(13) + 60, {a1: "down", a2: "down"})
    availability.record_states(store, at(14), {a1: "down", a2: "down"})
    availability.record_states(store, at(14) + 60, {a1: "up", a2: "up"})
    assert store.conn.execute(
        "SELECT ap_id, state, started_at, ended_at FROM kpi_ap_intervals WHERE started_at >= ?"
        " AND state != 'up' ORDER BY ap_id", (at(13),)).fetchall() == [
            (a1, "parent_down", at(13), at(14) + 60), (a2, "parent_down", at(13) + 60,
                                                       at(14) + 60)]
    # ... but not an AP that was down on its own long before
    availability.record_states(store, at(15), {a1: "down", a2: "up"})
    availability.record_states(store, at(16), {a1: "down", a2: "down"})
    assert store.conn.execute(
        "SELECT state FROM kpi_ap_intervals WHERE ap_id = ? AND started_at >= ? ORDER BY id",
        (a1, at(15))).fetchall() == [("down",), ("parent_down",)]
    before = store.conn.execute("SELECT ap_id, state, started_at, ended_at FROM"
                                " kpi_ap_intervals ORDER BY ap_id, started_at").fetchall()
    availability.rebuild(store)     # the raw transitions say the same
    assert store.conn.execute("SELECT ap_id, state, started_at, ended_at FROM"
                              " kpi_ap_intervals ORDER BY ap_id, started_at").fetchall() == before


def test_riyadh_days_split_an_outage_at_local_midnight(store, config):
    # down 23:30 local on the 10th (20:30 UTC) to 00:30 local on the 11th (21:30 UTC)
    timeline(store, 3, (at(0), "up"), (at(23.5), "down"), (at(0.5, 11), "up"))
    section = availability.build(store, config, period("2026-11-10..2026-11-11"), Filters())
    downtime = section.charts[1].series[0].points
    assert downtime == [(at(0), pytest.approx(0.5 * H)), (at(0, 11), pytest.approx(0.5 * H))]
    daily = section.charts[0].series[0].points
    assert daily[0][1] == pytest.approx(100 * 23.5 / 24)
    assert section.charts[0].marks == [(at(23.5), "Outage")]
    utc_day = Period.parse("2026-11-10..2026-11-10", "UTC", now=0)
    # 20:30-21:30 UTC lies wholly inside the UTC day of the 10th
    assert availability.build(store, config, utc_day, Filters()).figure(
        "availability.own_down").value == pytest.approx(H)


def test_no_data_in_the_period_gives_none_not_zero_or_a_hundred(store, config):
    timeline(store, 4, (at(0, 20), "up"))           # monitored only from the 20th on
    section = availability.build(store, config, period(), Filters())
    for key in ("availability.fleet_percent", "availability.own_percent",
                "availability.outages", "availability.median_outage", "availability.mttr",
                "availability.parent_down"):
        assert section.figure(key).value is None, key
    assert section.figure("availability.fleet_percent").status == "none"
    assert section.table("availability-aps").rows == []
    assert section.charts[0].series[0].points == [(DAY_10, None)]
    assert availability.build(store, config, period(), Filters(site="nowhere")).figure(
        "availability.fleet_percent").value is None


def test_windows_end_where_the_period_ends(store, config):
    timeline(store, 5, (at(0, 1), "up"), (at(12, 5), "down"), (at(18, 5), "up"))
    section = availability.build(store, config, period(), Filters())
    windows = {r["window"]: r for r in section.table("availability-windows").rows}
    assert windows["1d"]["availability"] == pytest.approx(100)
    # 7 days back from the end of the 10th: the 4th..10th, 6 h down
    assert windows["7d"]["availability"] == pytest.approx(100 * (7 * 24 - 6) / (7 * 24))
    # 30 and 365 days: monitored only since the 1st, ten days
    assert windows["30d"]["availability"] == pytest.approx(100 * (240 - 6) / 240)
    assert windows["365d"]["outages"] == 1
    row = section.table("availability-aps").rows[0]
    assert row["availability_7d"] == pytest.approx(100 * (7 * 24 - 6) / (7 * 24))
    assert row["availability_1d"] == pytest.approx(100)


def test_the_poller_against_simulated_aps_feeds_the_transitions(config, store, secrets, sites):
    """The monitoring service's cycle records what the simulated APs do."""
    from agents.apsim import SimulatorSettings
    from agents.apsim.inventory import simulated_inventory
    from agents.apsim.runner import SimulatorThread
    from controller.monitoring.service import MonitoringService
    from controller.monitoring.snapshot import Snapshot
    from tests.support import wait_for

    config.snmp.interval, config.snmp.timeout, config.snmp.retries = 0.3, 0.3, 0
    config.snmp.down_after = 1
    config.snmp.trap_listen = f"127.0.0.1:{free_udp_port()}"
    config.apsim.count, config.apsim.first_address = 3, "127.0.8.1"
    config.apsim.port = free_udp_port("127.0.8.1")
    plans = simulated_inventory(3, "127.0.8.1", config.apsim.port)
    ids = {}
    for plan, site in zip(plans, ("park-a", "park-a", "park-b")):
        ids[plan["name"]] = inventory.add_ap(store, secrets, {
            "name": plan["name"], "mac": plan["mac"], "mgmt_ip": plan["mgmt_ip"],
            "platform": plan["platform"], "site": site, "snmp_port": plan["snmp_port"],
            "snmp_version": "2c", "snmp_community": config.apsim.community}, "test")["id"]
    names = list(ids)

    def states():
        return dict(store.conn.execute(
            "SELECT ap_id, state FROM kpi_ap_intervals WHERE ended_at IS NULL").fetchall())

    with SimulatorThread(SimulatorSettings.from_config(config)) as simulator:
        service = MonitoringService(config, config.store_location(), secrets, Snapshot())
        service.start()
        try:
            wait_for(lambda: states() == {i: "up" for i in ids.values()}, timeout=20,
                     what="every AP up")
            simulator.set_reachable(names[2], False)                  # alone on park-b
            wait_for(lambda: states().get(ids[names[2]]) == "down", timeout=20,
                     what="an own outage")
            simulator.set_reachable(names[0], False)
            simulator.set_reachable(names[1], False)                  # all of park-a
            wait_for(lambda: states().get(ids[names[0]]) == "parent_down"
                     and states().get(ids[names[1]]) == "parent_down", timeout=20,
                     what="park-a's parent down")
            for name in names:
                simulator.set_reachable(name, True)
            wait_for(lambda: states() == {i: "up" for i in ids.values()}, timeout=20,
                     what="every AP back up")
        finally:
            service.stop()
    # stopped: nobody polls, so every AP is unknown until the next start
    assert set(states().values()) == {"unknown"}
    kinds = [s for ap, s in store.conn.execute(
        "SELECT ap_id, state FROM kpi_ap_transitions WHERE ap_id = ? ORDER BY at",
        (ids[names[0]],))]
    assert kinds == ["up", "parent_down", "up", "unknown"]
    assert [s for _, s in store.conn.execute(
        "SELECT ap_id, state FROM kpi_ap_transitions WHERE ap_id = ? ORDER BY at",
        (ids[names[2]],))] == ["up", "down", "up", "unknown"]


def test_history_is_deterministic_realistic_and_live_monitoring_carries_on(
        store, config, other_store_location):
    from core.store import Store
    from reporting.history import availability as history

    start, end = at(0, 1), at(24, 30)
    counts = history.seed(store, start=start, end=end, aps=60, seed=3)
    assert counts["aps"] == 60 and counts["maintenance"] == 1
    assert history.seed(store, start=start, end=end, aps=60, seed=3)["aps"] == 0  # kept once
    other = Store(other_store_location("again.db"))
    try:
        history.seed(other, start=start, end=end, aps=60, seed=3)
        query = "SELECT ap_id, state, started_at, ended_at FROM kpi_ap_intervals ORDER BY id"
        assert other.conn.execute(query).fetchall() == store.conn.execute(query).fetchall()
    finally:
        other.close()
    month = availability.build(store, config, period("2026-11-01..2026-11-30"), Filters())
    assert 95 < month.figure("availability.fleet_percent").value < 100
    assert month.figure("availability.outages").value > 20
    assert month.figure("availability.parent_episodes").value >= 1
    assert month.figure("availability.maintenance").value > 0
    assert len(month.table("availability-aps").rows) == 60
    assert {r["aps"] for r in month.table("availability-sites").rows} == {20}
    # every AP's last state stays open: the poller's next change closes it
    assert store.conn.execute("SELECT count(*) FROM kpi_ap_intervals WHERE ended_at IS NULL"
                              ).fetchone()[0] == 60
    assert availability.record_transition(store, 1, "down", end + 60)
    assert availability.record_transition(store, 1, "up", end + 120)


def test_the_raw_transitions_rebuild_the_same_intervals(store, config):
    timeline(store, 1, (at(0, 9), "up"), (at(23, 9), "down"), (at(1), "up"),
             (at(5), "parent_down"), (at(6), "down"), (at(7), "up"), (at(20), "unknown"))
    timeline(store, 2, (at(3), "up"), (at(4), "down"))
    query = "SELECT ap_id, state, started_at, ended_at FROM kpi_ap_intervals ORDER BY ap_id, id"
    before = store.conn.execute(query).fetchall()
    figures = availability.build(store, config, period(), Filters()).figures
    store.conn.execute("UPDATE kpi_ap_intervals SET ended_at = started_at + 1")   # damage them
    assert availability.rebuild(store) == len(before) == 9
    assert store.conn.execute(query).fetchall() == before
    assert availability.build(store, config, period(), Filters()).figures == figures


def test_a_period_still_to_come_has_no_values(store, config):
    timeline(store, 1, (at(0), "up"))
    future = Period.parse("2030-01-01..2030-01-02", TZ, now=0)
    section = availability.build(store, config, future, Filters())
    assert section.figure("availability.fleet_percent").value is None
    assert [v for _, v in section.charts[0].series[0].points] == [None, None]


def test_a_long_outage_across_two_maintenance_windows_loses_both(store, config, secrets, sites):
    ap = add_ap(store, secrets, "a8", "park-a", "127.0.9.18")
    timeline(store, ap, (at(0, 9), "up"), (at(2), "down"), (at(20), "up"))
    maintenance.add(store, starts_at=at(3), ends_at=at(4), actor="test", ap_id=ap)
    maintenance.add(store, starts_at=at(10), ends_at=at(12), actor="test", ap_id=ap)
    section = availability.build(store, config, period(), Filters())
    # down 18 h - 3 h planned = 15 h; scheduled 24 h - 3 h = 21 h
    assert section.figure("availability.own_down").value == pytest.approx(15 * H)
    expected = 100 * 6 / 21
    assert section.figure("availability.fleet_percent").value == pytest.approx(expected)
    windows = {r["window"]: r for r in section.table("availability-windows").rows}
    assert windows["1d"]["availability"] == pytest.approx(expected)
    assert windows["1d"]["mttr"] == pytest.approx(15 * H)
