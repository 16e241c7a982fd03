"""The SNMPv3 fast path against real agents, and what it must survive from unreal ones.

Real agents: net-snmp snmpd with a user for every auth/priv pair it offers (restarted to reboot
it, or to make it a new engine), pysnmp's command responder with the same users, and snmpsim
with v3 users whose context name picks the recording. pysnmp's manager (``v3_path="pysnmp"``)
is the oracle: both paths must read the same thing.

What no real agent does on cue (answers replayed from outside the time window, answers signed
with another key, lies in the discovery report, garbage) comes from `FakeMisbehavingV3Agent`, a
scripted socket that speaks USM through core's `Authority`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from controller.monitoring.poller import Poller
from controller.monitoring.snapshot import ApState, Snapshot
from controller.settings import SnmpConfig
from controller.snmp.engine import (
    PollTarget,
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpTimeout,
    V2cCredentials,
    V3Credentials,
)
from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import UsmUser
from tests.peers_snmp import (
    SNMPD_CLIENTS,
    SNMPD_SYS_NAME,
    SNMPD_V3_AUTH,
    SNMPD_V3_PRIV,
    SNMPD_V3_USERS,
    SNMPSIM_V3_ENGINES,
    PysnmpAgent,
)
from tests.support import free_udp_port


def credentials(name: str, auth: str | None, priv: str | None, **kwargs) -> V3Credentials:
    return V3Credentials(name, SNMPD_V3_AUTH if auth else None, SNMPD_V3_PRIV if priv else None,
                         auth or "SHA", priv or "AES", **kwargs)


def target(ap_id: int, port: int, creds, platform: str = "openwrt") -> PollTarget:
    return PollTarget(ap_id, f"ap-{ap_id}", "127.0.0.1", port, platform, creds)


def run_cycles(targets: list[PollTarget], cycles: int):
    """Poll ``cycles`` times through the poller; (snapshot, [(stats, changes) per cycle])."""
    snapshot, seen = Snapshot(), []
    config = SnmpConfig(interval=60.0, timeout=1.0, retries=0, max_in_flight=8, down_after=3)

    async def main():
        poller = Poller(lambda: targets, config, snapshot,
                        on_cycle=lambda snap, stats, changes: seen.append((stats, changes)))
        try:
            for _ in range(cycles):
                await poller.poll_once()
        finally:
            poller.close()

    asyncio.run(main())
    return snapshot, seen


async def poll_all(client: SnmpClient, targets: list[PollTarget]) -> list:
    """Each target's PollResult, or the SnmpError it raised."""
    outcomes = []
    for each in targets:
        try:
            outcomes.append(await client.poll(each))
        except SnmpError as exc:
            outcomes.append(exc)
    return outcomes


def both_paths(targets: list[PollTarget], serve: Callable | None = None, **client_kwargs):
    """(fast path outcomes, pysnmp outcomes) for the same targets, ``serve()`` running in the
    loop (an agent that lives on it) while they poll."""
    async def main():
        agent = serve() if serve else None
        try:
            results = []
            for path in ("fast", "pysnmp"):
                client = SnmpClient(timeout=2.0, retries=1, v3_path=path, **client_kwargs)
                try:
                    results.append(await poll_all(client, targets))
                finally:
                    client.close()
            return results
        finally:
            if agent is not None:
                agent.close()

    return asyncio.run(main())


def assert_same_reading(fast, oracle) -> None:
    assert not isinstance(fast, Exception), fast
    assert not isinstance(oracle, Exception), oracle
    assert (fast.sys_descr, fast.sys_name, fast.client_scalar) == \
        (oracle.sys_descr, oracle.sys_name, oracle.client_scalar)
    assert fast.interfaces.keys() == oracle.interfaces.keys()
    for index, columns in fast.interfaces.items():
        assert columns["if_type"] == oracle.interfaces[index]["if_type"]
        assert columns["if_name"] == oracle.interfaces[index]["if_name"]


def test_every_auth_priv_pair_of_net_snmp_reads_what_pysnmp_reads(snmpd_v3):
    targets = [target(i, snmpd_v3.port, credentials(*user))
               for i, user in enumerate(SNMPD_V3_USERS, 1)]
    fast, oracle = both_paths(targets)
    for user, ours, theirs in zip(SNMPD_V3_USERS, fast, oracle):
        assert_same_reading(ours, theirs)
        assert ours.sys_name == SNMPD_SYS_NAME, user
        assert ours.client_scalar and str(SNMPD_CLIENTS) in str(ours.client_scalar)
        assert ours.interfaces, user


