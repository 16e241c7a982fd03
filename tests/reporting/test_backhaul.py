"""Backhaul KPIs against figures worked out by hand on small branch histories (Riyadh)."""

import datetime as dt
import random

import pytest

from controller.backhaul.service import BackhaulRecorder
from core.localtime import day_start
from core.store import Store
from reporting import backhaul
from reporting.history import backhaul as history
from reporting.model import Filters, Period

TZ = "Asia/Riyadh"
H = 3600.0
EMPTY = [0] * 16


def at(hour: float, day: int = 10) -> float:
    return day_start(dt.date(2026, 11, day), TZ) + hour * H


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


def period(text="2026-11-10..2026-11-10"):
    return Period.parse(text, TZ, now=0)


def state(when, active="fibre", probes=None, replies=None, buckets=None, branch="b1"):
    links = []
    for name, priority in (("fibre", 0), ("wifi", 1)):
        link = {"name": name, "interface": f"if-{name}", "priority": priority, "state": "up",
                "carrier": True, "loss_pct": 0.0}
        if probes is not None:
            link |= {"probes_sent": probes, "replies": replies, "rtt_buckets": buckets}
        links.append(link)
    return {"branch": branch, "at": iso(when), "active_link": active, "links": links}


def event(eid, kind, when, branch="b1", **fields):
    return {"id": eid, "branch": branch, "kind": kind, "at": iso(when), **fields}


def outage(store, prefix, down, switched, up, back, detect_ms=700.0, branch="b1"):
    """The fibre goes down at ``down``; traffic on the wifi from ``switched`` to ``back``."""
    for item in (event(f"{prefix}1", "link_down", down, branch, link="fibre", reason="misses"),
                 event(f"{prefix}2", "failover", switched, branch, from_link="fibre",
                       to_link="wifi", detect_ms=detect_ms),
                 event(f"{prefix}3", "link_up", up, branch, link="fibre", reason="recovered"),
                 event(f"{prefix}4", "failback", back, branch, from_link="wifi",
                       to_link="fibre")):
        backhaul.record_event(store, item)


def test_failover_failback_time_on_backup_and_detection(store, config):
    backhaul.record_state(store, state(at(0, 9)))
    outage(store, "a", at(10), at(10) + 0.5, at(11), at(11) + 60, detect_ms=700)
    outage(store, "b", at(15), at(15) + 0.3, at(15.5), at(15.5) + 60, detect_ms=300)
    assert backhaul.links(store) == [("b1", "fibre", 0), ("b1", "wifi", 1)]
    section = backhaul.build(store, config, period(), Filters())
    assert section.figure("backhaul.failovers").value == 2
    assert section.figure("backhaul.failbacks").value == 2
    assert section.figure("backhaul.backup_time").value == pytest.approx(
        (H + 60 - 0.5) + (0.5 * H + 60 - 0.3))
    assert section.figure("backhaul.detection_median").value == pytest.approx(500)
    assert section.figure("backhaul.detection_max").value == pytest.approx(700)
    assert section.figure("backhaul.availability").value == pytest.approx(100)  # wifi stayed up
    links = {r["link"]: r for r in section.table("backhaul-links").rows}
    assert links["fibre"]["availability"] == pytest.approx(100 * 22.5 / 24)
    assert links["fibre"]["role"] == "Primary" and links["wifi"]["role"] == "Backup"
    assert links["fibre"]["downs"] == 2
    assert [k for _, k in section.charts[0].marks] == ["Failover", "Failback"] * 2
    assert section.charts[0].series[0].points == [
        (at(0), pytest.approx(1.5 * H + 120 - 0.8))]
    # a redelivered event changes nothing
    assert not backhaul.record_event(store, event("a2", "failover", at(10) + 0.5,
                                                  from_link="fibre", to_link="wifi"))
    assert backhaul.build(store, config, period(), Filters()).figure(
        "backhaul.failovers").value == 2


def test_a_stay_on_backup_across_local_midnight_is_split_between_the_days(store, config):
    backhaul.record_state(store, state(at(0, 9)))
    # fibre down 23:00 on the 9th (20:00 UTC) to 01:00 on the 10th, failback a minute later
    outage(store, "a", at(23, 9), at(23, 9) + 1, at(1), at(1) + 60)
    tenth = backhaul.build(store, config, period(), Filters())
    assert tenth.figure("backhaul.backup_time").value == pytest.approx(H + 60)
    assert tenth.figure("backhaul.failovers").value == 0      # it happened on the 9th
    assert tenth.figure("backhaul.failbacks").value == 1
    fibre = next(r for r in tenth.table("backhaul-links").rows if r["link"] == "fibre")
    assert fibre["availability"] == pytest.approx(100 * 23 / 24)
    ninth = backhaul.build(store, config, period("2026-11-09..2026-11-09"), Filters())
    assert ninth.figure("backhaul.backup_time").value == pytest.approx(H - 1)
    both = backhaul.build(store, config, period("2026-11-09..2026-11-10"), Filters())
    assert [p for _, p in both.charts[0].series[0].points] == [
        pytest.approx(H - 1), pytest.approx(H + 60)]


