"""The simulator's hand-written BER against pysnmp's codec, and its traffic model's promises."""

from __future__ import annotations

import time

from pyasn1.codec.ber import decoder as pyasn1_decoder
from pyasn1.codec.ber import encoder as pyasn1_encoder
from pysnmp.proto import api, rfc1902

from agents.apsim.device import Reading, SimulatedAp
from agents.apsim.inventory import plan_aps
from agents.apsim.mib import build_tables, oid
from agents.apsim.traffic import LOCAL_OFFSET, DayProfile, TimeWarp, TrafficStream
from core import snmp_ber as ber

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def test_request_encoded_by_pysnmp_decodes_here():
    pdu = V2C.GetBulkRequestPDU()
    V2C.apiBulkPDU.set_defaults(pdu)
    V2C.apiBulkPDU.set_request_id(pdu, -123456)
    V2C.apiBulkPDU.set_non_repeaters(pdu, 1)
    V2C.apiBulkPDU.set_max_repetitions(pdu, 300)
    oids = ["1.3.6.1.2.1.1.3", "1.3.6.1.4.1.8072.1.3.2.3.1.1.7.99.4294967295", "2.999.1"]
    V2C.apiBulkPDU.set_varbinds(pdu, [(o, V2C.Null("")) for o in oids])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, "s3cret")
    V2C.apiMessage.set_pdu(message, pdu)
    request = ber.decode_request(pyasn1_encoder.encode(message), {})
    assert (request.version, request.community, request.pdu_type) == (1, b"s3cret", ber.GETBULK)
    assert (request.non_repeaters, request.max_repetitions) == (1, 300)
    assert [o for o, _ in request.varbinds] == [oid(o) for o in oids]
    assert request.request_id_tlv == b"\x02\x03\xfe\x1d\xc0"


def test_response_encoded_here_decodes_in_pysnmp():
    values = [(ber.INTEGER, -129), (ber.INTEGER, 0), (ber.OCTET_STRING, b"x" * 300),
              (ber.COUNTER32, 2**32 - 1), (ber.GAUGE32, 128), (ber.TIMETICKS, 12345),
              (ber.COUNTER64, 2**64 - 1), (ber.OBJECT_IDENTIFIER, oid("1.3.6.1.4.1.9.1.1247")),
              (ber.NO_SUCH_INSTANCE, None), (ber.END_OF_MIB_VIEW, None)]
    varbinds = [ber.encode_varbind(ber.encode_oid((1, 3, 6, 1, 99, i, 2**31)), tag, value)
                for i, (tag, value) in enumerate(values)]
    wire = ber.encode_message(1, b"public", ber.RESPONSE, b"\x02\x01\x07", 0, 0, varbinds)
    message, rest = pyasn1_decoder.decode(wire, asn1Spec=V2C.Message())
    assert rest == b""
    pdu = V2C.apiMessage.get_pdu(message)
    assert int(V2C.apiPDU.get_request_id(pdu)) == 7
    decoded = [v for _, v in V2C.apiPDU.get_varbinds(pdu)]
    assert [int(v) for v in decoded[:2]] == [-129, 0]
    assert bytes(decoded[2]) == b"x" * 300
    assert isinstance(decoded[6], rfc1902.Counter64) and int(decoded[6]) == 2**64 - 1
    assert tuple(decoded[7]) == oid("1.3.6.1.4.1.9.1.1247")
    assert [v.tagSet for v in decoded[8:]] == [V2C.NoSuchInstance.tagSet, V2C.EndOfMibView.tagSet]


def test_mib_tables_are_sorted_and_getnext_walks_them():
    for platform, table in build_tables().items():
        assert table.oids == sorted(table.oids) and len(set(table.oids)) == len(table.oids)
        ap = SimulatedAp.from_plan(plan_aps(1)[0], time.time(), DayProfile())
        reading, cursor, seen = Reading(ap, time.time()), (0,), []  # from the very start
        while True:
            _, cursor, tag, _ = table.next(reading, cursor, b"")
            if tag == ber.END_OF_MIB_VIEW:
                break
            seen.append(cursor)
        assert seen == table.oids, platform


def test_day_profile_integral_is_exact_and_the_park_is_busy_after_sunset():
    profile = DayProfile()
    start = 1_767_225_600.0  # a UTC midnight
    steps = 20_000
    width = 2 * 86400 / steps
    numeric = sum(profile.level(start + (i + 0.5) * width) * width for i in range(steps))
    assert abs(profile.area_between(start, start + 2 * 86400) - numeric) < 1e-3 * numeric
    local_midnight = start - LOCAL_OFFSET
    dawn, evening = local_midnight + 5 * 3600, local_midnight + 20.5 * 3600
    assert profile.level(evening) > 10 * profile.level(dawn)


def test_traffic_is_monotonic_at_every_scale():
    stream = TrafficStream(DayProfile(), TimeWarp.seeded(42), 1e6, 500.0)
    boot = 1_767_225_600.0
    previous = 0.0
    t = boot
    for step in [1e-6, 0.01, 0.5, 7, 60, 3600] * 200:
        t += step
        value = stream.octets_between(boot, t)
        assert value >= previous
        previous = value
