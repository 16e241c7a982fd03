"""The poller against device recordings it was never written for (snmpsim serving the
snmpsim-data WiFi and legacy devices), each value checked against the recording file; and the
faults of issue "Hardening" (defects 20-23) against real agents."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from controller.monitoring.poller import Poller
from controller.monitoring.snapshot import ApState, Snapshot
from controller.settings import SnmpConfig
from controller.snmp import poll
from controller.snmp.engine import PollTarget, SnmpClient, V2cCredentials, V3Credentials
from tests.peers_recordings import (
    ERRORS_AFTER,
    LATER_SECONDS,
    NO_ACCESS_USER,
    SYSTEM_ONLY_USER,
    WRAPPED_OCTETS,
)

IF_DESCR, IF_IN_OCTETS, IF_OUT_OCTETS = ("1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.10",
                                         "1.3.6.1.2.1.2.2.1.16")
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"
IF_NAME, IF_HC_IN, IF_HC_OUT = ("1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.31.1.1.1.6",
                                "1.3.6.1.2.1.31.1.1.1.10")


def config(**overrides) -> SnmpConfig:
    values = dict(interval=60.0, timeout=3.0, retries=1, max_in_flight=8, down_after=3)
    return SnmpConfig(**(values | overrides))


class FakeClock:
    """The poller's clock, moved by the test: rates need seconds between polls, not sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RealClock(FakeClock):
    now = property(lambda self: time.monotonic(), lambda self, value: None)

    def __call__(self) -> float:
        return time.monotonic()


def poll_cycles(targets_per_cycle, clock=None, between=0.0, snmp=None):
    """Poll once per entry of ``targets_per_cycle`` (a list of target lists), moving the clock
    ``between`` seconds each time; returns (snapshot, [changes per cycle])."""
    snapshot, changes = Snapshot(), []
    # No time to move: the real clock (aruba-7210's recorded sysUpTime runs with it).
    clock = clock or (FakeClock() if between else RealClock())

    async def main():
        poller = Poller(lambda: current, snmp or config(), snapshot,
                        on_cycle=lambda snap, stats, changed: changes.append(changed),
                        clock=clock)
        try:
            for targets in targets_per_cycle:
                nonlocal current
                current = targets
                await poller.poll_once()
                clock.now += between
        finally:
            poller.close()

    current: list = []
    asyncio.run(main())
    return snapshot, changes


def target(recordings, community, ap_id=1, platform="generic") -> PollTarget:
    return PollTarget(ap_id, f"ap-{ap_id}", recordings.host, recordings.port, platform,
                      V2cCredentials(community))


# --- each recording, as recorded ----------------------------------------------------------

@pytest.mark.parametrize("community", ["wifi/aruba-7210", "wifi/ruckus-scg",
                                       "wifi/cisco-controller", "wifi/ubiquiti-m5",
                                       "os/windows-xp"])
def test_recorded_device_is_read_as_recorded(device_recordings, community):
    snapshot, _ = poll_cycles([[target(device_recordings, community)]] * 2)
    status = snapshot.get(1)
    assert status.state is ApState.UP, status.last_error
    rec = device_recordings
    assert status.sys_name == rec.value(community, "1.3.6.1.2.1.1.5.0")
    assert status.sys_descr == rec.value(community, "1.3.6.1.2.1.1.1.0")
    descr, names = rec.column(community, IF_DESCR), rec.column(community, IF_NAME)
    hc_in = rec.column(community, IF_HC_IN)
    in32, out32 = rec.column(community, IF_IN_OCTETS), rec.column(community, IF_OUT_OCTETS)
    hc_out = rec.column(community, IF_HC_OUT)
    assert {i.index for i in status.interfaces} == set(descr)
    for interface in status.interfaces:
        index = interface.index
        assert interface.name == (names.get(index) or descr[index])
        if index in hc_in:
            assert (interface.in_octets, interface.out_octets, interface.counter_bits) == (
                hc_in[index], hc_out[index], 64)
        else:   # no 64-bit counters: the 32-bit ones, not nothing
            assert (interface.in_octets, interface.out_octets, interface.counter_bits) == (
                in32[index], out32[index], 32)
        # The recording does not move: 0 bit/s, but a rate (the second poll has one).
        assert interface.in_bps == 0.0 and interface.out_bps == 0.0
        assert interface.in_errors == rec.value(community, f"{IF_IN_ERRORS}.{index}")
    assert status.in_bps == 0.0
    assert not status.interfaces_truncated


def test_devices_without_hc_counters_and_ifname_get_traffic_and_names(device_recordings):
    # Defect 22: ubiquiti-m5 and Windows XP have no ifXTable: no traffic at all, interfaces
    # named by index.
    for community in ("wifi/ubiquiti-m5", "os/windows-xp"):
        snapshot, _ = poll_cycles([[target(device_recordings, community)]] * 2, between=30.0)
        interfaces = snapshot.get(1).interfaces
        assert all(i.counter_bits == 32 and i.in_octets is not None for i in interfaces)
        assert all(not i.name.isdigit() for i in interfaces), [i.name for i in interfaces]
        assert snapshot.get(1).in_bps is not None


