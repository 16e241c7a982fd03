"""Sharded polling against the AP simulator: two pollers split the fleet with no AP polled by
both, one stopping or killed hands its APs to the other, and an admin app that runs no poller
shows what they publish in the store.

The simulator counts, per AP, the polls it answered and from which manager address: each
poller has its own SNMP socket, so an AP polled by two pollers shows two addresses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.apsim import SimulatorSettings, SimulatorThread, simulated_inventory, simulated_sites
from controller.monitoring import published
from controller.monitoring.service import MonitoringService
from controller.monitoring.snapshot import ApState, Snapshot
from controller.poller_node import PollerNode
from controller.web import create_app
from core import inventory, leases
from core.store import Store
from tests.controller.controller_harness import api, controller_config, running_controller
from tests.controller.web_harness import bearer
from tests.support import free_port, free_udp_port, wait_for

pytestmark = pytest.mark.store_backed  # the controller harness keeps its store

COUNT = 12
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fleet(config, store, secrets):
    """Simulated v2c APs seeded into the store; the config polls every second."""
    first = f"127.0.{200 + (free_port() % 50)}.1"
    settings = SimulatorSettings(count=COUNT, first_address=first, port=free_udp_port(),
                                 trap_target=None, v3=False)
    config.snmp.interval, config.snmp.timeout, config.snmp.retries = 1.0, 0.5, 0
    config.snmp.trap_listen = "127.0.0.1:0"
    config.monitoring.member_ttl_s = 3.0
    with SimulatorThread(settings) as sim:
        for site in simulated_sites():
            inventory.add_site(store, {k: site[k] for k in inventory.SITE_FIELDS if k in site},
                               "test")
        for plan in simulated_inventory(COUNT, first, settings.port):
            inventory.add_ap(store, secrets, {
                "name": plan["name"], "mac": plan["mac"], "mgmt_ip": plan["mgmt_ip"],
                "platform": plan["platform"], "site": plan["site"],
                "snmp_port": plan["snmp_port"], "snmp_community": "public"}, "test")
        yield sim


def service(config, secrets, holder: str, traps: bool = False) -> MonitoringService:
    return MonitoringService(config, config.store_location(), secrets, Snapshot(),
                             holder=holder, traps=traps)


def pollers_of(store) -> dict[int, str]:
    """Which poller last published each AP."""
    return dict(store.conn.execute("SELECT ap_id, poller FROM ap_status").fetchall())


def polled_by(sim: SimulatorThread) -> dict[str, set]:
    """Each AP's pollers (manager addresses) since the counts were last cleared."""
    found: dict[str, set] = {}
    for (name, peer), _count in sim.call(lambda s: dict(s.polls)).items():
        found.setdefault(name, set()).add(peer)
    return found


def test_two_pollers_split_the_fleet_and_hand_over(fleet, config, store, secrets):
    sim = fleet
    a = service(config, secrets, "poller-a", traps=True)
    b = service(config, secrets, "poller-b")
    a.start()
    try:
        wait_for(lambda: len(pollers_of(store)) == COUNT, timeout=15,
                 what="poller a alone publishing every AP")
        assert set(pollers_of(store).values()) == {"poller-a"}
        b.start()
        try:
            both = ["poller-a", "poller-b"]
            # Steady once both started a cycle knowing each other.
            wait_for(lambda: a.membership.live == both and b.membership.live == both
                     and b.snapshot.cycles >= 1, timeout=15, what="two live members")
            cycles = (a.snapshot.cycles, b.snapshot.cycles)
            sim.call(lambda s: s.polls.clear())
            wait_for(lambda: a.snapshot.cycles >= cycles[0] + 3
                     and b.snapshot.cycles >= cycles[1] + 3, timeout=20,
                     what="three more cycles of each")
            seen = polled_by(sim)
            assert len(seen) == COUNT, "every AP is polled"
            twice = {name: peers for name, peers in seen.items() if len(peers) != 1}
            assert not twice, f"APs polled by two pollers: {twice}"
            mine_a = {s.ap_id for s in a.snapshot.all()}
            mine_b = {s.ap_id for s in b.snapshot.all()}
            assert mine_a and mine_b and not mine_a & mine_b
            assert len(mine_a | mine_b) == COUNT
            owners = pollers_of(store)
            assert {ap for ap, p in owners.items() if p == "poller-b"} == mine_b
            assert all(leases.owner_of(str(ap), both) == p for ap, p in owners.items())
        finally:
            stopped_at = time.time()
            b.stop()
        # A clean stop leaves the group at once: a's next cycle takes b's APs.
        wait_for(lambda: set(pollers_of(store).values()) == {"poller-a"}, timeout=5,
                 what="poller a polling b's APs")
        rows = store.conn.execute("SELECT ap_id, polled_at FROM ap_status").fetchall()
        assert all(polled_at > stopped_at for ap, polled_at in rows if ap in mine_b)
        assert a.membership.live == ["poller-a"]
    finally:
        a.stop()


