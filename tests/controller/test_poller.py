"""Poller pieces that need no agent: targets from the store, client counts, the run loop."""

import asyncio

from controller.monitoring.poller import Poller, client_count, interface_status, targets_from_store
from controller.monitoring.snapshot import ApState, Snapshot
from controller.settings import SnmpConfig
from controller.snmp.engine import PollResult, PollTarget, V2cCredentials, V3Credentials
from core.store import now as unix_now
from tests.support import free_udp_port


def add_ap(store, secrets, ap_id, version, **columns):
    now = unix_now()
    if not store.conn.execute("SELECT 1 FROM sites WHERE id = 1").fetchone():
        store.conn.execute("INSERT INTO sites (id, slug, name_ar, name_en, kind, created_at, "
                           "updated_at) VALUES (1, 'park-1', 'حديقة', 'Park 1', 'park', ?, ?)",
                           (now, now))
    row = dict(id=ap_id, name=f"ap-{ap_id}", mac=f"02:00:00:00:00:{ap_id:02x}",
               mgmt_ip=f"127.0.1.{ap_id}", platform="openwrt", site_id=1, snmp_version=version,
               created_at=now, updated_at=now)
    row.update(columns)
    names = ", ".join(row)
    store.conn.execute(f"INSERT INTO aps ({names}) VALUES ({', '.join('?' * len(row))})",
                       tuple(row.values()))


def test_targets_from_store_decrypts_credentials(store, secrets):
    add_ap(store, secrets, 1, "2c", snmp_port=1161, snmp_community_enc=secrets.encrypt("c0mm"))
    add_ap(store, secrets, 2, "3", snmp_user="oasis", snmp_auth_proto="SHA256",
           snmp_auth_key_enc=secrets.encrypt("auth-key-1"), snmp_priv_proto="AES256",
           snmp_priv_key_enc=secrets.encrypt("priv-key-1"))
    add_ap(store, secrets, 3, "2c")                                  # no community: skipped
    targets = targets_from_store(store, secrets)
    assert targets == [
        PollTarget(1, "ap-1", "127.0.1.1", 1161, "openwrt", V2cCredentials("c0mm")),
        PollTarget(2, "ap-2", "127.0.1.2", 161, "openwrt",
                   V3Credentials("oasis", "auth-key-1", "priv-key-1", "SHA256", "AES256")),
    ]
    assert "c0mm" not in repr(targets) and "auth-key-1" not in repr(targets)


def test_client_count_by_platform():
    assert client_count("openwrt", PollResult(client_scalar="7")) == 7
    assert client_count("openwrt", PollResult(client_scalar="clients: 12\n")) == 12
    assert client_count("openwrt", PollResult(client_scalar=9)) == 9
    assert client_count("openwrt", PollResult(client_scalar="n/a")) is None
    assert client_count("openwrt", PollResult()) is None
    assert client_count("cisco_aironet", PollResult(client_column={1: 4, 2: 11})) == 15
    assert client_count("cisco_aironet", PollResult()) is None
    assert client_count("generic", PollResult(client_scalar="7")) is None


def test_interface_rates_across_a_64_bit_wrap():
    before = {"in_octets": 2 ** 64 - 1000, "out_octets": 0, "in_packets": 0, "out_packets": 0,
              "in_errors": 2 ** 32 - 1, "out_errors": 0}
    after = {"in_octets": 1000, "out_octets": 500, "in_packets": 10, "out_packets": 10,
             "in_errors": 1, "out_errors": 0}
    status = interface_status(2, after, before, 10.0, restarted=False)
    assert status.in_bps == 2000 * 8 / 10
    assert status.out_bps == 400.0
    assert status.errors_ps == 0.2
    assert interface_status(2, after, before, 10.0, restarted=True).in_bps is None
    assert interface_status(2, after, None, 10.0, restarted=False).in_bps is None


def test_run_loop_polls_every_interval_until_stopped():
    target = PollTarget(1, "ap", "127.0.0.1", free_udp_port(), "generic", V2cCredentials("x"))
    config = SnmpConfig(interval=0.05, timeout=0.05, retries=0, down_after=2)
    snapshot = Snapshot()

    async def main():
        poller = Poller(lambda: [target], config, snapshot)

        def on_cycle(snap, stats, changes):
            if snap.cycles == 3:
                poller.stop()

        poller.on_cycle = on_cycle
        try:
            await asyncio.wait_for(poller.run(), 10)
        finally:
            poller.close()

    asyncio.run(main())
    assert snapshot.cycles == 3
    assert snapshot.get(1).state is ApState.DOWN
    assert snapshot.last_cycle.failed == 1
