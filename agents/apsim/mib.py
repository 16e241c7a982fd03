"""What a simulated AP shows over SNMP: one sorted OID table per platform, values read lazily.

All APs of a platform share the table's structure (the same objects and instances); only the
values differ, and they are computed from a ``Reading`` of the AP when a request arrives. GETNEXT
is a bisect in the sorted OID list, so the ordering is exactly SNMP's lexicographic order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Callable

from agents.apsim.device import DOWN, INTERFACES, RADIO_INDEXES, UP, Reading
from core import snmp_ber as ber

Oid = tuple[int, ...]
Value = tuple[int, object]  # (BER tag, int | bytes | OID tuple)
Getter = Callable[[Reading], Value]
#: One answered varbind: (OID TLV, OID, tag, value).
Answer = tuple[bytes, Oid, int, object]
#: (object OID, instance suffix, getter): ``.0`` for scalars, the row index for columns.
Row = tuple[Oid, Oid, Getter]


def oid(text: str) -> Oid:
    return tuple(int(arc) for arc in text.strip(".").split("."))


SYSTEM = oid("1.3.6.1.2.1.1")
IF_NUMBER = oid("1.3.6.1.2.1.2.1")
IF_ENTRY = oid("1.3.6.1.2.1.2.2.1")
IFX_ENTRY = oid("1.3.6.1.2.1.31.1.1.1")
NS_EXTEND = oid("1.3.6.1.4.1.8072.1.3")
#: IEEE802dot11-MIB dot11StationConfigEntry dot11DesiredSSID, indexed by the radio's ifIndex.
DOT11_DESIRED_SSID = oid("1.2.840.10036.1.1.1.9")
CDOT11_ACTIVE_CLIENTS = oid("1.3.6.1.4.1.9.9.273.1.1.2.1.1")
#: The one ``extend`` an OpenWrt AP runs; its name is the row index (length-prefixed string).
EXTEND_NAME = b"clients"
EXTEND_INDEX = (len(EXTEND_NAME), *EXTEND_NAME)

SYS_DESCR = {
    "openwrt": "OpenWrt 23.05.3 r23809-234f1a2efa / Linux 5.15.150 #0 SMP aarch64",
    "cisco_aironet": (
        "Cisco IOS Software, C3700 Software (AP3G2-K9W8-M), Version 15.3(3)JPJ9, "
        "RELEASE SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n"
        "Copyright (c) 1986-2021 by Cisco Systems, Inc.\r\n"
        "Compiled Tue 05-Oct-21 11:05 by prod_rel_team"),
    "generic": "Linux 4.14.241 #1 SMP PREEMPT armv7l",
}
SYS_OBJECT_ID = {
    "openwrt": oid("1.3.6.1.4.1.8072.3.2.10"),      # NET-SNMP-TC::linux
    "cisco_aironet": oid("1.3.6.1.4.1.9.1.1247"),   # a ciscoProducts Aironet AP
    "generic": oid("1.3.6.1.4.1.8072.3.2.10"),
}
SYS_CONTACT = b"Al-Ahsa Municipality parks network <noc@parks.alahsa.example>"
SYS_SERVICES = 72  # application + end-to-end, as net-snmp reports by default


class MibTable:
    """The sorted instances of one platform with their value getters."""

    def __init__(self, rows: list[Row]):
        instances = sorted((obj + instance, getter) for obj, instance, getter in rows)
        self.oids: list[Oid] = [o for o, _ in instances]
        if len(set(self.oids)) != len(self.oids):
            raise ValueError("duplicate OID in MIB table")
        self.oid_tlvs: list[bytes] = [ber.encode_oid(o) for o in self.oids]
        self.getters: list[Getter] = [g for _, g in instances]
        #: Object OIDs (scalars and columns), to tell noSuchInstance from noSuchObject.
        self.objects: list[Oid] = sorted({obj for obj, _, _ in rows})

    def get(self, reading: Reading, target: Oid, target_tlv: bytes) -> Answer:
        i = bisect_left(self.oids, target)
        if i < len(self.oids) and self.oids[i] == target:
            tag, value = self.getters[i](reading)
            return self.oid_tlvs[i], target, tag, value
        k = bisect_right(self.objects, target) - 1
        if k >= 0 and target[:len(self.objects[k])] == self.objects[k]:
            return target_tlv, target, ber.NO_SUCH_INSTANCE, None
        return target_tlv, target, ber.NO_SUCH_OBJECT, None

    def next(self, reading: Reading, target: Oid, target_tlv: bytes) -> Answer:
        i = bisect_right(self.oids, target)
        if i >= len(self.oids):
            return target_tlv, target, ber.END_OF_MIB_VIEW, None
        tag, value = self.getters[i](reading)
        return self.oid_tlvs[i], self.oids[i], tag, value


def answer(table: MibTable, reading: Reading, pdu_type: int,
           varbinds: tuple[tuple[Oid, bytes], ...], non_repeaters: int = 0,
           max_repetitions: int = 0, max_varbinds: int = 2048) -> list[Answer]:
    """The response varbinds for GET, GETNEXT or GETBULK (RFC 3416 4.2.1-4.2.3)."""
    if pdu_type == ber.GET:
        return [table.get(reading, o, t) for o, t in varbinds]
    if pdu_type == ber.GETNEXT:
        return [table.next(reading, o, t) for o, t in varbinds]
    non_rep = min(max(non_repeaters, 0), len(varbinds))
    out = [table.next(reading, o, t) for o, t in varbinds[:non_rep]]
    cursor = list(varbinds[non_rep:])
    if not cursor:
        return out
    repetitions = min(max(max_repetitions, 0), max(0, (max_varbinds - non_rep) // len(cursor)))
    for _ in range(repetitions):
        row = [table.next(reading, o, t) for o, t in cursor]
        out.extend(row)
        if all(a[2] == ber.END_OF_MIB_VIEW for a in row):
            break  # RFC 3416 lets the responder stop once every column ran off the end
        cursor = [(a[1], a[0]) for a in row]
    return out


def _system_rows(platform: str) -> list[Row]:
    descr = (ber.OCTET_STRING, SYS_DESCR[platform].encode())
    object_id = (ber.OBJECT_IDENTIFIER, SYS_OBJECT_ID[platform])
    return [
        (SYSTEM + (1,), (0,), lambda r: descr),
        (SYSTEM + (2,), (0,), lambda r: object_id),
        (SYSTEM + (3,), (0,), lambda r: (ber.TIMETICKS, r.ap.uptime_ticks(r.now))),
        (SYSTEM + (4,), (0,), lambda r: (ber.OCTET_STRING, SYS_CONTACT)),
        (SYSTEM + (5,), (0,), lambda r: (ber.OCTET_STRING, r.ap.name.encode())),
        (SYSTEM + (6,), (0,), lambda r: (ber.OCTET_STRING, r.ap.plan.site.name_en.encode())),
        (SYSTEM + (7,), (0,), lambda r: (ber.INTEGER, SYS_SERVICES)),
    ]


def _status(up: bool) -> Value:
    return ber.INTEGER, UP if up else DOWN


def _last_change(r: Reading, i: int) -> Value:
    since = r.ap.interfaces[i].last_change - r.ap.boot_time
    return ber.TIMETICKS, max(0, int(since * 100)) % (1 << 32)


def _phys_address(r: Reading, i: int) -> Value:
    if i == 1:
        return ber.OCTET_STRING, b""
    mac = bytes.fromhex(r.ap.plan.mac.replace(":", ""))
    return ber.OCTET_STRING, mac[:5] + bytes(((mac[5] + i - 2) & 0xFF,))


def _fixed(tag: int, value: object) -> Getter:
    """A getter whose value never changes (names, types, speeds)."""
    return lambda r: (tag, value)


def _of_row(index: int, column: Callable[[Reading, int], Value]) -> Getter:
    """A column's getter bound to one row (an ifIndex or a radio position)."""
    return lambda r: column(r, index)


