"""SNMPv3's User-based Security Model (USM): keys, authentication, privacy and timeliness.

Why not pysnmp: through pysnmp a v3 poll cost ~5.6 ms of CPU (pyasn1 and the engine's layers),
so 2,000 APs over authPriv needed ~11 s of CPU per cycle where v2c needed 0.5 s. USM itself is
small: a key derived once per pass phrase, localised once per agent (engine), one HMAC and one
cipher call per message, and a few comparisons of engine boots and time. The cryptography is
`cryptography`'s: hashes, HMAC, constant-time comparison, AES, and CFB mode and TripleDES from its
``decrepit`` modules, where it keeps legacy algorithms (hence ``cryptography>=47``); this module
only arranges what the RFCs say around it. The message grammar lives in ``snmp_v3.py``; both are
used by the controller's v3 fast path, its trap receiver and the AP simulator.

What it follows:

- RFC 3414: password-to-key (1 MiB of the repeated pass phrase, hashed), key localisation
  ``H(Ku || engineID || Ku)``, HMAC-MD5-96 and HMAC-SHA-96, CBC-DES (key and pre-IV from the
  localised key, salt = boots || counter), the 150-second time window of section 3.2.
- RFC 7860: HMAC-SHA-2 (SHA-224/256/384/512 truncated to 16/24/32/48 octets), keys localised
  with the same hash.
- RFC 3826: AES-128 in CFB-128 mode, IV = boots || time || 64-bit salt.
- AES-192/256: no RFC. Two key extensions are in use when the localised key is shorter than the
  AES key: draft-blumenthal-aes-usm-04 (``Kul || H(Kul)``; net-snmp ``AES-192``/``AES-256``,
  pysnmp's "Blumenthal" protocols; called AES192/AES256 here) and the one from
  draft-reeder-snmpv3-usm-3desede-00 (``Kul || localise(password_to_key(Kul))``; Cisco, net-snmp
  ``AES-192-C``/``AES-256-C``; AES192C/AES256C here). Both are checked against net-snmp and
  pysnmp in the tests.
- DES is offered, with a warning where it is configured (``DES_WARNING``): it is broken, but some
  deployed APs offer nothing else, and refusing would leave them unmonitored or on v2c, which
  is worse. 3DES-EDE (draft-reeder) is not offered: net-snmp as packaged does not speak it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import constant_time, hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: RFC 3414 A.2: the pass phrase is repeated to fill this many octets, then hashed.
EXPANDED_PASSPHRASE = 1_048_576
#: Pass phrases shorter than this are refused (RFC 3414 11.2, as net-snmp does).
MIN_PASSPHRASE = 8
#: RFC 3414 2.2.3: the window, in seconds, around an engine's time in which a message is timely.
TIME_WINDOW_S = 150
#: snmpEngineBoots and snmpEngineTime top out here; an engine at BOOTS_MAX accepts nothing.
BOOTS_MAX = 2147483647

DES_WARNING = ("SNMPv3 DES privacy has a 56-bit key and is broken; it is accepted for APs that "
               "offer nothing else. Prefer AES.")


@dataclass(frozen=True)
class AuthProtocol:
    """An authentication protocol: its hash and how many octets of the HMAC the message carries."""

    name: str
    algorithm: type[hashes.HashAlgorithm]
    mac_length: int

    def hash(self, data: bytes) -> bytes:
        digest = hashes.Hash(self.algorithm())
        digest.update(data)
        return digest.finalize()


#: Security levels (the low two bits of msgFlags).
NO_AUTH_NO_PRIV, AUTH_NO_PRIV, AUTH_PRIV = 0, 1, 3


@dataclass(frozen=True)
class PrivProtocol:
    """A privacy protocol: cipher, key length and, for AES-192/256, the key extension."""

    name: str
    cipher: str                 # "des" or "aes"
    key_length: int             # octets taken from the (extended) localised key
    extension: str | None = None  # "blumenthal", "reeder" or None


AUTH_PROTOCOLS: Mapping[str, AuthProtocol] = MappingProxyType({
    "MD5": AuthProtocol("MD5", hashes.MD5, 12),
    "SHA": AuthProtocol("SHA", hashes.SHA1, 12),
    "SHA224": AuthProtocol("SHA224", hashes.SHA224, 16),
    "SHA256": AuthProtocol("SHA256", hashes.SHA256, 24),
    "SHA384": AuthProtocol("SHA384", hashes.SHA384, 32),
    "SHA512": AuthProtocol("SHA512", hashes.SHA512, 48),
})
PRIV_PROTOCOLS: Mapping[str, PrivProtocol] = MappingProxyType({
    # DES takes 16 octets: the key, then the pre-IV.
    "DES": PrivProtocol("DES", "des", 16),
    "AES": PrivProtocol("AES", "aes", 16),
    "AES192": PrivProtocol("AES192", "aes", 24, "blumenthal"),
    "AES256": PrivProtocol("AES256", "aes", 32, "blumenthal"),
    "AES192C": PrivProtocol("AES192C", "aes", 24, "reeder"),
    "AES256C": PrivProtocol("AES256C", "aes", 32, "reeder"),
})


class UsmError(Exception):
    """A message failed a USM check. ``reason`` names the usmStats counter it counts against
    (``USM_STATS`` keys); the agent answers with a report, a manager tells the operator."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


