"""The SNMP adapter: the one module of the controller that imports pysnmp.

pysnmp has broken its API before (7.x dropped camelCase), so everything it touches stays here
behind a small interface: credential dataclasses, `SnmpClient.poll` (one GETBULK per AP and
cycle, more only when the interface table did not fit) and `TrapReceiver` (v1/v2c notifications
over asyncio UDP). Results are plain Python values; errors are `SnmpTimeout`, `SnmpAuthError`
or `SnmpError`, so callers never see a pysnmp type.

Paths behind `poll`: SNMPv2c goes through the fast path in ``v2c.py`` (one shared UDP socket,
the hand-written codec in ``core/snmp_ber.py``), because pyasn1 decoding was ~70 % of the
poller's CPU; SNMPv3 goes through the v3 fast path in ``v3.py`` (USM from ``core/snmp_usm.py``)
by default. pysnmp's engine remains for v3 when ``snmp.v3_path = "pysnmp"`` (a fallback for an
agent the fast path does not get along with, and the oracle the tests compare it with): one
`SnmpEngine` per client, target/transport entries configured once per AP, requests straight to
the single-run GETBULK generator (no hlapi MIB resolution). It also still decodes v1/v2c
notifications for `TrapReceiver`. The request layout and the reading of the answer are shared
(``poll.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from typing import Callable, Union

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.error import PyAsn1Error
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    usmAesBlumenthalCfb192Protocol,
    usmAesBlumenthalCfb256Protocol,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import api as snmp_api
from pysnmp.proto import errind
from pysnmp.proto.error import ProtocolError
from pysnmp.proto.rfc1902 import Null, ObjectName

from controller.snmp.poll import (
    CLIENT_COLUMN,
    DEFAULT_MAX_REPETITIONS,
    INTERFACE_COLUMNS,
    MAX_MAX_REPETITIONS,
    MAX_REQUESTS_PER_POLL,
    SYSTEM_OIDS,
    PollPlan,
    PollResult,
    SnmpAgentError,
    SnmpAuthError,
    SnmpError,
    SnmpTimeout,
    SnmpTooBig,
    Varbind,
    python_value,
    run_poll,
    scalar_request_oid,
)
from controller.snmp.notify import (
    SNMP_TRAP_OID_0,
    STANDARD_TRAPS,
    V1_GENERIC,
    V3Notifications,
    V3Outcome,
    name_varbinds,
)
from controller.snmp.v2c import V2cStats, V2cTransport
from controller.snmp.v3 import V3Stats, V3Transport
from core import snmp_ber
from core.logs import Throttle
from core.snmp_usm import DES_WARNING, UsmUser

log = logging.getLogger(__name__)

# The USM protocol names (core.snmp_usm's, which the store's CHECK lists follow) and pysnmp's.
# AES192/AES256 use the Blumenthal key extension, as net-snmp's "AES-192"/"AES-256" do;
# AES192C/AES256C the Reeder one, as Cisco and net-snmp's "AES-192-C"/"AES-256-C" do.
AUTH_PROTOCOLS = {"SHA": usmHMACSHAAuthProtocol, "SHA224": usmHMAC128SHA224AuthProtocol,
                  "SHA256": usmHMAC192SHA256AuthProtocol,
                  "SHA384": usmHMAC256SHA384AuthProtocol,
                  "SHA512": usmHMAC384SHA512AuthProtocol, "MD5": usmHMACMD5AuthProtocol}
PRIV_PROTOCOLS = {"AES": usmAesCfb128Protocol, "AES192": usmAesBlumenthalCfb192Protocol,
                  "AES256": usmAesBlumenthalCfb256Protocol, "AES192C": usmAesCfb192Protocol,
                  "AES256C": usmAesCfb256Protocol, "DES": usmDESPrivProtocol}
#: How SNMPv3 is polled: the fast path (default) or pysnmp's engine.
V3_PATHS = ("fast", "pysnmp")

# USM reports and failures that mean "the AP answered but rejected our credentials".
_AUTH_INDICATIONS = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                     errind.UnknownEngineID, errind.AuthenticationFailure,
                     errind.AuthenticationError, errind.UnknownSecurityName,
                     errind.UnsupportedSecurityLevel, errind.NotInTimeWindow,
                     errind.UnsupportedAuthProtocol, errind.UnsupportedPrivProtocol)


@dataclass(frozen=True)
class V2cCredentials:
    community: str = field(repr=False)


@dataclass(frozen=True)
class V3Credentials:
    """SNMPv3 USM user; no auth key means noAuthNoPriv, no priv key means authNoPriv.

    ``context``: the SNMPv3 context name the AP serves its MIB under ("" for most agents).
    ``engine_id``: the AP's snmpEngineID in hex, when configured: the poller then refuses an
    agent at the AP's address that discovers as another engine, and the trap receiver checks
    the AP's v3 traps against it (without it, the discovered one is used).
    """

    user: str
    auth_key: str | None = field(default=None, repr=False)
    priv_key: str | None = field(default=None, repr=False)
    auth_proto: str = "SHA"
    priv_proto: str = "AES"
    context: str = ""
    engine_id: str | None = None

    def __post_init__(self) -> None:
        if self.auth_proto not in AUTH_PROTOCOLS:
            raise ValueError(f"auth_proto: {self.auth_proto!r} not one of {', '.join(AUTH_PROTOCOLS)}")
        if self.priv_proto not in PRIV_PROTOCOLS:
            raise ValueError(f"priv_proto: {self.priv_proto!r} not one of {', '.join(PRIV_PROTOCOLS)}")
        if self.priv_key and not self.auth_key:
            raise ValueError("priv_key without auth_key: USM has no noAuthPriv level")
        if self.engine_id is not None:
            try:
                length = len(bytes.fromhex(self.engine_id))
            except ValueError:
                raise ValueError(f"engine_id: {self.engine_id!r} is not hex") from None
            if not 5 <= length <= 32:
                raise ValueError("engine_id: an snmpEngineID has 5 to 32 octets")

    @property
    def engine_id_octets(self) -> bytes | None:
        return bytes.fromhex(self.engine_id) if self.engine_id is not None else None


Credentials = Union[V2cCredentials, V3Credentials]


@dataclass(frozen=True)
class PollTarget:
    """One AP to poll: where it is, how to authenticate, which platform (for the client count)."""

    ap_id: int
    name: str
    address: str
    port: int
    platform: str
    credentials: Credentials


def _pysnmp_varbind(oid, value) -> Varbind:
    """A pysnmp varbind as the plain (oid, BER tag, value) both paths share."""
    tag = value.tagSet[0]
    ber_tag = tag.tagClass | tag.tagFormat | tag.tagId
    plain: object
    if ber_tag in snmp_ber.EXCEPTIONS or ber_tag == snmp_ber.NULL:
        plain = None
    elif ber_tag in (snmp_ber.OCTET_STRING, snmp_ber.IP_ADDRESS):
        plain = bytes(value)
    elif ber_tag == snmp_ber.OBJECT_IDENTIFIER:
        plain = tuple(value)
    else:
        plain = int(value)
    return tuple(oid), ber_tag, plain


@dataclass
class _ApSession:
    """Per-AP route and request layout, built once and reused every cycle.

    v2c: the resolved address and the GETBULK encoded for the current max-repetitions.
    v3 fast path: the address, the `UsmUser` and context, and the GETBULK PDU likewise.
    v3 through pysnmp: the engine's target name (``addr_name``).
    """

    key: tuple
    plan: PollPlan
    addr_name: str | None = None
    address: tuple[str, int] | None = None
    family: int = socket.AF_INET
    community: bytes = b""
    template: snmp_ber.GetBulkTemplate | None = None
    #: (max-repetitions, OIDs) the template encodes; the plan's columns adapt to the agent.
    template_key: tuple = ()
    usm_user: UsmUser | None = None
    context: bytes = b""
    engine_id: bytes | None = None


class SnmpClient:
    """Polls APs: v2c and v3 each through one shared socket (or v3 through one pysnmp
    SnmpEngine, ``v3_path="pysnmp"``); `close()` when done."""

    def __init__(self, *, timeout: float = 2.0, retries: int = 1,
                 initial_max_repetitions: int = DEFAULT_MAX_REPETITIONS,
                 v3_path: str = "fast"):
        if v3_path not in V3_PATHS:
            raise ValueError(f"v3_path: {v3_path!r} not one of {', '.join(V3_PATHS)}")
        self.timeout = timeout
        self.retries = retries
        self.initial_max_repetitions = initial_max_repetitions
        self.v3_path = v3_path
        self._v2c = V2cTransport(timeout=timeout, retries=retries)
        self._v3 = V3Transport(timeout=timeout, retries=retries)
        self._engine: SnmpEngine | None = None
        self._lcd = CommandGeneratorLcdConfigurator()
        self._generator = cmdgen.BulkCommandGeneratorSingleRun()
        self._sessions: dict[int, _ApSession] = {}

    @property
    def v2c_stats(self) -> V2cStats:
        """Counters of the v2c socket (sent, retried, dropped datagrams by reason)."""
        return self._v2c.stats

    @property
    def v3_stats(self) -> V3Stats:
        """Counters of the v3 fast path (discoveries, resyncs, reports, dropped datagrams)."""
        return self._v3.stats

    def engine_id(self, address: str, port: int) -> bytes | None:
        """The snmpEngineID the v3 fast path discovered at ``address``:``port``, if any."""
        return self._v3.engine_id((address, port))

    def usm_user(self, credentials: V3Credentials) -> UsmUser:
        """The USM user of these credentials (its keys derived once per process), for the
        trap receiver. ValueError for credentials USM cannot use."""
        return self._v3.user(credentials.user, credentials.auth_proto,
                             credentials.auth_key or None, credentials.priv_proto,
                             credentials.priv_key or None)

    def close(self) -> None:
        self._v2c.close()
        self._v3.close()
        if self._engine is not None:
            self._engine.close_dispatcher()

    def forget(self, ap_id: int) -> None:
        """Drop what was learned about an AP (it left the inventory)."""
        session = self._sessions.pop(ap_id, None)
        if session is not None and session.usm_user is not None and session.address is not None:
            self._v3.forget(session.address)

    def max_repetitions(self, ap_id: int) -> int | None:
        session = self._sessions.get(ap_id)
        return session.plan.max_repetitions if session else None

    async def prepare(self, targets) -> None:
        """Set up every target before any request is sent.

        v2c: resolves each address once. v3: pysnmp rebuilds its target maps whenever a target is
        added, on the next incoming message; adding all targets first makes that one rebuild
        instead of one per AP answer during the first cycle (quadratic: 80 s instead of 9 s for
        2,000 APs before v2c left the engine).
        """
        for target in targets:
            try:
                await self._session(target)
            except (SnmpError, ValueError) as exc:   # the poll itself will report it per AP
                log.debug("cannot prepare %s: %s", target.name, exc)

    async def poll(self, target: PollTarget) -> PollResult:
        """Read system group, client count and interface counters of one AP."""
        session = await self._session(target)
        if session.usm_user is not None:
            return await run_poll(session.plan, lambda nr, rep, mr: self._v3_fast_getbulk(
                session, nr, rep, mr))
        if session.address is not None:
            return await run_poll(session.plan, lambda nr, rep, mr: self._v2c_getbulk(
                session, nr, rep, mr))
        return await run_poll(session.plan, lambda nr, rep, mr: self._v3_getbulk(
            session, nr, rep, mr))

    async def _v2c_getbulk(self, session: _ApSession, non_repeaters, repeaters,
                           max_repetitions: int) -> list[Varbind]:
        oids = [*non_repeaters, *repeaters]
        first = len(non_repeaters) == len(session.plan.non_repeaters) and \
            len(repeaters) == len(session.plan.columns)
        if first:   # the every-cycle request: reuse its encoding while it asks the same
            key = (max_repetitions, tuple(oids))
            if session.template is None or session.template_key != key:
                session.template = snmp_ber.encode_getbulk(
                    session.community, len(non_repeaters), max_repetitions, oids)
                session.template_key = key
            template = session.template
        else:
            template = snmp_ber.encode_getbulk(session.community, len(non_repeaters),
                                               max_repetitions, oids)
        assert session.address is not None  # every v2c session is built with its address
        return await self._v2c.getbulk(session.address, session.family, session.community,
                                       template)

    async def _v3_fast_getbulk(self, session: _ApSession, non_repeaters, repeaters,
                               max_repetitions: int) -> list[Varbind]:
        oids = [*non_repeaters, *repeaters]
        first = len(non_repeaters) == len(session.plan.non_repeaters) and \
            len(repeaters) == len(session.plan.columns)
        if first:   # the every-cycle request: reuse its encoding while it asks the same
            key = (max_repetitions, tuple(oids))
            if session.template is None or session.template_key != key:
                session.template = snmp_ber.encode_getbulk_pdu(
                    len(non_repeaters), max_repetitions, oids)
                session.template_key = key
            template = session.template
        else:
            template = snmp_ber.encode_getbulk_pdu(len(non_repeaters), max_repetitions, oids)
        assert session.address is not None and session.usm_user is not None
        return await self._v3.getbulk(session.address, session.family, session.usm_user,
                                      session.context, template, session.engine_id)

    async def _v3_getbulk(self, session: _ApSession, non_repeaters, repeaters,
                          max_repetitions: int) -> list[Varbind]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def on_response(engine, handle, error_indication, error_status, error_index, varbinds, ctx):
            if future.cancelled():
                return
            if error_indication:
                future.set_exception(_classify(error_indication))
            elif int(error_status) == snmp_ber.TOO_BIG:
                future.set_exception(SnmpTooBig("agent tooBig"))
            elif error_status:
                future.set_exception(SnmpAgentError(error_status.prettyPrint(),
                                                    int(error_index)))
            else:
                future.set_result([_pysnmp_varbind(oid, value) for oid, value in varbinds])

        request = [(ObjectName(oid), _NULL) for oid in (*non_repeaters, *repeaters)]
        try:
            self._generator.send_varbinds(self._engine, session.addr_name, None, session.context,
                                          len(non_repeaters), max_repetitions, request, on_response)
        except PySnmpError as exc:
            raise SnmpError(str(exc)) from exc
        return await future

    async def _session(self, target: PollTarget) -> _ApSession:
        key = (target.address, target.port, target.platform, target.credentials,
               self.timeout, self.retries)
        session = self._sessions.get(target.ap_id)
        if session is not None and session.key == key:
            return session
        plan = PollPlan.for_platform(target.platform, session.plan.max_repetitions
                                     if session else self.initial_max_repetitions)
        credentials = target.credentials
        if isinstance(credentials, V2cCredentials):
            family, address = await _resolve(target.address, target.port)
            session = _ApSession(key, plan, address=address, family=family,
                                 community=credentials.community.encode())
        elif self.v3_path == "fast":
            family, address = await _resolve(target.address, target.port)
            try:
                user = self.usm_user(credentials)
            except ValueError as exc:
                raise SnmpError(f"SNMPv3 credentials: {exc}") from exc
            session = _ApSession(key, plan, address=address, family=family, usm_user=user,
                                 context=credentials.context.encode(),
                                 engine_id=credentials.engine_id_octets)
        else:
            session = _ApSession(key, plan, addr_name=await self._v3_target(target, credentials),
                                 context=credentials.context.encode())
        if isinstance(credentials, V3Credentials) and credentials.priv_key \
                and credentials.priv_proto == "DES":
            log.warning("AP %s: %s", target.name, DES_WARNING)
        self._sessions[target.ap_id] = session
        return session

    async def _v3_target(self, target: PollTarget, credentials: V3Credentials) -> str:
        """Configure the engine's target and USM user for a v3 AP; returns the target name."""
        if self._engine is None:
            self._engine = SnmpEngine()
        try:
            transport = await UdpTransportTarget.create(
                (target.address, target.port), timeout=self.timeout, retries=self.retries)
        except PySnmpError as exc:
            raise SnmpError(str(exc)) from exc
        addr_name, _ = self._lcd.configure(self._engine, _auth_data(credentials), transport)
        return addr_name


