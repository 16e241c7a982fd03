"""The NOC's numbers on the admin pages: traffic as download/upload from the uplink with the
radios apart, links down, a down AP's "down since" without stale values, and the history
charts (AP, site, network) with hover values, outage and restart marks, in local time."""

from __future__ import annotations

import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.monitoring import events, metrics
from core import alerts as alert_rows
from controller.monitoring.snapshot import ApState, InterfaceStatus
from controller.settings import RetentionConfig
from controller.web import history
from tests.controller.web_harness import add_user, build_app, login, status
from tests.fleet import add_ap, add_site

UPLINK = InterfaceStatus(2, "eth0", if_type=6, role="uplink", admin_up=True, oper_up=True,
                         in_bps=7_520_000.0, out_bps=1_180_000.0)
RADIO_UP = InterfaceStatus(3, "wlan0", if_type=71, role="radio", admin_up=True, oper_up=True,
                           in_bps=470_000.0, out_bps=3_000_000.0)
RADIO_DOWN = InterfaceStatus(4, "wlan1", if_type=71, role="radio", admin_up=False,
                             oper_up=False)


@pytest.fixture
def operator(config, secrets, store, snapshot):
    client = build_app(config, secrets, snapshot).test_client()
    add_user(store, "olga", "operator")
    assert login(client, "olga").status_code == 302
    return client


def _uplink_status(ap, **values):
    return status(ap, **{"in_bps": 7_520_000.0, "out_bps": 1_180_000.0,
                         "radio_in_bps": 470_000.0, "radio_out_bps": 3_000_000.0,
                         "uplink": "eth0",
                         "interfaces": (InterfaceStatus(1, "lo", role="loopback"), UPLINK,
                                        RADIO_UP), **values})


def test_ap_page_names_download_upload_radios_and_link_status(operator, store, secrets,
                                                              snapshot):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    snapshot.put(_uplink_status(ap, state=ApState.DEGRADED, links_down=("wlan1",),
                                interfaces=(UPLINK, RADIO_UP, RADIO_DOWN)))
    page = operator.get("/aps/ap-001").get_data(as_text=True)
    traffic = re.search(r'<dd class="traffic".*?</dd>', page, re.S).group(0)
    assert "7.52 / 1.18 Mbit/s" in traffic and "uplink eth0" in traffic
    assert "3.00 / 0.47 Mbit/s" in re.search(r'<dd class="radios">.*?</dd>', page, re.S).group(0)
    links = re.search(r'<dd class="links-down">.*?</dd>', page, re.S).group(0)
    assert "wlan1" in links and "wlan0" not in links
    wlan1 = re.search(r'<tr data-role="radio"><td>4</td>.*?</tr>', page, re.S).group(0)
    assert wlan1.count("state-down") == 2          # admin and oper both down
    eth0 = re.search(r'<tr data-role="uplink"><td>2</td>.*?</tr>', page, re.S).group(0)
    assert eth0.count('class="link-up"') == 2 and ">uplink<" in eth0


def test_a_down_ap_says_since_when_and_shows_no_uptime_or_last_poll(operator, store, secrets,
                                                                    snapshot):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    since = time.time() - 3 * 3600
    snapshot.put(status(ap, state=ApState.DOWN, polled_at=time.time() - 7, uptime_s=None,
                        clients=None, in_bps=None, out_bps=None, consecutive_failures=40,
                        answered_at=since - 30, down_since=since))
    page = operator.get("/aps/ap-001").get_data(as_text=True)
    assert "3h ago" in re.search(r'<dd class="down-since">.*?</dd>', page, re.S).group(0)
    assert "Uptime" not in page and "Last poll" not in page and "7s ago" not in page
    listing = operator.get("/aps/").get_data(as_text=True)
    row = re.search(r'ap-001</a>.*?</tr>', listing, re.S).group(0)
    assert "down since 3h ago" in row and "7s ago" not in row


def test_dashboard_traffic_is_the_uplinks_not_the_sum_of_interfaces(operator, store, secrets,
                                                                    snapshot):
    add_site(store)
    snapshot.put(_uplink_status(add_ap(store, secrets, 1)))
    page = operator.get("/").get_data(as_text=True)
    tile = re.search(r'<div class="tile traffic">.*?</div>', page, re.S).group(0)
    assert "7.52 / 1.18" in tile and "download / upload" in tile
    assert "8.74" not in page                      # eth0 + radios, the old double count


def _history(store, ap_id: int, now: float, *, down: range, restart_at: float):
    """Ten minutes of one-minute samples, unanswered during ``down`` (minute numbers)."""
    for minute in range(10):
        at = now - 600 + minute * 60
        answered = minute not in down
        sample = status({"id": ap_id, "name": f"ap-{ap_id}"}, polled_at=at,
                        answered_at=at if answered else at - 600,
                        clients=minute if answered else None,
                        in_bps=minute * 1e6 if answered else None,
                        out_bps=minute * 1e5 if answered else None)
        metrics.write_cycle(store, [sample], at)
    events.record_event(store, ap_id, "coldStart", "trap", {}, at=restart_at)


