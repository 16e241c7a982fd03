"""The few BER shapes an SNMPv2c agent needs, decoded and encoded by hand.

Why not pyasn1: measured on this project's 2-core machine, pyasn1 (through pysnmp's protocol API)
takes about 0.5 ms to decode the poller's GETBULK request and 1.4 ms to encode a 32-varbind
response, which caps a single core near 500 responses/s. The SNMP message grammar an agent meets
is tiny (a SEQUENCE of version, community and one PDU of integers and varbinds), so this module
reads and writes it directly at a few tens of microseconds per message. SNMPv3 messages are not
parsed here beyond their version: they go to pysnmp's USM (see ``usm.py``).

Tests cross-check every encoding against pysnmp's decoder and real net-snmp tools.
"""

from __future__ import annotations

from dataclasses import dataclass

# Universal and SNMP application tags (RFC 2578 / RFC 3416).
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42  # also Unsigned32
TIMETICKS = 0x43
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

# PDU tags.
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
GETBULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8

# error-status values used by the agent.
NO_ERROR = 0
TOO_BIG = 1
GEN_ERR = 5
NO_ACCESS = 6
NOT_WRITABLE = 17
AUTHORIZATION_ERROR = 16

SNMP_V1 = 0
SNMP_V2C = 1
SNMP_V3 = 3

EXCEPTIONS = frozenset((NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))


class BerError(ValueError):
    """The datagram is not a well-formed SNMP message; an agent drops it silently."""


@dataclass(frozen=True, slots=True)
class V2cRequest:
    version: int
    community: bytes
    pdu_type: int
    #: The request-id TLV as received: echoed unchanged in the response.
    request_id_tlv: bytes
    non_repeaters: int
    max_repetitions: int
    #: (OID as a tuple, the OID's own TLV bytes) per requested varbind.
    varbinds: tuple[tuple[tuple[int, ...], bytes], ...]


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    if length < 0x100:
        return bytes((0x81, length))
    if length < 0x10000:
        return bytes((0x82, length >> 8, length & 0xFF))
    return b"\x83" + length.to_bytes(3, "big")


def tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    return bytes((tag,)) + encode_length(length) + content


def encode_signed(value: int) -> bytes:
    size = ((value + (value < 0)).bit_length() + 8) // 8
    return value.to_bytes(size, "big", signed=True)


def encode_unsigned(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 8) // 8, "big")


def encode_oid_content(oid: tuple[int, ...]) -> bytes:
    if len(oid) < 2:
        raise ValueError(f"an OBJECT IDENTIFIER needs two arcs at least: {oid!r}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_oid(oid: tuple[int, ...]) -> bytes:
    return tlv(OBJECT_IDENTIFIER, encode_oid_content(oid))


def encode_value(tag: int, value: object) -> bytes:
    """One typed value as TLV; ``value`` is int, bytes or an OID tuple depending on ``tag``."""
    if tag == OCTET_STRING or tag == IP_ADDRESS:
        return tlv(tag, value)  # type: ignore[arg-type]
    if tag == INTEGER:
        return tlv(INTEGER, encode_signed(value))  # type: ignore[arg-type]
    if tag in (COUNTER32, GAUGE32, TIMETICKS, COUNTER64):
        return tlv(tag, encode_unsigned(value))  # type: ignore[arg-type]
    if tag == OBJECT_IDENTIFIER:
        return encode_oid(value)  # type: ignore[arg-type]
    if tag in EXCEPTIONS or tag == NULL:
        return bytes((tag, 0))
    raise ValueError(f"cannot encode tag 0x{tag:02x}")


def encode_varbind(oid_tlv: bytes, tag: int, value: object) -> bytes:
    return tlv(SEQUENCE, oid_tlv + encode_value(tag, value))


def encode_message(version: int, community: bytes, pdu_type: int, request_id_tlv: bytes,
                   error_status: int, error_index: int, varbinds: list[bytes]) -> bytes:
    """A whole v1/v2c message around already-encoded varbinds."""
    pdu = (request_id_tlv + tlv(INTEGER, encode_signed(error_status))
           + tlv(INTEGER, encode_signed(error_index)) + tlv(SEQUENCE, b"".join(varbinds)))
    return tlv(SEQUENCE, tlv(INTEGER, encode_signed(version))
               + tlv(OCTET_STRING, community) + tlv(pdu_type, pdu))


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated TLV")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or pos + size > end:
            raise BerError("unsupported or truncated length")
        length = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    if pos + length > end:
        raise BerError("content runs past its container")
    return tag, pos, pos + length


def _integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != INTEGER or start == stop:
        raise BerError("expected INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def decode_oid_content(content: bytes) -> tuple[int, ...]:
    if not content:
        raise BerError("empty OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if content[-1] & 0x80:
        raise BerError("unterminated OBJECT IDENTIFIER arc")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def message_version(data: bytes) -> int:
    """The version field of any SNMP message, to route v3 away from the v2c fast path."""
    tag, start, stop = _header(data, 0, len(data))
    if tag != SEQUENCE:
        raise BerError("not an SNMP message")
    return _integer(data, start, stop)[0]


def decode_request(data: bytes, oid_cache: dict[bytes, tuple[int, ...]] | None = None
                   ) -> V2cRequest:
    """Parse a v1/v2c request; ``oid_cache`` (bytes -> tuple) saves re-decoding polled OIDs."""
    tag, pos, end = _header(data, 0, len(data))
    if tag != SEQUENCE:
        raise BerError("not an SNMP message")
    version, pos = _integer(data, pos, end)
    tag, start, pos = _header(data, pos, end)
    if tag != OCTET_STRING:
        raise BerError("expected community")
    community = data[start:pos]
    pdu_type, pos, end = _header(data, pos, end)
    rid_start = pos
    _, pos = _integer(data, pos, end)
    request_id_tlv = data[rid_start:pos]
    non_repeaters, pos = _integer(data, pos, end)
    max_repetitions, pos = _integer(data, pos, end)
    tag, pos, list_end = _header(data, pos, end)
    if tag != SEQUENCE:
        raise BerError("expected varbind list")
    varbinds = []
    while pos < list_end:
        tag, vb_start, vb_end = _header(data, pos, list_end)
        if tag != SEQUENCE:
            raise BerError("expected varbind")
        tag, oid_start, oid_end = _header(data, vb_start, vb_end)
        if tag != OBJECT_IDENTIFIER:
            raise BerError("expected OBJECT IDENTIFIER")
        oid_tlv = data[vb_start:oid_end]
        oid = oid_cache.get(oid_tlv) if oid_cache is not None else None
        if oid is None:
            oid = decode_oid_content(data[oid_start:oid_end])
            if oid_cache is not None:
                if len(oid_cache) > 8192:
                    oid_cache.clear()
                oid_cache[oid_tlv] = oid
        varbinds.append((oid, oid_tlv))
        pos = vb_end
    return V2cRequest(version, community, pdu_type, request_id_tlv, non_repeaters,
                      max_repetitions, tuple(varbinds))
