"""What the branch agent tells reporting: when a link's trouble began (for the detection time
of a switch) and its replies per RTT bucket (for percentiles over any period)."""

from __future__ import annotations

from pathlib import Path

from agents.backhaul.config import load_agent_config
from agents.backhaul.health import PathSelector
from core.contracts.backhaul import RTT_BUCKETS_MS
from tests.schemas import validator

EXAMPLE = Path(__file__).resolve().parents[2] / "agents" / "backhaul" / "backhaul.example.toml"


def policy(**overrides):
    cfg = load_agent_config(EXAMPLE, env={}).backhaul
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def test_a_run_of_misses_is_dated_from_its_first_miss():
    selector = PathSelector(policy(fail_misses=3), now=0.0)
    health = selector.by_name["primary"]
    health.record_reply(2.0, 0.1)
    assert health.record_miss(0.2) is None            # a lone miss, then a reply: forgotten
    health.record_reply(2.0, 0.3)
    assert health.record_miss(0.4) is None
    assert health.record_miss(0.6) is None
    down = health.record_miss(0.8)
    assert (down.state, down.reason, down.since) == ("down", "misses", 0.4)
    assert health.down_since == 0.4
    switch = selector.decide(0.85)
    assert switch.kind == "failover" and switch.at - health.down_since == 0.85 - 0.4


def test_windowed_loss_is_dated_from_the_oldest_miss_in_the_window():
    selector = PathSelector(policy(fail_misses=10, window=6, fail_loss_pct=50.0), now=0.0)
    health = selector.by_name["primary"]
    outcomes = [True, True, True, False, True, False, True, False]   # window: T,F,T,F,T,F at the end
    change = None
    for n, ok in enumerate(outcomes):
        at = 1.0 + n
        change = health.record_reply(1.0, at) if ok else health.record_miss(at)
    assert (change.reason, change.since) == ("loss", 4.0)   # the miss at 4.0 is the oldest kept


def test_carrier_loss_dates_itself_and_recovery_clears_the_date():
    selector = PathSelector(policy(recover_successes=2, recover_loss_pct=100.0), now=0.0)
    health = selector.by_name["primary"]
    down = health.record_carrier(False, 5.0)
    assert down.since == 5.0 and health.down_since == 5.0
    health.record_carrier(True, 6.0)
    health.record_reply(1.0, 6.1)
    up = health.record_reply(1.0, 6.2)
    assert up.state == "up" and health.down_since is None


def test_replies_are_counted_per_rtt_bucket():
    health = PathSelector(policy(), now=0.0).by_name["primary"]
    for rtt in (0.4, 1.0, 1.5, 9.9, 10.0, 45.0, 2000.0, 2500.0):
        health.record_reply(rtt, 1.0)
    counts = dict(zip([*RTT_BUCKETS_MS, "slower"], health.rtt_buckets))
    assert counts[1] == 2 and counts[2] == 1 and counts[10] == 2 and counts[50] == 1
    assert counts[2000] == 1 and counts["slower"] == 1
    assert sum(health.rtt_buckets) == health.replies == 8


def test_the_new_fields_follow_the_published_schemas():
    state = {"schema": "oasis.backhaul.state/1", "branch": "b1", "at": "2026-11-10T10:00:00+00:00",
             "active_link": "primary",
             "links": [{"name": "primary", "interface": "eth1", "state": "up", "carrier": True,
                        "loss_pct": 0.0, "probes_sent": 10, "replies": 10,
                        "rtt_buckets": [0, 10] + [0] * 14}]}
    assert not list(validator("backhaul-state").iter_errors(state))
    state["links"][0]["rtt_buckets"] = [1, 2]
    assert list(validator("backhaul-state").iter_errors(state))      # not the bucket count
    event = {"schema": "oasis.backhaul.event/1", "id": "x", "branch": "b1", "kind": "failover",
             "at": "2026-11-10T10:00:00+00:00", "from_link": "primary", "to_link": "backup",
             "switch_ms": 3.2, "detect_ms": 612.5}
    assert not list(validator("backhaul-event").iter_errors(event))
