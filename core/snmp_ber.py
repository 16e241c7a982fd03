"""The few BER shapes SNMPv2c needs, decoded and encoded by hand, for both sides.

Why not pyasn1: measured on this project's 2-core machine, pyasn1 (through pysnmp's protocol API)
takes about 0.5 ms to decode the poller's GETBULK request and 1.4 ms to encode a 32-varbind
response, which caps a single core near 500 responses/s; on the controller side ~70 % of the
poller's CPU went into pyasn1 decoding responses. The SNMP message grammar is tiny (a SEQUENCE
of version, community and one PDU of integers and varbinds), so this module reads and writes it
directly at a few tens of microseconds per message.

Two users: the AP simulator (``agents/apsim``: `decode_request`, `encode_message`) and the
controller's fast paths (``controller/snmp/v2c.py``: `encode_getbulk`, `decode_response`). The
PDU-level pieces (`encode_pdu`, `encode_getbulk_pdu`, `decode_pdu`, `decode_request_pdu`) are
also what SNMPv3 carries inside its scoped PDU (``snmp_v3.py``, with USM in ``snmp_usm.py``).

Tests cross-check every encoding against pysnmp's codec (tests/test_snmp_ber.py,
tests/test_apsim_model.py) and against real net-snmp agents.
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

#: RFC 3416 error-status names, for messages.
ERROR_STATUS_NAMES = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
    "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
    "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
    "authorizationError", "notWritable", "inconsistentName")

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
    # The tag decides the type, which annotations cannot say; ignores instead of cast() calls
    # keep this per-varbind path free of extra calls.
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


def encode_pdu(pdu_type: int, request_id_tlv: bytes, error_status: int, error_index: int,
               varbinds: list[bytes]) -> bytes:
    """One PDU TLV around already-encoded varbinds (a v1/v2c message or a v3 scoped PDU)."""
    return tlv(pdu_type, request_id_tlv + tlv(INTEGER, encode_signed(error_status))
               + tlv(INTEGER, encode_signed(error_index)) + tlv(SEQUENCE, b"".join(varbinds)))


def encode_message(version: int, community: bytes, pdu_type: int, request_id_tlv: bytes,
                   error_status: int, error_index: int, varbinds: list[bytes]) -> bytes:
    """A whole v1/v2c message around already-encoded varbinds."""
    return tlv(SEQUENCE, tlv(INTEGER, encode_signed(version)) + tlv(OCTET_STRING, community)
               + encode_pdu(pdu_type, request_id_tlv, error_status, error_index, varbinds))


def header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
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


def integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, end) of the INTEGER at ``pos``."""
    tag, start, stop = header(data, pos, end)
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
    tag, start, stop = header(data, 0, len(data))
    if tag != SEQUENCE:
        raise BerError("not an SNMP message")
    return integer(data, start, stop)[0]


def _each_varbind(data: bytes, pos: int, end: int,
                  oid_cache: dict[bytes, tuple[int, ...]] | None):
    """Walk the varbind list at ``pos``: (OID, varbind content start, OID end, varbind end) for
    each. ``oid_cache`` (OID content -> tuple, owned by the caller) saves re-decoding the same
    OIDs message after message; it is cleared when it grows past 8,192 entries."""
    tag, pos, list_end = header(data, pos, end)
    if tag != SEQUENCE:
        raise BerError("expected varbind list")
    while pos < list_end:
        tag, vb_start, vb_end = header(data, pos, list_end)
        if tag != SEQUENCE:
            raise BerError("expected varbind")
        tag, oid_start, oid_end = header(data, vb_start, vb_end)
        if tag != OBJECT_IDENTIFIER:
            raise BerError("expected OBJECT IDENTIFIER")
        content = data[oid_start:oid_end]
        oid = oid_cache.get(content) if oid_cache is not None else None
        if oid is None:
            oid = decode_oid_content(content)
            if oid_cache is not None:
                if len(oid_cache) > 8192:
                    oid_cache.clear()
                oid_cache[content] = oid
        yield oid, vb_start, oid_end, vb_end
        pos = vb_end


