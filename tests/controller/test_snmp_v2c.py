"""The v2c fast path's socket loop: matching, retries, timeouts, and what it must drop.

Real agents (the simulator here, net-snmp in test_snmp_peers.py) answer correctly; the
misbehaviour a poller must survive (garbage, stale request-ids, answers from the wrong address,
wrong communities, agent errors) comes from `FakeMisbehavingAgent`, a scripted UDP socket,
because no real agent can be asked to do those things on cue.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest

from agents.apsim.runner import SimulatorThread
from agents.apsim.simulator import SimulatorSettings
from controller.snmp.engine import (
    PollTarget,
    SnmpClient,
    SnmpError,
    SnmpTimeout,
    V2cCredentials,
    V3Credentials,
)
from controller.snmp.poll import PollPlan, SnmpTooBig, run_poll
from core import snmp_ber as ber
from tests.support import free_udp_port

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)


def reply(request: ber.V2cRequest, *, request_id_tlv: bytes | None = None,
          community: bytes | None = None, status: int = 0, pdu_type: int = ber.RESPONSE,
          sys_descr: bytes = b"fake AP") -> bytes:
    """A response to ``request``: sysDescr for the first varbind, endOfMibView for the rest."""
    varbinds = [ber.encode_varbind(ber.encode_oid(SYS_DESCR), ber.OCTET_STRING, sys_descr)]
    varbinds += [ber.encode_varbind(tlv, ber.END_OF_MIB_VIEW, None)
                 for _, tlv in request.varbinds[1:]]
    return ber.encode_message(1, request.community if community is None else community,
                              pdu_type, request.request_id_tlv if request_id_tlv is None
                              else request_id_tlv, status, 1 if status else 0, varbinds)


Script = Callable[[int, ber.V2cRequest], list[tuple[str, bytes]]]


class FakeMisbehavingAgent(asyncio.DatagramProtocol):
    """Answers each request as ``script(nth_request, request)`` says: a list of
    ("main" | "other", datagram), "other" being a second socket on another port."""

    def __init__(self, script: Script, host: str = "127.0.0.1"):
        self.script = script
        self.host = host
        self.requests: list[ber.V2cRequest] = []
        self.sources: set[tuple[str, int]] = set()
        self.main: asyncio.DatagramTransport | None = None
        self.other: asyncio.DatagramTransport | None = None
        self._arrived = asyncio.Event()

    async def wait_for_requests(self, count: int) -> None:
        while len(self.requests) < count:
            self._arrived.clear()
            await self._arrived.wait()

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self.main, _ = await loop.create_datagram_endpoint(lambda: self,
                                                           local_addr=(self.host, 0))
        self.other, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                            local_addr=(self.host, 0))
        return self.main.get_extra_info("sockname")[:2]

    def datagram_received(self, data, addr):
        request = ber.decode_request(data)
        self.requests.append(request)
        self.sources.add(addr)
        self._arrived.set()
        for via, datagram in self.script(len(self.requests), request):
            (self.main if via == "main" else self.other).sendto(datagram, addr)

    def close(self):
        for transport in (self.main, self.other):
            if transport is not None:
                transport.close()


def poll_fake(script: Script, *, timeout=0.3, retries=1, community="public",
              host="127.0.0.1"):
    """(result or exception, the agent, the client's v2c counters)."""
    async def main():
        agent = FakeMisbehavingAgent(script, host)
        address, port = await agent.start()
        client = SnmpClient(timeout=timeout, retries=retries)
        try:
            target = PollTarget(1, "fake-ap", address, port, "generic", V2cCredentials(community))
            try:
                outcome = await client.poll(target)
            except SnmpError as exc:
                outcome = exc
            return outcome, agent, client.v2c_stats
        finally:
            client.close()
            agent.close()

    return asyncio.run(main())


def test_answer_is_read():
    result, agent, stats = poll_fake(lambda n, req: [("main", reply(req))])
    assert result.sys_descr == "fake AP" and result.interfaces == {}
    assert (stats.sent, stats.answered, stats.retried) == (1, 1, 0)
    assert agent.requests[0].pdu_type == ber.GETBULK and agent.requests[0].community == b"public"


def test_ipv6_agent_answers_and_wrong_source_is_dropped():
    result, _, stats = poll_fake(lambda n, req: [
        ("other", reply(req, sys_descr=b"spoofed")), ("main", reply(req))], host="::1")
    assert result.sys_descr == "fake AP"
    assert (stats.wrong_source, stats.answered) == (1, 1)


def test_garbage_and_truncated_datagrams_are_dropped_and_the_loop_goes_on():
    def script(n, req):
        good = reply(req)
        return [("main", b""), ("main", b"\x30\x82\xff"), ("main", good[:-3]),
                ("main", b"\xff" * 700), ("main", good)]

    result, _, stats = poll_fake(script)
    assert result.sys_descr == "fake AP"
    assert stats.malformed in (3, 4) and stats.answered == 1   # asyncio may not send b""


def test_unknown_request_id_is_dropped():
    stale = ber.tlv(ber.INTEGER, ber.encode_signed(ber.REQUEST_ID_MAX - 7))
    result, _, stats = poll_fake(lambda n, req: [
        ("main", reply(req, request_id_tlv=stale, sys_descr=b"stale")), ("main", reply(req))])
    assert result.sys_descr == "fake AP"
    assert stats.unknown_request_id == 1


def test_answer_from_the_wrong_address_is_dropped():
    result, _, stats = poll_fake(lambda n, req: [
        ("other", reply(req, sys_descr=b"spoofed")), ("main", reply(req))])
    assert result.sys_descr == "fake AP"
    assert stats.wrong_source == 1


def test_only_wrong_source_answers_time_out():
    outcome, agent, stats = poll_fake(lambda n, req: [("other", reply(req))], timeout=0.2)
    assert isinstance(outcome, SnmpTimeout)
    assert stats.wrong_source == 2 and len(agent.requests) == 2


def test_wrong_community_or_pdu_in_the_answer_is_dropped():
    result, _, stats = poll_fake(lambda n, req: [
        ("main", reply(req, community=b"other", sys_descr=b"x")),
        ("main", reply(req, pdu_type=ber.GET, sys_descr=b"y")), ("main", reply(req))])
    assert result.sys_descr == "fake AP"
    assert stats.mismatched == 2


def test_silence_is_a_timeout_after_every_retry_with_the_same_request_id():
    outcome, agent, stats = poll_fake(lambda n, req: [], timeout=0.15, retries=2)
    assert isinstance(outcome, SnmpTimeout)
    assert len(agent.requests) == 3
    assert len({r.request_id_tlv for r in agent.requests}) == 1
    assert (stats.sent, stats.retried, stats.timed_out) == (3, 2, 1)


def test_a_retry_that_is_answered_succeeds():
    result, agent, stats = poll_fake(lambda n, req: [("main", reply(req))] if n == 2 else [])
    assert result.sys_descr == "fake AP"
    assert len(agent.requests) == 2 and stats.retried == 1


def test_agent_error_status_is_an_snmp_error_not_a_timeout():
    outcome, _, _ = poll_fake(lambda n, req: [("main", reply(req, status=ber.GEN_ERR))])
    assert isinstance(outcome, SnmpError) and not isinstance(outcome, SnmpTimeout)
    assert "genErr" in str(outcome)


def test_many_first_polls_at_once_share_one_socket():
    async def main():
        agent = FakeMisbehavingAgent(lambda n, req: [("main", reply(req))])
        host, port = await agent.start()
        client = SnmpClient(timeout=2.0, retries=0)
        try:
            targets = [PollTarget(i, f"ap-{i}", host, port, "generic", V2cCredentials("public"))
                       for i in range(50)]
            results = await asyncio.gather(*(client.poll(t) for t in targets))
        finally:
            client.close()
            agent.close()
        return results, agent.sources

    results, sources = asyncio.run(main())
    assert all(r.sys_descr == "fake AP" for r in results)
    assert len(sources) == 1


def test_too_big_halves_max_repetitions_until_the_answer_fits():
    def script(n, req):
        if req.max_repetitions > 2:
            return [("main", reply(req, status=ber.TOO_BIG))]
        return [("main", reply(req))]

    async def main():
        agent = FakeMisbehavingAgent(script)
        address, port = await agent.start()
        client = SnmpClient(timeout=1.0, retries=0, initial_max_repetitions=8)
        try:
            target = PollTarget(1, "fake-ap", address, port, "generic", V2cCredentials("public"))
            first = await client.poll(target)
            await client.poll(target)
            return first, agent.requests, client.max_repetitions(1)
        finally:
            client.close()
            agent.close()

    result, requests, learned = asyncio.run(main())
    assert result.sys_descr == "fake AP"
    assert [r.max_repetitions for r in requests] == [8, 4, 2, 1]   # then learned: 0 rows + 1
    assert learned == 1


def test_too_big_at_one_repetition_is_an_error():
    outcome, agent, _ = poll_fake(lambda n, req: [("main", reply(req, status=ber.TOO_BIG))])
    assert isinstance(outcome, SnmpError) and "tooBig" in str(outcome)
    assert [r.max_repetitions for r in agent.requests] == [8, 4, 2, 1]


def test_close_fails_what_is_pending_and_request_ids_stay_in_the_slot():
    async def main():
        agent = FakeMisbehavingAgent(lambda n, req: [])
        host, port = await agent.start()
        client = SnmpClient(timeout=5.0, retries=0)
        target = PollTarget(1, "fake-ap", host, port, "generic", V2cCredentials("public"))
        polls = [asyncio.create_task(client.poll(target)) for _ in range(5)]
        await asyncio.wait_for(agent.wait_for_requests(5), 5.0)
        client.close()
        outcomes = await asyncio.gather(*polls, return_exceptions=True)
        agent.close()
        return outcomes, agent.requests

    outcomes, requests = asyncio.run(main())
    assert all(isinstance(o, SnmpError) for o in outcomes)
    ids = [int.from_bytes(r.request_id_tlv[2:], "big", signed=True) for r in requests]
    assert len(set(ids)) == 5
    assert all(ber.REQUEST_ID_MIN <= i <= ber.REQUEST_ID_MAX for i in ids)


@pytest.fixture(scope="module")
def simulator():
    port = free_udp_port("127.0.1.1")
    settings = SimulatorSettings(count=10, first_address="127.0.1.1", port=port,
                                 trap_target=None, near_wrap=("AW-AP-03",))
    with SimulatorThread(settings) as sim:
        yield sim


def _targets(sim, credentials):
    return [PollTarget(i + 1, p.name, p.mgmt_ip, p.snmp_port, p.platform, credentials)
            for i, p in enumerate(sim.simulator.plans)]


def test_fast_paths_read_what_pysnmp_reads_from_the_simulator(simulator):
    settings = simulator.settings
    v2c = _targets(simulator, V2cCredentials(settings.community))
    v3 = _targets(simulator, V3Credentials(settings.v3_user, settings.v3_auth_key,
                                           settings.v3_priv_key))

    async def main():
        client = SnmpClient(timeout=2.0, retries=1)
        pysnmp = SnmpClient(timeout=2.0, retries=1, v3_path="pysnmp")
        try:
            fast = await asyncio.gather(*(client.poll(t) for t in v2c))
            fast_v3 = await asyncio.gather(*(client.poll(t) for t in v3))
            oracle = await asyncio.gather(*(pysnmp.poll(t) for t in v3))
        finally:
            client.close()
            pysnmp.close()
        return fast, fast_v3, oracle

    fast, fast_v3, oracle = asyncio.run(main())
    for ours_v3, theirs in zip(fast_v3, oracle):
        assert (ours_v3.sys_descr, ours_v3.sys_name) == (theirs.sys_descr, theirs.sys_name)
        assert ours_v3.interfaces.keys() == theirs.interfaces.keys()
    for target, ours, theirs in zip(v2c, fast, oracle):
        assert (ours.sys_descr, ours.sys_name) == (theirs.sys_descr, theirs.sys_name)
        assert ours.sys_name == target.name
        assert set(ours.interfaces) == set(theirs.interfaces) and ours.interfaces
        for index, columns in ours.interfaces.items():
            assert set(columns) == set(theirs.interfaces[index])
            assert columns["if_type"] == theirs.interfaces[index]["if_type"]
        assert (ours.client_scalar is None) == (theirs.client_scalar is None)
        assert set(ours.client_column) == set(theirs.client_column)
    near_wrap = fast[2].interfaces
    assert max(c["in_octets"] for c in near_wrap.values()) > 2**63   # Counter64 near 2**64


def test_wrong_community_times_out_against_the_simulator(simulator):
    target = _targets(simulator, V2cCredentials("not-the-community"))[0]

    async def main():
        client = SnmpClient(timeout=0.2, retries=1)
        try:
            with pytest.raises(SnmpTimeout):
                await client.poll(target)
            return client.v2c_stats
        finally:
            client.close()

    stats = asyncio.run(main())
    assert (stats.sent, stats.timed_out) == (2, 1)


def test_learned_max_repetitions_stays_under_what_the_agent_could_fit():
    """Whatever the transport: a table of 10 rows behind an agent that refuses more than 3."""
    plan = PollPlan.for_platform("generic", 8)
    columns = [oid for _, oid in plan.columns]
    sent = []

    async def getbulk(non_repeaters, repeaters, max_repetitions):
        sent.append(max_repetitions)
        if max_repetitions > 3:
            raise SnmpTooBig("tooBig")
        varbinds = [(oid + (0,), ber.OCTET_STRING, b"x") for oid in non_repeaters]
        for _ in range(max_repetitions):
            for start in repeaters:
                column = next(c for c in columns if start[:len(c)] == c)
                row = start[len(column)] + 1 if len(start) > len(column) else 1
                tag = ber.COUNTER32 if row <= 10 else ber.END_OF_MIB_VIEW
                varbinds.append((column + (row,), tag, row if row <= 10 else None))
            repeaters = [vb[0] for vb in varbinds[-len(repeaters):]]
        return varbinds

    result = asyncio.run(run_poll(plan, getbulk))
    assert sorted(result.interfaces) == list(range(1, 11))
    assert sent[:3] == [8, 4, 2] and set(sent[2:]) == {2}
    assert plan.max_repetitions == 2 and plan.repetitions_ceiling == 2
