"""/metrics: Prometheus text that prometheus_client's own parser reads back."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from controller import auth
from controller.monitoring.snapshot import ApState
from tests.controller.web_harness import add_user, cycle, status
from tests.fleet import add_ap, add_site


def samples(text: str) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def labels(ap: str, **extra) -> tuple:
    return tuple(sorted({"ap": ap, "site": "amanah-walkway", "platform": "openwrt",
                         **extra}.items()))


def test_metrics_carry_ap_poller_and_alert_samples(client, store, secrets, snapshot):
    add_site(store)
    up, down, _unpolled = (add_ap(store, secrets, n) for n in (1, 2, 3))
    snapshot.put(status(up))
    snapshot.put(status(down, state=ApState.DOWN, consecutive_failures=3, clients=None,
                        in_bps=None, out_bps=None, errors_ps=None))
    cycle(snapshot, polled=3, answered=1, duration=2.5)
    for known in (True, False, False):
        snapshot.count_trap(known=known)
    with store.transaction() as conn:
        conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at) VALUES "
                     "(?, 'ap_down', 'critical', 1735689600.0)", (down["id"],))

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    got = samples(response.get_data(as_text=True))
    assert got[("oasis_ap_up", labels("ap-001"))] == 1
    assert got[("oasis_ap_up", labels("ap-002"))] == 0
    assert got[("oasis_ap_up", labels("ap-003"))] == 0
    assert got[("oasis_ap_state", labels("ap-001", state="up"))] == 1
    assert got[("oasis_ap_state", labels("ap-001", state="down"))] == 0
    assert got[("oasis_ap_state", labels("ap-002", state="down"))] == 1
    assert got[("oasis_ap_state", labels("ap-003", state="unknown"))] == 1
    assert got[("oasis_ap_clients", labels("ap-001"))] == 17
    assert ("oasis_ap_clients", labels("ap-002")) not in got  # unknown: omitted, not zero
    assert got[("oasis_ap_in_bps", labels("ap-001"))] == 12_500_000
    assert got[("oasis_ap_out_bps", labels("ap-001"))] == 3_250_000
    assert got[("oasis_ap_errors_per_second", labels("ap-001"))] == 0.25
    assert got[("oasis_ap_uptime_seconds", labels("ap-001"))] == 90061
    assert got[("oasis_poll_cycle_seconds", ())] == 2.5
    assert got[("oasis_poll_aps_answered", ())] == 1
    assert got[("oasis_traps_received_total", ())] == 3
    assert got[("oasis_traps_unknown_source_total", ())] == 2
    assert got[("oasis_alerts_open", (("kind", "ap_down"),))] == 1
    assert got[("oasis_alerts_open", (("kind", "interface_errors"),))] == 0


def test_metrics_before_the_first_cycle_parse_and_omit_cycle_values(client):
    got = samples(client.get("/metrics").get_data(as_text=True))
    assert ("oasis_poll_cycle_seconds", ()) not in got
    assert got[("oasis_traps_received_total", ())] == 0


def test_metrics_from_a_non_loopback_address_need_a_token(client, store):
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    response = client.get("/metrics", environ_base=remote)
    assert response.status_code == 401
    add_user(store, "prom", "viewer")
    token = auth.create_token(store, "prom", "scraper", "test")
    response = client.get("/metrics", environ_base=remote,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "oasis_traps_received_total" in response.get_data(as_text=True)


def test_metrics_say_which_objects_are_missing_which_tables_are_cut_and_traps_dropped(
        client, store, secrets, snapshot):
    add_site(store)
    partial, whole = (add_ap(store, secrets, n) for n in (1, 2))
    snapshot.put(status(partial, missing=("clients: genErr", "sys_name: absent",
                                          "if_name: genErr"), interfaces_truncated=True))
    snapshot.put(status(whole))
    for reason in ("malformed", "malformed", "bad_community"):
        snapshot.count_dropped_trap(reason)
    got = samples(client.get("/metrics").get_data(as_text=True))
    assert got[("oasis_ap_missing_objects", labels("ap-001", reason="genErr"))] == 2
    assert got[("oasis_ap_missing_objects", labels("ap-001", reason="absent"))] == 1
    assert ("oasis_ap_missing_objects", labels("ap-002", reason="genErr")) not in got
    assert got[("oasis_ap_interfaces_truncated", labels("ap-001"))] == 1
    assert got[("oasis_ap_interfaces_truncated", labels("ap-002"))] == 0
    assert got[("oasis_traps_dropped_total", (("reason", "malformed"),))] == 2
    assert got[("oasis_traps_dropped_total", (("reason", "bad_community"),))] == 1
