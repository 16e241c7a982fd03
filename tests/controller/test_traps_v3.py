"""SNMPv3 traps and informs on the trap receiver, sent by net-snmp ``snmptrap`` (and
``snmptrap -Ci``, an inform) and by the AP simulator, checked against each AP's own user.

Before, a v3 notification was dropped as "malformed: 3". Now: a v3 trap from a known AP, for
its user and level, signed with its key for its engine, within that engine's time window, is an
event like a v2c one; an inform gets its response; everything else is refused and counted.
"""

from __future__ import annotations

import asyncio
import random
import socket

from agents.apsim.runner import SimulatorThread
from agents.apsim.simulator import SimulatorSettings
from agents.apsim.usm import engine_id as simulated_engine_id
from controller.monitoring.snapshot import Snapshot
from controller.snmp.engine import TrapReceiver
from controller.snmp.notify import V3Notifications, V3Sender
from controller.snmp.traps import TrapHandler
from core.snmp_usm import UsmUser
from tests.peers_snmp import NETSNMP_AUTH, NETSNMP_PRIV
from tests.support import free_udp_port, require_tool

AP_ADDRESS = "127.0.0.5"
OTHER_AP = "127.0.0.6"
STRANGER = "127.0.0.9"
AP_ENGINE = "8000000001020304aabb"
AUTH_KEY, PRIV_KEY = "trap-auth-key", "trap-priv-key"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX_3 = "1.3.6.1.2.1.2.2.1.1.3"
IF_OPER_STATUS_3 = "1.3.6.1.2.1.2.2.1.8.3"
RECEIVER_ENGINE = bytes.fromhex("80001f88046f617369732d74657374")


def ap_user(auth: str = "SHA", priv: str | None = "AES256C") -> UsmUser:
    return UsmUser.from_passphrases("ops", auth, AUTH_KEY, priv, PRIV_KEY if priv else None)


async def snmptrap(port: int, source: str, *, auth: str = "SHA", priv: str | None = "AES256C",
                   auth_key: str = AUTH_KEY, engine: str | None = AP_ENGINE,
                   boots_time: str | None = None, inform: bool = False,
                   level: str | None = None, user: str = "ops") -> tuple[int, str]:
    """One v3 linkDown (or inform) from ``source`` with net-snmp: (exit code, stderr)."""
    binary = require_tool("snmptrap")
    args = [binary, "-v3", "-u", user, "-l", level or ("authPriv" if priv else "authNoPriv"),
            "-a", NETSNMP_AUTH[auth], "-A", auth_key, "-t", "2", "-r", "0",
            f"--clientaddr={source}"]
    if priv:
        args += ["-x", NETSNMP_PRIV[priv], "-X", PRIV_KEY]
    if inform:
        args.append("-Ci")
    elif engine:
        args += ["-e", engine]
    if boots_time:
        args += ["-Z", boots_time]
    args += [f"127.0.0.1:{port}", "", LINK_DOWN, IF_INDEX_3, "i", "3", IF_OPER_STATUS_3, "i", "2"]
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    return process.returncode or 0, err.decode()


class Harness:
    """A receiver whose v3 user table is ``senders`` (source address -> V3Sender)."""

    def __init__(self, senders: dict[str, V3Sender]):
        self.snapshot = Snapshot()
        self.events: asyncio.Queue = asyncio.Queue()
        self.handler = TrapHandler({AP_ADDRESS: 42, OTHER_AP: 43}.get, self.snapshot,
                                   lambda ap_id, kind, detail: self.events.put_nowait(
                                       (ap_id, kind, detail)))
        self.v3 = V3Notifications(senders.get, engine_id=RECEIVER_ENGINE)
        self.receiver = TrapReceiver(self.handler, host="127.0.0.1", port=0,
                                     community="unused", on_drop=self.snapshot.count_dropped_trap,
                                     v3=self.v3)

    async def __aenter__(self):
        await self.receiver.start()
        return self

    async def __aexit__(self, *exc):
        self.receiver.close()

    async def next_event(self):
        return await asyncio.wait_for(self.events.get(), 10)

    async def marker(self) -> None:
        """A good v3 trap from the AP, awaited: everything sent before it has been handled."""
        code, err = await snmptrap(self.receiver.port, AP_ADDRESS, boots_time="9,5000")
        assert code == 0, err
        ap_id, kind, _ = await self.next_event()
        assert (ap_id, kind) == (42, "linkDown")


