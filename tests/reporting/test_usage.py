"""WiFi usage KPIs (reporting.usage) on a small fixture computed by hand: Riyadh local days
(UTC+3), a session spanning the period's start and one its end, per site and per AP."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography.fernet import Fernet

from captive_portal import usage as portal_usage
from captive_portal.gateways import register_gateway
from core import inventory
from core.secrets import SecretBox
from core.store import Store
from reporting import schedules, usage, usage_rollup
from reporting.history import usage as usage_history
from reporting.model import Filters, Period
from tests.support import wait_for

TZ = "Asia/Riyadh"
RIYADH = dt.timezone(dt.timedelta(hours=3))


def at(text: str) -> float:
    """Local Riyadh time 'YYYY-MM-DD HH:MM' as unix seconds."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=RIYADH).timestamp()


#: (name, gateway, ap, visitor, online, ended, bytes down, bytes up)
SESSIONS = [
    ("A", "gw-n", None, "v1", "2026-11-01 10:00", "2026-11-01 10:30", 1000, 100),
    ("B", "gw-n", "ap-n1", "v2", "2026-11-01 10:15", "2026-11-01 11:15", 2000, 200),
    # 02:00 in Riyadh is still 31 October in UTC: it counts on 1 November.
    ("G", "gw-n", None, "v5", "2026-11-01 02:00", "2026-11-01 02:10", 100, 10),
    # v1 comes back the next day, across local midnight: counted on the day it went online.
    ("C", "gw-n", None, "v1", "2026-11-02 23:50", "2026-11-03 00:20", 500, 50),
    # Online before the period: not one of its sessions, but online during its first hour.
    ("D", "gw-w", None, "v3", "2026-10-31 23:00", "2026-11-01 01:00", 9000, 900),
    # Online in the period's last half hour, ended after it.
    ("E", "gw-w", None, "v4", "2026-11-30 23:30", "2026-12-01 00:30", 4000, 400),
]


