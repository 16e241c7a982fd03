"""The simulator's SNMPv3 (core's USM) against net-snmp's tools and pysnmp's manager.

Every auth/priv pair both ways is served by a one-user simulator per pair (the simulator serves
one user, like an AP configured with one); the refusals, the reboot and the replays use one
simulator with a clock the test moves. tests/controller/test_snmp_v3.py checks the other
direction (the controller's fast path against snmpd, snmpsim and pysnmp's agent).
"""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
)
from pysnmp.entity import config as pysnmp_config
from pysnmp.proto import errind

from agents.apsim.runner import SimulatorThread
from agents.apsim.simulator import SimulatorSettings
from agents.apsim.usm import engine_id
from controller.snmp.engine import PollTarget, SnmpAuthError, SnmpClient, V3Credentials
from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import AUTH_PROTOCOLS, PRIV_PROTOCOLS, UsmUser
from tests.peers_snmp import NETSNMP_AUTH, NETSNMP_PRIV
from tests.support import free_udp_port, require_tool

AUTH_KEY, PRIV_KEY = "apsim-auth-key", "apsim-priv-key"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
PYSNMP_AUTH = {"MD5": pysnmp_config.USM_AUTH_HMAC96_MD5, "SHA": pysnmp_config.USM_AUTH_HMAC96_SHA,
               "SHA224": pysnmp_config.USM_AUTH_HMAC128_SHA224,
               "SHA256": pysnmp_config.USM_AUTH_HMAC192_SHA256,
               "SHA384": pysnmp_config.USM_AUTH_HMAC256_SHA384,
               "SHA512": pysnmp_config.USM_AUTH_HMAC384_SHA512}
PYSNMP_PRIV = {"DES": pysnmp_config.USM_PRIV_CBC56_DES, "AES": pysnmp_config.USM_PRIV_CFB128_AES,
               "AES192": pysnmp_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
               "AES256": pysnmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
               "AES192C": pysnmp_config.USM_PRIV_CFB192_AES,
               "AES256C": pysnmp_config.USM_PRIV_CFB256_AES}
PAIRS = [(a, p) for a in AUTH_PROTOCOLS for p in [*PRIV_PROTOCOLS, None]] + [(None, None)]


def settings_for(auth: str | None, priv: str | None, **overrides) -> SimulatorSettings:
    first = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}.1"
    values = dict(count=2, first_address=first, port=free_udp_port(first), trap_target=None,
                  v3_user="ops", v3_auth_key=AUTH_KEY if auth else "",
                  v3_priv_key=PRIV_KEY if priv else "", v3_auth_proto=auth or "SHA",
                  v3_priv_proto=priv or "AES")
    values.update(overrides)
    return SimulatorSettings(**values)


def netsnmp_get(sim, auth: str | None, priv: str | None, *oids: str, auth_key: str = AUTH_KEY,
                priv_key: str = PRIV_KEY, context: str = "") -> subprocess.CompletedProcess:
    plan = sim.simulator.plans[0]
    if auth is None:
        creds = ["-l", "noAuthNoPriv"]
    else:
        creds = ["-l", "authPriv" if priv else "authNoPriv", "-a", NETSNMP_AUTH[auth],
                 "-A", auth_key]
        if priv:
            creds += ["-x", NETSNMP_PRIV[priv], "-X", priv_key]
    return subprocess.run([require_tool("snmpget"), "-v3", "-u", "ops", *creds, "-n", context,
                           "-On", "-t", "2", "-r", "0", f"{plan.mgmt_ip}:{plan.snmp_port}",
                           *oids], capture_output=True, text=True, timeout=30)


