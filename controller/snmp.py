"""The SNMP adapter: the one module of the controller that imports pysnmp.

pysnmp has broken its API before (7.x dropped camelCase), so everything it touches stays here
behind a small interface: credential dataclasses, `SnmpClient.poll` (one GETBULK per AP and
cycle, more only when the interface table did not fit) and `TrapReceiver` (v1/v2c notifications
over asyncio UDP). Results are plain Python values; errors are `SnmpTimeout`, `SnmpAuthError`
or `SnmpError`, so callers never see a pysnmp type.

Speed notes (the poller reads thousands of APs per cycle on a small box): one `SnmpEngine` per
client; the engine's target/transport entries are configured once per AP and reused; requests
go straight to the single-run GETBULK generator (no hlapi MIB resolution, no MIB lookups on the
way back); request varbinds are built once per AP.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable, Union

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.error import PyAsn1Error
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData, SnmpEngine, UdpTransportTarget, UsmUserData, usmAesBlumenthalCfb192Protocol,
    usmAesBlumenthalCfb256Protocol, usmAesCfb128Protocol, usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol, usmHMAC384SHA512AuthProtocol, usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import api as snmp_api
from pysnmp.proto import errind
from pysnmp.proto.error import ProtocolError
from pysnmp.proto.rfc1902 import Null, ObjectName
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from netconfig.platforms import ClientCountSource, get_platform

log = logging.getLogger(__name__)

# The USM protocol names the store accepts (aps.snmp_auth_proto / snmp_priv_proto CHECK lists).
# AES192/AES256 use the Blumenthal key extension, as net-snmp's "AES-192"/"AES-256" do.
AUTH_PROTOCOLS = {"SHA": usmHMACSHAAuthProtocol, "SHA256": usmHMAC192SHA256AuthProtocol,
                  "SHA512": usmHMAC384SHA512AuthProtocol, "MD5": usmHMACMD5AuthProtocol}
PRIV_PROTOCOLS = {"AES": usmAesCfb128Protocol, "AES192": usmAesBlumenthalCfb192Protocol,
                  "AES256": usmAesBlumenthalCfb256Protocol, "DES": usmDESPrivProtocol}

SYSTEM_OIDS = {"sys_descr": "1.3.6.1.2.1.1.1", "uptime": "1.3.6.1.2.1.1.3",
               "sys_name": "1.3.6.1.2.1.1.5"}
#: Interface columns read per AP: IF-MIB ifTable and ifXTable (HC counters).
INTERFACE_COLUMNS = {
    "if_type": "1.3.6.1.2.1.2.2.1.3",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
    "in_octets": "1.3.6.1.2.1.31.1.1.1.6",
    "in_packets": "1.3.6.1.2.1.31.1.1.1.7",
    "out_octets": "1.3.6.1.2.1.31.1.1.1.10",
    "out_packets": "1.3.6.1.2.1.31.1.1.1.11",
}
CLIENT_COLUMN = "clients"
DEFAULT_MAX_REPETITIONS = 8
MAX_MAX_REPETITIONS = 48          # keeps a response under a typical 1,500-byte-ish MTU budget
MAX_REQUESTS_PER_POLL = 16        # guards against agents that never end a table

# USM reports and failures that mean "the AP answered but rejected our credentials".
_AUTH_INDICATIONS = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                     errind.UnknownEngineID, errind.AuthenticationFailure,
                     errind.AuthenticationError, errind.UnknownSecurityName,
                     errind.UnsupportedSecurityLevel, errind.NotInTimeWindow,
                     errind.UnsupportedAuthProtocol, errind.UnsupportedPrivProtocol)
_END_OF_COLUMN = (EndOfMibView, NoSuchObject, NoSuchInstance)


class SnmpError(Exception):
    """An SNMP exchange failed for a reason other than timeout or credentials."""


class SnmpTimeout(SnmpError):
    """No answer within timeout x (retries + 1). SNMPv2c has no auth signal: a wrong community
    looks like this too."""


class SnmpAuthError(SnmpError):
    """The agent answered with a USM error: unknown user, wrong digest, undecryptable, ..."""


@dataclass(frozen=True)
class V2cCredentials:
    community: str = field(repr=False)


@dataclass(frozen=True)
class V3Credentials:
    """SNMPv3 USM user; no auth key means noAuthNoPriv, no priv key means authNoPriv."""

    user: str
    auth_key: str | None = field(default=None, repr=False)
    priv_key: str | None = field(default=None, repr=False)
    auth_proto: str = "SHA"
    priv_proto: str = "AES"

    def __post_init__(self) -> None:
        if self.auth_proto not in AUTH_PROTOCOLS:
            raise ValueError(f"auth_proto: {self.auth_proto!r} not one of {', '.join(AUTH_PROTOCOLS)}")
        if self.priv_proto not in PRIV_PROTOCOLS:
            raise ValueError(f"priv_proto: {self.priv_proto!r} not one of {', '.join(PRIV_PROTOCOLS)}")
        if self.priv_key and not self.auth_key:
            raise ValueError("priv_key without auth_key: USM has no noAuthPriv level")


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


@dataclass
class PollResult:
    """What one poll read, as plain values. Missing objects are None / absent keys."""

    sys_descr: str | None = None
    uptime_ticks: int | None = None              # sysUpTime, hundredths of a second
    sys_name: str | None = None
    client_scalar: int | str | None = None       # the platform's scalar, raw (int or text)
    client_column: dict[int, int] = field(default_factory=dict)   # row index -> value
    interfaces: dict[int, dict[str, int]] = field(default_factory=dict)  # ifIndex -> column -> value
    requests: int = 0


def scalar_request_oid(oid: tuple[int, ...]) -> tuple[int, ...]:
    """The OID whose GETNEXT answers ``oid`` itself or its first instance.

    Platform objects are given either as an object (``...X.5``: the value is ``...X.5.0``) or as
    a full instance (NET-SNMP-EXTEND ``nsExtendOutput1Line."clients"``). GETNEXT of the object
    works for the first but skips the second, so ask for the next of a point just before
    ``oid``: its last arc minus one followed by the largest arc, which nothing real lies beyond.
    """
    if oid[-1] == 0:
        return oid[:-1]
    return oid[:-1] + (oid[-1] - 1, 4294967295)


def _to_python(value) -> int | str | None:
    """pyasn1 value -> int or str; None for the exception values (noSuch*, endOfMibView)."""
    if isinstance(value, _END_OF_COLUMN) or isinstance(value, Null):
        return None
    if value.tagSet[0][2] == 4:          # OCTET STRING (DisplayString, sysDescr, extend output)
        return bytes(value).decode("utf-8", "replace")
    return int(value)


def _oid(text: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in text.split("."))


@dataclass
class _ApSession:
    """Per-AP engine configuration and request layout, built once and reused every cycle."""

    key: tuple
    addr_name: str
    client_source: ClientCountSource | None
    non_repeaters: tuple[tuple[str, tuple[int, ...]], ...]     # (field, requested oid)
    scalar_oid: tuple[int, ...] | None
    columns: tuple[tuple[str, tuple[int, ...]], ...]           # (column, column oid)
    max_repetitions: int = DEFAULT_MAX_REPETITIONS


class SnmpClient:
    """Polls APs through one SnmpEngine; call `close()` when done."""

    def __init__(self, *, timeout: float = 2.0, retries: int = 1,
                 initial_max_repetitions: int = DEFAULT_MAX_REPETITIONS):
        self.timeout = timeout
        self.retries = retries
        self.initial_max_repetitions = initial_max_repetitions
        self._engine = SnmpEngine()
        self._lcd = CommandGeneratorLcdConfigurator()
        self._generator = cmdgen.BulkCommandGeneratorSingleRun()
        self._sessions: dict[int, _ApSession] = {}

    def close(self) -> None:
        self._engine.close_dispatcher()

    def forget(self, ap_id: int) -> None:
        """Drop what was learned about an AP (it left the inventory)."""
        self._sessions.pop(ap_id, None)

    def max_repetitions(self, ap_id: int) -> int | None:
        session = self._sessions.get(ap_id)
        return session.max_repetitions if session else None

    async def prepare(self, targets) -> None:
        """Configure the engine for every target before any request is sent.

        pysnmp rebuilds its community-to-target map whenever a target is added, on the next
        incoming v2c message; adding them all first makes that one rebuild instead of one per
        AP answer during the first cycle (quadratic: 80 s instead of 9 s for 2,000 APs).
        """
        for target in targets:
            try:
                await self._session(target)
            except (SnmpError, ValueError) as exc:   # the poll itself will report it per AP
                log.debug("cannot prepare %s: %s", target.name, exc)

    async def poll(self, target: PollTarget) -> PollResult:
        """Read system group, client count and interface counters of one AP."""
        session = await self._session(target)
        result = PollResult()
        columns = session.columns
        starts = [oid for _, oid in columns]
        non_repeaters = [oid for _, oid in session.non_repeaters]
        rows_seen = 0
        while True:
            result.requests += 1
            varbinds = await self._getbulk(session, non_repeaters, starts, session.max_repetitions)
            head, rows = varbinds[:len(non_repeaters)], varbinds[len(non_repeaters):]
            if non_repeaters:
                self._read_non_repeaters(session, head, result)
                non_repeaters = []
            pending, starts, rows_seen = self._read_columns(columns, starts, rows, result, rows_seen)
            if not pending or result.requests >= MAX_REQUESTS_PER_POLL:
                break
            columns = pending
        # One spare row makes the end of the table visible inside the same response.
        session.max_repetitions = max(1, min(MAX_MAX_REPETITIONS, rows_seen + 1))
        return result

    def _read_non_repeaters(self, session: _ApSession, head, result: PollResult) -> None:
        for (name, _), (oid, value) in zip(session.non_repeaters, head):
            if name == CLIENT_COLUMN:
                wanted = session.scalar_oid
                if wanted and tuple(oid)[:len(wanted)] == wanted:
                    result.client_scalar = _to_python(value)
                continue
            prefix = _SYSTEM_PREFIXES[name]
            if tuple(oid)[:len(prefix)] != prefix:
                continue
            setattr(result, name if name != "uptime" else "uptime_ticks", _to_python(value))

    @staticmethod
    def _read_columns(columns, starts, rows, result: PollResult, rows_seen: int):
        """Sort GETBULK rows into columns; returns the columns that did not end, where to
        continue each one, and the most rows any column has had."""
        width = len(columns)
        ended = [False] * width
        last = list(starts)
        counts = [0] * width
        for position, (oid, value) in enumerate(rows):
            column = position % width
            if ended[column]:
                continue
            name, prefix = columns[column]
            oid = tuple(oid)
            if isinstance(value, _END_OF_COLUMN) or oid[:len(prefix)] != prefix or oid <= last[column]:
                ended[column] = True
                continue
            last[column] = oid
            counts[column] += 1
            index = oid[len(prefix)]
            if name == CLIENT_COLUMN:
                result.client_column[index] = int(value)
            else:
                result.interfaces.setdefault(index, {})[name] = _to_python(value)
        rows_seen = max(rows_seen, max((len(result.interfaces), len(result.client_column))))
        pending = [columns[i] for i in range(width) if not ended[i]]
        next_starts = [last[i] for i in range(width) if not ended[i]]
        return pending, next_starts, rows_seen

    async def _getbulk(self, session: _ApSession, non_repeaters, repeaters, max_repetitions):
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def on_response(engine, handle, error_indication, error_status, error_index, varbinds, ctx):
            if future.cancelled():
                return
            if error_indication:
                future.set_exception(_classify(error_indication))
            elif error_status:
                future.set_exception(SnmpError(f"agent error-status {error_status.prettyPrint()}"
                                               f" at varbind {int(error_index)}"))
            else:
                future.set_result(varbinds)

        request = [(ObjectName(oid), _NULL) for oid in (*non_repeaters, *repeaters)]
        try:
            self._generator.send_varbinds(self._engine, session.addr_name, None, b"",
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
        try:
            transport = await UdpTransportTarget.create(
                (target.address, target.port), timeout=self.timeout, retries=self.retries)
        except PySnmpError as exc:
            raise SnmpError(str(exc)) from exc
        addr_name, _ = self._lcd.configure(self._engine, _auth_data(target.credentials), transport)
        source = get_platform(target.platform).client_count
        non_repeaters = [(name, _oid(oid)) for name, oid in SYSTEM_OIDS.items()]
        columns = [(name, _oid(oid)) for name, oid in INTERFACE_COLUMNS.items()]
        scalar_oid = None
        if source is not None and source.kind == "scalar":
            scalar_oid = _oid(source.oid)
            non_repeaters.append((CLIENT_COLUMN, scalar_request_oid(scalar_oid)))
        elif source is not None:
            columns.append((CLIENT_COLUMN, _oid(source.oid)))
        session = _ApSession(key, addr_name, source, tuple(non_repeaters), scalar_oid,
                             tuple(columns),
                             session.max_repetitions if session else self.initial_max_repetitions)
        self._sessions[target.ap_id] = session
        return session


_NULL = Null("")
_SYSTEM_PREFIXES = {name: _oid(oid) for name, oid in SYSTEM_OIDS.items()}


def _auth_data(credentials: Credentials):
    if isinstance(credentials, V2cCredentials):
        # One engine entry per distinct community; the index names it inside the engine.
        return CommunityData(credentials.community, mpModel=1)
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

#: SNMPv2-MIB snmpTraps and the v1 generic-trap numbers that map onto them (RFC 3584).
STANDARD_TRAPS = {"1.3.6.1.6.3.1.1.5.1": "coldStart", "1.3.6.1.6.3.1.1.5.2": "warmStart",
                  "1.3.6.1.6.3.1.1.5.3": "linkDown", "1.3.6.1.6.3.1.1.5.4": "linkUp",
                  "1.3.6.1.6.3.1.1.5.5": "authenticationFailure"}
_V1_GENERIC = {0: "coldStart", 1: "warmStart", 2: "linkDown", 3: "linkUp",
               4: "authenticationFailure"}
#: Varbind columns named in trap details; the instance (ifIndex) is dropped from the name.
_VARBIND_NAMES = {"1.3.6.1.2.1.2.2.1.1": "ifIndex", "1.3.6.1.2.1.2.2.1.2": "ifDescr",
                  "1.3.6.1.2.1.2.2.1.7": "ifAdminStatus", "1.3.6.1.2.1.2.2.1.8": "ifOperStatus",
                  "1.3.6.1.2.1.31.1.1.1.1": "ifName"}
_SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
_SNMP_TRAP_OID_0 = "1.3.6.1.6.3.1.1.4.1.0"

TrapCallback = Callable[[str, str, dict], None]


def _trap_varbinds(varbinds) -> dict[str, int | str | None]:
    named: dict[str, int | str | None] = {}
    for oid, value in varbinds:
        dotted = str(oid)
        if dotted in (_SYS_UPTIME_0, _SNMP_TRAP_OID_0):
            continue
        column, _, _ = dotted.rpartition(".")
        key = _VARBIND_NAMES.get(column, dotted)
        try:
            named[key] = str(value) if isinstance(value, ObjectName) else _to_python(value)
        except (TypeError, ValueError):
            named[key] = value.prettyPrint()
        if key in ("ifAdminStatus", "ifOperStatus", "ifDescr", "ifName") and "ifIndex" not in named:
            named["ifIndex"] = int(dotted.rsplit(".", 1)[1])
    return named


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
            name = _V1_GENERIC.get(generic) or (
                f"{enterprise}.0.{int(proto.apiTrapPDU.get_specific_trap(pdu))}")
            return community, name, "trap", _trap_varbinds(proto.apiTrapPDU.get_varbinds(pdu)), None
        is_inform = pdu.isSameTypeWith(proto.InformRequestPDU())
        if not (is_inform or pdu.isSameTypeWith(proto.SNMPv2TrapPDU())):
            raise ValueError(f"not a notification PDU: {pdu.__class__.__name__}")
        varbinds = proto.apiPDU.get_varbinds(pdu)
        trap_oid = next((str(v) for o, v in varbinds if str(o) == _SNMP_TRAP_OID_0), None)
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
    """Receives v1/v2c traps and informs on UDP and hands them to ``on_trap(source_ip, name,
    varbinds)``. Garbage and wrong communities are counted and logged, never fatal."""

    def __init__(self, on_trap: TrapCallback, *, host: str = "127.0.0.1", port: int = 1162,
                 community: str = "public"):
        self.on_trap = on_trap
        self.host = host
        self.port = port
        self.community = community
        self.received = 0
        self.malformed = 0
        self.bad_community = 0
        self._transport: asyncio.DatagramTransport | None = None

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
        try:
            community, name, _, varbinds, response = decode_notification(data)
        except ValueError as exc:
            self.malformed += 1
            log.warning("dropped malformed datagram from %s (%d bytes): %s", source_ip, len(data), exc)
            return
        if community != self.community:
            self.bad_community += 1
            log.warning("dropped %s from %s: wrong community", name, source_ip)
            return
        self.received += 1
        if response is not None and self._transport is not None:
            self._transport.sendto(response, addr)
        try:
            self.on_trap(source_ip, name, varbinds)
        except Exception:  # a faulty handler must not stop the receiver
            log.exception("trap handler failed for %s from %s", name, source_ip)


__all__ = ["AUTH_PROTOCOLS", "PRIV_PROTOCOLS", "Credentials", "PollResult", "PollTarget",
           "SnmpAuthError", "SnmpClient", "SnmpError", "SnmpTimeout", "TrapReceiver",
           "V2cCredentials", "V3Credentials", "decode_notification", "scalar_request_oid"]