#: usmStats counters (SNMP-USER-BASED-SM-MIB, 1.3.6.1.6.3.15.1.1.N.0) by reason.
USM_STATS: Mapping[str, tuple[int, ...]] = MappingProxyType({
    "unsupported_security_level": (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0),
    "not_in_time_window": (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0),
    "unknown_user": (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0),
    "unknown_engine_id": (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0),
    "wrong_digest": (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0),
    "decryption_error": (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0),
})
#: What each reason means to an operator looking at an AP.
REASON_TEXT: Mapping[str, str] = MappingProxyType({
    "unsupported_security_level": "the AP does not offer this security level for the user",
    "not_in_time_window": "the AP keeps rejecting our engine boots/time (clock out of window)",
    "unknown_user": "the AP does not know the user",
    "unknown_engine_id": "the AP does not accept its own engine ID from us",
    "wrong_digest": "wrong auth key or auth protocol",
    "decryption_error": "wrong privacy key or privacy protocol",
    "unknown_context": "the AP does not know the context name",
})


# --- keys --------------------------------------------------------------------------------------

def password_to_key(passphrase: bytes, auth: AuthProtocol) -> bytes:
    """Ku (RFC 3414 A.2.1 / A.2.2, RFC 7860 9.3): the hash of the pass phrase repeated to 1 MiB.
    ~2 ms: callers keep the result (`UsmUser` does)."""
    if not passphrase:
        raise ValueError("empty pass phrase")
    repeated = passphrase * (EXPANDED_PASSPHRASE // len(passphrase) + 1)
    return auth.hash(repeated[:EXPANDED_PASSPHRASE])


def localize_key(ku: bytes, engine_id: bytes, auth: AuthProtocol) -> bytes:
    """Kul = H(Ku || snmpEngineID || Ku) (RFC 3414 A.2)."""
    return auth.hash(ku + engine_id + ku)


def privacy_key(priv_ku: bytes, engine_id: bytes, auth: AuthProtocol,
                priv: PrivProtocol) -> bytes:
    """The privacy key material for one engine: localised, extended if the cipher needs more
    octets than the hash gives (AES-192/256 with MD5 or SHA-1), cut to the cipher's length."""
    kul = localize_key(priv_ku, engine_id, auth)
    while len(kul) < priv.key_length:
        if priv.extension == "blumenthal":
            kul += auth.hash(kul)
        elif priv.extension == "reeder":
            kul += localize_key(password_to_key(kul, auth), engine_id, auth)
        else:
            raise ValueError(f"{priv.name} needs {priv.key_length} key octets; "
                             f"{auth.name} localises only {len(kul)}")
    return kul[:priv.key_length]


@dataclass(frozen=True)
class UsmUser:
    """A USM user as a manager or an agent knows it: name, protocols and master keys (Ku).

    The master keys are derived once from the pass phrases (`from_passphrases`); the keys for
    one engine are localised on first use and kept (`keys_for`), so 2,000 APs sharing a user
    cost two password-to-key runs and 2,000 cheap localisations.
    """

    name: bytes
    auth: AuthProtocol | None = None
    priv: PrivProtocol | None = None
    auth_ku: bytes = field(default=b"", repr=False)
    priv_ku: bytes = field(default=b"", repr=False)
    _localized: dict[bytes, LocalizedKeys] = field(default_factory=dict, repr=False,
                                                     compare=False, hash=False)

    @classmethod
    def from_passphrases(cls, name: str | bytes, auth_proto: str | None = None,
                         auth_passphrase: str | bytes | None = None,
                         priv_proto: str | None = None,
                         priv_passphrase: str | bytes | None = None) -> UsmUser:
        """A user from its pass phrases; no auth pass phrase: noAuthNoPriv, no priv: authNoPriv.
        ValueError names the protocol or pass phrase that is wrong."""
        raw_name = name.encode() if isinstance(name, str) else name
        if len(raw_name) > 32:
            raise ValueError("user: at most 32 octets")
        if not auth_passphrase:
            if priv_passphrase:
                raise ValueError("a privacy pass phrase needs an auth pass phrase: USM has no "
                                 "noAuthPriv level")
            return cls(raw_name)
        auth = _protocol(AUTH_PROTOCOLS, auth_proto or "SHA", "auth_proto")
        auth_ku = password_to_key(_passphrase(auth_passphrase, "auth"), auth)
        if not priv_passphrase:
            return cls(raw_name, auth, None, auth_ku)
        priv = _protocol(PRIV_PROTOCOLS, priv_proto or "AES", "priv_proto")
        priv_ku = password_to_key(_passphrase(priv_passphrase, "priv"), auth)
        if priv.key_length > auth.algorithm.digest_size and priv.extension is None:
            raise ValueError(f"{priv.name} cannot be keyed from {auth.name}")
        return cls(raw_name, auth, priv, auth_ku, priv_ku)

    @property
    def level(self) -> int:
        if self.auth is None:
            return NO_AUTH_NO_PRIV
        return AUTH_PRIV if self.priv is not None else AUTH_NO_PRIV

    def keys_for(self, engine_id: bytes) -> LocalizedKeys:
        """The user's keys localised to ``engine_id`` (computed once per engine)."""
        keys = self._localized.get(engine_id)
        if keys is None:
            if len(self._localized) >= 65536:   # a peer cycling engine IDs must not grow this
                self._localized.clear()
            keys = LocalizedKeys(self, engine_id)
            self._localized[engine_id] = keys
        return keys


def _protocol(table: Mapping, name: str, key: str):
    try:
        return table[name.upper()]
    except KeyError:
        raise ValueError(f"{key}: {name!r} not one of {', '.join(table)}") from None


def _passphrase(value: str | bytes, which: str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) < MIN_PASSPHRASE:
        raise ValueError(f"{which} pass phrase: at least {MIN_PASSPHRASE} characters (RFC 3414)")
    return raw


class LocalizedKeys:
    """One user's keys for one engine: the HMAC and the cipher of every message to and from it."""

    __slots__ = ("_cipher", "_hmac", "_pre_iv", "_salt", "auth", "engine_id", "priv")

    def __init__(self, user: UsmUser, engine_id: bytes):
        self.engine_id = engine_id
        self.auth = user.auth
        self.priv = user.priv
        self._hmac: crypto_hmac.HMAC | None = None
        self._cipher: algorithms.AES | TripleDES | None = None
        self._pre_iv = b""
        if user.auth is not None:
            auth_key = localize_key(user.auth_ku, engine_id, user.auth)
            # Keyed once; every message copies it, which skips the key schedule.
            self._hmac = crypto_hmac.HMAC(auth_key, user.auth.algorithm())
        if user.priv is not None and user.auth is not None:
            material = privacy_key(user.priv_ku, engine_id, user.auth, user.priv)
            # Keyed once too: the cipher objects are made per message only for their IV.
            if user.priv.cipher == "des":
                # Single DES as TripleDES with K1 = K2 = K3 (`cryptography` has no plain DES).
                self._cipher, self._pre_iv = TripleDES(material[:8] * 3), material[8:16]
            else:
                self._cipher = algorithms.AES(material)
        # RFC 3826 3.1.2.1 / RFC 3414 8.1.1.1: a counter, started anywhere, one step a message.
        self._salt = int.from_bytes(os.urandom(8), "big")

    @property
    def mac_length(self) -> int:
        return self.auth.mac_length if self.auth is not None else 0

    def mac(self, whole_message: bytes | bytearray) -> bytes:
        """msgAuthenticationParameters for ``whole_message`` (its own field zero-filled)."""
        if self._hmac is None or self.auth is None:
            raise UsmError("unsupported_security_level", "the user has no auth key")
        keyed = self._hmac.copy()
        keyed.update(whole_message)
        return keyed.finalize()[:self.auth.mac_length]

    def verify(self, whole_message: bytes | bytearray, received: bytes) -> bool:
        """``received`` is the MAC of ``whole_message`` (whose auth field is zero-filled)."""
        return len(received) == self.mac_length and constant_time.bytes_eq(
            self.mac(whole_message), received)

    def encrypt(self, plaintext: bytes, boots: int, engine_time: int) -> tuple[bytes, bytes]:
        """(ciphertext, msgPrivacyParameters) of a scoped PDU sent under ``boots``/``time``
        of the authoritative engine."""
        if self.priv is None or self._cipher is None:
            raise UsmError("unsupported_security_level", "the user has no privacy key")
        self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
        if self.priv.cipher == "des":
            salt = boots.to_bytes(4, "big") + (self._salt & 0xFFFFFFFF).to_bytes(4, "big")
            iv = bytes(a ^ b for a, b in zip(self._pre_iv, salt))
            padded = plaintext + b"\x00" * (-len(plaintext) % 8)
            encryptor = Cipher(self._cipher, modes.CBC(iv)).encryptor()
            return encryptor.update(padded) + encryptor.finalize(), salt
        salt = self._salt.to_bytes(8, "big")
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        encryptor = Cipher(self._cipher, CFB(iv)).encryptor()
        return encryptor.update(plaintext) + encryptor.finalize(), salt

    def decrypt(self, ciphertext: bytes, boots: int, engine_time: int,
                priv_params: bytes) -> bytes:
        """The scoped PDU (DES: with its padding); UsmError decryption_error when the
        parameters cannot be right (whether the key was is seen when the result is parsed)."""
        if self.priv is None or self._cipher is None:
            raise UsmError("unsupported_security_level", "the user has no privacy key")
        if len(priv_params) != 8:
            raise UsmError("decryption_error", "msgPrivacyParameters is not 8 octets")
        if self.priv.cipher == "des":
            if len(ciphertext) % 8:
                raise UsmError("decryption_error", "DES ciphertext is not whole blocks")
            iv = bytes(a ^ b for a, b in zip(self._pre_iv, priv_params))
            decryptor = Cipher(self._cipher, modes.CBC(iv)).decryptor()
        else:
            iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + priv_params
            decryptor = Cipher(self._cipher, CFB(iv)).decryptor()
        return decryptor.update(ciphertext) + decryptor.finalize()


# --- timeliness --------------------------------------------------------------------------------

Clock = Callable[[], float]


class EngineClock:
    """snmpEngineBoots and snmpEngineTime of an authoritative engine (an agent, or the trap
    receiver for informs). ``restart()`` is a reboot: boots + 1, time from zero."""

    def __init__(self, boots: int = 1, clock: Clock = time.monotonic):
        if not 0 <= boots <= BOOTS_MAX:
            raise ValueError(f"engine boots {boots} out of range")
        self.boots = boots
        self._clock = clock
        self._started = clock()

    def time(self) -> int:
        elapsed = int(self._clock() - self._started)
        if elapsed > BOOTS_MAX:    # RFC 3414 2.2.2: time wraps into the next boot
            self.restart()
            return 0
        return elapsed

    def restart(self) -> None:
        self.boots = min(self.boots + 1, BOOTS_MAX)
        self._started = self._clock()

    def in_window(self, boots: int, engine_time: int) -> bool:
        """RFC 3414 3.2 step 7a: the authoritative engine's check of an incoming message."""
        return (boots == self.boots != BOOTS_MAX
                and abs(engine_time - self.time()) <= TIME_WINDOW_S)


@dataclass
class RemoteEngine:
    """A non-authoritative engine's view of an authoritative one (RFC 3414 2.3): its ID, boots,
    and time, kept running from when it was last heard.

    Values from an unauthenticated message (the discovery report) are only a first guess; the
    first authenticated message replaces them whatever they were, so a forged report cannot
    lock the manager out with a boots value from the future.
    """

    engine_id: bytes
    boots: int = 0
    engine_time: int = 0
    #: Local clock reading when ``engine_time`` was heard.
    heard_at: float = 0.0
    #: latestReceivedEngineTime.
    latest: int = 0
    confirmed: bool = False

    def now(self, local_now: float) -> tuple[int, int]:
        """(boots, time) to put in a message sent at ``local_now``."""
        return self.boots, min(BOOTS_MAX, self.engine_time + max(0, int(local_now - self.heard_at)))

    def guess(self, boots: int, engine_time: int, local_now: float) -> None:
        """Boots and time from an unauthenticated report: used until something authenticated
        says otherwise."""
        if not self.confirmed:
            self.boots, self.engine_time, self.latest, self.heard_at = (
                boots, engine_time, engine_time, local_now)

    def heard(self, boots: int, engine_time: int, local_now: float) -> bool:
        """An authenticated message carried ``boots``/``time``: update (RFC 3414 3.2 step 7b)
        and say whether it was timely. False is notInTimeWindow: the message is dropped."""
        if not self.confirmed:
            self.boots, self.engine_time, self.latest, self.heard_at = (
                boots, engine_time, engine_time, local_now)
            self.confirmed = True
            return boots != BOOTS_MAX
        if boots > self.boots or (boots == self.boots and engine_time > self.latest):
            self.boots, self.engine_time, self.latest, self.heard_at = (
                boots, engine_time, engine_time, local_now)
        _, current = self.now(local_now)
        return not (self.boots == BOOTS_MAX or boots < self.boots
                    or (boots == self.boots and engine_time < current - TIME_WINDOW_S))

    def resync(self, boots: int, engine_time: int, local_now: float) -> None:
        """An authenticated notInTimeWindow report: the agent's boots and time, taken as they
        are (the agent rebooted, or our guess was wrong)."""
        self.boots, self.engine_time, self.latest, self.heard_at = (
            boots, engine_time, engine_time, local_now)
        self.confirmed = True


__all__ = [
    "AUTH_NO_PRIV",
    "AUTH_PRIV",
    "AUTH_PROTOCOLS",
    "BOOTS_MAX",
    "DES_WARNING",
    "MIN_PASSPHRASE",
    "NO_AUTH_NO_PRIV",
    "PRIV_PROTOCOLS",
    "REASON_TEXT",
    "TIME_WINDOW_S",
    "USM_STATS",
    "AuthProtocol",
    "EngineClock",
    "LocalizedKeys",
    "PrivProtocol",
    "RemoteEngine",
    "UsmError",
    "UsmUser",
    "localize_key",
    "password_to_key",
    "privacy_key",
]