def test_every_auth_priv_pair_of_pysnmp_agent_reads_what_pysnmp_reads():
    port = free_udp_port()
    targets = [target(i, port, credentials(*user), platform="generic")
               for i, user in enumerate(SNMPD_V3_USERS, 1)]
    fast, oracle = both_paths(targets, serve=lambda: PysnmpAgent(port))
    for ours, theirs in zip(fast, oracle):
        assert_same_reading(ours, theirs)
        assert ours.sys_descr.startswith("PySNMP engine")


def test_snmpsim_v3_users_read_their_recording_by_context_name(snmpsim_v3):
    by_user = dict(snmpsim_v3.v3_ports)
    recording = snmpsim_v3.community
    targets = [target(i, by_user[user], credentials(user, auth, ours, context=recording),
                      platform="generic")
               for i, (user, auth, _, ours) in enumerate(SNMPSIM_V3_ENGINES, 1)]
    v2c = target(99, by_user[SNMPSIM_V3_ENGINES[0][0]], V2cCredentials(recording), "generic")
    wrong_context = target(98, by_user[SNMPSIM_V3_ENGINES[0][0]],
                           credentials(*SNMPSIM_V3_ENGINES[0][:2], "AES", context="recorded/x"),
                           platform="generic")

    async def main():
        # snmpsim takes a few seconds over its first request (it opens the recording's index).
        client, quick = SnmpClient(timeout=3.0, retries=2), SnmpClient(timeout=0.5, retries=0)
        try:
            return (await poll_all(client, targets), await client.poll(v2c),
                    await poll_all(quick, [wrong_context]))
        finally:
            client.close()
            quick.close()

    results, over_v2c, (refused,) = asyncio.run(main())
    for result in results:
        assert_same_reading(result, over_v2c)
        assert len(result.interfaces) >= 2
    assert isinstance(refused, SnmpTimeout), "snmpsim stays silent for an unknown context"


def test_refusals_are_named_and_the_poller_shows_auth_failed(snmpd_v3):
    sha_aes = credentials("u-sha-aes", "SHA", "AES")
    cases = {
        "wrong_digest": V3Credentials("u-sha-aes", "not-the-auth-key", SNMPD_V3_PRIV),
        "decryption_error": V3Credentials("u-sha-aes", SNMPD_V3_AUTH, "not-the-priv-key"),
        "unknown_user": V3Credentials("nobody-here", SNMPD_V3_AUTH, SNMPD_V3_PRIV),
        "unsupported_security_level": credentials("u-sha", "SHA", "AES"),   # authNoPriv user
        "unknown_context": credentials("u-sha-aes", "SHA", "AES", context="no-such-context"),
        # The AES-256 user keyed the Cisco way: the keys differ, so the agent cannot decrypt.
        "decryption_error ": credentials("u-sha-aes256", "SHA", "AES256C"),
    }
    targets = [target(i, snmpd_v3.port, creds) for i, creds in enumerate(cases.values(), 1)]
    targets.append(target(99, snmpd_v3.port, sha_aes))
    snapshot, seen = run_cycles(targets, cycles=2)
    for ap_id, reason in enumerate(cases, 1):
        status = snapshot.get(ap_id)
        assert status.state is ApState.AUTH_FAILED, (reason, status.last_error)
        assert status.last_error.startswith(f"auth: {reason.strip()}:"), status.last_error
        assert status.consecutive_failures == 0
    assert snapshot.get(99).state is ApState.UP
    assert seen[0][0].failed == len(cases)


def test_agent_reboot_resyncs_and_a_new_engine_is_discovered_again(snmpd_v3):
    each = target(1, snmpd_v3.port, credentials("u-sha256-aes", "SHA256", "AES"))

    async def main():
        client = SnmpClient(timeout=2.0, retries=1)
        try:
            first = await client.poll(each)
            engine = client.engine_id("127.0.0.1", snmpd_v3.port)
            snmpd_v3.restart()                           # same engine, engine boots + 1
            rebooted = await client.poll(each)
            after_reboot = (client.v3_stats.resyncs, client.engine_id("127.0.0.1", snmpd_v3.port))
            snmpd_v3.restart(new_engine=True)            # another engine ID at the same address
            replaced = await client.poll(each)
            return (first, rebooted, replaced, engine, after_reboot,
                    client.engine_id("127.0.0.1", snmpd_v3.port), client.v3_stats)
        finally:
            client.close()

    first, rebooted, replaced, engine, after_reboot, new_engine, stats = asyncio.run(main())
    assert first.sys_name == rebooted.sys_name == replaced.sys_name == SNMPD_SYS_NAME
    assert rebooted.uptime_ticks < first.uptime_ticks
    assert after_reboot == (1, engine)
    assert new_engine != engine and stats.rediscoveries == 1
    assert stats.discoveries == 2 and stats.timed_out == 0