def decode_request(data: bytes, oid_cache: dict[bytes, tuple[int, ...]] | None = None
                   ) -> V2cRequest:
    """Parse a v1/v2c request; ``oid_cache`` (bytes -> tuple) saves re-decoding polled OIDs."""
    tag, pos, end = header(data, 0, len(data))
    if tag != SEQUENCE:
        raise BerError("not an SNMP message")
    version, pos = integer(data, pos, end)
    tag, start, pos = header(data, pos, end)
    if tag != OCTET_STRING:
        raise BerError("expected community")
    community = data[start:pos]
    return V2cRequest(version, community, *decode_request_pdu(data, pos, end, oid_cache))


def decode_request_pdu(data: bytes, pos: int, end: int,
                       oid_cache: dict[bytes, tuple[int, ...]] | None = None
                       ) -> tuple[int, bytes, int, int, tuple[tuple[tuple[int, ...], bytes], ...]]:
    """(PDU type, request-id TLV, non-repeaters, max-repetitions, varbinds) of the request PDU
    at ``pos``: the agent's view, shared by v1/v2c messages and v3 scoped PDUs."""
    pdu_type, pos, end = header(data, pos, end)
    rid_start = pos
    _, pos = integer(data, pos, end)
    request_id_tlv = data[rid_start:pos]
    non_repeaters, pos = integer(data, pos, end)
    max_repetitions, pos = integer(data, pos, end)
    # Each varbind keeps its OID's encoding too: the simulator copies it into the response.
    varbinds = tuple((oid, data[vb_start:oid_end])
                     for oid, vb_start, oid_end, _ in _each_varbind(data, pos, end, oid_cache))
    return pdu_type, request_id_tlv, non_repeaters, max_repetitions, varbinds


# --- the manager side: GETBULK requests out, responses in ------------------------------------

#: Request-ids the manager uses: four content octets with the top bit clear, so the same
#: fixed-size slot holds every id and the encoding stays minimal, as BER requires.
REQUEST_ID_MIN = 0x00800000
REQUEST_ID_MAX = 0x7FFFFFFF

#: Largest content a value of these types may have (a leading zero octet included).
_UNSIGNED_MAX_BYTES = {COUNTER32: 5, GAUGE32: 5, TIMETICKS: 5, COUNTER64: 9}
_UNSIGNED_LIMIT = {COUNTER32: 1 << 32, GAUGE32: 1 << 32, TIMETICKS: 1 << 32, COUNTER64: 1 << 64}


def error_status_name(status: int) -> str:
    if 0 <= status < len(ERROR_STATUS_NAMES):
        return ERROR_STATUS_NAMES[status]
    return f"error-status {status}"


@dataclass(frozen=True, slots=True)
class GetBulkTemplate:
    """A v2c GETBULK encoded once; `message` fills in the request-id.

    The poller sends the same request to an AP every cycle, so everything but the request-id
    is encoded once and the id goes into a fixed four-octet slot.
    """

    head: bytes
    tail: bytes

    def message(self, request_id: int) -> bytes:
        if not REQUEST_ID_MIN <= request_id <= REQUEST_ID_MAX:
            raise ValueError(f"request-id {request_id} outside the four-octet slot")
        return self.head + request_id.to_bytes(4, "big") + self.tail


def encode_getbulk(community: bytes, non_repeaters: int, max_repetitions: int,
                   oids: list[tuple[int, ...]] | tuple[tuple[int, ...], ...]) -> GetBulkTemplate:
    """A v2c GetBulkRequest for ``oids`` (non-repeaters first), every value NULL."""
    pdu = encode_getbulk_pdu(non_repeaters, max_repetitions, oids)
    prefix = tlv(INTEGER, encode_signed(SNMP_V2C)) + tlv(OCTET_STRING, community)
    body_length = len(prefix) + len(pdu.head) + 4 + len(pdu.tail)
    head = bytes((SEQUENCE,)) + encode_length(body_length) + prefix + pdu.head
    return GetBulkTemplate(head, pdu.tail)