def test_both_links_down_is_the_branch_down_and_a_quick_relapse_is_a_flap(store, config):
    backhaul.record_state(store, state(at(0)))
    outage(store, "a", at(10), at(10) + 0.5, at(12), at(12) + 60)
    for item in (event("w1", "link_down", at(10.25), link="wifi"),
                 event("w2", "link_up", at(10.75), link="wifi"),
                 # fibre back at 12:00, down again 5 minutes later: a flap (window 600 s)
                 event("f1", "link_down", at(12) + 300, link="fibre"),
                 event("f2", "link_up", at(13), link="fibre"),
                 # up for an hour before the next drop: not a flap
                 event("f3", "link_down", at(14), link="fibre"),
                 event("f4", "link_up", at(14.5), link="fibre")):
        backhaul.record_event(store, item)
    section = backhaul.build(store, config, period(), Filters())
    assert section.figure("backhaul.availability").value == pytest.approx(100 * 23.5 / 24)
    assert section.figure("backhaul.flaps").value == 1
    links = {r["link"]: r for r in section.table("backhaul-links").rows}
    assert links["fibre"]["flaps"] == 1 and links["wifi"]["flaps"] == 0
    # fibre down 10-12, 12:05-13, 14-14.5: 3 h 25 min
    assert links["fibre"]["down_time"] == pytest.approx(3 * H + 25 * 60)
    only_wifi = backhaul.build(store, config, period(), Filters(branch="b1", link="wifi"))
    assert [r["link"] for r in only_wifi.table("backhaul-links").rows] == ["wifi"]


def test_events_delivered_late_land_where_they_belong(store, config, other_store_location):
    items = [event(f"e{n}", kind, at(h), **fields) for n, (kind, h, fields) in enumerate([
        ("link_down", 9, {"link": "fibre"}), ("failover", 9.001, {"from_link": "fibre",
                                                                    "to_link": "wifi"}),
        ("link_up", 10, {"link": "fibre"}), ("failback", 10.02, {"from_link": "wifi",
                                                                   "to_link": "fibre"}),
        ("link_down", 16, {"link": "wifi"}), ("link_up", 17, {"link": "wifi"}),
        ("link_down", 20, {"link": "fibre"}), ("failover", 20.001, {"from_link": "fibre",
                                                                      "to_link": "wifi"})])]
    late = Store(other_store_location("late.db"))
    try:
        for target in (store, late):
            backhaul.record_state(target, state(at(0)))
        for item in items:
            backhaul.record_event(store, item)
        shuffled = list(items)
        random.Random(3).shuffle(shuffled)
        for item in shuffled:                     # the agent's spool drained out of order
            backhaul.record_event(late, item)

        def intervals(s):
            return [s.conn.execute(f"SELECT branch, link, {column}, started_at, ended_at FROM"
                                   f" {table} ORDER BY link, started_at").fetchall()
                    for table, column in (("kpi_backhaul_link_intervals", "state"),
                                          ("kpi_backhaul_path_intervals", "path"))]
        assert intervals(late) == intervals(store)
        assert backhaul.build(late, config, period(), Filters()).figure(
            "backhaul.backup_time").value == pytest.approx(backhaul.build(
                store, config, period(), Filters()).figure("backhaul.backup_time").value)
    finally:
        late.close()


def test_probe_loss_and_p95_from_the_counters_growth_including_a_restart(store, config):
    backhaul.record_state(store, state(at(1), probes=0, replies=0, buckets=EMPTY))
    grown = list(EMPTY)
    grown[2], grown[3] = 900, 90           # 900 replies in (2, 5] ms, 90 in (5, 10] ms
    backhaul.record_state(store, state(at(2), probes=1000, replies=990, buckets=grown))
    restarted = list(EMPTY)
    restarted[3] = 100                       # the agent restarted: counters began again
    backhaul.record_state(store, state(at(3), probes=110, replies=100, buckets=restarted))
    # an older state delivered late changes nothing
    backhaul.record_state(store, state(at(2.5), probes=500, replies=500, buckets=grown))
    section = backhaul.build(store, config, period(), Filters())
    # 1110 probes, 1090 replies: 20 lost
    assert section.figure("backhaul.loss").value == pytest.approx(100 * 20 / 1110)
    # 900 in (2,5], 190 in (5,10]: rank 0.95 * 1090 = 1035.5 -> 5 + 5 * (135.5 / 190)
    assert section.figure("backhaul.rtt_p95").value == pytest.approx(5 + 5 * 135.5 / 190)
    assert backhaul.p95([0] * 15 + [7]) == 2000      # all slower than the last bound
    # hours outside the period do not count: the next day has no probes
    nxt = backhaul.build(store, config, period("2026-11-11..2026-11-11"), Filters())
    assert nxt.figure("backhaul.loss").value is None


