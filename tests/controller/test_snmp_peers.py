"""The SNMP adapter and the poller against real agents: net-snmp snmpd and snmpsim."""

import asyncio

import pytest

from controller.monitoring.poller import Poller
from controller.monitoring.snapshot import ApState, Snapshot
from controller.settings import SnmpConfig
from controller.snmp.engine import (
    PollTarget,
    SnmpAuthError,
    SnmpClient,
    SnmpTimeout,
    V2cCredentials,
    V3Credentials,
    V3_PATHS,
)
from tests.peers_snmp import (
    SNMPD_CLIENTS,
    SNMPD_SYS_NAME,
    SNMPD_V3_AUTH,
    SNMPD_V3_PRIV,
    SNMPD_V3_USER,
)
from tests.support import free_udp_port


def fast_config(**overrides) -> SnmpConfig:
    values = dict(interval=60.0, timeout=1.0, retries=0, max_in_flight=8, down_after=3)
    values.update(overrides)
    return SnmpConfig(**values)


def v3(auth=SNMPD_V3_AUTH, priv=SNMPD_V3_PRIV) -> V3Credentials:
    return V3Credentials(SNMPD_V3_USER, auth, priv, "SHA", "AES")


def run_cycles(targets, cycles=1, config=None, **kwargs):
    """Poll ``cycles`` times; returns (snapshot, [(stats, changes) per cycle])."""
    snapshot, seen = Snapshot(), []

    async def main():
        poller = Poller(lambda: targets, config or fast_config(), snapshot,
                        on_cycle=lambda snap, stats, changes: seen.append((stats, changes)),
                        **kwargs)
        try:
            for _ in range(cycles):
                await poller.poll_once()
        finally:
            poller.close()

    asyncio.run(main())
    return snapshot, seen


def test_openwrt_v2c_reads_system_clients_and_counters_then_rates(snmpd):
    target = PollTarget(1, "park-1-ap-1", snmpd.host, snmpd.port, "openwrt",
                        V2cCredentials(snmpd.community))
    snapshot, seen = run_cycles([target], cycles=2)
    status = snapshot.get(1)
    assert status.state is ApState.UP
    assert status.sys_name == SNMPD_SYS_NAME
    assert status.sys_descr
    assert status.clients == SNMPD_CLIENTS
    assert status.uptime_s > 0
    assert status.interfaces, "snmpd serves at least the loopback interface"
    assert "lo" in {i.name for i in status.interfaces}, "ifName is read, not just the ifIndex"
    assert all(i.in_octets is not None and i.out_packets is not None for i in status.interfaces)
    assert all(i.in_bps is not None and i.in_bps >= 0 for i in status.interfaces)
    assert status.in_bps is not None or all(
        i.index == 1 for i in status.interfaces)   # only loopback -> no AP-level rate
    assert not status.rebooted
    first_stats, first_changes = seen[0]
    assert (first_stats.polled, first_stats.answered, first_stats.failed) == (1, 1, 0)
    assert [(c.ap_id, c.old, c.new) for c in first_changes] == [(1, ApState.UNKNOWN, ApState.UP)]
    assert seen[1][1] == []                     # no state change on the second cycle
    assert snapshot.cycles == 2


@pytest.mark.parametrize("path", V3_PATHS)
def test_v3_authpriv_sha_aes(snmpd, path):
    target = PollTarget(2, "park-1-ap-2", snmpd.host, snmpd.port, "openwrt", v3())
    snapshot, _ = run_cycles([target], client=SnmpClient(timeout=1.0, retries=0, v3_path=path))
    assert snapshot.get(2).state is ApState.UP
    assert snapshot.get(2).clients == SNMPD_CLIENTS


@pytest.mark.parametrize("path", V3_PATHS)
def test_wrong_v3_password_is_auth_failed_not_down(snmpd, path):
    target = PollTarget(3, "park-1-ap-3", snmpd.host, snmpd.port, "openwrt",
                        v3(auth="not-the-auth-key"))
    snapshot, seen = run_cycles([target], cycles=3,
                                client=SnmpClient(timeout=1.0, retries=0, v3_path=path))
    status = snapshot.get(3)
    assert status.state is ApState.AUTH_FAILED
    assert status.consecutive_failures == 0
    assert "auth" in status.last_error
    assert seen[0][0].failed == 1