async def pysnmp_get(sim, auth: str | None, priv: str | None, oid: str = SYS_NAME,
                     engine: SnmpEngine | None = None):
    """(error indication, error status, value) from pysnmp's manager."""
    plan = sim.simulator.plans[0]
    user = UsmUserData("ops", AUTH_KEY if auth else None, PRIV_KEY if priv else None,
                       authProtocol=PYSNMP_AUTH[auth] if auth else pysnmp_config.USM_AUTH_NONE,
                       privProtocol=PYSNMP_PRIV[priv] if priv else pysnmp_config.USM_PRIV_NONE)
    own = engine is None
    engine = engine or SnmpEngine()
    try:
        target = await UdpTransportTarget.create((plan.mgmt_ip, plan.snmp_port), timeout=2,
                                                 retries=0)
        error, status, _, varbinds = await get_cmd(engine, user, target, ContextData(),
                                                   ObjectType(ObjectIdentity(oid)),
                                                   lookupMib=False)
        return error, status, (str(varbinds[0][1]) if varbinds else None)
    finally:
        if own:
            engine.close_dispatcher()


@pytest.mark.parametrize(("auth", "priv"), PAIRS, ids=[f"{a}-{p}" for a, p in PAIRS])
def test_every_auth_priv_pair_answers_net_snmp_and_pysnmp(auth, priv):
    with SimulatorThread(settings_for(auth, priv)) as sim:
        name = sim.simulator.plans[0].name
        got = netsnmp_get(sim, auth, priv, SYS_NAME)
        assert got.returncode == 0, got.stderr
        assert got.stdout.strip() == f'.{SYS_NAME} = STRING: "{name}"'
        error, status, value = asyncio.run(pysnmp_get(sim, auth, priv))
        assert not error and not status, (error, status)
        assert value == name


def test_refusals_come_back_as_reports_not_timeouts():
    with SimulatorThread(settings_for("SHA256", "AES256", v3_context="park")) as sim:
        right = netsnmp_get(sim, "SHA256", "AES256", SYS_NAME, context="park")
        assert right.returncode == 0, right.stderr
        wrong_auth = netsnmp_get(sim, "SHA256", "AES256", SYS_NAME, context="park",
                                 auth_key="not-the-auth-key")
        assert "Authentication failure" in wrong_auth.stderr
        wrong_priv = netsnmp_get(sim, "SHA256", "AES256", SYS_NAME, context="park",
                                 priv_key="not-the-priv-key")
        assert "Decryption error" in wrong_priv.stderr, wrong_priv.stderr
        below = netsnmp_get(sim, "SHA256", None, SYS_NAME, context="park")
        assert "authorizationError" in below.stdout + below.stderr
        other_context = netsnmp_get(sim, "SHA256", "AES256", SYS_NAME, context="elsewhere")
        assert other_context.returncode != 0 and "Timeout" not in other_context.stderr
        error, _, _ = asyncio.run(pysnmp_get(sim, "SHA256", "AES192"))   # not its protocol
        assert isinstance(error, errind.DecryptionError), error
        stats = sim.call(lambda s: s._v3.engine(s.aps[s.plans[0].name]).stats)
        assert stats["wrong_digest"] == 1 and stats["decryption_error"] == 2


class FakeClock:
    def __init__(self):
        self.now = 50_000.0

    def __call__(self) -> float:
        return self.now


def test_reboot_bumps_engine_boots_and_managers_resync():
    clock = FakeClock()
    with SimulatorThread(settings_for("SHA", "AES"), engine_clock=clock) as sim:
        plan = sim.simulator.plans[0]
        ap_engine = engine_id(sim.simulator.aps[plan.name])

        async def main():
            pysnmp_engine = SnmpEngine()
            client = SnmpClient(timeout=2.0, retries=0)
            each = PollTarget(1, plan.name, plan.mgmt_ip, plan.snmp_port, plan.platform,
                              V3Credentials("ops", AUTH_KEY, PRIV_KEY))
            try:
                before = await client.poll(each)
                assert (await pysnmp_get(sim, "SHA", "AES", engine=pysnmp_engine))[2]
                clock.now += 100
                sim.reboot(plan.name)
                after = await client.poll(each)
                again = await pysnmp_get(sim, "SHA", "AES", engine=pysnmp_engine)
                return before, after, again, client.v3_stats, client.engine_id(
                    plan.mgmt_ip, plan.snmp_port)
            finally:
                client.close()
                pysnmp_engine.close_dispatcher()

        before, after, again, stats, discovered = asyncio.run(main())
    assert after.uptime_ticks < before.uptime_ticks
    assert again[:2] == (None, 0) and again[2] == plan.name
    assert stats.resyncs == 1 and stats.discoveries == 1 and discovered == ap_engine


