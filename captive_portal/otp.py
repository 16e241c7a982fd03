"""One-time login codes sent by SMS: short-lived, few tries, and rationed.

Codes are random digits, stored only as an HMAC (keyed with the app's secret) so a copy of the
database does not reveal live codes. A code is bound to the phone *and* the device (MAC) that
asked for it, expires after ``otp_ttl_s``, and dies after ``otp_max_attempts`` wrong tries.
Sending is rationed so the portal can be used neither to flood someone's phone nor to pump
SMS at the municipality's cost: per phone number over the last hour, with a minimum gap between
two codes to one number; per *source* over the last hour (the device's MAC from the gateway's
signed claim, else the client's address: never anything a form says, so filing another report
or typing another number does not reset it); and under global ceilings per minute and per
hour. The counts come from the ``portal_otps`` table itself, in the transaction that adds the
code, so they hold across restarts, workers and nodes.

The device a code is bound to, and a source that is a device, are kept as a keyed hash of its
MAC (the same pepper), never the MAC: equal devices still compare equal, and the store holds no
MAC once the visitor's session is over (`captive_portal.sessions`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from captive_portal.config import PortalConfig
from core.errors import CodedError
from core.store import Store


class OtpError(CodedError):
    """``code`` is a portal error code (``sms_rate_phone``, ``code_invalid``, ...)."""


class OneTimeCodes:
    def __init__(self, store: Store, config: PortalConfig, pepper: bytes,
                 clock: Callable[[], float]):
        self.store = store
        self.config = config
        self.pepper = pepper
        self.clock = clock

    def _hash(self, phone: str, code: str) -> str:
        return hmac.new(self.pepper, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    def _device(self, client_mac: str) -> str:
        """What the store keeps of the device a code is bound to: a keyed hash of its MAC (a
        report's binding, ``report:<tracking>``, is kept as it is)."""
        if client_mac.startswith("report:"):
            return client_mac
        digest = hmac.new(self.pepper, f"device|{client_mac}".encode(), hashlib.sha256)
        return "device:" + digest.hexdigest()[:32]

    def _source(self, source: str) -> str:
        kind, _, value = source.partition(":")
        return f"mac:{self._device(value)[7:]}" if kind == "mac" else source

    def issue(self, phone: str, client_mac: str, source: str | None = None) -> str:
        """A new code for ``phone``, bound to ``client_mac`` (the device, or a report), asked
        for by ``source`` (`source_of`; the device by default), or OtpError if rationed."""
        now = self.clock()
        hour_ago = now - 3600
        source = self._source(source or f"mac:{client_mac}")
        client_mac = self._device(client_mac)
        config = self.config
        with self.store.transaction() as conn:
            per_phone, last_at = conn.execute(
                "SELECT count(*), max(created_at) FROM portal_otps WHERE phone = ? "
                "AND created_at > ?", (phone, hour_ago)).fetchone()
            per_source = conn.execute(
                "SELECT count(*) FROM portal_otps WHERE source = ? AND created_at > ?",
                (source, hour_ago)).fetchone()[0]
            last_hour, last_minute = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE created_at > ?) FROM portal_otps "
                "WHERE created_at > ?", (now - 60, hour_ago)).fetchone()
            if last_at is not None and now - last_at < config.otp_resend_after_s:
                raise OtpError("sms_resend_wait")
            if per_phone >= config.otp_per_phone_per_hour:
                raise OtpError("sms_rate_phone")
            if per_source >= config.otp_per_client_per_hour:
                raise OtpError("sms_rate_client")
            if (last_minute >= config.otp_global_per_minute
                    or last_hour >= config.otp_global_per_hour):
                raise OtpError("sms_busy")
            code = "".join(secrets.choice("0123456789") for _ in range(config.otp_length))
            conn.execute(
                "INSERT INTO portal_otps (phone, client_mac, source, code_hash, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (phone, client_mac, source, self._hash(phone, code), now,
                 now + config.otp_ttl_s))
        return code

    def pending(self, phone: str, client_mac: str) -> bool:
        """Whether a code sent to ``phone`` for this device is still live (unused, unexpired):
        the visitor asking again within the resend gap (or a post retried after a node died)
        is shown the form for that code instead of a refusal."""
        row = self.store.conn.execute(
            "SELECT count(*) FROM portal_otps WHERE phone = ? AND client_mac = ? "
            "AND used_at IS NULL AND expires_at >= ? AND attempts < ?",
            (phone, self._device(client_mac), self.clock(),
             self.config.otp_max_attempts)).fetchone()
        return row[0] > 0

    def verify(self, phone: str, client_mac: str, code: str) -> None:
        """Accept ``code`` once, or raise OtpError (invalid, expired, too many attempts).

        The same code from the same device is accepted again until it expires: a post retried
        because its answer was lost (the node that logged the visitor in died before replying)
        logs the same device in again rather than refusing a code the visitor typed right.
        """
        now = self.clock()
        client_mac = self._device(client_mac)
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT id, code_hash, expires_at, attempts FROM portal_otps WHERE phone = ? "
                "AND client_mac = ? AND used_at IS NULL ORDER BY created_at DESC LIMIT 1",
                (phone, client_mac)).fetchone()
            if row is None:
                if self._used_again(conn, phone, client_mac, code, now):
                    return
                raise OtpError("code_expired")
            otp_id, code_hash, expires_at, attempts = row
            if attempts >= self.config.otp_max_attempts:
                raise OtpError("code_attempts")
            if now > expires_at:
                raise OtpError("code_expired")
            if not hmac.compare_digest(code_hash, self._hash(phone, code)):
                conn.execute("UPDATE portal_otps SET attempts = attempts + 1 WHERE id = ?",
                             (otp_id,))
                if attempts + 1 >= self.config.otp_max_attempts:
                    # Commit the counted attempt: raising inside would roll it back.
                    failure = "code_attempts"
                else:
                    failure = "code_invalid"
            else:
                conn.execute("UPDATE portal_otps SET used_at = ? WHERE id = ?", (now, otp_id))
                failure = None
        if failure:
            raise OtpError(failure)

    def _used_again(self, conn, phone: str, device: str, code: str, now: float) -> bool:
        """Whether ``code`` is the device's newest code, already used and not expired."""
        row = conn.execute(
            "SELECT code_hash, expires_at FROM portal_otps WHERE phone = ? AND client_mac = ? "
            "AND used_at IS NOT NULL ORDER BY used_at DESC LIMIT 1", (phone, device)).fetchone()
        return (row is not None and now <= row[1]
                and hmac.compare_digest(row[0], self._hash(phone, code)))


def source_of(mac: str | None, address: str | None) -> str:
    """Who asks for a code, as the SMS budget counts it: the device's MAC when the gateway
    vouched for it (a signed claim, or the WiFi session it opened), else the client's address."""
    return f"mac:{mac}" if mac else f"ip:{address or 'unknown'}"


__all__ = ["OneTimeCodes", "OtpError", "source_of"]
