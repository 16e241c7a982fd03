"""Notifications a simulated AP sends (SNMPv2-MIB and IF-MIB standard traps), v2c or v3."""

from __future__ import annotations

from agents.apsim.device import DOWN, UP, SimulatedAp
from agents.apsim.mib import IF_ENTRY, Oid, oid
from core import snmp_ber as ber

SYS_UPTIME_0 = oid("1.3.6.1.2.1.1.3.0")
SNMP_TRAP_OID_0 = oid("1.3.6.1.6.3.1.1.4.1.0")
SNMP_TRAPS = oid("1.3.6.1.6.3.1.1.5")
TRAP_OIDS: dict[str, Oid] = {
    "coldStart": SNMP_TRAPS + (1,),
    "warmStart": SNMP_TRAPS + (2,),
    "linkDown": SNMP_TRAPS + (3,),
    "linkUp": SNMP_TRAPS + (4,),
    "authenticationFailure": SNMP_TRAPS + (5,),
}
#: Traps an operator may ask for by name; link and cold-start traps follow real events instead.
ON_DEMAND = ("warmStart", "authenticationFailure")


def trap_varbinds(ap: SimulatedAp, kind: str, now: float, if_index: int | None = None
                  ) -> list[tuple[Oid, int, object]]:
    """sysUpTime.0 and snmpTrapOID.0 first (RFC 3416 4.2.6), then the trap's objects."""
    if kind not in TRAP_OIDS:
        raise ValueError(f"unknown trap {kind!r}; known: {', '.join(TRAP_OIDS)}")
    varbinds: list[tuple[Oid, int, object]] = [
        (SYS_UPTIME_0, ber.TIMETICKS, ap.uptime_ticks(now)),
        (SNMP_TRAP_OID_0, ber.OBJECT_IDENTIFIER, TRAP_OIDS[kind]),
    ]
    if kind in ("linkDown", "linkUp"):
        if if_index is None:
            raise ValueError(f"{kind} needs an ifIndex")
        state = ap.interface(if_index)
        varbinds += [
            (IF_ENTRY + (1, if_index), ber.INTEGER, if_index),
            (IF_ENTRY + (7, if_index), ber.INTEGER, UP if state.admin_up else DOWN),
            (IF_ENTRY + (8, if_index), ber.INTEGER, UP if state.oper_up else DOWN),
        ]
    return varbinds


def encode_varbinds(varbinds: list[tuple[Oid, int, object]]) -> list[bytes]:
    return [ber.encode_varbind(ber.encode_oid(o), tag, value) for o, tag, value in varbinds]


def encode_trap(community: bytes, request_id: int, varbinds: list[tuple[Oid, int, object]]
                ) -> bytes:
    """An SNMPv2-Trap-PDU in a v2c message (``usm.V3Responder.notification`` sends v3 ones)."""
    request_id_tlv = ber.tlv(ber.INTEGER, ber.encode_signed(request_id))
    return ber.encode_message(ber.SNMP_V2C, community, ber.TRAP_V2, request_id_tlv, 0, 0,
                              encode_varbinds(varbinds))