def test_ap_charts_choose_a_range_with_data_and_mark_outages_restarts_and_values(
        operator, store, secrets, snapshot):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    now = time.time()
    _history(store, ap["id"], now, down=range(4, 6), restart_at=now - 240)
    page = operator.get("/aps/ap-001").get_data(as_text=True)
    # Ten minutes of history: the 1 h range, not a sliver at the end of a day.
    assert re.search(r'<a href="/aps/ap-001\?hours=1" aria-current=page>', page)
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(charts) == 2
    for chart in charts:
        assert len(re.findall(r'<rect class="mark-outage"', chart)) == 1
        assert re.search(r'<rect class="mark-outage"[^>]*><title>Down from \d\d-\d\d \d\d:\d\d '
                         r'to \d\d-\d\d \d\d:\d\d</title>', chart)
        assert re.search(r'<line class="mark-reboot"[^>]*><title>Restarted at ', chart)
        assert "+03" in chart                      # Riyadh time on the axis
    assert re.search(r"<title>\d\d-\d\d \d\d:\d\d — download: 9 Mbit/s, upload: 0\.9 Mbit/s"
                     r"</title>", charts[1])
    assert re.search(r"<title>\d\d-\d\d \d\d:\d\d — clients: 9 clients</title>", charts[0])
    # Asked for a day, a day it is.
    day = operator.get("/aps/ap-001?hours=24").get_data(as_text=True)
    assert re.search(r'<a href="/aps/ap-001\?hours=24" aria-current=page>', day)


def test_site_and_network_charts_add_the_aps_up(operator, store, secrets, snapshot):
    add_site(store)
    first, second = add_ap(store, secrets, 1), add_ap(store, secrets, 2)
    now = time.time()
    _history(store, first["id"], now, down=range(0), restart_at=now - 120)
    _history(store, second["id"], now, down=range(0), restart_at=now - 60)
    dashboard = operator.get("/").get_data(as_text=True)
    network = re.findall(r"<svg .*?</svg>", dashboard, re.S)
    assert len(network) == 2
    # Two APs with 9 clients each at the last minute: 18 on the network's chart.
    assert re.search(r"<title>\d\d-\d\d \d\d:\d\d — clients: 18 clients</title>", network[0])
    assert len(re.findall(r'class="mark-reboot"', network[0])) == 2
    listing = operator.get("/aps/?site=amanah-walkway").get_data(as_text=True)
    site_charts = re.findall(r"<svg .*?</svg>", listing, re.S)
    assert len(site_charts) == 2 and re.search(r"The site(&#39;|')s history", listing)
    assert re.search(r"— download: 18 Mbit/s, upload: 1\.8 Mbit/s</title>", site_charts[1])
    assert "<svg" not in operator.get("/aps/").get_data(as_text=True)


def test_pick_hours():
    now = 1_800_000_000.0

    def oldest(at):
        return lambda cutoff: at is not None and at < cutoff
    assert history.pick_hours(None, oldest(None), now) == 24
    assert history.pick_hours(None, oldest(now - 300), now) == 1
    assert history.pick_hours(None, oldest(now - 5 * 3600), now) == 6
    assert history.pick_hours(None, oldest(now - 30 * 86400), now) == 24
    assert history.pick_hours(168, oldest(now - 300), now) == 168
    assert history.pick_hours(5, oldest(now - 300), now) == 1


def test_a_big_group_reads_hours_past_its_raw_budget(store):
    now = float(int(time.time()) // 3600 * 3600)
    for ap_id in (1, 2, 3):
        for at in (now - 7200, now - 5400):
            metrics.write_cycle(store, [status({"id": ap_id, "name": f"ap-{ap_id}"},
                                               polled_at=at, answered_at=at, clients=4)], at)
    metrics.downsample(store, now, RetentionConfig())
    small = metrics.group_series(store, [1, 2, 3], now - 3 * 3600, now)
    assert small.resolution == "raw" and [p.clients for p in small.points] == [12, 12]
    big = metrics.group_series(store, [1, 2, 3], now - 3 * 3600, now, raw_max_ap_hours=8)
    assert big.resolution == "hourly" and [p.clients for p in big.points] == [12]
    assert metrics.has_samples_before(store, [2], now - 6000)
    assert not metrics.has_samples_before(store, [2], now - 7200)
    assert not metrics.has_samples_before(store, [9], now)


def test_metrics_keep_uplink_traffic_and_give_radios_and_links_apart(config, secrets, store,
                                                                    snapshot):
    add_site(store)
    snapshot.put(_uplink_status(add_ap(store, secrets, 1), state=ApState.DEGRADED,
                                links_down=("wlan1",), interfaces=(UPLINK, RADIO_UP, RADIO_DOWN)))
    text = build_app(config, secrets, snapshot).test_client().get("/metrics").get_data(
        as_text=True)
    got = {(s.name, tuple(sorted((k, v) for k, v in s.labels.items()
                                 if k not in ("site", "platform")))): s.value
           for family in text_string_to_metric_families(text) for s in family.samples}
    assert got[("oasis_ap_in_bps", (("ap", "ap-001"),))] == 7_520_000      # eth0's, alone
    assert got[("oasis_ap_out_bps", (("ap", "ap-001"),))] == 1_180_000
    radio = (("ap", "ap-001"), ("direction", "out"), ("interface", "wlan0"))
    assert got[("oasis_ap_radio_bps", radio)] == 3_000_000
    assert got[("oasis_ap_link_up", (("ap", "ap-001"), ("interface", "wlan1"),
                                     ("role", "radio")))] == 0
    assert got[("oasis_ap_link_up", (("ap", "ap-001"), ("interface", "eth0"),
                                     ("role", "uplink")))] == 1
    assert "visitors' download" in text


def test_a_radio_down_alert_names_its_radios(operator, store, secrets, snapshot):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    with store.transaction() as conn:
        alert_rows.open_alert(conn, "radio_down", "warning", {"interfaces": ["wlan0", "wlan1"]},
                              at=time.time() - 60, ap_id=ap["id"])
    page = operator.get("/aps/ap-001").get_data(as_text=True)
    assert "Radio down</strong>: reported down: wlan0, wlan1" in page
    listing = operator.get("/alerts/").get_data(as_text=True)
    assert "<dt>Interfaces</dt><dd><bdi>wlan0</bdi>, <bdi>wlan1</bdi></dd>" in listing