def _interface_rows() -> list[Row]:
    rows: list[Row] = [
        (IF_NUMBER, (0,), lambda r: (ber.INTEGER, len(INTERFACES)))]
    for kind in INTERFACES:
        i = kind.index
        name = kind.name.encode()
        columns: dict[int, Getter] = {
            1: _fixed(ber.INTEGER, i),
            2: _fixed(ber.OCTET_STRING, name),
            3: _fixed(ber.INTEGER, kind.if_type),
            4: _fixed(ber.INTEGER, kind.mtu),
            5: _fixed(ber.GAUGE32, kind.speed_bps),
            6: _of_row(i, _phys_address),
            7: _of_row(i, lambda r, i: _status(r.ap.interfaces[i].admin_up)),
            8: _of_row(i, lambda r, i: _status(r.ap.interfaces[i].oper_up)),
            9: _of_row(i, _last_change),
            10: _of_row(i, lambda r, i: (ber.COUNTER32, r.low32(i, 0))),
            11: _of_row(i, lambda r, i: (ber.COUNTER32, r.low32(i, 1))),
            14: _of_row(i, lambda r, i: (ber.COUNTER32, r.errors(i)[0])),
            16: _of_row(i, lambda r, i: (ber.COUNTER32, r.low32(i, 2))),
            17: _of_row(i, lambda r, i: (ber.COUNTER32, r.low32(i, 3))),
            20: _of_row(i, lambda r, i: (ber.COUNTER32, r.errors(i)[1])),
        }
        rows += [(IF_ENTRY + (col,), (i,), getter) for col, getter in columns.items()]
        x_columns: dict[int, Getter] = {
            1: _fixed(ber.OCTET_STRING, name),
            6: _of_row(i, lambda r, i: (ber.COUNTER64, r.hc(i, 0))),
            7: _of_row(i, lambda r, i: (ber.COUNTER64, r.hc(i, 1))),
            10: _of_row(i, lambda r, i: (ber.COUNTER64, r.hc(i, 2))),
            11: _of_row(i, lambda r, i: (ber.COUNTER64, r.hc(i, 3))),
            14: _fixed(ber.INTEGER, 1),  # ifLinkUpDownTrapEnable: enabled
            15: _fixed(ber.GAUGE32, round(kind.speed_bps / 1_000_000)),
            18: _fixed(ber.OCTET_STRING, kind.alias.encode()),
        }
        rows += [(IFX_ENTRY + (col,), (i,), getter) for col, getter in x_columns.items()]
    return rows


