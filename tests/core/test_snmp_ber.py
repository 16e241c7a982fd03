"""The controller's hand-written SNMP codec against pysnmp's (pyasn1) as the oracle.

Seeded random messages both ways (pysnmp encodes -> we decode, we encode -> pysnmp decodes),
the edges that break hand-written codecs (Counter64 near 2**64, negative integers, long OIDs
with large sub-identifiers, multi-octet lengths), and malformed input, which must raise
BerError and nothing else.
"""

from __future__ import annotations

import random

import pytest
from pyasn1.codec.ber import decoder as pyasn1_decoder
from pyasn1.codec.ber import encoder as pyasn1_encoder
from pysnmp.proto import api, rfc1902, rfc1905

from core import snmp_ber as ber

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SEEDS = range(40)

EDGE_OIDS = [(1, 3), (0, 39), (1, 39, 0), (2, 999, 3), (2, 47, 2**32 - 1),
             (1, 3, 6, 1, 4, 1, 2**31, 127, 128, 16383, 16384, 2**63 + 5),
             (1, 3) + tuple(range(200)), (1, 3, 6) + (2**32 - 1,) * 40]


def _random_oid(rng: random.Random) -> tuple[int, ...]:
    first = rng.choice((0, 1, 2))
    second = rng.randrange(40) if first < 2 else rng.choice((0, 5, 39, 40, 999, 2**20))
    return (first, second) + tuple(
        rng.choice((0, 1, 127, 128, 255, 16383, 16384, 2**32 - 1, rng.randrange(2**40)))
        for _ in range(rng.randrange(0, 30)))


def _random_value(rng: random.Random) -> tuple[int, object, object]:
    """(BER tag, value as the codec gives it, the same value as a pysnmp object)."""
    kind = rng.randrange(12)
    if kind == 0:
        v = rng.choice((0, -1, 1, -128, -129, 127, 128, -2**31, 2**31 - 1, rng.randint(-2**31, 2**31 - 1)))
        return ber.INTEGER, v, rfc1902.Integer32(v)
    if kind == 1:
        v = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 127, 128, 255, 256, 700))))
        return ber.OCTET_STRING, v, rfc1902.OctetString(v)
    if kind == 2:
        return ber.NULL, None, rfc1902.Null("")
    if kind == 3:
        v = _random_oid(rng)
        return ber.OBJECT_IDENTIFIER, v, rfc1902.ObjectName(v)
    if kind == 4:
        v = bytes(rng.randrange(256) for _ in range(4))
        return ber.IP_ADDRESS, v, rfc1902.IpAddress(v)
    if kind in (5, 6, 7):
        tag, cls = ((ber.COUNTER32, rfc1902.Counter32), (ber.GAUGE32, rfc1902.Gauge32),
                    (ber.TIMETICKS, rfc1902.TimeTicks))[kind - 5]
        v = rng.choice((0, 1, 127, 128, 2**31, 2**32 - 1, rng.randrange(2**32)))
        return tag, v, cls(v)
    if kind == 8:
        v = rng.choice((0, 2**63, 2**64 - 1, 2**64 - 2, 2**64 - 2**32, rng.randrange(2**64)))
        return ber.COUNTER64, v, rfc1902.Counter64(v)
    tag, cls = ((ber.NO_SUCH_OBJECT, rfc1905.NoSuchObject),
                (ber.NO_SUCH_INSTANCE, rfc1905.NoSuchInstance),
                (ber.END_OF_MIB_VIEW, rfc1905.EndOfMibView))[kind - 9]
    return tag, None, cls("")


def _pysnmp_response(community: bytes, request_id: int, status: int, index: int,
                     varbinds) -> bytes:
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_error_index(pdu, index)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    return pyasn1_encoder.encode(message)


def _pysnmp_value(value) -> object:
    tag = value.tagSet[0]
    tag = tag.tagClass | tag.tagFormat | tag.tagId
    if tag in ber.EXCEPTIONS or tag == ber.NULL:
        return tag, None
    if tag in (ber.OCTET_STRING, ber.IP_ADDRESS):
        return tag, bytes(value)
    if tag == ber.OBJECT_IDENTIFIER:
        return tag, tuple(value)
    return tag, int(value)