def test_a_handed_over_ap_goes_on_from_its_published_state(fleet, config, store, secrets):
    """The new owner carries on an AP's failure run: no "unknown -> down" state event and no
    second alert when it takes over a down AP."""
    sim = fleet
    a = service(config, secrets, "poller-a")
    a.start()
    try:
        down = inventory.list_aps(store)[0]
        sim.call(lambda s: s.set_reachable(down["name"], False))
        wait_for(lambda: (s := a.snapshot.get(down["id"])) and s.state is ApState.DOWN,
                 timeout=15, what="the AP down on poller a")
    finally:
        a.stop()
    events = state_events(store, down["id"])
    b = service(config, secrets, "poller-b")
    b.start()
    try:
        wait_for(lambda: b.snapshot.cycles >= 2, timeout=15, what="two cycles of poller b")
        status = b.snapshot.get(down["id"])
        assert status.state is ApState.DOWN and status.consecutive_failures >= 4
        assert state_events(store, down["id"]) == events
        alerts = store.conn.execute("SELECT count(*) FROM alerts WHERE ap_id = ? AND"
                                    " kind = 'ap_down'", (down["id"],)).fetchone()[0]
        assert alerts == 1, "the down alert stays open, not cleared and opened again"
    finally:
        b.stop()


def state_events(store, ap_id: int) -> int:
    return store.conn.execute("SELECT count(*) FROM ap_events WHERE ap_id = ? AND kind = 'state'",
                              (ap_id,)).fetchone()[0]


def test_an_admin_app_without_a_poller_shows_the_published_states(fleet, config, store,
                                                                     secrets):
    a = service(config, secrets, "poller-a")
    b = service(config, secrets, "poller-b")
    a.start()
    b.start()
    try:
        reader = published.PublishedSnapshots(config.monitoring.group)

        def steady():
            view = reader.current(store)
            return len(view.statuses) == COUNT and view.last_cycle.polled == COUNT \
                and {s.state for s in view.all()} == {ApState.UP} \
                and sorted(p.holder for p in view.pollers if p.live) == ["poller-a", "poller-b"]

        wait_for(steady, timeout=20, what="both pollers' last cycles sharing the APs, all up")
        app = create_app(config, secret_box=secrets)  # no snapshot given: the store's
        app.config["TESTING"] = True
        client = app.test_client()
        headers = bearer(store, "viewer", "viewer")
        aps = client.get("/api/v1/aps", headers=headers).get_json()["aps"]
        assert len(aps) == COUNT and {ap["state"] for ap in aps} == {"up"}
        board = client.get("/api/v1/dashboard", headers=headers).get_json()
        assert board["totals"]["states"]["up"] == COUNT
        assert board["poller"]["last_cycle"]["polled"] == COUNT
        assert sorted((p["holder"], p["live"]) for p in board["poller"]["pollers"]) == [
            ("poller-a", True), ("poller-b", True)]
        assert sum(p["aps"] for p in board["poller"]["pollers"]) == COUNT
        status = client.get(f"/api/v1/aps/{aps[0]['name']}/status", headers=headers).get_json()
        assert status["state"] == "up" and status["interfaces"]
        metrics = client.get("/metrics", headers=headers).get_data(as_text=True)
        assert f"oasis_poll_aps_answered {float(COUNT)}" in metrics
        assert "oasis_pollers_live 2.0" in metrics
    finally:
        a.stop()
        b.stop()


