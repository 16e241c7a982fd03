"""SNMPv3 messages (RFC 3412) with USM security (``snmp_usm``), both sides, without pyasn1.

The message is a SEQUENCE of version 3, the header (msgID, msgMaxSize, msgFlags, security
model), the USM security parameters (an OCTET STRING holding the engine ID, boots, time, user
name, the HMAC and the privacy salt) and the scoped PDU (context engine ID, context name, PDU),
encrypted as one OCTET STRING at authPriv. The PDU inside is the v2c one and goes through
``snmp_ber``.

Three users:

- managers (the controller's v3 fast path): `discovery_request`, `encode_request`, then
  `decode_message` and `open_incoming` on what comes back;
- agents (the AP simulator) and the receiver of informs (the controller): an `Authority`, the
  authoritative engine, which checks each request in the order of RFC 3414 3.2, counts and
  reports what fails (usmStats*), and protects its replies;
- the trap receiver: `decode_message` and `open_incoming` against the sending AP's engine.

Every parsing function raises `snmp_ber.BerError` on malformed input and nothing else; USM
failures are `snmp_usm.UsmError` with the usmStats reason.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from core import snmp_ber as ber
from core.snmp_usm import (
    AUTH_NO_PRIV,
    AUTH_PRIV,
    NO_AUTH_NO_PRIV,
    USM_STATS,
    Clock,
    EngineClock,
    LocalizedKeys,
    UsmError,
    UsmUser,
)

FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04
USM_SECURITY_MODEL = 3
#: What this side says it can receive (the largest UDP payload), as net-snmp and pysnmp do.
MAX_MESSAGE_SIZE = 65507
#: SNMP-TARGET-MIB snmpUnknownContexts.0: the report for a context name the agent lacks.
UNKNOWN_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 5, 0)
#: OID of each report counter -> the reason managers see.
REPORT_REASONS = {oid: reason for reason, oid in USM_STATS.items()} | {
    UNKNOWN_CONTEXTS: "unknown_context"}


@dataclass(slots=True)
class Message:
    """A decoded SNMPv3 message. ``data`` is the scoped PDU's whole TLV, or the ciphertext
    when the privacy flag is set; ``auth_at`` is where msgAuthenticationParameters' content
    sits in the datagram (it is zero-filled there to check the HMAC)."""

    msg_id: int
    max_size: int
    flags: int
    engine_id: bytes
    boots: int
    engine_time: int
    user: bytes
    auth_params: bytes
    priv_params: bytes
    auth_at: int
    data: bytes

    @property
    def level(self) -> int:
        return self.flags & (FLAG_AUTH | FLAG_PRIV)

    @property
    def reportable(self) -> bool:
        return bool(self.flags & FLAG_REPORTABLE)


@dataclass(slots=True)
class ScopedPdu:
    """The plaintext scoped PDU: context and the PDU's own TLV bounds inside ``data``."""

    context_engine_id: bytes
    context_name: bytes
    data: bytes
    pdu_start: int
    pdu_end: int

    def pdu(self, oid_cache: dict[bytes, tuple[int, ...]] | None = None
            ) -> tuple[int, int, int, int, list[tuple[tuple[int, ...], int, object]]]:
        """(PDU type, request-id, error-status, error-index, varbinds) with decoded values."""
        return ber.decode_pdu(self.data, self.pdu_start, self.pdu_end, oid_cache)

    def request(self, oid_cache: dict[bytes, tuple[int, ...]] | None = None):
        """The agent's view: (PDU type, request-id TLV, non-repeaters, max-repetitions,
        varbinds with their OID TLVs)."""
        return ber.decode_request_pdu(self.data, self.pdu_start, self.pdu_end, oid_cache)