def test_no_data_gives_none(store, config):
    backhaul.record_state(store, state(at(0, 20)))
    section = backhaul.build(store, config, period(), Filters())
    for figure in section.figures:
        assert figure.value is None, figure.key
    assert section.figure("backhaul.availability").status == "none"
    assert section.table("backhaul-branches").rows == []
    assert section.charts[0].series[0].points == [(at(0), None)]


def test_the_controller_hands_over_what_it_stores(store, config):
    recorder = BackhaulRecorder(store)
    recorder.record_state(state(at(0), probes=0, replies=0, buckets=EMPTY))
    assert recorder.record_event(event("x1", "failover", at(9), from_link="fibre",
                                       to_link="wifi", detect_ms=640.0))[0]
    assert not recorder.record_event(event("x1", "failover", at(9), from_link="fibre",
                                           to_link="wifi", detect_ms=640.0))[0]
    recorder.record_event(event("x2", "failback", at(10), from_link="wifi", to_link="fibre"))
    section = backhaul.build(store, config, period(), Filters(branch="b1"))
    assert section.figure("backhaul.failovers").value == 1
    assert section.figure("backhaul.backup_time").value == pytest.approx(H)
    assert section.figure("backhaul.detection_median").value == pytest.approx(640)
    assert store.conn.execute("SELECT count(*) FROM kpi_backhaul_events WHERE kind IN"
                              " ('failover', 'failback')").fetchone()[0] == 2


def test_history_is_deterministic_and_builds(store, config, other_store_location):
    start, end = at(0, 1), at(0, 29)
    counts = history.seed(store, start=start, end=end, branches=3, seed=5)
    assert counts["branches"] == 3 and counts["events"] > 3
    assert history.seed(store, start=start, end=end, branches=3, seed=5)["branches"] == 0
    other = Store(other_store_location("again.db"))
    try:
        history.seed(other, start=start, end=end, branches=3, seed=5)
        query = "SELECT branch, at, kind, link FROM kpi_backhaul_events ORDER BY branch, at, id"
        assert other.conn.execute(query).fetchall() == store.conn.execute(query).fetchall()
    finally:
        other.close()
    section = backhaul.build(store, config, period("2026-11-01..2026-11-28"), Filters())
    assert section.figure("backhaul.failovers").value >= 1
    assert 0 < section.figure("backhaul.rtt_p95").value < 20       # the fibre: a few ms
    assert 90 < section.figure("backhaul.availability").value <= 100


def test_counters_no_agent_would_send_are_ignored_not_stored(store, config):
    backhaul.record_state(store, state(at(1), probes=0, replies=0, buckets=EMPTY))
    poisoned = state(at(2), probes=2**64, replies=-5, buckets=[2**70] * 16)
    poisoned["links"][0]["priority"] = 10**30
    backhaul.record_state(store, poisoned)
    backhaul.record_event(store, event("p1", "failover", at(3), from_link="fibre",
                                       to_link="wifi", detect_ms=10**40, switch_ms=True))
    section = backhaul.build(store, config, period(), Filters())
    assert section.figure("backhaul.loss").value is None
    assert section.figure("backhaul.detection_median").value is None
    assert section.figure("backhaul.failovers").value == 1


def test_events_older_than_the_first_state_keep_what_the_state_said(store, config):
    """After a broker outage the retained state arrives first, the spooled events after it."""
    backhaul.record_state(store, state(at(12), active="fibre"))
    outage(store, "a", at(10), at(10) + 0.5, at(11), at(11) + 60)
    section = backhaul.build(store, config, period(), Filters())
    links = {r["link"]: r for r in section.table("backhaul-links").rows}
    assert set(links) == {"fibre", "wifi"}              # the wifi's run from the state is kept
    assert links["wifi"]["availability"] == pytest.approx(100)
    # the fibre is known from its first event on: down 10-11, up since
    assert links["fibre"]["down_time"] == pytest.approx(H)
    assert links["fibre"]["availability"] == pytest.approx(100 * 13 / 14)
    assert section.figure("backhaul.backup_time").value == pytest.approx(H + 60 - 0.5)
