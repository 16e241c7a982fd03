"""An AP's traffic, its radios and its links, polled from the AP simulator over real SNMP.

Traffic is the uplink's (a visitor's download arrives there and leaves again on a radio, so
adding the interfaces counted it twice); a radio that goes down degrades the AP and opens an
alert, from a poll or at once from its linkDown trap; a down AP says since when and shows no
stale values, and the controller's log says it went down.
"""

import asyncio
import logging
import time

import pytest

from agents.apsim import simulator
from controller.monitoring import events, metrics
from controller.monitoring.alerts import AlertEvaluator
from controller.monitoring.poller import Poller
from controller.monitoring.snapshot import ApState, ApStatus, Snapshot
from controller.settings import SnmpConfig
from controller.snmp.engine import PollTarget, V2cCredentials
from core.alerts import open_ap_alerts
from tests.controller.alert_fleet import add_aps
from tests.controller.controller_harness import api, controller_config, running_controller
from tests.peers_smtp import smtp_server  # noqa: F401
from tests.support import free_udp_port, wait_for

pytestmark = pytest.mark.store_backed  # the controller harness keeps its store

WLAN0 = 3


LINK_KINDS = ("radio_down", "uplink_down")


def _fleet(count: int, first: str):
    now = [time.time()]
    settings = simulator.SimulatorSettings(count=count, first_address=first,
                                           port=free_udp_port(first), trap_target=None)
    sim = simulator.ApSimulator(settings, clock=lambda: now[0])
    targets = [PollTarget(i + 1, p.name, p.mgmt_ip, p.snmp_port, p.platform,
                          V2cCredentials(settings.community)) for i, p in enumerate(sim.plans)]
    return sim, targets, now


def test_traffic_is_the_uplinks_and_a_radio_down_degrades_the_ap_and_alerts(config, store):
    sim, targets, now = _fleet(1, "127.0.3.11")
    [ap_id] = add_aps(store, ("park-links", None))
    target = targets[0]
    target = PollTarget(ap_id, target.name, target.address, target.port, target.platform,
                        target.credentials)
    snapshot = Snapshot()
    evaluator = AlertEvaluator(store, config.alerts)

    async def main():
        await sim.start()
        poller = Poller(lambda: [target], SnmpConfig(timeout=2.0, retries=1), snapshot)

        async def cycle(advance: float):
            now[0] += advance
            await poller.poll_once()
            return evaluator.evaluate(snapshot.all(), [])
        try:
            await cycle(0)
            await cycle(60)
            status = snapshot.get(ap_id)
            by_name = {i.name: i for i in status.interfaces}
            assert status.state is ApState.UP and status.uplink == "eth0"
            assert by_name["eth0"].role == "uplink"
            assert {by_name["wlan0"].role, by_name["wlan1"].role} == {"radio"}
            assert by_name["lo"].role == "loopback"
            # The AP's traffic is eth0's, nothing added: download (in) well above upload.
            assert status.in_bps == by_name["eth0"].in_bps and status.in_bps > 0
            assert status.out_bps == by_name["eth0"].out_bps
            assert status.in_bps > 2 * status.out_bps
            radios_out = by_name["wlan0"].out_bps + by_name["wlan1"].out_bps
            assert status.radio_out_bps == pytest.approx(radios_out)
            assert status.in_bps < status.in_bps + radios_out      # the old sum, for contrast
            assert all(i.admin_up and i.oper_up for i in status.interfaces)

            sim.set_link(target.name, WLAN0, False)
            changes = await cycle(60)
            status = snapshot.get(ap_id)
            assert status.state is ApState.DEGRADED and status.links_down == ("wlan0",)
            wlan0 = next(i for i in status.interfaces if i.name == "wlan0")
            assert (wlan0.admin_up, wlan0.oper_up) == (False, False)
            # Only the link alerts: the simulator's error counters run on the wall clock, so an
            # interface_errors alert may come and go with the machine's load.
            assert [(c.kind, c.status, c.detail) for c in changes if c.kind in LINK_KINDS] == [
                ("radio_down", "open", {"interfaces": ["wlan0"]})]
            assert (ap_id, "radio_down") in open_ap_alerts(store.conn)

            sim.set_link(target.name, WLAN0, True)
            changes = await cycle(60)
            assert snapshot.get(ap_id).state is ApState.UP
            assert [(c.kind, c.status) for c in changes if c.kind in LINK_KINDS] == [
                ("radio_down", "cleared")]
        finally:
            poller.close()
            await sim.stop()

    asyncio.run(main())


