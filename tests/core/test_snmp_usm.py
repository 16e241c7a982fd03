"""SNMPv3 USM in core (snmp_usm, snmp_v3): RFC 3414's known answers, keys against pysnmp's for
every auth/priv pair, every usmStats report, the time window (replays, reboots), and malformed
input, which must raise BerError (decoding) or be dropped (the authority) and nothing else.

Whole exchanges against real engines (pysnmp and net-snmp, both directions) are in
tests/controller/test_snmp_v3.py and tests/agents/test_apsim_v3.py.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from pyasn1.type import univ
from pysnmp.entity import config as pysnmp_config
from pysnmp.proto.secmod.eso.priv import aes192, aes256
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.priv import des
from pysnmp.proto.secmod.rfc3826.priv import aes

from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    TIME_WINDOW_S,
    RemoteEngine,
    UsmUser,
    localize_key,
    password_to_key,
    privacy_key,
)

ENGINE = bytes.fromhex("80001f8880e1d2c3b4a5968778")
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1)
PYSNMP_AUTH = {"MD5": pysnmp_config.USM_AUTH_HMAC96_MD5, "SHA": pysnmp_config.USM_AUTH_HMAC96_SHA,
               "SHA224": pysnmp_config.USM_AUTH_HMAC128_SHA224,
               "SHA256": pysnmp_config.USM_AUTH_HMAC192_SHA256,
               "SHA384": pysnmp_config.USM_AUTH_HMAC256_SHA384,
               "SHA512": pysnmp_config.USM_AUTH_HMAC384_SHA512}
PYSNMP_PRIV = {"DES": des.Des, "AES": aes.Aes, "AES192": aes192.AesBlumenthal192,
               "AES256": aes256.AesBlumenthal256, "AES192C": aes192.Aes192,
               "AES256C": aes256.Aes256}
HASHLIB = {"MD5": hashlib.md5, "SHA": hashlib.sha1, "SHA224": hashlib.sha224,
           "SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}


class FakeClock:
    """Seconds that move only when a test says so (the time window without waiting)."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rfc3414_password_to_key_and_localisation():
    engine = bytes.fromhex("000000000000000000000002")
    md5, sha = AUTH_PROTOCOLS["MD5"], AUTH_PROTOCOLS["SHA"]
    ku = password_to_key(b"maplesyrup", md5)
    assert ku.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert localize_key(ku, engine, md5).hex() == "526f5eed9fcce26f8964c2930787d82b"
    ku = password_to_key(b"maplesyrup", sha)
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert localize_key(ku, engine, sha).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("auth_name", sorted(AUTH_PROTOCOLS))
def test_keys_agree_with_pysnmp_for_every_pair(auth_name):
    auth = AUTH_PROTOCOLS[auth_name]
    hash_func = HASHLIB[auth_name]
    ku = password_to_key(b"oasis-priv-key", auth)
    assert ku == bytes(localkey.hash_passphrase(b"oasis-priv-key", hash_func))
    assert localize_key(ku, ENGINE, auth) == bytes(
        localkey.localize_key(ku, univ.OctetString(ENGINE), hash_func))
    for priv_name, priv in PRIV_PROTOCOLS.items():
        theirs = PYSNMP_PRIV[priv_name]().localize_key(
            PYSNMP_AUTH[auth_name], univ.OctetString(ku), univ.OctetString(ENGINE))
        assert privacy_key(ku, ENGINE, auth, priv) == bytes(theirs)[:priv.key_length], priv_name


def test_the_two_aes256_extensions_differ_only_where_the_hash_is_short():
    sha, sha512 = AUTH_PROTOCOLS["SHA"], AUTH_PROTOCOLS["SHA512"]
    ku = password_to_key(b"oasis-priv-key", sha)
    blumenthal = privacy_key(ku, ENGINE, sha, PRIV_PROTOCOLS["AES256"])
    reeder = privacy_key(ku, ENGINE, sha, PRIV_PROTOCOLS["AES256C"])
    assert blumenthal[:20] == reeder[:20] and blumenthal[20:] != reeder[20:]
    ku = password_to_key(b"oasis-priv-key", sha512)
    assert privacy_key(ku, ENGINE, sha512, PRIV_PROTOCOLS["AES256"]) == \
        privacy_key(ku, ENGINE, sha512, PRIV_PROTOCOLS["AES256C"])


def test_user_refuses_what_usm_cannot_do():
    with pytest.raises(ValueError, match="at least 8"):
        UsmUser.from_passphrases("u", "SHA", "short")
    with pytest.raises(ValueError, match="noAuthPriv"):
        UsmUser.from_passphrases("u", None, None, "AES", "long-enough")
    with pytest.raises(ValueError, match="auth_proto: 'SHA1' not one of"):
        UsmUser.from_passphrases("u", "SHA1", "long-enough")
    with pytest.raises(ValueError, match="32 octets"):
        UsmUser.from_passphrases("u" * 33)


def _bulk_pdu(request_id: int) -> bytes:
    return ber.encode_getbulk_pdu(1, 4, [SYS_DESCR, (1, 3, 6, 1, 2, 1, 2, 2, 1, 3)]).message(
        request_id)