@pytest.mark.parametrize("seed", SEEDS)
def test_pysnmp_encoded_response_decodes_here(seed):
    rng = random.Random(seed)
    oids = [rng.choice(EDGE_OIDS) if rng.random() < 0.3 else _random_oid(rng)
            for _ in range(rng.randrange(0, 60))]
    values = [_random_value(rng) for _ in oids]
    request_id = rng.choice((0, 1, -1, -2**31, 2**31 - 1, rng.randint(-2**31, 2**31 - 1)))
    community = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    data = _pysnmp_response(community, request_id, seed % 19, seed % 7,
                            [(o, v[2]) for o, v in zip(oids, values)])
    response = ber.decode_response(data, {} if seed % 2 else None)
    assert (response.version, response.community, response.pdu_type) == (1, community, ber.RESPONSE)
    assert (response.request_id, response.error_status, response.error_index) == (
        request_id, seed % 19, seed % 7)
    assert response.varbinds == [(o, tag, value) for o, (tag, value, _) in zip(oids, values)]


@pytest.mark.parametrize("seed", SEEDS)
def test_response_encoded_here_decodes_in_pysnmp(seed):
    rng = random.Random(1000 + seed)
    oids = [_random_oid(rng) for _ in range(rng.randrange(1, 40))]
    values = [_random_value(rng) for _ in oids]
    request_id = rng.randint(-2**31, 2**31 - 1)
    data = ber.encode_message(1, b"oasis", ber.RESPONSE,
                              ber.tlv(ber.INTEGER, ber.encode_signed(request_id)), 0, 0,
                              [ber.encode_varbind(ber.encode_oid(o), tag, value)
                               for o, (tag, value, _) in zip(oids, values)])
    message, rest = pyasn1_decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    pdu = V2C.apiMessage.get_pdu(message)
    assert int(V2C.apiPDU.get_request_id(pdu)) == request_id
    decoded = [(tuple(o), _pysnmp_value(v)) for o, v in V2C.apiPDU.get_varbinds(pdu)]
    assert decoded == [(o, (tag, value)) for o, (tag, value, _) in zip(oids, values)]
    assert ber.decode_response(data).varbinds == [
        (o, tag, value) for o, (tag, value, _) in zip(oids, values)]


@pytest.mark.parametrize("request_id", [ber.REQUEST_ID_MIN, ber.REQUEST_ID_MIN + 1, 0x12345678,
                                        ber.REQUEST_ID_MAX])
@pytest.mark.parametrize("community", [b"public", b"", b"c" * 200])
def test_getbulk_is_byte_for_byte_what_pysnmp_encodes(request_id, community):
    oids = [(1, 3, 6, 1, 2, 1, 1, 1), (1, 3, 6, 1, 4, 1, 8072, 1, 3, 2, 3, 1, 1, 7, 99, 2**32 - 1),
            (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)] + [(1, 3, 6, 1, 2, 1, 2, 2, 1, n) for n in range(40)]
    pdu = V2C.GetBulkRequestPDU()
    V2C.apiBulkPDU.set_defaults(pdu)
    V2C.apiBulkPDU.set_request_id(pdu, request_id)
    V2C.apiBulkPDU.set_non_repeaters(pdu, 2)
    V2C.apiBulkPDU.set_max_repetitions(pdu, 300)
    V2C.apiBulkPDU.set_varbinds(pdu, [(o, V2C.Null("")) for o in oids])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    ours = ber.encode_getbulk(community, 2, 300, oids).message(request_id)
    assert ours == pyasn1_encoder.encode(message)


def test_request_id_outside_the_slot_is_refused():
    template = ber.encode_getbulk(b"public", 0, 5, [(1, 3, 6)])
    for bad in (0, ber.REQUEST_ID_MIN - 1, ber.REQUEST_ID_MAX + 1, -5):
        with pytest.raises(ValueError):
            template.message(bad)