_NULL = Null("")


async def _resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """(address family, (ip, port)) as the socket will report the responder's source."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise SnmpError(f"cannot resolve {host}: {exc}") from exc
        family, _, _, _, sockaddr = infos[0]
        return family, (ipaddress.ip_address(sockaddr[0]).compressed, port)
    return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), (ip.compressed, port)


def _auth_data(credentials: V3Credentials) -> UsmUserData:
    return UsmUserData(
        credentials.user, credentials.auth_key or None, credentials.priv_key or None,
        authProtocol=AUTH_PROTOCOLS[credentials.auth_proto] if credentials.auth_key else None,
        privProtocol=PRIV_PROTOCOLS[credentials.priv_proto] if credentials.priv_key else None)


def _classify(indication) -> SnmpError:
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpTimeout(str(indication))
    if isinstance(indication, _AUTH_INDICATIONS):
        return SnmpAuthError(str(indication))
    return SnmpError(str(indication))


# --- notifications -----------------------------------------------------------------------------

TrapCallback = Callable[[str, str, dict], None]


def _trap_varbinds(varbinds) -> dict[str, int | str | None]:
    """pysnmp's varbinds named as every notification's are (``notify.name_varbinds``)."""
    plain: list[tuple[str, int | str | None]] = []
    for oid, value in varbinds:
        try:
            plain.append((str(oid), python_value(*_pysnmp_varbind(oid, value)[1:])))
        except (TypeError, ValueError):
            plain.append((str(oid), value.prettyPrint()))
    return name_varbinds(plain)


def decode_notification(datagram: bytes) -> tuple[str, str, str, dict, bytes | None]:
    """(community, trap name or dotted OID, pdu kind, varbinds, response to send or None).

    Raises ValueError on anything that is not a well-formed v1/v2c trap or inform.
    """
    try:
        version = int(snmp_api.decodeMessageVersion(datagram))
        proto = snmp_api.PROTOCOL_MODULES[version]
        message, _ = ber_decoder.decode(datagram, asn1Spec=proto.Message())
        community = bytes(proto.apiMessage.get_community(message)).decode("utf-8", "replace")
        pdu = proto.apiMessage.get_pdu(message)
        if version == snmp_api.SNMP_VERSION_1:
            if not pdu.isSameTypeWith(proto.TrapPDU()):
                raise ValueError("SNMPv1 PDU is not a trap")
            generic = int(proto.apiTrapPDU.get_generic_trap(pdu))
            enterprise = str(proto.apiTrapPDU.get_enterprise(pdu))
            name = V1_GENERIC.get(generic) or (
                f"{enterprise}.0.{int(proto.apiTrapPDU.get_specific_trap(pdu))}")
            return community, name, "trap", _trap_varbinds(proto.apiTrapPDU.get_varbinds(pdu)), None
        is_inform = pdu.isSameTypeWith(proto.InformRequestPDU())
        if not (is_inform or pdu.isSameTypeWith(proto.SNMPv2TrapPDU())):
            raise ValueError(f"not a notification PDU: {pdu.__class__.__name__}")
        varbinds = proto.apiPDU.get_varbinds(pdu)
        trap_oid = next((str(v) for o, v in varbinds if str(o) == SNMP_TRAP_OID_0), None)
        if trap_oid is None:
            raise ValueError("notification without snmpTrapOID.0")
        response = None
        if is_inform:
            reply = proto.apiMessage.get_response(message)
            response = ber_encoder.encode(reply)
        return (community, STANDARD_TRAPS.get(trap_oid, trap_oid),
                "inform" if is_inform else "trap", _trap_varbinds(varbinds), response)
    except (PyAsn1Error, ProtocolError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"undecodable SNMP message: {exc}") from exc


class TrapReceiver(asyncio.DatagramProtocol):
    """Receives v1/v2c traps and informs, and v3 ones when given ``v3`` (``notify.py``: USM
    against each AP's user), on UDP and hands them to ``on_trap(source_ip, name, varbinds)``.
    Garbage, wrong communities and refused v3 notifications are counted (and told to
    ``on_drop(reason)``, ``malformed``, ``bad_community`` or ``v3_refused``, for the metrics)
    and logged at most once per reason every ``log_every_s`` seconds, never fatal."""

    def __init__(self, on_trap: TrapCallback, *, host: str = "127.0.0.1", port: int = 1162,
                 community: str = "public", on_drop: Callable[[str], None] | None = None,
                 log_every_s: float = 60.0, v3: V3Notifications | None = None):
        self.on_trap = on_trap
        self.host = host
        self.port = port
        self.community = community
        self.on_drop = on_drop
        self.v3 = v3
        self.received = 0
        self.malformed = 0
        self.bad_community = 0
        #: v3 notifications refused, by reason (usmStats names, or what else was wrong).
        self.v3_refused: dict[str, int] = {}
        self._throttle = Throttle(log_every_s)
        self._transport: asyncio.DatagramTransport | None = None

    def _dropped(self, reason: str, message: str, *args: object) -> None:
        if self.on_drop is not None:
            try:
                self.on_drop(reason)
            except Exception:  # a faulty counter must not stop the receiver
                log.exception("trap drop counter failed")
        held = self._throttle.allow(reason)
        if held is not None:
            log.warning(message + (f" ({held} more dropped as {reason} since the last line)"
                                   if held else ""), *args)

    async def start(self) -> "TrapReceiver":
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.port))
        self.port = self._transport.get_extra_info("sockname")[1]
        log.info("trap receiver listening on %s:%d", self.host, self.port)
        return self

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def datagram_received(self, data: bytes, addr) -> None:
        source_ip = addr[0]
        if self.v3 is not None and _is_v3(data):
            self._v3_received(data, addr)
            return
        try:
            community, name, _, varbinds, response = decode_notification(data)
        except Exception as exc:  # noqa: BLE001 - whatever the decoder raises, it is garbage
            # An exception out of datagram_received would close the transport for good.
            self.malformed += 1
            self._dropped("malformed", "dropped malformed datagram from %s (%d bytes): %s",
                          source_ip, len(data), exc)
            return
        if community != self.community:
            self.bad_community += 1
            self._dropped("bad_community", "dropped %s from %s: wrong community", name,
                          source_ip)
            return
        self._deliver(source_ip, name, varbinds, response, addr)

    def _deliver(self, source_ip: str, name: str, varbinds: dict, response: bytes | None,
                 addr) -> None:
        self.received += 1
        if response is not None and self._transport is not None:
            self._transport.sendto(response, addr)
        try:
            self.on_trap(source_ip, name, varbinds)
        except Exception:  # a faulty handler must not stop the receiver
            log.exception("trap handler failed for %s from %s", name, source_ip)

    def _v3_received(self, data: bytes, addr) -> None:
        assert self.v3 is not None
        source_ip = addr[0]
        try:
            outcome = self.v3.receive(data, source_ip)
        except Exception as exc:  # noqa: BLE001 - never out of datagram_received (see above)
            log.exception("SNMPv3 notification from %s failed", source_ip)
            outcome = V3Outcome(refused=f"malformed: {exc}")
        if outcome.refused is not None:
            reason = outcome.refused.partition(":")[0]
            self.v3_refused[reason] = self.v3_refused.get(reason, 0) + 1
            self._dropped("v3_refused", "dropped SNMPv3 notification from %s: %s", source_ip,
                          outcome.refused)
            if outcome.reply is not None and self._transport is not None:
                self._transport.sendto(outcome.reply, addr)   # the report a manager expects
            return
        if outcome.notification is None:    # a discovery probe before an inform: answered
            if outcome.reply is not None and self._transport is not None:
                self._transport.sendto(outcome.reply, addr)
            return
        found = outcome.notification
        self._deliver(source_ip, found.name, found.varbinds, outcome.reply, addr)


def _is_v3(data: bytes) -> bool:
    try:
        return snmp_ber.message_version(data) == snmp_ber.SNMP_V3
    except snmp_ber.BerError:
        return False


__all__ = ["AUTH_PROTOCOLS", "CLIENT_COLUMN", "INTERFACE_COLUMNS", "MAX_MAX_REPETITIONS",
           "MAX_REQUESTS_PER_POLL", "PRIV_PROTOCOLS", "SYSTEM_OIDS", "V3_PATHS", "Credentials",
           "PollResult", "PollTarget", "SnmpAgentError", "SnmpAuthError", "SnmpClient",
           "SnmpError", "SnmpTimeout", "SnmpTooBig", "TrapReceiver", "V2cCredentials", "V2cStats", "V3Credentials",
           "V3Stats", "decode_notification", "scalar_request_oid"]