def test_a_down_ap_says_since_when_keeps_no_stale_values_and_is_logged(caplog):
    sim, targets, now = _fleet(1, "127.0.3.21")
    snapshot = Snapshot()

    async def main():
        await sim.start()
        poller = Poller(lambda: targets, SnmpConfig(timeout=0.2, retries=0, down_after=2),
                        snapshot)
        try:
            await poller.poll_once()
            up = snapshot.get(1)
            assert up.state is ApState.UP and up.uptime_s is not None and up.down_since is None
            sim.set_reachable(targets[0].name, False)
            await poller.poll_once()
            first_failure = snapshot.get(1)
            assert first_failure.state is ApState.DEGRADED
            assert first_failure.down_since == first_failure.polled_at
            await poller.poll_once()
            down = snapshot.get(1)
            assert down.state is ApState.DOWN
            assert down.down_since == first_failure.polled_at < down.polled_at
            assert down.answered_at == up.answered_at
            assert (down.uptime_s, down.clients, down.in_bps, down.radio_out_bps) == (
                None, None, None, None)
            assert all(i.oper_up is None and i.in_bps is None for i in down.interfaces)
            sim.set_reachable(targets[0].name, True)
            await poller.poll_once()
            assert snapshot.get(1).state is ApState.UP and snapshot.get(1).down_since is None
        finally:
            poller.close()
            await sim.stop()

    with caplog.at_level(logging.INFO, logger="controller.monitoring.poller"):
        asyncio.run(main())
    said = [r.getMessage() for r in caplog.records]
    name = targets[0].name
    assert any(m.startswith(f"AP {name} is down (2 polls unanswered since ") for m in said), said
    assert f"AP {name} is up again (was down)" in said
    assert [r.levelno for r in caplog.records if " is down " in r.getMessage()] == [
        logging.WARNING]


def test_a_controller_started_during_an_outage_says_since_when_from_the_history(store):
    sim, targets, _now = _fleet(1, "127.0.3.26")
    snapshot = Snapshot()
    began = float(int(time.time()) - 900)   # samples are stored in whole seconds
    for at, up in ((began - 100, True), (began, False), (began + 100, False)):
        metrics.write_cycle(store, [status_at(at, up)], at)

    async def main():
        await sim.start()
        sim.set_reachable(targets[0].name, False)
        poller = Poller(lambda: targets, SnmpConfig(timeout=0.2, retries=0, down_after=1),
                        snapshot, outage_start=lambda ap_id: metrics.outage_start(store, ap_id))
        try:
            await poller.poll_once()
        finally:
            poller.close()
            await sim.stop()

    asyncio.run(main())
    down = snapshot.get(1)
    assert down.state is ApState.DOWN and down.down_since == began
    assert metrics.outage_start(store, 2) is None


def status_at(at: float, up: bool) -> ApStatus:
    """A stored sample of AP 1 at ``at``, answered or not."""
    return ApStatus(ap_id=1, name="ap-1", state=ApState.UP if up else ApState.DOWN,
                    polled_at=at, answered_at=at if up else at - 1000)


@pytest.fixture
def quiet_controller(tmp_path, mosquitto, smtp_server):  # noqa: F811
    """The controller polling every 5 minutes: what changes within a test came by trap."""
    config = controller_config(tmp_path, mosquitto, client_id="oasis-links", aps=2,
                               first_address="127.0.3.31", snmp_timeout=0.5)
    config.snmp.interval = 300.0
    config.mail.host, config.mail.port = smtp_server.host, smtp_server.port
    with running_controller(config) as (controller, sim, token):
        yield controller, sim, token


def test_a_link_down_trap_degrades_the_ap_and_opens_an_alert_before_the_next_poll(
        quiet_controller):
    controller, sim, token = quiet_controller
    aps = wait_for(lambda: (lambda aps: len(aps) == 2 and all(a["state"] == "up" for a in aps)
                            and aps)(api(controller, token, "aps")["aps"]),
                   timeout=20, what="both APs polled once")
    name = sorted(a["name"] for a in aps)[0]
    cycles = controller.monitoring.snapshot.cycles
    sim.link_down(name, WLAN0)
    wait_for(lambda: api(controller, token, f"aps/{name}/status")["state"] == "degraded",
             timeout=10, what="degraded by the linkDown trap")
    alerts = api(controller, token, "alerts?state=open")["alerts"]
    assert [(a["kind"], a["detail"]["interfaces"]) for a in alerts
            if a["ap_name"] == name] == [("radio_down", ["wlan0"])]
    sim.link_up(name, WLAN0)
    wait_for(lambda: api(controller, token, f"aps/{name}/status")["state"] == "up",
             timeout=10, what="up again by the linkUp trap")
    wait_for(lambda: not [a for a in api(controller, token, "alerts?state=open")["alerts"]
                          if a["kind"] == "radio_down"], timeout=10, what="radio_down cleared")
    assert controller.monitoring.snapshot.cycles == cycles, "a poll ran: not the trap's doing"


def test_a_restart_the_poll_saw_is_an_event_and_one_mark_with_its_trap(config, store):
    [ap_id] = add_aps(store, ("park-restart", None))
    evaluator = AlertEvaluator(store, config.alerts)
    now = time.time()
    restarted = ApStatus(ap_id=ap_id, name="park-restart", state=ApState.UP, polled_at=now,
                         answered_at=now, uptime_s=12.0, rebooted=True)
    evaluator.evaluate([restarted], [])
    evaluator.evaluate([restarted], [], from_poll=False)      # a trap's update: not again
    kinds = [e.kind for e in events.recent_events(store, ap_id)]
    assert kinds == ["rebooted"]
    # Its coldStart trap, a moment earlier, is the same restart: one mark on the charts.
    events.record_event(store, ap_id, "coldStart", "trap", {}, at=now - 20)
    events.record_event(store, ap_id, "coldStart", "trap", {}, at=now - 3600)
    assert [at for _ap, at in events.restarts(store, [ap_id], now - 7200, now + 1)] == [
        now - 3600, now - 20]
