"""The backhaul agent's parts that need no namespace: config, decision, spool, schemas, probes."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.backhaul.cli import backhaul
from agents.backhaul.config import ConfigError, load_agent_config
from agents.backhaul.health import DOWN, UP, PathSelector
from agents.backhaul.probe import EchoResponder, decode, encode
from agents.backhaul.telemetry import Spool, new_event
from core.contracts.backhaul import payload_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "agents" / "backhaul" / "backhaul.example.toml"


def config(**overrides):
    cfg = load_agent_config(EXAMPLE, env={}).backhaul
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


# -- config ------------------------------------------------------------------------------------

def test_example_config_loads_with_links_in_priority_order():
    cfg = load_agent_config(EXAMPLE, env={})
    assert [link.name for link in cfg.backhaul.links_by_priority()] == ["primary", "backup"]
    assert cfg.backhaul.links[0].fwmark == 0x101
    assert cfg.backhaul.probe_timeout_ms == cfg.backhaul.interval_ms
    assert cfg.mqtt.prefix == "oasis/"


def test_environment_overrides_the_file():
    cfg = load_agent_config(EXAMPLE, env={"OASIS_BACKHAUL_INTERVAL_MS": "50",
                                          "OASIS_BACKHAUL_ROUTES": "10.0.0.0/8, default",
                                          "OASIS_MQTT_HOST": "broker.lab"})
    assert cfg.backhaul.interval_ms == 50
    assert cfg.backhaul.routes == ["10.0.0.0/8", "default"]
    assert cfg.mqtt.host == "broker.lab"


@pytest.mark.parametrize("change, named", [
    ("interval_ms = 20", None),
    ("interval_ms = 5", "interval_ms"),
    ("recover_loss_pct = 60.0", "recover_loss_pct"),
    ("routes = [\"not-a-prefix\"]", "routes"),
    ("colour = \"red\"", "colour"),
])
def test_errors_name_the_key_and_the_file(tmp_path, change, named):
    key = change.split(" =")[0]
    kept = [line for line in EXAMPLE.read_text().splitlines() if not line.startswith(f"{key} =")]
    text = "\n".join(kept).replace("\n[backhaul]\n", f"\n[backhaul]\n{change}\n", 1)
    path = tmp_path / "backhaul.toml"
    path.write_text(text)
    if named is None:
        load_agent_config(path, env={})
        return
    with pytest.raises(ConfigError) as caught:
        load_agent_config(path, env={})
    assert named in str(caught.value) and str(path) in str(caught.value)


def test_links_must_differ_in_table_and_mark(tmp_path):
    text = EXAMPLE.read_text().replace("table = 102", "table = 101")
    path = tmp_path / "backhaul.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="links.table"):
        load_agent_config(path, env={})


# -- decision ----------------------------------------------------------------------------------

def drive(selector, link, outcomes, start, interval=0.02):
    """Feed probe outcomes (True = reply) to one link; return (time, transitions, switches)."""
    now, transitions, switches = start, [], []
    health = selector.by_name[link]
    for ok in outcomes:
        now += interval
        change = health.record_reply(1.0, now) if ok else health.record_miss(now)
        if change:
            transitions.append(change)
        switch = selector.decide(now)
        if switch:
            selector.commit(switch)
            switches.append(switch)
    return now, transitions, switches


def test_dead_path_fails_over_after_k_misses_and_fails_back_after_holddown():
    policy = config(fail_misses=10, holddown_s=2.0, recover_successes=25)
    selector = PathSelector(policy, now=0.0)
    now, transitions, switches = drive(selector, "primary", [False] * 10, 0.0)
    assert [t.reason for t in transitions] == ["misses"]
    assert [(s.kind, s.to_link) for s in switches] == [("failover", "backup")]
    # Replies again: up after 25 in a row with the window under 10% loss, then 2 s hold-down.
    now, transitions, switches = drive(selector, "primary", [True] * 400, now)
    assert transitions[0].state == UP
    assert [(s.kind, s.to_link) for s in switches] == [("failback", "primary")]
    assert switches[0].at - transitions[0].at >= 2.0


def test_a_relapse_during_holddown_restarts_it():
    policy = config(fail_misses=3, holddown_s=1.0, recover_successes=5, window=10)
    selector = PathSelector(policy, now=0.0)
    now, _, _ = drive(selector, "primary", [False] * 3, 0.0)
    now, _, switches = drive(selector, "primary", [True] * 20 + [False] * 3 + [True] * 20, now)
    assert switches == []  # never up for a whole second
    assert selector.active == "backup"


def test_windowed_loss_takes_down_a_link_that_never_misses_k_in_a_row():
    policy = config(fail_misses=10, window=50, fail_loss_pct=50.0)
    selector = PathSelector(policy, now=0.0)
    _, transitions, switches = drive(selector, "primary", [True, False, False] * 40, 0.0)
    assert transitions and transitions[0].reason == "loss"
    assert switches[0].kind == "failover"


def test_twenty_percent_random_loss_for_ten_minutes_of_probes_never_fails_over():
    policy = config()  # shipped defaults: 20 ms, 10 misses, 50% window loss
    selector = PathSelector(policy, now=0.0)
    rng = random.Random(6)
    outcomes = [rng.random() >= 0.2 for _ in range(30_000)]  # 10 min at 20 ms
    _, transitions, switches = drive(selector, "primary", outcomes, 0.0)
    assert transitions == [] and switches == []


def test_carrier_loss_is_down_at_once_and_carrier_back_is_not_up():
    selector = PathSelector(config(), now=0.0)
    primary = selector.by_name["primary"]
    change = primary.record_carrier(False, 1.0)
    assert change.state == DOWN and change.reason == "carrier"
    assert selector.decide(1.0).to_link == "backup"
    assert primary.record_carrier(True, 2.0) is None
    assert primary.state == DOWN


def test_nothing_usable_keeps_the_current_route():
    selector = PathSelector(config(fail_misses=1), now=0.0)
    for name in ("primary", "backup"):
        selector.by_name[name].record_miss(0.1)
    assert selector.decide(0.1) is None


# -- telemetry ---------------------------------------------------------------------------------

def test_spool_keeps_order_and_only_the_newest_state(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    spool.put("backhaul/b/state", "s/1", {"n": 1}, retain=True)
    spool.put("backhaul/b/events", "e/1", {"n": 2}, retain=False)
    spool.put("backhaul/b/state", "s/1", {"n": 3}, retain=True)
    rows = spool.oldest()
    assert [(row[1], row[3]["n"]) for row in rows] == [("backhaul/b/events", 2),
                                                        ("backhaul/b/state", 3)]
    spool.remove(rows[0][0])
    spool.close()
    assert Spool(tmp_path / "spool.db").pending() == 1  # survives a restart


def test_docs_schemas_match_the_code():
    schemas = payload_schema()
    for which in ("state", "event"):
        path = ROOT / "docs" / "schemas" / f"backhaul-{which}.json"
        assert json.loads(path.read_text()) == schemas[which], f"regenerate {path}"


def test_events_have_unique_ids_and_known_kinds():
    first = new_event("b", "failover", from_link="primary", to_link="backup")
    assert first["id"] != new_event("b", "failover")["id"]
    with pytest.raises(ValueError, match="kind"):
        new_event("b", "exploded")


# -- probes ------------------------------------------------------------------------------------

def test_probe_packets_round_trip_and_foreign_data_is_ignored():
    assert decode(encode(7, 123)) == (7, 123)
    assert decode(b"GET / HTTP/1.1") is None


def test_responder_echoes_from_the_address_it_was_asked_on():
    import socket

    responder = EchoResponder("127.0.0.1", 0)
    stop = threading.Event()
    thread = threading.Thread(target=responder.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(2)
            client.sendto(encode(1, 2), responder.address)
            data, sender = client.recvfrom(64)
        assert decode(data) == (1, 2) and sender == responder.address
    finally:
        stop.set()
        thread.join(2)
        responder.close()


# -- command line ------------------------------------------------------------------------------

def test_cli_checks_config_and_prints_schemas():
    runner = CliRunner()
    checked = runner.invoke(backhaul, ["check-config", "--config", str(EXAMPLE)])
    assert checked.exit_code == 0 and "primary: eth1 via 10.20.1.1" in checked.output
    bad = runner.invoke(backhaul, ["check-config", "--config", "/nonexistent.toml"])
    assert bad.exit_code != 0 and "config file not found" in bad.output
    printed = runner.invoke(backhaul, ["schema", "event"])
    assert json.loads(printed.output) == payload_schema()["event"]
