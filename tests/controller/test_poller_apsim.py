"""The poller against the AP simulator: several APs, v2c and v3, a reboot and a 2**64 wrap.

The simulator runs on a clock the test moves, so traffic between two polls is known to be
enough to wrap a counter placed just below 2**64, without waiting for real time to pass.
"""

import asyncio
import time

import pytest

from controller.monitoring.poller import Poller
from controller.monitoring.snapshot import ApState, Snapshot
from controller.settings import SnmpConfig
from controller.snmp.engine import PollTarget, V2cCredentials, V3Credentials
from tests.support import free_udp_port

simulator = pytest.importorskip("agents.apsim.simulator")


def test_simulated_aps_reboot_and_counter_wrap():
    now = [time.time()]
    port = free_udp_port()
    settings = simulator.SimulatorSettings(count=4, first_address="127.0.1.231", port=port,
                                           trap_target=None)
    sim = simulator.ApSimulator(settings, clock=lambda: now[0])
    plans = sim.plans
    v3 = V3Credentials(settings.v3_user, settings.v3_auth_key, settings.v3_priv_key)
    targets = [PollTarget(i + 1, p.name, p.mgmt_ip, p.snmp_port, p.platform,
                          v3 if i == 3 else V2cCredentials(settings.community))
               for i, p in enumerate(plans)]
    rebooting, wrapping = plans[0].name, plans[1].name
    snapshot = Snapshot()

    async def cycle(poller, advance_s: float):
        now[0] += advance_s
        await poller.poll_once()

    async def main():
        await sim.start()
        poller = Poller(lambda: targets, SnmpConfig(timeout=2.0, retries=1), snapshot)
        try:
            await cycle(poller, 0)
            assert [snapshot.get(t.ap_id).state for t in targets] == [ApState.UP] * 4
            for target in targets:
                status = snapshot.get(target.ap_id)
                assert status.interfaces and status.sys_name
                assert {i.name for i in status.interfaces} >= {"lo", "eth0", "wlan0", "wlan1"}
                if target.platform != "generic":
                    assert status.clients is not None

            await cycle(poller, 30)
            assert all(snapshot.get(t.ap_id).in_bps is not None for t in targets)

            sim.wrap_soon(wrapping, headroom=1)           # next octet wraps the HC counters
            await cycle(poller, 0)                        # reads the counters just below 2**64
            before = {i.index: i.in_octets for i in snapshot.get(2).interfaces}
            sim.reboot(rebooting)
            await cycle(poller, 30)

            rebooted = snapshot.get(1)
            assert rebooted.state is ApState.UP and rebooted.rebooted
            assert rebooted.in_bps is None
            assert all(i.in_bps is None for i in rebooted.interfaces)

            wrapped = snapshot.get(2)
            crossed = [i for i in wrapped.interfaces
                       if before[i.index] is not None and i.in_octets < before[i.index]]
            assert crossed, "no interface wrapped its HC counter"
            for interface in crossed:
                assert interface.in_bps is not None and 0 <= interface.in_bps < 1e11
            assert not wrapped.rebooted
        finally:
            poller.close()
            await sim.stop()

    asyncio.run(main())
