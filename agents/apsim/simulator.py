"""The AP simulator: N simulated access points in one asyncio process, each on its own address.

Every AP owns one UDP socket bound to (its loopback address, the common port). Replies and traps
leave through that socket, so the controller sees each AP's own source address, exactly as with
real hardware. Both v2c and v3 are answered on the fast path (``core/snmp_ber.py`` + ``mib``;
for v3 with USM from ``core/snmp_usm.py`` around it, ``usm``), so a v3 answer costs about what
a v2c one does. Control operations (reboot, links, reachability, traps) are plain methods, to be
called on the simulator's event loop (``SimulatorThread`` and the control endpoint make sure of
that).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from agents.apsim.device import Reading, SimulatedAp
from agents.apsim.inventory import ApPlan, plan_aps
from agents.apsim.mib import answer, build_tables
from agents.apsim.settings import ApsimConfig
from agents.apsim.ssh_server import ApServers, attach_to_simulator
from agents.apsim.traffic import DayProfile
from agents.apsim.traps import ON_DEMAND, encode_trap, encode_varbinds, trap_varbinds
from agents.apsim.usm import V3Responder, first_boots
from core import snmp_ber as ber
from core.config import host_port
from core.snmp_usm import UsmUser

log = logging.getLogger(__name__)

#: Largest v2c response the simulated agent sends; GETBULK stops adding rows before it.
MAX_RESPONSE_BYTES = 8192
_READ_PDUS = (ber.GET, ber.GETNEXT, ber.GETBULK)
#: sysUpTime, which every poll reads first (a GETBULK non-repeater or a GET of .0).
_SYS_UPTIME_OIDS = ((1, 3, 6, 1, 2, 1, 1, 3), (1, 3, 6, 1, 2, 1, 1, 3, 0))


#: The ``[apsim]`` section's defaults are the simulator's too.
_APSIM = ApsimConfig()


@dataclass(frozen=True)
class SimulatorSettings:
    count: int = _APSIM.count
    first_address: str = _APSIM.first_address
    port: int = _APSIM.port
    community: str = _APSIM.community
    v3_user: str = _APSIM.v3_user
    v3_auth_key: str = _APSIM.v3_auth_key
    v3_priv_key: str = _APSIM.v3_priv_key
    v3_auth_proto: str = _APSIM.v3_auth_proto
    v3_priv_proto: str = _APSIM.v3_priv_proto
    v3_context: str = _APSIM.v3_context
    #: Where traps go (the controller's trap receiver); None sends none.
    trap_target: tuple[str, int] | None = ("127.0.0.1", 1162)
    trap_community: str = "public"
    #: "2c" (community ``trap_community``) or "3" (the v3 user, from each AP's engine).
    trap_version: str = "2c"
    #: Send authenticationFailure when a request carries the wrong community.
    auth_failure_traps: bool = True
    #: AP names whose HC counters start just below 2**64, to exercise the poller's wrap logic.
    near_wrap: tuple[str, ...] = ()
    v3: bool = True
    #: TCP port of each AP's SSH server (agents.apsim.ssh_server); None: no SSH.
    ssh_port: int | None = None
    #: (i, n): serve only the APs whose plan index is i modulo n, so n processes share a fleet
    #: of ``count`` APs (the plan, names and addresses stay those of the whole fleet).
    shard: tuple[int, int] = (0, 1)

    @classmethod
    def from_config(cls, config, **overrides) -> "SimulatorSettings":
        """From the project's ``Config`` ([apsim] and the [snmp] trap receiver), then overrides."""
        apsim = config.apsim
        values = dict(count=apsim.count, first_address=apsim.first_address, port=apsim.port,
                      community=apsim.community, v3_user=apsim.v3_user,
                      v3_auth_key=apsim.v3_auth_key, v3_priv_key=apsim.v3_priv_key,
                      v3_auth_proto=apsim.v3_auth_proto, v3_priv_proto=apsim.v3_priv_proto,
                      v3_context=apsim.v3_context, trap_version=apsim.trap_version,
                      trap_target=host_port(config.snmp.trap_listen, "snmp.trap_listen"),
                      trap_community=config.snmp.trap_community)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class SimulatorStats:
    v2c_requests: int = 0
    v3_requests: int = 0
    wrong_community: int = 0
    malformed: int = 0
    ignored_unreachable: int = 0
    traps_sent: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__, cpu_seconds=round(time.process_time(), 3))


class _ApEndpoint(asyncio.DatagramProtocol):
    """The UDP socket of one AP."""

    def __init__(self, simulator: "ApSimulator", ap: SimulatedAp):
        self.simulator = simulator
        self.ap = ap
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data: bytes, addr):
        self.simulator.handle_datagram(self, data, addr)

    def error_received(self, exc):  # ICMP unreachable from a manager that went away
        log.debug("%s: %s", self.ap.name, exc)


