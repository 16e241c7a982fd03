"""Trap receiver and handler with real notifications sent by net-snmp ``snmptrap``."""

import asyncio
import logging
import socket

from controller.monitoring.snapshot import Snapshot
from controller.snmp.engine import TrapReceiver
from controller.snmp.traps import TrapHandler
from tests.support import require_tool

AP_ADDRESS = "127.0.0.5"
STRANGER = "127.0.0.9"
COMMUNITY = "oasis-traps"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX_3 = "1.3.6.1.2.1.2.2.1.1.3"
IF_OPER_STATUS_3 = "1.3.6.1.2.1.2.2.1.8.3"


async def snmptrap(port: int, source: str, *args: str, version: str = "2c",
                   community: str = COMMUNITY) -> None:
    """Send one notification from ``source`` (a loopback address) with net-snmp."""
    binary = require_tool("snmptrap")
    process = await asyncio.create_subprocess_exec(
        binary, "-v", version, "-c", community, f"--clientaddr={source}", f"127.0.0.1:{port}",
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()


async def link_down(port: int, source: str, **kwargs) -> None:
    await snmptrap(port, source, "", LINK_DOWN, IF_INDEX_3, "i", "3", IF_OPER_STATUS_3, "i", "2",
                   **kwargs)


class Harness:
    """A receiver + handler with events delivered to an asyncio queue."""

    def __init__(self):
        self.snapshot = Snapshot()
        self.events: asyncio.Queue = asyncio.Queue()
        self.handler = TrapHandler({AP_ADDRESS: 42}.get, self.snapshot,
                                   lambda ap_id, kind, detail: self.events.put_nowait(
                                       (ap_id, kind, detail)))
        self.receiver = TrapReceiver(self.handler, host="127.0.0.1", port=0, community=COMMUNITY)

    async def __aenter__(self):
        await self.receiver.start()
        return self

    async def __aexit__(self, *exc):
        self.receiver.close()

    async def next_event(self):
        return await asyncio.wait_for(self.events.get(), 10)


def test_v2c_link_down_from_known_ap_becomes_event():
    async def main():
        async with Harness() as h:
            await link_down(h.receiver.port, AP_ADDRESS)
            ap_id, kind, detail = await h.next_event()
            assert (ap_id, kind) == (42, "linkDown")
            assert detail["ifIndex"] == 3
            assert detail["ifOperStatus"] == 2
            assert detail["source"] == AP_ADDRESS
            assert (h.snapshot.traps_received, h.snapshot.traps_unknown_source) == (1, 0)

    asyncio.run(main())


def test_v1_cold_start_is_named_like_v2():
    async def main():
        async with Harness() as h:
            # v1: enterprise, agent-addr, generic-trap 0 (coldStart), specific, uptime
            await snmptrap(h.receiver.port, AP_ADDRESS, "1.3.6.1.4.1.8072.3.2.10", AP_ADDRESS,
                           "0", "0", "", version="1")
            ap_id, kind, _ = await h.next_event()
            assert (ap_id, kind) == (42, "coldStart")

    asyncio.run(main())


def test_unknown_source_is_counted_and_not_attributed(caplog):
    async def main():
        async with Harness() as h:
            await link_down(h.receiver.port, STRANGER)
            await link_down(h.receiver.port, STRANGER)
            await link_down(h.receiver.port, AP_ADDRESS)      # ordering marker
            ap_id, _, detail = await h.next_event()
            assert ap_id == 42 and detail["source"] == AP_ADDRESS
            assert h.events.empty()
            assert (h.snapshot.traps_received, h.snapshot.traps_unknown_source) == (3, 2)
            assert h.handler.suppressed_logs == 1             # second one not logged again

    with caplog.at_level(logging.WARNING, logger="controller.snmp.traps"):
        asyncio.run(main())
    assert sum(STRANGER in r.getMessage() for r in caplog.records) == 1


def test_garbage_and_wrong_community_do_not_stop_the_receiver():
    async def main():
        async with Harness() as h:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((AP_ADDRESS, 0))
                for junk in (b"\x00\xff garbage", b"\x30\x03\x02\x01", b"", bytes(range(256))):
                    sock.sendto(junk, ("127.0.0.1", h.receiver.port))
            await link_down(h.receiver.port, AP_ADDRESS, community="guessed")
            await link_down(h.receiver.port, AP_ADDRESS)
            ap_id, kind, _ = await h.next_event()
            assert (ap_id, kind) == (42, "linkDown")
            assert h.receiver.malformed == 4
            assert h.receiver.bad_community == 1
            assert h.receiver.received == 1
            assert h.events.empty()

    asyncio.run(main())


def test_handler_failure_is_contained():
    async def main():
        snapshot, delivered = Snapshot(), asyncio.Event()

        def on_event(ap_id, kind, detail):
            if delivered.is_set():
                return
            delivered.set()
            raise RuntimeError("listener bug")

        handler = TrapHandler({AP_ADDRESS: 1}.get, snapshot, on_event)
        receiver = await TrapReceiver(handler, port=0, community=COMMUNITY).start()
        try:
            await link_down(receiver.port, AP_ADDRESS)
            await asyncio.wait_for(delivered.wait(), 10)
            second = asyncio.Event()
            handler.on_event = lambda *a: second.set()
            await link_down(receiver.port, AP_ADDRESS)
            await asyncio.wait_for(second.wait(), 10)
        finally:
            receiver.close()

    asyncio.run(main())


def test_a_flood_of_bad_datagrams_is_counted_for_metrics_and_logged_once(caplog):
    # Defect 23: one log line per bad datagram (4,500 lines in 5 s), counts not exported.
    async def main():
        async with Harness() as h:
            h.receiver.on_drop = h.snapshot.count_dropped_trap
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((STRANGER, 0))
                # Sent while the loop is not reading: fewer than a socket buffer holds.
                for n in range(150):
                    sock.sendto(b"\x30\x03\x02\x01" + bytes([n]), ("127.0.0.1", h.receiver.port))
            for _ in range(3):
                await link_down(h.receiver.port, AP_ADDRESS, community="guessed")
            await link_down(h.receiver.port, AP_ADDRESS)          # ordering marker
            assert (await h.next_event())[1] == "linkDown"
            assert h.snapshot.traps_malformed == h.receiver.malformed == 150
            assert h.snapshot.traps_bad_community == h.receiver.bad_community == 3

    with caplog.at_level(logging.WARNING, logger="controller.snmp.engine"):
        asyncio.run(main())
    lines = [r.getMessage() for r in caplog.records]
    assert sum("malformed datagram" in line for line in lines) == 1, lines[:5]
    assert sum("wrong community" in line for line in lines) == 1
