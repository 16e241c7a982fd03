"""SNMPv3 traps and informs for the trap receiver, and the names every notification gets.

Today's receiver (``engine.TrapReceiver``) decoded v1/v2c only and logged a v3 trap as
"malformed: 3". v3 notifications need USM, which lives in ``core``; this module holds it:

- **Traps**: the sending AP is the authoritative engine. A trap is accepted only from a known
  AP (by source address), for that AP's v3 user, at that user's security level (no downgrade
  to an unsigned trap), signed with the user's key localised to the AP's engine ID, within the
  time window of that engine (so a captured trap cannot be replayed later), and decrypted. The
  engine ID is the one configured for the AP, or else the one the poller discovered at its
  address, or else the first one the AP signs a trap with.
- **Informs**: the receiver is the authoritative engine (``snmp.engine_id``); the AP discovers
  it, then sends the inform, which is checked by core's `Authority` against that AP's user and
  answered with a Response (a report for what fails, as agents do).

The user table is the inventory's: each AP's v3 credentials (``lookup(source_ip)``), so APs
may share a user name with different keys.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.snmp.poll import python_value
from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import BOOTS_MAX, RemoteEngine, UsmError, UsmUser

#: SNMPv2-MIB snmpTraps and the v1 generic-trap numbers that map onto them (RFC 3584).
STANDARD_TRAPS = {"1.3.6.1.6.3.1.1.5.1": "coldStart", "1.3.6.1.6.3.1.1.5.2": "warmStart",
                  "1.3.6.1.6.3.1.1.5.3": "linkDown", "1.3.6.1.6.3.1.1.5.4": "linkUp",
                  "1.3.6.1.6.3.1.1.5.5": "authenticationFailure"}
V1_GENERIC = {0: "coldStart", 1: "warmStart", 2: "linkDown", 3: "linkUp",
              4: "authenticationFailure"}
#: Varbind columns named in trap details; the instance (ifIndex) is dropped from the name.
VARBIND_NAMES = {"1.3.6.1.2.1.2.2.1.1": "ifIndex", "1.3.6.1.2.1.2.2.1.2": "ifDescr",
                 "1.3.6.1.2.1.2.2.1.7": "ifAdminStatus", "1.3.6.1.2.1.2.2.1.8": "ifOperStatus",
                 "1.3.6.1.2.1.31.1.1.1.1": "ifName"}
SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID_0 = "1.3.6.1.6.3.1.1.4.1.0"
#: Engine boots of the receiver count the minutes since 2024 at start, so they grow across
#: restarts without a file to keep them in.
BOOTS_EPOCH = 1_704_067_200
#: net-snmp's enterprise number with the text format (RFC 3411 SnmpEngineID).
ENGINE_ID_PREFIX = bytes.fromhex("80001f8804")


def name_varbinds(varbinds: list[tuple[str, int | str | None]]) -> dict[str, int | str | None]:
    """A notification's varbinds (dotted OID, plain value) as the event detail names them:
    sysUpTime.0 and snmpTrapOID.0 left out, interface columns by name with their ifIndex."""
    named: dict[str, int | str | None] = {}
    for dotted, value in varbinds:
        if dotted in (SYS_UPTIME_0, SNMP_TRAP_OID_0):
            continue
        column, _, instance = dotted.rpartition(".")
        key = VARBIND_NAMES.get(column, dotted)
        named[key] = value
        if key in ("ifAdminStatus", "ifOperStatus", "ifDescr", "ifName") \
                and "ifIndex" not in named and instance.isdigit():
            named["ifIndex"] = int(instance)
    return named


def default_engine_id(host: str | None = None) -> bytes:
    """The receiver's snmpEngineID when ``snmp.engine_id`` is not set: "oasis@" and the host
    name as text, stable across restarts (APs keep keys localised to it)."""
    text = f"oasis@{host or socket.gethostname()}".encode()[:27]
    return ENGINE_ID_PREFIX + text


@dataclass(frozen=True)
class V3Sender:
    """What the receiver knows of an AP that may send v3 notifications."""

    user: UsmUser
    #: Configured for the AP, or discovered by the poller; None: not known yet.
    engine_id: bytes | None = None


@dataclass(frozen=True)
class Notification:
    name: str
    kind: str        # "trap" or "inform"
    varbinds: dict[str, int | str | None]


@dataclass(frozen=True)
class V3Outcome:
    """What to do with one v3 datagram: hand on ``notification``, send ``reply`` back (an
    inform's response or a report), or count it as ``refused`` (the reason)."""

    notification: Notification | None = None
    reply: bytes | None = None
    refused: str | None = None


Lookup = Callable[[str], V3Sender | None]


class V3Notifications:
    """Checks v3 traps and informs against the inventory's user table (``lookup``)."""

    def __init__(self, lookup: Lookup, *, engine_id: bytes | None = None,
                 boots: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.lookup = lookup
        self.clock = clock
        start = int((time.time() - BOOTS_EPOCH) // 60) if boots is None else boots
        self.authority = v3.Authority(engine_id or default_engine_id(), {},
                                      boots=max(1, min(start, BOOTS_MAX - 1)), clock=clock)
        #: The senders' engines as last heard, by (source address, engine ID): their time
        #: windows, one per AP even if two APs were given the same engine ID.
        self._engines: dict[tuple[str, bytes], RemoteEngine] = {}
        #: Engine IDs first seen signing an AP's trap when none was known for it.
        self._learned: dict[str, bytes] = {}

    def receive(self, data: bytes, source_ip: str) -> V3Outcome:
        try:
            message = v3.decode_message(data)
        except ber.BerError as exc:
            return V3Outcome(refused=f"malformed: {exc}")
        if message.engine_id in (self.authority.engine_id, b""):
            return self._inform(data, message, source_ip)
        return self._trap(data, message, source_ip)

    def _trap(self, data: bytes, message: v3.Message, source_ip: str) -> V3Outcome:
        sender = self.lookup(source_ip)
        if sender is None:
            return V3Outcome(refused="no SNMPv3 user for this source")
        user = sender.user
        if message.user != user.name:
            return V3Outcome(refused="unknown_user")
        expected = sender.engine_id or self._learned.get(source_ip)
        if expected is not None and message.engine_id != expected:
            return V3Outcome(refused="unknown_engine_id")
        if message.level != user.level:
            return V3Outcome(refused="unsupported_security_level")
        keys = user.keys_for(message.engine_id) if user.level else None
        if keys is not None:
            if not v3.authentic(data, message, keys):
                return V3Outcome(refused="wrong_digest")
            key = (source_ip, message.engine_id)
            engine = self._engines.get(key)
            if engine is None:
                if len(self._engines) > 65536:   # bounded by the inventory, but be sure
                    self._engines.clear()
                engine = self._engines[key] = RemoteEngine(message.engine_id)
            if not engine.heard(message.boots, message.engine_time, self.clock()):
                return V3Outcome(refused="not_in_time_window")
        try:
            pdu = v3.open_scoped_pdu(message, keys).pdu()
        except UsmError as exc:
            return V3Outcome(refused=exc.reason)
        except ber.BerError as exc:
            return V3Outcome(refused=f"malformed: {exc}")
        if sender.engine_id is None:
            self._learned.setdefault(source_ip, message.engine_id)
        if pdu[0] != ber.TRAP_V2:
            return V3Outcome(refused=f"not a notification: PDU 0x{pdu[0]:02x}")
        return _notification(pdu, "trap")

    def _inform(self, data: bytes, message: v3.Message, source_ip: str) -> V3Outcome:
        sender = self.lookup(source_ip)
        users = {sender.user.name: sender.user} if sender is not None else {}
        outcome = self.authority.receive(data, users)
        if not isinstance(outcome, v3.Accepted):
            # A discovery probe gets its report; a refusal its report (if reportable).
            refused = None if message.engine_id == b"" else "refused by USM"
            return V3Outcome(reply=outcome, refused=refused)
        try:
            pdu = outcome.scoped.pdu()
        except ber.BerError as exc:
            return V3Outcome(refused=f"malformed: {exc}")
        if pdu[0] != ber.INFORM:
            return V3Outcome(refused=f"not a notification: PDU 0x{pdu[0]:02x}")
        # RFC 3416 4.2.7: the response carries the inform's request-id and varbinds as they
        # came, which is the inform PDU itself under the Response tag (its error fields are 0).
        scoped = outcome.scoped
        response = bytes((ber.RESPONSE,)) + scoped.data[scoped.pdu_start + 1:scoped.pdu_end]
        found = _notification(pdu, "inform")
        return V3Outcome(notification=found.notification,
                         reply=self.authority.reply(outcome, response), refused=found.refused)


def _notification(pdu, kind: str) -> V3Outcome:
    varbinds = [(".".join(map(str, oid)), python_value(tag, value)) for oid, tag, value in pdu[4]]
    trap_oid = next((value for dotted, value in varbinds if dotted == SNMP_TRAP_OID_0), None)
    if not isinstance(trap_oid, str):
        return V3Outcome(refused="notification without snmpTrapOID.0")
    return V3Outcome(notification=Notification(STANDARD_TRAPS.get(trap_oid, trap_oid), kind,
                                               name_varbinds(varbinds)))


__all__ = ["BOOTS_EPOCH", "Notification", "STANDARD_TRAPS", "SNMP_TRAP_OID_0", "SYS_UPTIME_0",
           "V1_GENERIC", "V3Notifications", "V3Outcome", "V3Sender", "VARBIND_NAMES",
           "default_engine_id", "name_varbinds"]