def test_a_configured_engine_id_is_enforced(snmpd_v3):
    async def main():
        client = SnmpClient(timeout=2.0, retries=0)
        try:
            await client.poll(target(1, snmpd_v3.port, credentials("u-sha-aes", "SHA", "AES")))
            real = client.engine_id("127.0.0.1", snmpd_v3.port)
            pinned = target(2, snmpd_v3.port, credentials("u-sha-aes", "SHA", "AES",
                                                          engine_id=real.hex()))
            wrong = target(3, snmpd_v3.port, credentials("u-sha-aes", "SHA", "AES",
                                                         engine_id="80001f8880" + "ab" * 8))
            fresh = SnmpClient(timeout=2.0, retries=0)
            try:
                ok = await fresh.poll(pinned)
                with pytest.raises(SnmpAuthError, match="engine_id: the AP's engine ID"):
                    await SnmpClient(timeout=2.0, retries=0).poll(wrong)
            finally:
                fresh.close()
            return ok
        finally:
            client.close()

    assert asyncio.run(main()).sys_name == SNMPD_SYS_NAME


# --- what no real agent does on cue ------------------------------------------------------------

ENGINE = bytes.fromhex("80001f88805eedfacade")
USER = UsmUser.from_passphrases("oasis", "SHA", SNMPD_V3_AUTH, "AES", SNMPD_V3_PRIV)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)


class FakeClock:
    def __init__(self):
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class FakeMisbehavingV3Agent(asyncio.DatagramProtocol):
    """A USM agent (core's `Authority`) whose answers go through ``script(n, request, agent)``:
    a list of ("main" | "other", datagram) to send, "other" being a second socket."""

    def __init__(self, script, authority: v3.Authority | None = None):
        self.script = script
        self.clock = FakeClock()
        self.authority = authority or v3.Authority(ENGINE, {b"oasis": USER}, boots=5,
                                                   clock=self.clock)
        self.requests: list[bytes] = []
        self.main: asyncio.DatagramTransport | None = None
        self.other: asyncio.DatagramTransport | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.main, _ = await loop.create_datagram_endpoint(lambda: self,
                                                           local_addr=("127.0.0.1", 0))
        self.other, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                            local_addr=("127.0.0.1", 0))
        return self.main.get_extra_info("sockname")[1]

    def answer(self, data: bytes, descr: bytes = b"scripted AP", time_shift: int = 0) -> bytes:
        """What a correct agent sends back: a report, or a response with sysDescr (claiming
        an engine time ``time_shift`` seconds off, to play a replay)."""
        outcome = self.authority.receive(data)
        if not isinstance(outcome, v3.Accepted):
            assert outcome is not None
            return outcome
        _, request_id_tlv, _, _, varbinds = outcome.scoped.request()
        encoded = [ber.encode_varbind(ber.encode_oid(SYS_DESCR), ber.OCTET_STRING, descr)]
        encoded += [ber.encode_varbind(tlv, ber.END_OF_MIB_VIEW, None) for _, tlv in varbinds[1:]]
        pdu = ber.encode_pdu(ber.RESPONSE, request_id_tlv, 0, 0, encoded)
        if not time_shift:
            return self.authority.reply(outcome, pdu)
        clock = self.authority.clock
        return v3.encode_message(outcome.message.msg_id, outcome.message.level, ENGINE,
                                 clock.boots, clock.time() + time_shift, outcome.user.name,
                                 outcome.keys, v3.encode_scoped_pdu(ENGINE, b"", pdu))

    def datagram_received(self, data, addr):
        self.requests.append(data)
        for via, datagram in self.script(len(self.requests), data, self):
            (self.main if via == "main" else self.other).sendto(datagram, addr)

    def close(self):
        for transport in (self.main, self.other):
            if transport is not None:
                transport.close()


def poll_fake(script, *, timeout=0.3, retries=1, authority=None):
    """(result or the SnmpError, the agent, the client's v3 counters)."""
    async def main():
        agent = FakeMisbehavingV3Agent(script, authority)
        port = await agent.start()
        client = SnmpClient(timeout=timeout, retries=retries)
        creds = V3Credentials("oasis", SNMPD_V3_AUTH, SNMPD_V3_PRIV)
        try:
            try:
                outcome = await client.poll(target(1, port, creds, "generic"))
            except SnmpError as exc:
                outcome = exc
            return outcome, agent, client.v3_stats
        finally:
            client.close()
            agent.close()

    return asyncio.run(main())