def _discover(authority: v3.Authority) -> v3.Message:
    report = authority.receive(v3.discovery_request(ber.REQUEST_ID_MIN, ber.REQUEST_ID_MIN))
    assert isinstance(report, bytes)
    return v3.decode_message(report)


def _answer(authority: v3.Authority, accepted: v3.Accepted) -> bytes:
    _, request_id_tlv, *_ = accepted.scoped.request()
    pdu = ber.encode_pdu(ber.RESPONSE, request_id_tlv, 0, 0, [
        ber.encode_varbind(ber.encode_oid(SYS_DESCR + (0,)), ber.OCTET_STRING, b"AP")])
    return authority.reply(accepted, pdu)


@pytest.mark.parametrize("auth_name", sorted(AUTH_PROTOCOLS))
@pytest.mark.parametrize("priv_name", [None, *sorted(PRIV_PROTOCOLS)])
def test_manager_and_authority_round_trip_at_every_level(auth_name, priv_name):
    user = UsmUser.from_passphrases("oasis", auth_name, "oasis-auth-key", priv_name,
                                    "oasis-priv-key" if priv_name else None)
    authority = v3.Authority(ENGINE, {b"oasis": user}, boots=7)
    report = _discover(authority)
    assert (report.engine_id, report.boots, report.level) == (ENGINE, 7, v3.NO_AUTH_NO_PRIV)
    assert v3.report_reason(v3.decode_scoped_pdu(report.data).pdu()[4]) == "unknown_engine_id"
    keys = user.keys_for(ENGINE)
    request = v3.encode_request(ber.REQUEST_ID_MIN + 1, user, ENGINE, report.boots,
                                report.engine_time, b"ctx", _bulk_pdu(ber.REQUEST_ID_MIN + 1))
    accepted = authority.receive(request)
    assert isinstance(accepted, v3.Accepted), accepted
    assert accepted.scoped.context_name == b"ctx"
    assert accepted.scoped.request()[2:4] == (1, 4)
    reply = _answer(authority, accepted)
    message = v3.decode_message(reply)
    assert message.level == user.level and message.msg_id == ber.REQUEST_ID_MIN + 1
    assert v3.authentic(reply, message, keys)
    pdu_type, request_id, _, _, varbinds = v3.open_scoped_pdu(message, keys).pdu()
    assert (pdu_type, request_id) == (ber.RESPONSE, ber.REQUEST_ID_MIN + 1)
    assert varbinds == [(SYS_DESCR + (0,), ber.OCTET_STRING, b"AP")]
    assert (ber.encode_oid(SYS_DESCR) in request) is (priv_name is None), "encrypted or not"


def _authority_and_user(clock=None, **user_kwargs):
    user = UsmUser.from_passphrases("oasis", "SHA", "oasis-auth-key", "AES", "oasis-priv-key")
    kwargs = {"clock": clock} if clock else {}
    return v3.Authority(ENGINE, {b"oasis": user}, boots=3, **kwargs), user


def _report_of(datagram) -> tuple[str, v3.Message]:
    """(reason, message) of a plaintext report."""
    assert isinstance(datagram, bytes), datagram
    message = v3.decode_message(datagram)
    return v3.report_reason(v3.decode_scoped_pdu(message.data).pdu()[4]), message


def test_every_usm_failure_is_reported_and_counted():
    authority, user = _authority_and_user()
    keys = user.keys_for(ENGINE)

    def request(sender: UsmUser, engine=ENGINE, msg_id=ber.REQUEST_ID_MIN) -> bytes:
        return v3.encode_request(msg_id, sender, engine, 3, authority.clock.time(), b"",
                                 _bulk_pdu(msg_id))

    cases = {
        "unknown_engine_id": request(user, engine=b"\x80\x00\x00\x00\x01other"),
        "unknown_user": request(UsmUser.from_passphrases("mallory", "SHA", "oasis-auth-key",
                                                         "AES", "oasis-priv-key")),
        "wrong_digest": request(UsmUser.from_passphrases("oasis", "SHA", "not-the-auth-key",
                                                         "AES", "oasis-priv-key")),
        "decryption_error": request(UsmUser.from_passphrases("oasis", "SHA", "oasis-auth-key",
                                                             "AES", "not-the-priv-key")),
    }
    for reason, datagram in cases.items():
        got, message = _report_of(authority.receive(datagram))
        assert got == reason
        assert message.level == v3.NO_AUTH_NO_PRIV and message.msg_id == ber.REQUEST_ID_MIN
        assert authority.stats[reason] == 1
    auth_only = v3.Authority(ENGINE, {b"oasis": UsmUser.from_passphrases(
        "oasis", "SHA", "oasis-auth-key")}, boots=3)
    got, _ = _report_of(auth_only.receive(request(user)))
    assert got == "unsupported_security_level"
    # A message that is not reportable is refused without a word (RFC 3412 7.1.3).
    silent = bytearray(cases["unknown_user"])
    assert authority.receive(bytes(silent).replace(b"\x04\x01\x07", b"\x04\x01\x03", 1)) is None
    assert authority.stats["unknown_user"] == 2
    # The right user still gets in after all that.
    assert isinstance(authority.receive(request(user)), v3.Accepted)
    assert keys.engine_id == ENGINE