def test_a_v3_trap_from_a_known_ap_is_an_event_like_a_v2c_one():
    async def main():
        async with Harness({AP_ADDRESS: V3Sender(ap_user(), bytes.fromhex(AP_ENGINE))}) as h:
            code, err = await snmptrap(h.receiver.port, AP_ADDRESS)
            assert code == 0, err
            ap_id, kind, detail = await h.next_event()
            assert (ap_id, kind) == (42, "linkDown")
            assert (detail["ifIndex"], detail["ifOperStatus"], detail["source"]) == \
                (3, 2, AP_ADDRESS)
            assert (h.receiver.received, h.receiver.malformed, h.receiver.v3_refused) == \
                (1, 0, {})

    asyncio.run(main())


def test_an_inform_is_answered_after_the_ap_discovers_the_receiver():
    async def main():
        async with Harness({AP_ADDRESS: V3Sender(ap_user("SHA", "AES"))}) as h:
            code, err = await snmptrap(h.receiver.port, AP_ADDRESS, auth="SHA", priv="AES",
                                       inform=True)
            assert code == 0, err     # snmptrap -Ci waits for the response and fails without
            ap_id, kind, detail = await h.next_event()
            assert (ap_id, kind, detail["ifIndex"]) == (42, "linkDown", 3)
            code, err = await snmptrap(h.receiver.port, AP_ADDRESS, auth="SHA", priv="AES",
                                       inform=True, auth_key="guessed-auth-key")
            assert code != 0 and "Authentication failure" in err   # our report, not silence
            assert h.events.empty()

    asyncio.run(main())


def test_what_usm_refuses_is_counted_and_never_an_event():
    senders = {AP_ADDRESS: V3Sender(ap_user(), bytes.fromhex(AP_ENGINE)),
               OTHER_AP: V3Sender(ap_user())}

    async def main():
        async with Harness(senders) as h:
            port = h.receiver.port
            sent = [
                await snmptrap(port, AP_ADDRESS, auth_key="guessed-auth-key"),  # wrong_digest
                await snmptrap(port, AP_ADDRESS, engine="8000000001deadbeef"),   # another engine
                await snmptrap(port, AP_ADDRESS, priv=None),        # downgraded to authNoPriv
                await snmptrap(port, AP_ADDRESS, user="mallory"),
                await snmptrap(port, STRANGER),                     # no user for that source
                await snmptrap(port, AP_ADDRESS, priv="AES256"),    # not its key extension
            ]
            assert all(code == 0 for code, _ in sent)   # a trap is fire-and-forget
            await h.marker()
            # The first trap from OTHER_AP (no engine configured) teaches its engine ID.
            assert (await snmptrap(port, OTHER_AP))[0] == 0
            assert (await h.next_event())[0] == 43
            assert (await snmptrap(port, OTHER_AP, engine="8000000001cafe0001"))[0] == 0
            await h.marker()
            assert h.receiver.v3_refused == {
                "wrong_digest": 1, "unknown_engine_id": 2, "unsupported_security_level": 1,
                "unknown_user": 1, "no SNMPv3 user for this source": 1, "decryption_error": 1}
            assert h.snapshot.traps_v3_refused == 7 and h.events.empty()

    asyncio.run(main())