def raise_open_file_limit(needed: int) -> None:
    """One socket per AP: lift the soft RLIMIT_NOFILE towards the hard limit when needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class ApSimulator:
    def __init__(self, settings: SimulatorSettings, clock: Callable[[], float] = time.time,
                 engine_clock: Callable[[], float] = time.monotonic):
        """``clock`` drives what the APs show (uptime, counters); ``engine_clock`` their SNMPv3
        engine time (monotonic: a wall-clock step must not throw managers out of the time
        window). Tests may pass their own of either."""
        self.settings = settings
        self.clock = clock
        self.tables = build_tables()
        index, shards = settings.shard
        if not 0 <= index < shards:
            raise ValueError(f"shard {index}/{shards}: want 0 <= i < n")
        self.plans: list[ApPlan] = [
            plan for plan in plan_aps(settings.count, settings.first_address, settings.port)
            if plan.index % shards == index]
        now = clock()
        profile = DayProfile()
        self.aps: dict[str, SimulatedAp] = {
            p.name: SimulatedAp.from_plan(p, now, profile) for p in self.plans}
        for name in settings.near_wrap:
            self.ap(name).wrap_soon(now)
        self.stats = SimulatorStats()
        #: SNMPv2c polls answered, by AP name and the manager's address (a request that reads
        #: sysUpTime starts a poll): a test of several pollers sees which polled each AP.
        self.polls: Counter[tuple[str, tuple]] = Counter()
        self._community = settings.community.encode()
        self._trap_community = settings.trap_community.encode()
        self._endpoints: dict[str, _ApEndpoint] = {}
        self._oid_cache: dict[bytes, tuple[int, ...]] = {}
        self._trap_request_id = 0
        self._v3: V3Responder | None = None
        if settings.v3 or settings.trap_version == "3":
            # Raises ValueError naming a wrong protocol or a short pass phrase, before binding.
            user = UsmUser.from_passphrases(
                settings.v3_user, settings.v3_auth_proto, settings.v3_auth_key or None,
                settings.v3_priv_proto, settings.v3_priv_key or None)
            self._v3 = V3Responder(user, settings.v3_context.encode(), first_boots(now),
                                   engine_clock)
        self.ssh: ApServers | None = None

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind every AP's socket (and start v3); fails as a whole if one address is taken."""
        loop = asyncio.get_running_loop()
        raise_open_file_limit(len(self.aps) + 256)
        try:
            for ap in self.aps.values():
                endpoint = _ApEndpoint(self, ap)
                # The factory runs inside this await, so it hands over this AP's endpoint.
                await loop.create_datagram_endpoint(
                    lambda: endpoint, local_addr=(ap.address, self.settings.port))
                self._endpoints[ap.address] = endpoint
        except OSError as exc:
            await self.stop()
            raise OSError(exc.errno, f"cannot bind {ap.address}:{self.settings.port} "
                                     f"for {ap.name}: {exc.strerror}") from exc
        if self.settings.ssh_port:
            self.ssh = await attach_to_simulator(self, self.settings.ssh_port)

    async def stop(self) -> None:
        if self.ssh is not None:
            await self.ssh.close()
            self.ssh = None
        for endpoint in self._endpoints.values():
            if endpoint.transport:
                endpoint.transport.close()
        self._endpoints.clear()

    @property
    def address_range(self) -> str:
        if not self.plans:
            return "(no APs)"
        return f"{self.plans[0].mgmt_ip}-{self.plans[-1].mgmt_ip} udp/{self.settings.port}"

    # -- serving -----------------------------------------------------------------------------

    def handle_datagram(self, endpoint: _ApEndpoint, data: bytes, peer) -> None:
        ap = endpoint.ap
        if not ap.reachable:
            self.stats.ignored_unreachable += 1
            return
        try:
            version = ber.message_version(data)
            if version == ber.SNMP_V3 and self.settings.v3 and self._v3 is not None:
                self.stats.v3_requests += 1
                reply = self._v3.answer(ap, data, self._response_pdu, MAX_RESPONSE_BYTES)
            elif version == ber.SNMP_V2C:
                reply = self._answer_v2c(ap, ber.decode_request(data, self._oid_cache), peer)
            else:
                return  # SNMPv1 is not offered by these APs
        except ber.BerError:
            self.stats.malformed += 1
            return
        if reply is not None and endpoint.transport is not None:
            endpoint.transport.sendto(reply, peer)

    def _answer_v2c(self, ap: SimulatedAp, request: ber.V2cRequest, peer=None) -> bytes | None:
        if request.community != self._community:
            self.stats.wrong_community += 1
            if self.settings.auth_failure_traps:
                self.send_trap(ap.name, "authenticationFailure")
            return None  # a real agent stays silent: the manager sees a timeout
        self.stats.v2c_requests += 1
        if any(oid in _SYS_UPTIME_OIDS for oid, _ in request.varbinds[:4]):
            self.polls[(ap.name, tuple(peer or ()))] += 1
        if request.pdu_type not in _READ_PDUS and request.pdu_type != ber.SET:
            return None
        pdu = self._response_pdu(ap, request.pdu_type, request.request_id_tlv, request.varbinds,
                                 request.non_repeaters, request.max_repetitions,
                                 MAX_RESPONSE_BYTES - 64 - len(request.community))
        return ber.tlv(ber.SEQUENCE, ber.tlv(ber.INTEGER, ber.encode_signed(request.version))
                       + ber.tlv(ber.OCTET_STRING, request.community) + pdu)

    def _response_pdu(self, ap: SimulatedAp, pdu_type: int, request_id_tlv: bytes,
                      varbinds: tuple[tuple[tuple[int, ...], bytes], ...], non_repeaters: int,
                      max_repetitions: int, budget: int) -> bytes:
        """The Response PDU to a read (or a refused SET), GETBULK rows trimmed to ``budget``
        octets of varbinds; the same for v2c and v3."""
        def reply(status: int, index: int, encoded: list[bytes]) -> bytes:
            return ber.encode_pdu(ber.RESPONSE, request_id_tlv, status, index, encoded)

        if pdu_type not in _READ_PDUS:   # SET: read-only
            return reply(ber.NO_ACCESS, 1, _echo(varbinds))
        reading = Reading(ap, self.clock())
        answers = answer(self.tables[ap.plan.platform], reading, pdu_type, varbinds,
                         non_repeaters, max_repetitions)
        encoded: list[bytes] = []
        size = 0
        for oid_tlv, _, tag, value in answers:
            varbind = ber.encode_varbind(oid_tlv, tag, value)
            size += len(varbind)
            if size > budget:
                if pdu_type != ber.GETBULK or len(encoded) < len(varbinds):
                    return reply(ber.TOO_BIG, 0, _echo(varbinds))
                break
            encoded.append(varbind)
        return reply(ber.NO_ERROR, 0, encoded)

    # -- control -----------------------------------------------------------------------------

    def ap(self, name: str) -> SimulatedAp:
        try:
            return self.aps[name]
        except KeyError:
            raise ValueError(f"no simulated AP named {name!r} "
                             f"(they are {self.plans[0].name}..{self.plans[-1].name})"
                             if self.plans else "no simulated APs") from None

    def reboot(self, name: str) -> dict:
        """Uptime and counters restart from zero; a coldStart trap follows, as after power-up."""
        ap = self.ap(name)
        ap.reboot(self.clock())
        if self._v3 is not None:
            self._v3.reboot(ap)
        self.send_trap(name, "coldStart")
        return self.describe(name)

    def set_link(self, name: str, if_index: int, up: bool) -> dict:
        """``ip link set dev X down|up``: ifOperStatus follows, and a linkDown/linkUp trap."""
        ap = self.ap(name)
        was_up = ap.interface(if_index).oper_up
        ap.set_link(if_index, up, self.clock())
        if was_up != up:
            self.send_trap(name, "linkUp" if up else "linkDown", if_index)
        return self.describe(name)

    def set_reachable(self, name: str, reachable: bool) -> dict:
        """Unreachable: the AP neither answers nor sends traps (its network path is cut)."""
        self.ap(name).reachable = reachable
        return self.describe(name)

    def wrap_soon(self, name: str, headroom: int | None = None) -> dict:
        ap = self.ap(name)
        if headroom is None:
            ap.wrap_soon(self.clock())
        else:
            ap.wrap_soon(self.clock(), headroom)
        return self.describe(name)

    def trap(self, name: str, kind: str) -> bool:
        """Send an on-demand trap (warmStart or authenticationFailure)."""
        if kind not in ON_DEMAND:
            raise ValueError(f"trap must be one of {', '.join(ON_DEMAND)}, not {kind!r}")
        return self.send_trap(name, kind)

    def send_trap(self, name: str, kind: str, if_index: int | None = None) -> bool:
        ap = self.ap(name)
        target = self.settings.trap_target
        endpoint = self._endpoints.get(ap.address)
        if target is None or not ap.reachable or endpoint is None or endpoint.transport is None:
            return False
        varbinds = trap_varbinds(ap, kind, self.clock(), if_index)
        if self.settings.trap_version == "3" and self._v3 is not None:
            message = self._v3.notification(ap, encode_varbinds(varbinds))
        else:
            self._trap_request_id = (self._trap_request_id + 1) & 0x7FFFFFFF
            message = encode_trap(self._trap_community, self._trap_request_id, varbinds)
        endpoint.transport.sendto(message, target)
        self.stats.traps_sent += 1
        return True

    def describe(self, name: str) -> dict:
        """The AP's state as the control endpoint reports it."""
        ap = self.ap(name)
        now = self.clock()
        return {
            **ap.plan.as_dict(), "reachable": ap.reachable,
            "uptime_s": round(now - ap.boot_time, 2), "clients": ap.clients(now),
            "near_wrap": ap.near_wrap_headroom is not None,
            "interfaces": [{"index": s.kind.index, "name": s.kind.name,
                            "admin": "up" if s.admin_up else "down",
                            "oper": "up" if s.oper_up else "down"}
                           for s in ap.interfaces.values()],
        }


def _echo(varbinds: tuple[tuple[tuple[int, ...], bytes], ...]) -> list[bytes]:
    """The request's varbinds with NULL values, for error responses."""
    return [ber.tlv(ber.SEQUENCE, oid_tlv + b"\x05\x00") for _, oid_tlv in varbinds]