def _openwrt_rows() -> list[Row]:
    """NET-SNMP-EXTEND-MIB as ``extend clients /usr/libexec/oasis/clients`` shows it."""
    def digits(r: Reading) -> Value:
        return ber.OCTET_STRING, str(sum(r.radio_clients().values())).encode()
    config = NS_EXTEND + (2, 2, 1)
    output = NS_EXTEND + (2, 3, 1)
    return [
        (NS_EXTEND + (1,), (0,), lambda r: (ber.INTEGER, 1)),                  # nsExtendNumEntries
        (config + (2,), EXTEND_INDEX, lambda r: (ber.OCTET_STRING, b"/usr/libexec/oasis/clients")),
        (config + (3,), EXTEND_INDEX, lambda r: (ber.OCTET_STRING, b"")),      # nsExtendArgs
        (output + (1,), EXTEND_INDEX, digits),                                 # nsExtendOutput1Line
        (output + (2,), EXTEND_INDEX, digits),                                 # nsExtendOutputFull
        (output + (3,), EXTEND_INDEX, lambda r: (ber.INTEGER, 1)),             # nsExtendOutNumLines
        (output + (4,), EXTEND_INDEX, lambda r: (ber.INTEGER, 0)),             # nsExtendResult
    ]


def _cisco_rows() -> list[Row]:
    """CISCO-DOT11-ASSOCIATION-MIB cDot11ActiveWirelessClients, one row per radio ifIndex."""
    return [(CDOT11_ACTIVE_CLIENTS, (i,),
             _of_row(i, lambda r, i: (ber.GAUGE32, r.radio_clients()[i])))
            for i in RADIO_INDEXES]


def _ssid_rows() -> list[Row]:
    """dot11DesiredSSID per radio: what provisioning pushed over SSH shows up here."""
    def ssid(r: Reading, position: int) -> Value:
        ssids = r.ap.ssids
        return ber.OCTET_STRING, (ssids[position] if position < len(ssids) else "").encode()
    return [(DOT11_DESIRED_SSID, (i,), _of_row(k, ssid))
            for k, i in enumerate(RADIO_INDEXES)]


PLATFORM_ROWS = {"openwrt": lambda: _openwrt_rows() + _ssid_rows(),
                 "cisco_aironet": lambda: _cisco_rows() + _ssid_rows(), "generic": list}


def build_tables() -> dict[str, MibTable]:
    """One table per simulated platform (built once per simulator)."""
    return {platform: MibTable(_system_rows(platform) + _interface_rows() + extra())
            for platform, extra in PLATFORM_ROWS.items()}