def test_a_trap_replayed_outside_the_time_window_is_refused():
    async def main():
        async with Harness({AP_ADDRESS: V3Sender(ap_user(), bytes.fromhex(AP_ENGINE))}) as h:
            port = h.receiver.port
            assert (await snmptrap(port, AP_ADDRESS, boots_time="9,5000"))[0] == 0
            await h.next_event()
            for stale in ("9,4849", "8,99999"):          # 151 s older; an earlier boot
                assert (await snmptrap(port, AP_ADDRESS, boots_time=stale))[0] == 0
            assert (await snmptrap(port, AP_ADDRESS, boots_time="9,4851"))[0] == 0  # in window
            await h.next_event()
            assert (await snmptrap(port, AP_ADDRESS, boots_time="10,3"))[0] == 0   # rebooted
            await h.next_event()
            assert h.receiver.v3_refused == {"not_in_time_window": 2}

    asyncio.run(main())


def test_garbage_and_truncated_v3_datagrams_do_not_stop_the_receiver():
    async def main():
        async with Harness({AP_ADDRESS: V3Sender(ap_user(), bytes.fromhex(AP_ENGINE))}) as h:
            captured: list[bytes] = []
            sniffer = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Capture(captured), local_addr=("127.0.0.1", 0))
            transport, _ = sniffer
            sniff_port = transport.get_extra_info("sockname")[1]
            assert (await snmptrap(sniff_port, AP_ADDRESS))[0] == 0
            transport.close()
            trap = captured[0]
            rng = random.Random(3)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((AP_ADDRESS, 0))
                for cut in range(1, len(trap), 5):
                    sock.sendto(trap[:cut], ("127.0.0.1", h.receiver.port))
                for _ in range(100):
                    mutant = bytearray(trap)
                    mutant[rng.randrange(len(mutant))] ^= 1 << rng.randrange(8)
                    sock.sendto(bytes(mutant), ("127.0.0.1", h.receiver.port))
            await h.marker()
            assert h.events.empty()
            assert h.receiver.malformed + sum(h.receiver.v3_refused.values()) >= 100

    asyncio.run(main())


class _Capture(asyncio.DatagramProtocol):
    def __init__(self, into: list[bytes]):
        self.into = into

    def datagram_received(self, data, addr):
        self.into.append(data)


def test_the_simulator_sends_v3_traps_the_receiver_checks():
    first = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}.1"

    async def main():
        events: asyncio.Queue = asyncio.Queue()
        snapshot = Snapshot()
        receiver_port = free_udp_port()
        settings = SimulatorSettings(count=2, first_address=first, port=free_udp_port(first),
                                     trap_target=("127.0.0.1", receiver_port), trap_version="3",
                                     v3_auth_proto="SHA512", v3_priv_proto="AES256")
        user = UsmUser.from_passphrases("oasis", "SHA512", settings.v3_auth_key, "AES256",
                                        settings.v3_priv_key)
        with SimulatorThread(settings) as sim:
            plan = sim.simulator.plans[0]
            engine = simulated_engine_id(sim.simulator.aps[plan.name])
            handler = TrapHandler({plan.mgmt_ip: 7}.get, snapshot,
                                  lambda *event: events.put_nowait(event))
            receiver = TrapReceiver(handler, host="127.0.0.1", port=receiver_port, v3=(
                V3Notifications({plan.mgmt_ip: V3Sender(user, engine)}.get)))
            await receiver.start()
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: sim.reboot(plan.name))
                ap_id, kind, _ = await asyncio.wait_for(events.get(), 10)
                assert (ap_id, kind) == (7, "coldStart")
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: sim.link_down(plan.name, 3))
                ap_id, kind, detail = await asyncio.wait_for(events.get(), 10)
                assert (ap_id, kind, detail["ifIndex"], detail["ifOperStatus"]) == \
                    (7, "linkDown", 3, 2)
                assert receiver.v3_refused == {}
            finally:
                receiver.close()

    asyncio.run(main())
