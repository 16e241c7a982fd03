"""SNMPv3 for the simulated APs: USM from ``core`` (``snmp_usm``, ``snmp_v3``), no pysnmp.

Why not pysnmp any more: its engine cost ~2.5 ms of CPU per v3 request here, so the simulator,
not the poller, bounded every v3 benchmark. With core's USM a v3 answer costs a v2c answer plus
one HMAC and one cipher call each way.

Each AP is its own SNMP engine, as hardware is: engine ID from its MAC (RFC 3411 format 3,
under net-snmp's enterprise number, as an OpenWrt AP running snmpd has), engine boots from the
minutes since 2024 when the simulator starts (so a restarted simulator looks like rebooted APs,
not like APs that forgot their boots) plus one per ``reboot``, engine time from then. One user
(``[apsim] v3_user`` with its protocols and pass phrases) and one context name are served; a
request below the user's security level gets ``authorizationError`` (as net-snmp's VACM gives
it), another context a ``snmpUnknownContexts`` report. Traps (``trap_version = "3"``) are sent
from the AP's engine at the user's level.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agents.apsim.device import SimulatedAp
from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import Clock, UsmUser

#: (AP, PDU type, request-id TLV, requested varbinds, non-repeaters, max-repetitions, octets the
#: PDU may take) -> the response PDU; what the v2c path answers with, wrapped here in USM.
Answerer = Callable[[SimulatedAp, int, bytes, tuple, int, int, int], bytes]

#: net-snmp's enterprise number with the "MAC address" format (RFC 3411 SnmpEngineID).
ENGINE_ID_PREFIX = bytes.fromhex("80001f8803")
#: Engine boots start from the minutes since this instant (2024-01-01 UTC).
BOOTS_EPOCH = 1_704_067_200
#: What the USM header around a PDU takes at most here (engine ID, user, the longest HMAC,
#: salt, context), taken off the response budget.
V3_OVERHEAD = 160
_REQUESTS = (ber.GET, ber.GETNEXT, ber.GETBULK, ber.SET)


def engine_id(ap: SimulatedAp) -> bytes:
    return ENGINE_ID_PREFIX + bytes.fromhex(ap.plan.mac.replace(":", ""))


def first_boots(wall_clock: float) -> int:
    return max(1, int((wall_clock - BOOTS_EPOCH) // 60))


class V3Responder:
    """The USM side of every simulated AP: one `Authority` per AP, made on first use."""

    def __init__(self, user: UsmUser, context: bytes, boots: int,
                 clock: Clock = time.monotonic):
        self.user = user
        self.users = {user.name: user}
        self.context = context
        self.boots = boots
        self.clock = clock
        self._engines: dict[str, v3.Authority] = {}
        self._trap_ids = 0
        #: OID content -> tuple: the pollers ask for the same OIDs every cycle.
        self._oid_cache: dict[bytes, tuple[int, ...]] = {}

    def engine(self, ap: SimulatedAp) -> v3.Authority:
        authority = self._engines.get(ap.name)
        if authority is None:
            authority = v3.Authority(engine_id(ap), self.users, boots=self.boots,
                                     clock=self.clock)
            self._engines[ap.name] = authority
        return authority

    def reboot(self, ap: SimulatedAp) -> None:
        self.engine(ap).clock.restart()

    def answer(self, ap: SimulatedAp, data: bytes, answerer: Answerer, budget: int
               ) -> bytes | None:
        """The datagram to send back for ``data`` (a response or a report), or None."""
        authority = self.engine(ap)
        outcome = authority.receive(data)
        if not isinstance(outcome, v3.Accepted):
            return outcome
        message, scoped = outcome.message, outcome.scoped
        if scoped.context_name != self.context:
            return authority.report(message, v3.UNKNOWN_CONTEXTS, 1,
                                    outcome.keys if message.level else None,
                                    _request_id(scoped), scoped.context_name)
        pdu_type, request_id_tlv, non_repeaters, max_repetitions, varbinds = scoped.request(
            self._oid_cache)
        if pdu_type not in _REQUESTS:
            return None   # a response, trap or report sent to an agent: nothing to answer
        if message.level < self.user.level:
            pdu = ber.encode_pdu(ber.RESPONSE, request_id_tlv, ber.AUTHORIZATION_ERROR, 0,
                                 [ber.tlv(ber.SEQUENCE, tlv + b"\x05\x00")
                                  for _, tlv in varbinds])
        else:
            pdu = answerer(ap, pdu_type, request_id_tlv, varbinds, non_repeaters,
                           max_repetitions, budget - V3_OVERHEAD)
        return authority.reply(outcome, pdu)

    def notification(self, ap: SimulatedAp, varbinds: list[bytes]) -> bytes:
        """An SNMPv3 trap from the AP's engine: the user's level, not reportable."""
        authority = self.engine(ap)
        self._trap_ids = (self._trap_ids + 1) & 0x7FFFFFFF
        pdu = ber.encode_pdu(ber.TRAP_V2, ber.tlv(ber.INTEGER, ber.encode_signed(self._trap_ids)),
                             0, 0, varbinds)
        keys = self.user.keys_for(authority.engine_id) if self.user.level else None
        return v3.encode_message(self._trap_ids, self.user.level, authority.engine_id,
                                 authority.clock.boots, authority.clock.time(), self.user.name,
                                 keys, v3.encode_scoped_pdu(authority.engine_id, self.context,
                                                            pdu))


def _request_id(scoped: v3.ScopedPdu) -> int:
    try:
        return scoped.pdu()[1]
    except ber.BerError:
        return 0


__all__ = ["Answerer", "V3Responder", "engine_id", "first_boots"]