def test_scripted_agent_answers_like_a_real_one():
    result, agent, stats = poll_fake(lambda n, data, a: [("main", a.answer(data))])
    assert result.sys_descr == "scripted AP"
    assert (stats.discoveries, stats.answered, len(agent.requests)) == (1, 2, 2)


def test_an_answer_replayed_from_outside_the_time_window_is_dropped():
    def script(n, data, agent):
        if n < 3:                   # discovery, then a first poll that confirms the time
            return [("main", agent.answer(data))]
        # Signed with the right key, but carrying the engine time of 200 s ago.
        return [("main", agent.answer(data, b"replayed", time_shift=-200)),
                ("main", agent.answer(data))]

    async def main():
        fake = FakeMisbehavingV3Agent(script)
        fake.clock.now += 1000          # the agent has been up for a while
        port = await fake.start()
        client = SnmpClient(timeout=0.5, retries=0)
        each = target(1, port, V3Credentials("oasis", SNMPD_V3_AUTH, SNMPD_V3_PRIV), "generic")
        try:
            await client.poll(each)
            fake.clock.now += 30
            return await client.poll(each), client.v3_stats
        finally:
            client.close()
            fake.close()

    result, stats = asyncio.run(main())
    assert result.sys_descr == "scripted AP"
    assert stats.not_in_time_window == 1


def test_answers_signed_with_another_key_or_sent_from_elsewhere_are_dropped():
    impostor = v3.Authority(ENGINE, {b"oasis": UsmUser.from_passphrases(
        "oasis", "SHA", "guessed-auth-key", "AES", SNMPD_V3_PRIV)}, boots=5)

    def script(n, data, agent):
        if n == 1:
            return [("main", agent.answer(data))]
        forged = bytearray(agent.answer(data, b"forged"))
        # The impostor cannot sign: swap the HMAC for one made with its own key.
        message = v3.decode_message(bytes(forged))
        zeroed = bytearray(forged)
        zeroed[message.auth_at:message.auth_at + 12] = bytes(12)
        forged[message.auth_at:message.auth_at + 12] = impostor.users[b"oasis"].keys_for(
            ENGINE).mac(zeroed)
        return [("main", bytes(forged)), ("other", agent.answer(data, b"spoofed")),
                ("main", agent.answer(data))]

    result, _, stats = poll_fake(script)
    assert result.sys_descr == "scripted AP"
    assert (stats.wrong_digest, stats.wrong_source) == (1, 1)


def test_garbage_truncations_and_unknown_msg_ids_do_not_stop_the_poll():
    def script(n, data, agent):
        good = agent.answer(data)
        if n == 1:
            return [("main", good)]
        other_id = bytearray(good)
        message = v3.decode_message(good)
        at = good.index(message.msg_id.to_bytes(4, "big"))
        other_id[at:at + 4] = (message.msg_id ^ 0x55).to_bytes(4, "big")
        return [("main", b"\x30\x82\xff"), ("main", good[:-5]), ("main", bytes(other_id)),
                ("main", b"\xff" * 300), ("main", good)]

    result, _, stats = poll_fake(script)
    assert result.sys_descr == "scripted AP"
    assert stats.malformed == 3 and stats.unknown_msg_id == 1


def test_a_lying_discovery_report_costs_one_resync_not_the_poll():
    def script(n, data, agent):
        if n == 1:   # the discovery: boots far in the future, unsigned
            report = v3.decode_message(agent.answer(data))
            return [("main", v3.encode_message(report.msg_id, 0, ENGINE, 2**31 - 2, 10**6, b"",
                                               None, report.data))]
        return [("main", agent.answer(data))]

    result, agent, stats = poll_fake(script)
    assert result.sys_descr == "scripted AP"
    assert stats.resyncs == 1 and agent.authority.stats["not_in_time_window"] == 1


def test_silence_times_out_and_wrong_keys_fail_fast():
    outcome, agent, stats = poll_fake(lambda n, data, a: [], timeout=0.15, retries=2)
    assert isinstance(outcome, SnmpTimeout)
    assert len(agent.requests) == 3 and len(set(agent.requests)) == 1   # the same probe resent
    wrong = v3.Authority(ENGINE, {b"oasis": UsmUser.from_passphrases(
        "oasis", "SHA", "other-auth-key", "AES", SNMPD_V3_PRIV)}, boots=5)
    outcome, agent, stats = poll_fake(lambda n, data, a: [("main", a.answer(data))],
                                      authority=wrong)
    assert isinstance(outcome, SnmpAuthError) and "wrong_digest" in str(outcome)
    assert stats.refused == 1 and stats.timed_out == 0