def test_time_window_replays_are_refused_and_reports_resync_the_manager():
    clock = FakeClock()
    authority, user = _authority_and_user(clock)
    keys = user.keys_for(ENGINE)
    manager_view = RemoteEngine(ENGINE)
    manager_view.guess(3, 0, clock.now)
    request = v3.encode_request(ber.REQUEST_ID_MIN, user, ENGINE, *manager_view.now(clock.now),
                                b"", _bulk_pdu(ber.REQUEST_ID_MIN))
    clock.now += TIME_WINDOW_S
    assert isinstance(authority.receive(request), v3.Accepted)     # 150 s old: still timely
    clock.now += 1
    refusal = authority.receive(request)                            # replayed 151 s later
    reason, report = _report_of(refusal)
    assert reason == "not_in_time_window"
    assert report.level == v3.AUTH_NO_PRIV and v3.authentic(refusal, report, keys), \
        "the report is signed, so the manager may take its boots and time"
    assert (report.boots, report.engine_time) == (3, 151)
    # The agent reboots: boots 4, time 0. Our old boots are refused until we take the report's.
    authority.clock.restart()
    stale = v3.encode_request(ber.REQUEST_ID_MIN + 1, user, ENGINE, 3, 151, b"",
                              _bulk_pdu(ber.REQUEST_ID_MIN + 1))
    reason, report = _report_of(authority.receive(stale))
    assert reason == "not_in_time_window" and (report.boots, report.engine_time) == (4, 0)
    manager_view.resync(report.boots, report.engine_time, clock.now)
    fresh = v3.encode_request(ber.REQUEST_ID_MIN + 2, user, ENGINE,
                              *manager_view.now(clock.now),
                              b"", _bulk_pdu(ber.REQUEST_ID_MIN + 2))
    assert isinstance(authority.receive(fresh), v3.Accepted)


def test_manager_view_of_time_refuses_old_messages_and_forged_guesses():
    view = RemoteEngine(ENGINE)
    view.guess(2**31 - 1, 5, 0.0)                     # a forged discovery report
    assert view.heard(5, 1000, 0.0)                   # the first authenticated message wins
    assert (view.boots, view.engine_time) == (5, 1000)
    assert view.heard(5, 1200, 100.0)                 # newer: taken
    assert not view.heard(5, 1200 - TIME_WINDOW_S - 101, 200.0)   # older than the window
    assert not view.heard(4, 99999, 200.0)            # an earlier boot
    assert view.heard(6, 3, 200.0) and view.boots == 6   # the agent rebooted


def _valid_messages() -> list[bytes]:
    authority, user = _authority_and_user()
    request = v3.encode_request(ber.REQUEST_ID_MIN, user, ENGINE, 3, 0, b"park",
                                _bulk_pdu(ber.REQUEST_ID_MIN))
    accepted = authority.receive(request)
    assert isinstance(accepted, v3.Accepted)
    probe = v3.discovery_request(5, 6)
    report = authority.receive(probe)
    assert isinstance(report, bytes)
    return [request, _answer(authority, accepted), probe, report]


def test_every_truncation_and_random_corruption_is_refused_cleanly():
    rng = random.Random(1414)
    authority, user = _authority_and_user()
    keys = user.keys_for(ENGINE)
    for valid in _valid_messages():
        mutants = [valid[:cut] for cut in range(len(valid))]
        for _ in range(300):
            mutant = bytearray(valid)
            for _ in range(rng.randint(1, 4)):
                mutant[rng.randrange(len(mutant))] = rng.randrange(256)
            mutants.append(bytes(mutant))
        mutants += [valid + b"\x00", bytes(rng.randrange(256) for _ in range(rng.randrange(600)))]
        for mutant in mutants:
            try:
                message = v3.decode_message(mutant)
            except ber.BerError:
                pass
            else:
                if mutant != valid:
                    assert not v3.authentic(mutant, message, keys)
            outcome = authority.receive(mutant)
            assert outcome is None or isinstance(outcome, (bytes, v3.Accepted))


def test_decoder_refuses_other_versions_models_and_flag_combinations():
    request = _valid_messages()[0]
    assert v3.decode_message(request).user == b"oasis"
    with pytest.raises(ber.BerError, match="not SNMPv3"):
        v3.decode_message(ber.encode_message(1, b"public", ber.GET, b"\x02\x01\x01", 0, 0, []))
    wrong_model = request.replace(b"\x02\x01\x03\x04", b"\x02\x01\x02\x04", 1)
    with pytest.raises(ber.BerError, match="not USM"):
        v3.decode_message(wrong_model)
    no_auth_priv = request.replace(b"\x04\x01\x07", b"\x04\x01\x06", 1)
    with pytest.raises(ber.BerError, match="privacy without authentication"):
        v3.decode_message(no_auth_priv)