@pytest.mark.parametrize("path", V3_PATHS)
def test_client_raises_auth_error_and_timeout(snmpd, path):
    async def main():
        client = SnmpClient(timeout=0.3, retries=0, v3_path=path)
        try:
            unknown_user = V3Credentials("nobody-here", SNMPD_V3_AUTH, SNMPD_V3_PRIV)
            bad = PollTarget(4, "ap", snmpd.host, snmpd.port, "openwrt", unknown_user)
            try:
                await client.poll(bad)
            except SnmpAuthError:
                pass
            else:
                raise AssertionError("unknown user was accepted")
            silent = PollTarget(5, "ap", snmpd.host, snmpd.port, "openwrt",
                                V2cCredentials("not-the-community"))   # v2c: no auth signal
            try:
                await client.poll(silent)
            except SnmpTimeout:
                pass
            else:
                raise AssertionError("wrong community answered")
        finally:
            client.close()

    asyncio.run(main())


def test_unreachable_ap_degrades_then_goes_down():
    target = PollTarget(6, "park-2-ap-1", "127.0.0.1", free_udp_port(), "openwrt",
                        V2cCredentials("public"))
    snapshot = Snapshot()
    states = []

    async def main():
        poller = Poller(lambda: [target], fast_config(timeout=0.2, down_after=3), snapshot)
        try:
            for _ in range(4):
                await poller.poll_once()
                states.append(snapshot.get(6).state)
        finally:
            poller.close()

    asyncio.run(main())
    assert states == [ApState.DEGRADED, ApState.DEGRADED, ApState.DOWN, ApState.DOWN]
    assert snapshot.get(6).consecutive_failures == 4
    assert snapshot.get(6).clients is None


def test_table_longer_than_max_repetitions_continues_then_learns(snmpd):
    target = PollTarget(7, "ap", snmpd.host, snmpd.port, "openwrt", V2cCredentials(snmpd.community))

    async def main():
        client = SnmpClient(timeout=1.0, retries=0, initial_max_repetitions=1)
        try:
            first = await client.poll(target)
            learned = client.max_repetitions(7)
            second = await client.poll(target)
        finally:
            client.close()
        return first, learned, second

    first, learned, second = asyncio.run(main())
    assert len(first.interfaces) >= 1
    assert first.requests >= 2                # one row per request until the table ended
    assert learned == len(first.interfaces) + 1
    assert second.requests == 1
    assert second.interfaces.keys() == first.interfaces.keys()


def test_platform_without_the_count_object_gives_unknown_clients(snmpd):
    # snmpd has no CISCO-DOT11-ASSOCIATION-MIB: the column is absent, the AP is still up.
    target = PollTarget(8, "ap", snmpd.host, snmpd.port, "cisco_aironet",
                        V2cCredentials(snmpd.community))
    snapshot, _ = run_cycles([target])
    assert snapshot.get(8).state is ApState.UP
    assert snapshot.get(8).clients is None


def test_snmpsim_linux_walk_as_generic_platform(snmpsim_peer):
    target = PollTarget(9, "park-3-ap-1", snmpsim_peer.host, snmpsim_peer.port, "generic",
                        V2cCredentials(snmpsim_peer.community))
    snapshot, _ = run_cycles([target], cycles=2, config=fast_config(timeout=3.0))
    status = snapshot.get(9)
    assert status.state is ApState.UP
    assert status.clients is None
    assert status.sys_name
    assert len(status.interfaces) >= 2
    loopback = [i for i in status.interfaces if i.index == 1]
    assert loopback and loopback[0].in_octets is not None


def test_removed_ap_leaves_the_snapshot(snmpd):
    targets = [PollTarget(10, "a", snmpd.host, snmpd.port, "generic", V2cCredentials(snmpd.community))]
    snapshot = Snapshot()

    async def main():
        poller = Poller(lambda: list(targets), fast_config(), snapshot)
        try:
            await poller.poll_once()
            assert snapshot.get(10) is not None
            targets.clear()
            await poller.poll_once()
        finally:
            poller.close()

    asyncio.run(main())
    assert snapshot.get(10) is None