def test_a_killed_poller_process_hands_over_within_its_lease(fleet, config, store, tmp_path):
    """Two `oasis poller` processes; SIGKILL one (it cannot leave the group): the other polls
    its APs once the lease has run out, without waiting for its own next cycle (30 s away)."""
    sim = fleet

    def poller(interval: float) -> subprocess.Popen:
        toml = tmp_path / f"poller-{interval:g}.toml"
        toml.write_text(
            f"[store]\npath = '{config.store.path}'\nkey_file = '{config.store.key_file}'\n"
            f"[snmp]\ninterval = {interval}\ntimeout = 0.5\nretries = 0\n"
            f"trap_listen = '127.0.0.1:0'\n[monitoring]\nmember_ttl_s = 3.0\n")
        env = {**os.environ, "OASIS_CONFIG": str(toml), "PYTHONPATH": str(ROOT)}
        return subprocess.Popen([sys.executable, "-m", "controller", "poller"], env=env,
                                cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def generation(holder: str) -> int:
        return store.conn.execute("SELECT generation FROM monitoring_pollers WHERE holder = ?",
                                  (holder,)).fetchone()[0]

    victim = poller(1.0)
    procs = [victim]
    try:
        wait_for(lambda: len(pollers_of(store)) == COUNT, timeout=30,
                 what="the first poller process publishing every AP")
        (victim_holder,) = set(pollers_of(store).values())
        procs.append(poller(30.0))  # polls its share once at its start, then in 30 s
        wait_for(lambda: len(set(pollers_of(store).values())) == 2, timeout=30,
                 what="the second poller publishing its share")
        (survivor,) = set(pollers_of(store).values()) - {victim_holder}
        wait_for(lambda: leases.members(store, config.monitoring.group)
                 == sorted([victim_holder, survivor]), timeout=10, what="both members live")
        # Steady: the victim's next cycles poll its share only, each AP from one poller.
        sim.call(lambda s: s.polls.clear())
        since = generation(victim_holder)
        wait_for(lambda: generation(victim_holder) >= since + 3, timeout=15,
                 what="three cycles of the first poller")
        twice = {name: peers for name, peers in polled_by(sim).items() if len(peers) != 1}
        assert not twice, f"APs polled by two pollers: {twice}"
        theirs = {ap for ap, p in pollers_of(store).items() if p == victim_holder}
        assert theirs and len(theirs) < COUNT
        victim.send_signal(signal.SIGKILL)
        killed_at = time.time()
        victim.wait(10)

        def handed_over():
            rows = store.conn.execute("SELECT ap_id, poller, polled_at FROM ap_status").fetchall()
            return all(p == survivor and at > killed_at for ap, p, at in rows if ap in theirs)

        wait_for(handed_over, timeout=20, what="the survivor polling the killed poller's APs")
        took = time.time() - killed_at
        # The lease (3 s), the survivor's next look at the members (every third of it), a poll.
        assert took <= 3.0 + 1.0 + 3.0, f"hand-over took {took:.1f}s (TTL 3 s)"
        assert leases.members(store, config.monitoring.group) == [survivor]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_an_admin_node_polls_nothing_and_shows_what_a_poller_node_publishes(tmp_path, mosquitto):
    """``oasis run`` with ``[monitoring] role = "admin"`` next to a poller alone (what
    ``oasis poller`` runs), on one store."""
    config = controller_config(tmp_path, mosquitto, client_id="oasis-admin-node", aps=4,
                               first_address="127.0.9.101", snmp_timeout=0.5)
    config.monitoring.role = "admin"
    with running_controller(config) as (controller, _simulator, token):
        assert controller.monitoring is None and controller.health_problem() is None
        assert api(controller, token, "dashboard")["poller"]["last_cycle"] is None
        node = PollerNode(config, config.store_location(), holder="poller-node")
        node.start()
        try:
            aps = wait_for(lambda: (found := api(controller, token, "aps")["aps"])
                           and all(ap["state"] == "up" for ap in found) and found,
                           timeout=20, what="the admin node showing the poller's APs up")
            assert len(aps) == 4
            board = api(controller, token, "dashboard")["poller"]
            assert [p["holder"] for p in board["pollers"]] == ["poller-node"]
        finally:
            node.stop()