def encode_getbulk_pdu(non_repeaters: int, max_repetitions: int,
                       oids: list[tuple[int, ...]] | tuple[tuple[int, ...], ...]
                       ) -> GetBulkTemplate:
    """The GetBulkRequest PDU alone, every value NULL, with the four-octet request-id slot:
    a v2c message wraps it in version and community, a v3 scoped PDU in the context."""
    varbinds = b"".join(tlv(SEQUENCE, encode_oid(oid) + b"\x05\x00") for oid in oids)
    after_id = (tlv(INTEGER, encode_signed(non_repeaters))
                + tlv(INTEGER, encode_signed(max_repetitions)) + tlv(SEQUENCE, varbinds))
    # The PDU's length counts the 6-octet request-id TLV that goes into the slot.
    head = bytes((GETBULK,)) + encode_length(6 + len(after_id)) + b"\x02\x04"
    return GetBulkTemplate(head, after_id)


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded v1/v2c response. Varbind values: int for INTEGER and the counters, bytes for
    OCTET STRING, IpAddress and unknown primitive types, an OID tuple for OBJECT IDENTIFIER,
    None for NULL and the exceptions (the tag tells noSuchObject/noSuchInstance/endOfMibView)."""

    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[tuple[int, ...], int, object]]


def decode_value(tag: int, content: bytes) -> object:
    """One varbind value from its tag and content octets; BerError when they do not agree."""
    if tag == INTEGER:
        if not content or len(content) > 9:
            raise BerError("INTEGER of bad length")
        return int.from_bytes(content, "big", signed=True)
    limit = _UNSIGNED_LIMIT.get(tag)
    if limit is not None:
        # Unsigned on the wire; a missing leading zero (seen on some agents) reads the same way.
        if not content or len(content) > _UNSIGNED_MAX_BYTES[tag]:
            raise BerError(f"tag 0x{tag:02x}: bad length {len(content)}")
        value = int.from_bytes(content, "big")
        if value >= limit:
            raise BerError(f"tag 0x{tag:02x}: {value} out of range")
        return value
    if tag == OCTET_STRING or tag == IP_ADDRESS:
        if tag == IP_ADDRESS and len(content) != 4:
            raise BerError("IpAddress is not four octets")
        return content
    if tag == OBJECT_IDENTIFIER:
        return decode_oid_content(content)
    if tag == NULL or tag in EXCEPTIONS:
        if content:
            raise BerError(f"tag 0x{tag:02x} with content")
        return None
    if tag & 0x20 or tag & 0x1F == 0x1F:
        raise BerError(f"constructed or multi-octet tag 0x{tag:02x} as a value")
    return content  # Opaque and other primitive types: passed on raw


def decode_response(data: bytes, oid_cache: dict[bytes, tuple[int, ...]] | None = None
                    ) -> Response:
    """Parse a v1/v2c message carrying a PDU of the request/response shape.

    Raises BerError for anything malformed or truncated; never reads past ``data``. The
    ``oid_cache`` (OID content -> tuple, owned by the caller) saves re-decoding the OIDs every
    AP answers with each cycle; it is cleared when it grows past 8,192 entries.
    """
    size = len(data)
    tag, pos, end = header(data, 0, size)
    if tag != SEQUENCE:
        raise BerError("not an SNMP message")
    if end != size:
        raise BerError("trailing octets after the message")
    version, pos = integer(data, pos, end)
    tag, start, pos = header(data, pos, end)
    if tag != OCTET_STRING:
        raise BerError("expected community")
    community = data[start:pos]
    return Response(version, community, *decode_pdu(data, pos, end, oid_cache))


def decode_pdu(data: bytes, pos: int, end: int,
               oid_cache: dict[bytes, tuple[int, ...]] | None = None
               ) -> tuple[int, int, int, int, list[tuple[tuple[int, ...], int, object]]]:
    """(PDU type, request-id, error-status, error-index, varbinds with decoded values) of the
    PDU at ``pos``, which must end at ``end``: the manager's view, shared by v1/v2c messages
    and v3 scoped PDUs. For GETBULK the two middle fields are non-repeaters and
    max-repetitions."""
    pdu_type, pos, pdu_end = header(data, pos, end)
    if pdu_type & 0xE0 != 0xA0:
        raise BerError(f"not a PDU: tag 0x{pdu_type:02x}")
    if pdu_end != end:
        raise BerError("trailing octets after the PDU")
    request_id, pos = integer(data, pos, end)
    error_status, pos = integer(data, pos, end)
    error_index, pos = integer(data, pos, end)
    varbinds: list[tuple[tuple[int, ...], int, object]] = []
    append = varbinds.append
    for oid, _, oid_end, vb_end in _each_varbind(data, pos, end, oid_cache):
        tag, value_start, value_end = header(data, oid_end, vb_end)
        if value_end != vb_end:
            raise BerError("varbind with more than a name and a value")
        append((oid, tag, decode_value(tag, data[value_start:value_end])))
    return pdu_type, request_id, error_status, error_index, varbinds