def test_counter64_edges_and_lenient_unsigned():
    def one(tag, content):
        data = ber.encode_message(1, b"p", ber.RESPONSE, b"\x02\x01\x07", 0, 0,
                                  [ber.tlv(ber.SEQUENCE, ber.encode_oid((1, 3)) + ber.tlv(tag, content))])
        return ber.decode_response(data).varbinds[0][2]

    assert one(ber.COUNTER64, b"\x00" + b"\xff" * 8) == 2**64 - 1
    assert one(ber.COUNTER64, b"\xff" * 8) == 2**64 - 1        # missing leading zero, read unsigned
    assert one(ber.COUNTER32, b"\xff" * 4) == 2**32 - 1
    assert one(ber.INTEGER, b"\xff") == -1
    assert one(ber.INTEGER, b"\x80\x00\x00\x00") == -2**31
    assert one(0x44, b"\x9f\x78\x04\x42\xf6\x00\x00") == b"\x9f\x78\x04\x42\xf6\x00\x00"  # Opaque: raw
    for tag, content in ((ber.COUNTER64, b"\x01" + b"\x00" * 8), (ber.COUNTER64, b"\x00" * 10),
                         (ber.COUNTER32, b"\x01\x00\x00\x00\x00"), (ber.COUNTER32, b""),
                         (ber.INTEGER, b""), (ber.IP_ADDRESS, b"\x7f\x00\x01"),
                         (ber.NULL, b"\x00"), (ber.END_OF_MIB_VIEW, b"x"),
                         (ber.OBJECT_IDENTIFIER, b""), (ber.OBJECT_IDENTIFIER, b"\x2b\x86"),
                         (0x30, b""), (0x1F, b"")):
        with pytest.raises(ber.BerError):
            one(tag, content)


def _valid_response() -> bytes:
    return _pysnmp_response(b"public", 0x00ABCDEF, 0, 0, [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), rfc1902.OctetString(b"x" * 300)),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2), rfc1902.Counter64(2**64 - 1)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 1), rfc1902.Integer32(-5)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 9), rfc1905.EndOfMibView(""))])


def test_every_truncation_raises_bererror():
    data = _valid_response()
    assert len(ber.decode_response(data).varbinds) == 4
    for cut in range(len(data)):
        with pytest.raises(ber.BerError):
            ber.decode_response(data[:cut])
    with pytest.raises(ber.BerError):
        ber.decode_response(data + b"\x00")


@pytest.mark.parametrize("seed", range(5))
def test_corrupted_datagrams_raise_bererror_or_decode_never_anything_else(seed):
    rng = random.Random(seed)
    data = _valid_response()
    for _ in range(400):
        corrupted = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        try:
            ber.decode_response(bytes(corrupted))
        except ber.BerError:
            pass
    for size in (0, 1, 2, 3, 50, 1500):
        try:
            ber.decode_response(bytes(rng.randrange(256) for _ in range(size)))
        except ber.BerError:
            pass


@pytest.mark.parametrize("datagram", [
    b"", b"\x30", b"\x30\x80\x02\x01\x01\x00\x00",            # indefinite length: not in SNMP
    b"\x30\x85\x00\x00\x00\x00\x05",                           # 5-octet length
    b"\x31\x03\x02\x01\x01",                                   # SET OF, not SEQUENCE
    b"\x30\x84\xff\xff\xff\xff\x02\x01\x01",                   # length far past the datagram
    b"\x30\x03\x02\x01\x01",                                   # version only
    b"\x30\x0b\x02\x01\x01\x04\x01p\x02\x03\x01\x02\x03",      # a non-PDU where the PDU goes
])
def test_malformed_headers(datagram):
    with pytest.raises(ber.BerError):
        ber.decode_response(datagram)


def test_error_status_names():
    assert ber.error_status_name(1) == "tooBig"
    assert ber.error_status_name(5) == "genErr"
    assert ber.error_status_name(18) == "inconsistentName"
    assert ber.error_status_name(99) == "error-status 99"