def test_thirty_two_bit_counter_wraps_and_an_error_counter_reset_is_no_rate(device_recordings):
    # The same ubiquiti-m5, 4.96 s later: ifInOctets.6 wrapped past 2**32, ifInErrors.2 fell
    # from 7,912 to 161 without a reboot (defects 20 and 22).
    snapshot, _ = poll_cycles([[target(device_recordings, "oasis/ubnt-before")],
                               [target(device_recordings, "oasis/ubnt-later")]],
                              between=LATER_SECONDS)
    status = snapshot.get(1)
    assert status.state is ApState.UP and not status.rebooted
    by_index = {i.index: i for i in status.interfaces}
    assert by_index[6].in_bps == pytest.approx(WRAPPED_OCTETS * 8 / LATER_SECONDS)
    assert by_index[2].in_errors == ERRORS_AFTER
    # Read as a wrap this was 865,583,610 errors/s, stored and alerted.
    assert by_index[2].errors_ps is None
    assert status.errors_ps == 0.0          # the other interfaces still count


def test_a_big_table_is_read_whole(device_recordings):
    # Defect 23: 3,271 interfaces used to stop at 128 without a word.
    snapshot, _ = poll_cycles([[target(device_recordings, "wifi/ruijie-m18000")]],
                              snmp=config(timeout=5.0))
    status = snapshot.get(1)
    assert status.state is ApState.UP, status.last_error
    assert len(status.interfaces) == len(device_recordings.column("wifi/ruijie-m18000",
                                                                   IF_DESCR)) == 3271
    assert not status.interfaces_truncated


def test_a_table_cut_at_the_limit_is_flagged_and_logged_once(device_recordings, monkeypatch,
                                                             caplog):
    monkeypatch.setattr(poll, "MAX_REQUESTS_PER_POLL", 6)
    with caplog.at_level(logging.WARNING, logger="controller.monitoring.poller"):
        snapshot, _ = poll_cycles([[target(device_recordings, "wifi/ruijie-m18000")]] * 3,
                                  between=60.0, snmp=config(timeout=5.0))
    status = snapshot.get(1)
    assert status.state is ApState.UP
    assert status.interfaces_truncated and 0 < len(status.interfaces) < 3271
    cut = [r for r in caplog.records if "interface table cut" in r.getMessage()]
    assert len(cut) == 1, [r.getMessage() for r in caplog.records]


# --- one object failing does not fail the poll (defect 21) ---------------------------------

def test_gen_err_on_the_client_count_leaves_the_ap_up_with_its_data(device_recordings):
    snapshot, changes = poll_cycles(
        [[target(device_recordings, "oasis/gen-err-clients", platform="openwrt")]] * 2,
        between=30.0)
    status = snapshot.get(1)
    assert status.state is ApState.UP, status.last_error
    assert status.clients is None
    assert status.missing == ("clients: genErr",)
    assert "clients: genErr" in status.last_error
    assert status.sys_name == device_recordings.value("oasis/gen-err-clients",
                                                       "1.3.6.1.2.1.1.5.0")
    assert len(status.interfaces) == 9 and status.in_bps == 0.0
    assert [(c.old, c.new) for c in changes[0]] == [(ApState.UNKNOWN, ApState.UP)]
    assert changes[1] == []


def test_v3_user_without_access_is_auth_failed_not_down(snmpd_no_access):
    user, auth, priv = NO_ACCESS_USER
    t = PollTarget(1, "ap-1", snmpd_no_access.host, snmpd_no_access.port, "openwrt",
                   V3Credentials(user, auth, priv, "SHA", "AES"))
    snapshot, _ = poll_cycles([[t]] * 3, between=30.0, snmp=config(timeout=1.0, retries=0))
    status = snapshot.get(1)
    assert status.state is ApState.AUTH_FAILED
    assert status.consecutive_failures == 0 and "authorizationError" in status.last_error


def test_v3_user_with_a_partial_view_is_up_with_what_it_may_read(snmpd_no_access):
    user, auth, priv = SYSTEM_ONLY_USER
    t = PollTarget(1, "ap-1", snmpd_no_access.host, snmpd_no_access.port, "openwrt",
                   V3Credentials(user, auth, priv, "SHA", "AES"))
    snapshot, _ = poll_cycles([[t]], snmp=config(timeout=1.0, retries=0))
    status = snapshot.get(1)
    assert status.state is ApState.UP and status.sys_descr
    assert status.interfaces == () and "clients: absent" in status.missing


def test_the_refused_object_is_left_out_of_the_shared_request(device_recordings):
    client = SnmpClient(timeout=3.0, retries=1)
    gen_err = target(device_recordings, "oasis/gen-err-clients", platform="openwrt")

    async def main():
        try:
            first = await client.poll(gen_err)
            second = await client.poll(gen_err)
        finally:
            client.close()
        return first, second

    first, second = asyncio.run(main())
    assert first.missing == second.missing == {"clients": "genErr"}
    assert second.interfaces == first.interfaces and len(first.interfaces) == 9
    # The first poll found it object by object; the second asks the rest together, then the
    # client count alone (still refused, still reported).
    assert second.requests < first.requests / 3