def test_replays_outside_the_window_and_garbage_are_refused_and_serving_goes_on():
    clock = FakeClock()
    with SimulatorThread(settings_for("SHA", "AES"), engine_clock=clock) as sim:
        plan = sim.simulator.plans[0]
        ap_engine = engine_id(sim.simulator.aps[plan.name])
        user = UsmUser.from_passphrases("ops", "SHA", AUTH_KEY, "AES", PRIV_KEY)
        boots = sim.call(lambda s: s._v3.engine(s.aps[plan.name]).clock.boots)
        pdu = ber.encode_pdu(ber.GET, b"\x02\x01\x07", 0, 0, [
            ber.tlv(ber.SEQUENCE, ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 5, 0)) + b"\x05\x00")])
        request = v3.encode_request(4242, user, ap_engine, boots, 0, b"", pdu)
        keys = user.keys_for(ap_engine)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)

            def signed_reply() -> tuple[v3.Message, bytes]:
                """The next signed answer to msgID 4242 (reports to the mutants skipped)."""
                while True:
                    data, _ = sock.recvfrom(65535)
                    message = v3.decode_message(data)
                    if message.msg_id == 4242 and message.flags & v3.FLAG_AUTH:
                        return message, data

            sock.sendto(request, (plan.mgmt_ip, plan.snmp_port))
            first, _ = signed_reply()
            assert v3.open_scoped_pdu(first, keys).pdu()[4][0][2] == plan.name.encode()
            rng = random.Random(7)
            for cut in range(0, len(request), 7):
                sock.sendto(request[:cut], (plan.mgmt_ip, plan.snmp_port))
            for _ in range(200):
                mutant = bytearray(request)
                mutant[rng.randrange(len(mutant))] ^= 1 << rng.randrange(8)
                sock.sendto(bytes(mutant), (plan.mgmt_ip, plan.snmp_port))
            clock.now += 151                       # the same request, replayed 151 s later
            sock.sendto(request, (plan.mgmt_ip, plan.snmp_port))
            late, data = signed_reply()
            reason = v3.report_reason(v3.decode_scoped_pdu(late.data).pdu()[4])
            assert reason == "not_in_time_window" and v3.authentic(data, late, keys)
            assert (late.boots, late.engine_time) == (boots, 151)
        stats = sim.call(lambda s: s.stats)
        assert stats.v3_requests > 150 and stats.malformed > 0  # they reached USM, or the codec
        assert netsnmp_get(sim, "SHA", "AES", SYS_NAME).returncode == 0


def test_a_poll_refused_by_the_simulator_names_the_reason():
    # SHA-1 localises 20 octets, so the two AES-256 key extensions give different keys.
    with SimulatorThread(settings_for("SHA", "AES256C")) as sim:
        plan = sim.simulator.plans[0]

        async def main():
            client = SnmpClient(timeout=1.0, retries=0)
            try:
                with pytest.raises(SnmpAuthError, match="decryption_error"):
                    await client.poll(PollTarget(1, plan.name, plan.mgmt_ip, plan.snmp_port,
                                                 plan.platform, V3Credentials(
                                                     "ops", AUTH_KEY, PRIV_KEY, "SHA",
                                                     "AES256")))
                ok = await client.poll(PollTarget(2, plan.name, plan.mgmt_ip, plan.snmp_port,
                                                  plan.platform, V3Credentials(
                                                      "ops", AUTH_KEY, PRIV_KEY, "SHA",
                                                      "AES256C")))
                return ok
            finally:
                client.close()

        assert asyncio.run(main()).sys_name == plan.name