def _octets(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, start, stop = ber.header(data, pos, end)
    if tag != ber.OCTET_STRING:
        raise ber.BerError(f"expected {what}")
    return start, stop


def _unsigned31(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    value, pos = ber.integer(data, pos, end)
    if not 0 <= value <= 2147483647:
        raise ber.BerError(f"{what} out of range")
    return value, pos


def decode_message(data: bytes) -> Message:
    """Parse an SNMPv3/USM message (RFC 3412 6, RFC 3414 2.4); BerError for anything else."""
    size = len(data)
    tag, pos, end = ber.header(data, 0, size)
    if tag != ber.SEQUENCE or end != size:
        raise ber.BerError("not an SNMP message")
    version, pos = ber.integer(data, pos, end)
    if version != ber.SNMP_V3:
        raise ber.BerError(f"not SNMPv3: version {version}")
    tag, hpos, hend = ber.header(data, pos, end)
    if tag != ber.SEQUENCE:
        raise ber.BerError("expected msgGlobalData")
    msg_id, hpos = _unsigned31(data, hpos, hend, "msgID")
    max_size, hpos = _unsigned31(data, hpos, hend, "msgMaxSize")
    start, hpos = _octets(data, hpos, hend, "msgFlags")
    if hpos - start != 1:
        raise ber.BerError("msgFlags is not one octet")
    flags = data[start]
    model, hpos = ber.integer(data, hpos, hend)
    if hpos != hend:
        raise ber.BerError("trailing octets in msgGlobalData")
    if model != USM_SECURITY_MODEL:
        raise ber.BerError(f"security model {model} is not USM")
    if flags & FLAG_PRIV and not flags & FLAG_AUTH:
        raise ber.BerError("privacy without authentication")
    if max_size < 484:
        raise ber.BerError("msgMaxSize below 484")
    spos, pos = _octets(data, hend, end, "msgSecurityParameters")
    tag, upos, uend = ber.header(data, spos, pos)
    if tag != ber.SEQUENCE or uend != pos:
        raise ber.BerError("expected UsmSecurityParameters")
    start, upos = _octets(data, upos, uend, "msgAuthoritativeEngineID")
    engine_id = data[start:upos]
    if len(engine_id) > 32:
        raise ber.BerError("engine ID longer than 32 octets")
    boots, upos = _unsigned31(data, upos, uend, "msgAuthoritativeEngineBoots")
    engine_time, upos = _unsigned31(data, upos, uend, "msgAuthoritativeEngineTime")
    start, upos = _octets(data, upos, uend, "msgUserName")
    user = data[start:upos]
    if len(user) > 32:
        raise ber.BerError("user name longer than 32 octets")
    auth_at, upos = _octets(data, upos, uend, "msgAuthenticationParameters")
    auth_params = data[auth_at:upos]
    start, upos = _octets(data, upos, uend, "msgPrivacyParameters")
    priv_params = data[start:upos]
    if upos != uend:
        raise ber.BerError("trailing octets in UsmSecurityParameters")
    tag, start, stop = ber.header(data, pos, end)
    if stop != end:
        raise ber.BerError("trailing octets after msgData")
    if flags & FLAG_PRIV:
        if tag != ber.OCTET_STRING:
            raise ber.BerError("expected encryptedPDU")
        payload = data[start:stop]
    else:
        if tag != ber.SEQUENCE:
            raise ber.BerError("expected a plaintext scoped PDU")
        payload = data[pos:stop]
    return Message(msg_id, max_size, flags, engine_id, boots, engine_time, user, auth_params,
                   priv_params, auth_at, payload)


def decode_scoped_pdu(data: bytes, *, padded: bool = False) -> ScopedPdu:
    """The context and PDU of a plaintext scoped PDU; ``padded`` lets DES padding follow it."""
    tag, pos, end = ber.header(data, 0, len(data))
    if tag != ber.SEQUENCE or (end != len(data) and not padded):
        raise ber.BerError("not a scoped PDU")
    start, pos = _octets(data, pos, end, "contextEngineID")
    context_engine_id = data[start:pos]
    start, pos = _octets(data, pos, end, "contextName")
    context_name = data[start:pos]
    _, _, pdu_end = ber.header(data, pos, end)
    if pdu_end != end:
        raise ber.BerError("trailing octets in the scoped PDU")
    return ScopedPdu(context_engine_id, context_name, data, pos, end)


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    return ber.tlv(ber.SEQUENCE, ber.tlv(ber.OCTET_STRING, context_engine_id)
                   + ber.tlv(ber.OCTET_STRING, context_name) + pdu)


def encode_message(msg_id: int, flags: int, engine_id: bytes, boots: int, engine_time: int,
                   user: bytes, keys: LocalizedKeys | None, scoped_pdu: bytes,
                   max_size: int = MAX_MESSAGE_SIZE) -> bytes:
    """A whole v3 message: the scoped PDU encrypted when ``flags`` asks for privacy, the HMAC
    filled in when it asks for authentication (``keys`` for the authoritative engine)."""
    priv_params = b""
    if flags & FLAG_PRIV:
        assert keys is not None   # a privacy flag comes from a user with keys
        ciphertext, priv_params = keys.encrypt(scoped_pdu, boots, engine_time)
        msg_data = ber.tlv(ber.OCTET_STRING, ciphertext)
    else:
        msg_data = scoped_pdu
    mac_length = keys.mac_length if keys is not None and flags & FLAG_AUTH else 0
    before_auth = (ber.tlv(ber.OCTET_STRING, engine_id)
                   + ber.tlv(ber.INTEGER, ber.encode_signed(boots))
                   + ber.tlv(ber.INTEGER, ber.encode_signed(engine_time))
                   + ber.tlv(ber.OCTET_STRING, user))
    usm_content = (before_auth + ber.tlv(ber.OCTET_STRING, bytes(mac_length))
                   + ber.tlv(ber.OCTET_STRING, priv_params))
    usm = ber.tlv(ber.SEQUENCE, usm_content)
    security = ber.tlv(ber.OCTET_STRING, usm)
    global_data = ber.tlv(ber.SEQUENCE, ber.tlv(ber.INTEGER, ber.encode_signed(msg_id))
                          + ber.tlv(ber.INTEGER, ber.encode_signed(max_size))
                          + bytes((ber.OCTET_STRING, 1, flags)) + b"\x02\x01\x03")
    body = b"\x02\x01\x03" + global_data + security + msg_data
    message = ber.tlv(ber.SEQUENCE, body)
    if not mac_length:
        return message
    assert keys is not None
    # The HMAC field's content: after the outer header, version, header data, the security
    # parameters' two headers and the fields before it, and its own two-octet header.
    auth_at = ((len(message) - len(body)) + 3 + len(global_data) + (len(security) - len(usm))
               + (len(usm) - len(usm_content)) + len(before_auth) + 2)
    signed = bytearray(message)
    signed[auth_at:auth_at + mac_length] = keys.mac(message)
    return bytes(signed)


def authentic(data: bytes, message: Message, keys: LocalizedKeys) -> bool:
    """Whether ``message`` (decoded from ``data``) carries the right HMAC for ``keys``."""
    if len(message.auth_params) != keys.mac_length or not keys.mac_length:
        return False
    zeroed = bytearray(data)
    zeroed[message.auth_at:message.auth_at + keys.mac_length] = bytes(keys.mac_length)
    return keys.verify(zeroed, message.auth_params)


def open_scoped_pdu(message: Message, keys: LocalizedKeys | None) -> ScopedPdu:
    """The plaintext scoped PDU of an (already authenticated) message. A ciphertext that does
    not decrypt to a scoped PDU is a decryption error (a wrong privacy key), as net-snmp has it."""
    if not message.flags & FLAG_PRIV:
        return decode_scoped_pdu(message.data)
    if keys is None:
        raise UsmError("decryption_error", "no privacy key")
    plaintext = keys.decrypt(message.data, message.boots, message.engine_time,
                             message.priv_params)
    try:
        return decode_scoped_pdu(plaintext, padded=keys.priv is not None
                                 and keys.priv.cipher == "des")
    except ber.BerError:
        raise UsmError("decryption_error", "the ciphertext does not decrypt to a scoped PDU") \
            from None


# --- the manager's side ------------------------------------------------------------------------

def discovery_request(msg_id: int, request_id: int) -> bytes:
    """The engine-ID discovery probe (RFC 3414 4): noAuthNoPriv, reportable, no engine ID, no
    user, an empty GET. The agent answers with a usmStatsUnknownEngineIDs report that carries
    its engine ID, boots and time."""
    pdu = ber.encode_pdu(ber.GET, ber.tlv(ber.INTEGER, ber.encode_signed(request_id)), 0, 0, [])
    return encode_message(msg_id, FLAG_REPORTABLE, b"", 0, 0, b"", None,
                          encode_scoped_pdu(b"", b"", pdu))


def encode_request(msg_id: int, user: UsmUser, engine_id: bytes, boots: int,
                   engine_time: int, context_name: bytes, pdu: bytes) -> bytes:
    """A reportable request at the user's security level to the engine ``engine_id``."""
    keys = user.keys_for(engine_id) if user.level else None
    flags = user.level | FLAG_REPORTABLE
    return encode_message(msg_id, flags, engine_id, boots, engine_time, user.name, keys,
                          encode_scoped_pdu(engine_id, context_name, pdu))


def report_reason(varbinds: list[tuple[tuple[int, ...], int, object]]) -> str:
    """What a Report PDU says went wrong: a usmStats reason, ``unknown_context`` or the OID."""
    if not varbinds:
        return "empty report"
    oid = varbinds[0][0]
    return REPORT_REASONS.get(oid, ".".join(map(str, oid)))


# --- the authoritative side: agents and the receiver of informs -------------------------------

@dataclass(slots=True)
class Accepted:
    """A request that passed every USM check: reply with `Authority.reply`."""

    message: Message
    user: UsmUser
    keys: LocalizedKeys | None
    scoped: ScopedPdu


class Authority:
    """An authoritative SNMP engine's USM (RFC 3414 3.2): checks each incoming message, counts
    and reports what fails, and protects the replies. ``users`` is the user table (name ->
    `UsmUser`); the caller may pass another table per message (`receive`), e.g. the user of
    the AP a datagram came from."""

    def __init__(self, engine_id: bytes, users: Mapping[bytes, UsmUser] | None = None, *,
                 boots: int = 1, clock: Clock = time.monotonic):
        if not 5 <= len(engine_id) <= 32:
            raise ValueError("an snmpEngineID has 5 to 32 octets")
        self.engine_id = engine_id
        self.users: Mapping[bytes, UsmUser] = users or {}
        self.clock = EngineClock(boots, clock)
        self.stats = dict.fromkeys(USM_STATS, 0)
        #: Datagrams dropped without a report (malformed, not reportable).
        self.dropped = 0

    def receive(self, data: bytes, users: Mapping[bytes, UsmUser] | None = None
                ) -> Accepted | bytes | None:
        """``Accepted``, or the report to send back, or None (drop without a word)."""
        try:
            message = decode_message(data)
        except ber.BerError:
            self.dropped += 1
            return None
        table = self.users if users is None else users
        try:
            if message.engine_id != self.engine_id:
                raise UsmError("unknown_engine_id")
            user = table.get(message.user)
            if user is None:
                raise UsmError("unknown_user")
            if message.level & ~user.level:
                raise UsmError("unsupported_security_level")
            keys = user.keys_for(self.engine_id) if user.level else None
            if message.flags & FLAG_AUTH:
                assert keys is not None   # the user's level has auth, so it has keys
                if not authentic(data, message, keys):
                    raise UsmError("wrong_digest")
                if not self.clock.in_window(message.boots, message.engine_time):
                    # Reported authenticated, so the manager may trust our boots and time.
                    return self._report(message, "not_in_time_window", keys)
            scoped = open_scoped_pdu(message, keys)
        except UsmError as exc:
            return self._report(message, exc.reason)
        except ber.BerError:
            self.dropped += 1
            return None
        return Accepted(message, user, keys, scoped)

    def _report(self, message: Message, reason: str, keys: LocalizedKeys | None = None
                ) -> bytes | None:
        self.stats[reason] += 1
        if not message.reportable:
            return None
        request_id = _plain_request_id(message)
        return self.report(message, USM_STATS[reason], self.stats[reason], keys, request_id)

    def report(self, message: Message, oid: tuple[int, ...], counter: int,
               keys: LocalizedKeys | None = None, request_id: int = 0,
               context_name: bytes = b"") -> bytes:
        """A Report PDU answering ``message``: noAuthNoPriv, or authNoPriv with ``keys``."""
        pdu = ber.encode_pdu(ber.REPORT, ber.tlv(ber.INTEGER, ber.encode_signed(request_id)),
                             0, 0, [ber.encode_varbind(ber.encode_oid(oid), ber.COUNTER32,
                                                       counter & 0xFFFFFFFF)])
        flags = FLAG_AUTH if keys is not None else 0
        boots, engine_time = self.clock.boots, self.clock.time()
        return encode_message(message.msg_id, flags, self.engine_id, boots, engine_time,
                              message.user, keys,
                              encode_scoped_pdu(self.engine_id, context_name, pdu))

    def reply(self, accepted: Accepted, pdu: bytes) -> bytes:
        """The response to an accepted request, at the request's security level, in the
        request's context (RFC 3412 7.1: an inform's contextEngineID is its sender's, and
        net-snmp drops a response that does not echo it)."""
        message, scoped = accepted.message, accepted.scoped
        return encode_message(message.msg_id, message.level, self.engine_id, self.clock.boots,
                              self.clock.time(), message.user, accepted.keys,
                              encode_scoped_pdu(scoped.context_engine_id or self.engine_id,
                                                scoped.context_name, pdu))


def _plain_request_id(message: Message) -> int:
    """The request-id of a plaintext request, for its report (0 when it cannot be read)."""
    if message.flags & FLAG_PRIV:
        return 0
    try:
        return decode_scoped_pdu(message.data).pdu()[1]
    except ber.BerError:
        return 0


__all__ = [
    "AUTH_NO_PRIV",
    "AUTH_PRIV",
    "FLAG_AUTH",
    "FLAG_PRIV",
    "FLAG_REPORTABLE",
    "MAX_MESSAGE_SIZE",
    "NO_AUTH_NO_PRIV",
    "REPORT_REASONS",
    "UNKNOWN_CONTEXTS",
    "Accepted",
    "Authority",
    "Message",
    "ScopedPdu",
    "authentic",
    "decode_message",
    "decode_scoped_pdu",
    "discovery_request",
    "encode_message",
    "encode_request",
    "encode_scoped_pdu",
    "open_scoped_pdu",
    "report_reason",
]