@pytest.fixture
def store(store):
    """The test's store (tests/conftest.py) holding the sessions of `SESSIONS`."""
    box = SecretBox(Fernet.generate_key())
    for slug in ("north-park", "walkway"):
        inventory.add_site(store, {"slug": slug, "name_ar": slug, "name_en": slug,
                                   "kind": "park"}, "tests")
    register_gateway(store, box, "gw-n", site="north-park")
    register_gateway(store, box, "gw-w", site="walkway")
    inventory.add_ap(store, box, {"name": "ap-n1", "mac": "02:aa:00:00:00:01",
                                  "mgmt_ip": "10.9.0.1", "site": "north-park",
                                  "platform": "openwrt"}, "tests")
    rows = [(gw, ap, v, at(on), at(on), at(on) + 3600 * 4, at(end), down, up)
            for _name, gw, ap, v, on, end, down, up in SESSIONS]
    # A login the gateway never acked: not a session anyone used.
    rows.append(("gw-n", None, "v9", at("2026-11-05 12:00"), None, at("2026-11-05 13:00"),
                 at("2026-11-05 12:00"), 0, 0))
    store.conn.executemany(
        "INSERT INTO portal_sessions (gateway_id, mac, ip, method, locale, state, ap, visitor, "
        "started_at, online_at, expires_at, ended_at, bytes_down, bytes_up) "
        "VALUES (?, '', '10.77.0.9', 'terms', 'ar', 'ended', ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return store


NOVEMBER = Period.parse("month:2026-11", TZ, now=0)


def test_visitors_sessions_length_and_volume(store, config):
    section = usage.build(store, config, NOVEMBER, Filters())
    value = {f.key: f.value for f in section.figures}
    assert value["usage.sessions"] == 5                  # A B C E G
    assert value["usage.visitors"] == 4                  # v1 v2 v4 v5 (v3 came before)
    assert value["usage.returning_visitors"] == 1        # v1: 1 and 2 November
    assert value["usage.median_session"] == 1800         # 600 1800 1800 3600 3600
    assert value["usage.bytes_down"] == 1000 + 2000 + 100 + 500 + 4000
    assert value["usage.bytes_up"] == 100 + 200 + 10 + 50 + 400
    # Daily unique visitors 3 + 1 + 1 over November's 30 days.
    assert value["usage.visitors_per_day"] == round(5 / 30, 2)
    days = section.table("usage-days").rows
    assert [(d["day"], d["visitors"], d["sessions"], d["bytes_down"]) for d in days] == [
        ("2026-11-01", 3, 3, 3100), ("2026-11-02", 1, 1, 500), ("2026-11-30", 1, 1, 4000)]
    chart = next(c for c in section.charts if c.key == "usage-visitors-daily")
    assert chart.series[0].points[0] == (at("2026-11-01 00:00"), 3)


def test_concurrent_clients_clipped_to_the_period(store, config):
    section = usage.build(store, config, NOVEMBER, Filters())
    value = {f.key: f.value for f in section.figures}
    assert value["usage.concurrent_peak"] == 2           # A and B, 10:15-10:30 on 1 Nov
    # Online seconds inside November: A 1800, B 3600, G 600, C 1800, D 3600 (00:00-01:00),
    # E 1800 (23:30-24:00), over 30 days.
    assert value["usage.concurrent_average"] == pytest.approx(13200 / (30 * 86400))
    hours = {(r["site"], r["hour"]): r for r in section.table("usage-concurrent-hours").rows}
    # 10:00-11:00: A 1800 s, B 2700 s, over thirty 10 o'clock hours.
    assert hours["north-park", "10:00"]["peak"] == 2
    assert hours["north-park", "10:00"]["average"] == round(4500 / (30 * 3600), 2)
    assert hours["north-park", "11:00"]["peak"] == 1      # B until 11:15
    assert hours["north-park", "23:00"]["peak"] == 1      # C from 23:50
    assert hours["north-park", "00:00"]["peak"] == 1      # C until 00:20 on 3 Nov
    assert hours["walkway", "00:00"]["peak"] == 1         # D, still online as November began
    assert hours["walkway", "01:00"]["peak"] == 0         # D ended at 01:00
    assert hours["walkway", "23:00"]["peak"] == 1         # E
    assert hours["north-park", "05:00"]["peak"] == 0
    sites = {r["site"]: r for r in section.table("usage-sites").rows}
    assert sites["walkway"]["sessions"] == 1 and sites["walkway"]["concurrent_peak"] == 1
    assert sites["walkway"]["concurrent_average"] == round(5400 / (30 * 86400), 2)
    assert sites["north-park"]["visitors"] == 3 and sites["north-park"]["bytes_down"] == 3600


def test_the_day_before_sees_the_boundary_session_too(store, config):
    october_31 = Period.parse("2026-10-31..2026-10-31", TZ, now=0)
    section = usage.build(store, config, october_31, Filters())
    assert section.figure("usage.sessions").value == 1   # D
    assert section.figure("usage.concurrent_peak").value == 1
    # D was online 23:00-24:00 on 31 October.
    assert section.figure("usage.concurrent_average").value == pytest.approx(3600 / 86400)
    assert section.figure("usage.median_session").value == 7200


def test_site_and_ap_filters(store, config):
    north = usage.build(store, config, NOVEMBER, Filters(site="north-park"))
    assert north.figure("usage.sessions").value == 4
    assert north.figure("usage.visitors").value == 3
    assert north.figure("usage.concurrent_peak").value == 2
    ap = inventory.get_ap(store, "ap-n1")["id"]
    by_ap = usage.build(store, config, NOVEMBER, Filters(ap=ap))
    assert by_ap.figure("usage.sessions").value == 1     # B
    assert by_ap.figure("usage.median_session").value == 3600
    assert usage.build(store, config, NOVEMBER, Filters(ap=ap + 99)).figure(
        "usage.sessions").value == 0
    nowhere = usage.build(store, config, NOVEMBER, Filters(site="no-such-park"))
    assert nowhere.figure("usage.sessions").value == 0
    assert nowhere.figure("usage.visitors").value == 0
    assert nowhere.figure("usage.concurrent_peak").value == 0
    assert nowhere.figure("usage.median_session").value is None


def test_funnel_and_failures_from_the_counters(store, config):
    first = at("2026-11-03 09:10")
    for site, item, n in (("north-park", "redirect", 10), ("north-park", "portal", 8),
                          ("north-park", "step", 6), ("north-park", "online", 5),
                          ("walkway", "redirect", 10), ("walkway", "online", 3)):
        portal_usage.count(store, first, site, "funnel", item, n)
    portal_usage.count(store, first, "north-park", "failure", "code_invalid", 3)
    portal_usage.count(store, first + 3600, "north-park", "failure", "code_invalid")
    portal_usage.count(store, first, "walkway", "failure", "gateway_unavailable", 2)
    portal_usage.count(store, first, "walkway", "failure", "some_new_code")
    # A count in December is not November's.
    portal_usage.count(store, at("2026-12-01 00:00"), "walkway", "funnel", "redirect", 99)

    section = usage.build(store, config, NOVEMBER, Filters())
    assert section.figure("usage.funnel_conversion").value == 40.0  # 8 online / 20 redirects
    assert section.figure("usage.login_failures").value == 7
    funnel = {r["site"]: r for r in section.table("usage-funnel").rows}
    assert funnel["north-park"] == {"site": "north-park", "redirect": 10, "portal": 8,
                                    "step": 6, "online": 5, "conversion": 50.0}
    assert funnel["walkway"]["portal"] == 0 and funnel["walkway"]["conversion"] == 30.0
    failures = section.table("usage-failures").rows
    assert [(r["code"], r["cause"], r["count"], r["share"]) for r in failures] == [
        ("code_invalid", "Wrong code", 4, round(400 / 7, 2)),
        ("gateway_unavailable", "Gateway timeout", 2, round(200 / 7, 2)),
        ("some_new_code", "Other", 1, round(100 / 7, 2))]
    walkway = usage.build(store, config, NOVEMBER, Filters(site="walkway"))
    assert walkway.figure("usage.login_failures").value == 3
    assert walkway.figure("usage.funnel_conversion").value == 30.0


def test_an_empty_period_has_no_figures_but_zero_counts(store, config):
    empty = Period.parse("2025-01-01..2025-01-07", TZ, now=0)
    section = usage.build(store, config, empty, Filters())
    assert section.figure("usage.sessions").value == 0
    assert section.figure("usage.median_session").value is None
    assert section.figure("usage.funnel_conversion").value is None
    assert section.figure("usage.concurrent_average").value == 0.0
    assert section.table("usage-days").rows == []


def _figures(section):
    return {f.key: f.value for f in section.figures}


@pytest.mark.parametrize("name", ["month:2026-11", "2026-10-20..2026-12-05", "30d"])
def test_rolled_up_days_give_the_figures_read_from_the_sessions(store, config, name):
    period = Period.parse(name, TZ, now=at("2026-11-29 15:37"))
    for day, item, n in ((3, "redirect", 10), (3, "online", 5), (28, "redirect", 4)):
        portal_usage.count(store, at(f"2026-11-{day:02d} 09:10"), "north-park", "funnel", item, n)
    portal_usage.count(store, at("2026-11-29 14:10"), "walkway", "failure", "code_expired", 2)
    before = usage.build(store, config, period, Filters())
    assert before.figure("usage.login_failures").value == 2
    # 31 October (the first session) to 5 December: 6 December is not over by 6 hours yet.
    assert usage_rollup.refresh(store, TZ, at("2026-12-07 05:00")) == 36
    assert usage_rollup.refresh(store, TZ, at("2026-12-07 05:30")) == 0  # nothing new
    after = usage.build(store, config, period, Filters())
    expected, got = _figures(before), _figures(after)
    # From the roll-ups the median is the middle of its 10-second bucket.
    if expected["usage.median_session"] is not None:
        assert got.pop("usage.median_session") == pytest.approx(
            expected.pop("usage.median_session"), abs=5)
    assert got == pytest.approx(expected)
    for key in ("usage-days", "usage-sites", "usage-concurrent-hours"):
        assert after.table(key).rows == before.table(key).rows, key
    north = usage.build(store, config, period, Filters(site="north-park"))
    assert _figures(north)["usage.sessions"] == sum(
        r["sessions"] for r in before.table("usage-sites").rows if r["site"] == "north-park")


def _history(location):
    store = Store(location)
    inventory.add_site(store, {"slug": "north-park", "name_ar": "ش", "name_en": "North",
                               "kind": "park"}, "tests")
    store_box = SecretBox(Fernet.generate_key())
    register_gateway(store, store_box, "gw-n", site="north-park")
    written = usage_history.seed(store, start=at("2026-11-01 00:00"), end=at("2026-11-04 00:00"),
                                 sessions_per_day=300)
    return store, written


def test_the_history_is_deterministic_and_coherent(config, other_store_location):
    store, written = _history(other_store_location("a.db"))
    other, again = _history(other_store_location("b.db"))
    assert written == again and 600 < written["sessions"] < 1500  # 1 November is a Sunday
    query = ("SELECT gateway_id, visitor, online_at, ended_at, bytes_down, bytes_up "
             "FROM portal_sessions ORDER BY id")
    assert store.conn.execute(query).fetchall() == other.conn.execute(query).fetchall()
    assert store.conn.execute("SELECT DISTINCT mac FROM portal_sessions").fetchall() == [("",)]
    section = usage.build(store, config, Period.parse("2026-11-01..2026-11-03", TZ, now=0),
                          Filters())
    funnel, = section.table("usage-funnel").rows
    assert funnel["redirect"] >= funnel["portal"] >= funnel["step"] >= funnel["online"] \
        == written["sessions"]
    value = _figures(section)
    assert value["usage.sessions"] == written["sessions"]
    assert 15 * 60 < value["usage.median_session"] < 40 * 60
    assert 0 < value["usage.returning_visitors"] < value["usage.visitors"] < written["sessions"]
    assert value["usage.login_failures"] > 0


def test_the_report_scheduler_rolls_up_the_days_that_are_over(store, config):
    scheduler = schedules.Scheduler(lambda: Store(store.location, migrate=False), config,
                                    interval_s=3600)
    scheduler.start()
    try:
        wait_for(lambda: store.conn.execute("SELECT count(*) FROM kpi_usage_rollup").fetchone()[0],
                 20, what="the first tick's roll-up")
    finally:
        scheduler.stop()
    assert store.conn.execute("SELECT count(*) FROM kpi_usage_days WHERE level = '*' "
                              "AND sessions > 0").fetchone()[0] == 4  # 31 Oct, 1, 2, 30 Nov


def test_a_session_still_open_counts_until_now(store, config):
    started = time.time() - 600
    store.conn.execute(
        "INSERT INTO portal_sessions (gateway_id, mac, ip, method, locale, state, visitor, "
        "started_at, online_at, expires_at) VALUES ('gw-w', '', '10.77.0.8', 'terms', 'ar', "
        "'active', 'v7', ?, ?, ?)", (started, started, started + 3600))
    section = usage.build(store, config, Period.parse("1d", TZ, now=time.time()), Filters())
    value = _figures(section)
    assert value["usage.sessions"] == 1 and value["usage.median_session"] is None  # not ended
    assert value["usage.concurrent_peak"] == 1
    assert value["usage.concurrent_average"] == pytest.approx(600 / 86400, rel=0.05)
