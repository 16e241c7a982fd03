"""The portal's settings: the ``[portal]`` and ``[sms]`` sections of ``oasis.toml``.

Registered with `core.config` through the ``oasis.config`` entry points and loaded like every
other section (defaults, then the file, then ``OASIS_PORTAL_<KEY>`` / ``OASIS_SMS_<KEY>``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.config import Config, host_port

#: Locales the portal ships catalogues for; the first is the default.
LOCALES = ("ar", "en")


@dataclass
class PortalConfig:
    """Visitor-facing behaviour: limits of a session, one-time codes, rate limits."""

    listen: str = "127.0.0.1:8081"
    #: Worker processes of ``oasis portal serve`` (each with its threads and MQTT link); the
    #: portal inside ``oasis run`` is one process whatever this says.
    workers: int = 2
    #: Requests one worker serves at once (a login holds its thread until the gateway acks).
    threads: int = 8
    #: The portal's public base URL (what gateways redirect to); https in production.
    public_url: str = "http://127.0.0.1:8081/"
    #: PEM certificate (with its chain) and private key that ``oasis portal serve`` serves
    #: HTTPS with on ``listen``; both empty: plain HTTP (a lab, or behind a TLS proxy).
    #: Read again by each worker on SIGHUP (``systemctl reload oasis-portal``).
    tls_certificate: str = ""
    tls_key: str = ""
    #: Reverse proxies in front of the portal that set X-Forwarded-For and -Proto (HAProxy
    #: terminating TLS: 1). The portal then takes each visitor's address (its per-address
    #: limits) and the scheme from them; keep 0 unless only the proxy can reach ``listen``.
    proxy_hops: int = 0
    #: Where an older release kept the signing key (cookies, CSRF tokens): read once, on the
    #: first start after the upgrade, to become the key every node shares in the store.
    secret_key_file: str = "var/portal-secret.key"
    #: Mark cookies Secure (the portal is served over HTTPS).
    secure_cookies: bool = True
    default_locale: str = "ar"
    #: Fractions are allowed (tests and short demo sessions).
    session_minutes: float = 60.0
    #: Bytes up + down per session in megabytes; 0 for no quota.
    data_quota_mb: float = 500.0
    #: A client silent this long loses its session; 0 for no idle timeout.
    idle_timeout_minutes: float = 15.0
    rate_down_kbps: int = 4096
    rate_up_kbps: int = 1024
    #: How old a gateway's signed redirect may be when the login form is posted.
    signature_max_age_s: int = 900
    #: Seconds a login waits for the gateway's ack before telling the visitor to retry.
    gateway_ack_timeout_s: float = 5.0
    otp_length: int = 6
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    #: Codes sent to one phone number per hour (stops the portal being used to bomb a number).
    otp_per_phone_per_hour: int = 3
    #: Codes requested by one client device per hour, whatever the numbers (the MAC the
    #: gateway vouches for; the client's address when no gateway does, e.g. the 940 form
    #: without a WiFi login).
    otp_per_client_per_hour: int = 5
    #: Codes sent by the whole portal (every worker and node) per minute and per hour: the
    #: ceiling on what SMS pumping can cost. Raise them with the SMS budget of a big deployment.
    otp_global_per_minute: int = 60
    otp_global_per_hour: int = 1000
    #: Seconds before another code may be sent to the same number.
    otp_resend_after_s: int = 60
    #: Form posts per client IP per minute (login, code, logout).
    posts_per_minute: int = 30
    #: Version of the terms of use a click-through accepts (recorded with the session).
    terms_version: str = "2026-11"

    def validate(self) -> None:
        host_port(self.listen, "listen")
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"public_url: expected an http(s) URL, got {self.public_url!r}")
        if bool(self.tls_certificate) != bool(self.tls_key):
            raise ValueError("tls_certificate, tls_key: set both (HTTPS) or neither (HTTP)")
        if self.default_locale not in LOCALES:
            raise ValueError(f"default_locale: one of {', '.join(LOCALES)}")
        checks = (
            ("session_minutes", self.session_minutes > 0),
            ("data_quota_mb", self.data_quota_mb >= 0),
            ("idle_timeout_minutes", self.idle_timeout_minutes >= 0),
            ("rate_down_kbps", self.rate_down_kbps >= 0),
            ("rate_up_kbps", self.rate_up_kbps >= 0),
            ("signature_max_age_s", self.signature_max_age_s >= 10),
            ("gateway_ack_timeout_s", self.gateway_ack_timeout_s > 0),
            ("otp_length", 4 <= self.otp_length <= 10),
            ("otp_ttl_s", self.otp_ttl_s >= 30),
            ("otp_max_attempts", self.otp_max_attempts >= 1),
            ("otp_per_phone_per_hour", self.otp_per_phone_per_hour >= 1),
            ("otp_per_client_per_hour", self.otp_per_client_per_hour >= 1),
            ("otp_global_per_minute", self.otp_global_per_minute >= 1),
            ("otp_global_per_hour", self.otp_global_per_hour >= 1),
            ("otp_resend_after_s", self.otp_resend_after_s >= 0),
            ("posts_per_minute", self.posts_per_minute >= 1),
            ("workers", 1 <= self.workers <= 64),
            ("proxy_hops", 0 <= self.proxy_hops <= 4),
            ("threads", 1 <= self.threads <= 256),
        )
        for key, ok in checks:
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")


#: The SMS drivers `captive_portal.sms.drivers.SMS_DRIVERS` names (checked here, where the
#: configuration is read, without importing the drivers).
SMS_DRIVER_NAMES = ("console", "http", "kannel", "smpp")


@dataclass
class SmsConfig:
    """The SMS gateway every visitor-facing feature sends through (login codes, 940 status)."""

    #: ``console`` (demo and development: log + outbox file), ``http`` (a provider's JSON API)
    #: or ``kannel`` (smsbox's sendsms; receipts and replies through the admin app's hooks).
    driver: str = "console"
    #: console: file every message is appended to (empty: log only).
    outbox: str = "var/sms-outbox.log"
    #: http: the provider's send endpoint (POST JSON {to, from, text}); kannel: smsbox's
    #: sendsms URL (``http://smsbox:13013/cgi-bin/sendsms``).
    url: str = ""
    username: str = ""
    password: str = ""
    #: http: a bearer token instead of (or with) basic credentials.
    token: str = ""
    sender: str = "AMANAH"
    timeout_s: float = 10.0
    #: Attempts before a message is abandoned; failures are retried with backoff.
    max_attempts: int = 5
    retry_base_s: float = 30.0
    #: kannel: the admin app's address as the gateway reaches it (delivery reports and
    #: replies are sent to <callback_url>/hooks/sms/kannel/...).
    callback_url: str = ""
    #: The secret in the hooks' URLs (at least 16 characters); empty: the hooks answer 404.
    hook_secret: str = ""
    #: kannel: which delivery reports to ask for (Kannel's dlr-mask; 31: all of them).
    dlr_mask: int = 31
    #: kannel: the smsc-id to route through (empty: smsbox's routing decides).
    kannel_smsc: str = ""
    #: Automatic answers to citizens' SMS (help, wrong code, STOP confirmed): at most this many
    #: per number per auto_reply_window_s, and auto_replies_per_hour for all numbers.
    auto_reply_per_number: int = 1
    auto_reply_window_s: float = 86400.0
    auto_replies_per_hour: int = 60
    #: smpp: the operator's SMSC and the bind it granted (``bind_transceiver``; SMPP 3.4 caps
    #: system_id at 15 characters, password at 8, system_type at 12).
    smpp_host: str = ""
    smpp_port: int = 2775
    smpp_system_id: str = ""
    smpp_password: str = ""
    smpp_system_type: str = ""
    #: smpp: type of number and numbering plan of our sender (5/0: alphanumeric such as
    #: AMANAH; 1/1: an international number; 3/0: a short code) and of citizens' numbers
    #: (1/1: international, sent without the +).
    smpp_source_ton: int = 5
    smpp_source_npi: int = 0
    smpp_dest_ton: int = 1
    smpp_dest_npi: int = 1
    #: smpp: submit_sm per second the bind may send (the SMSC's throttle; each part counts).
    smpp_rate: float = 10.0
    #: smpp: enquire_link after this many quiet seconds; no answer within timeout_s drops it.
    smpp_enquire_link_s: float = 30.0
    #: smpp: reconnects wait smpp_reconnect_min_s, doubling up to smpp_reconnect_max_s.
    smpp_reconnect_min_s: float = 1.0
    smpp_reconnect_max_s: float = 60.0
    #: smpp: long messages as parts with a UDH (``udh``) or the SAR TLVs (``sar``).
    smpp_concatenation: str = "udh"
    #: What one SMS segment costs (awareness messages show their cost before they are sent).
    segment_price: float = 0.0
    currency: str = "SAR"
    #: Awareness messages handed to the gateway per minute (all processes together).
    awareness_per_minute: int = 60

    def validate(self) -> None:
        if self.driver not in SMS_DRIVER_NAMES:
            raise ValueError(f"driver: expected one of {', '.join(SMS_DRIVER_NAMES)}, "
                             f"got {self.driver!r}")
        if self.driver in ("http", "kannel"):
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"url: the {self.driver} driver needs the gateway's URL "
                                 f"({self.url!r})")
        if self.driver == "kannel":
            parts = urlsplit(self.callback_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"callback_url: the kannel driver needs the admin app's "
                                 f"address as Kannel reaches it ({self.callback_url!r})")
            if not self.hook_secret:
                raise ValueError("hook_secret: the kannel driver needs the hooks' secret")
        if self.hook_secret and (len(self.hook_secret) < 16 or not all(
                ch.isascii() and (ch.isalnum() or ch in "-_.~") for ch in self.hook_secret)):
            raise ValueError("hook_secret: at least 16 characters of A-Z a-z 0-9 - _ . ~")
        if not 0 <= self.dlr_mask <= 63:
            raise ValueError(f"dlr_mask: 0..63 ({self.dlr_mask!r})")
        if self.max_attempts < 1 or self.timeout_s <= 0 or self.retry_base_s < 0:
            raise ValueError("max_attempts, timeout_s, retry_base_s: out of range")
        if (self.auto_reply_per_number < 1 or self.auto_reply_window_s <= 0
                or self.auto_replies_per_hour < 1):
            raise ValueError("auto_reply_per_number, auto_reply_window_s, auto_replies_per_hour: "
                             "out of range")
        if self.driver == "smpp":
            self._validate_smpp()
        if self.segment_price < 0 or not 1 <= self.awareness_per_minute <= 6000:
            raise ValueError("segment_price, awareness_per_minute: out of range")
        if not (self.currency.isascii() and self.currency.isalpha() and len(self.currency) == 3):
            raise ValueError(f"currency: a three-letter code such as SAR ({self.currency!r})")

    def _validate_smpp(self) -> None:
        if not self.smpp_host:
            raise ValueError("smpp_host: the smpp driver needs the SMSC's host")
        if not 1 <= self.smpp_port <= 65535:
            raise ValueError(f"smpp_port: 1..65535 ({self.smpp_port!r})")
        for key, most in (("smpp_system_id", 15), ("smpp_password", 8),
                          ("smpp_system_type", 12)):
            value = getattr(self, key)
            if len(value) > most or not value.isascii():
                raise ValueError(f"{key}: at most {most} ASCII characters (SMPP 3.4)")
        if not self.smpp_system_id:
            raise ValueError("smpp_system_id: the smpp driver needs the bind's system_id")
        for key in ("smpp_source_ton", "smpp_source_npi", "smpp_dest_ton", "smpp_dest_npi"):
            if not 0 <= getattr(self, key) <= 18:
                raise ValueError(f"{key}: 0..18 ({getattr(self, key)!r})")
        if not 0 < self.smpp_rate <= 10000:
            raise ValueError(f"smpp_rate: messages per second, above 0 ({self.smpp_rate!r})")
        if self.smpp_enquire_link_s <= 0 or not \
                0 < self.smpp_reconnect_min_s <= self.smpp_reconnect_max_s:
            raise ValueError("smpp_enquire_link_s, smpp_reconnect_min_s, smpp_reconnect_max_s: "
                             "out of range (min <= max, both above 0)")
        if self.smpp_concatenation not in ("udh", "sar"):
            raise ValueError(f"smpp_concatenation: udh or sar ({self.smpp_concatenation!r})")

    def __repr__(self) -> str:  # never the credentials
        return f"SmsConfig(driver={self.driver!r}, url={self.url!r}, sender={self.sender!r})"

    def hook_secret_matches(self, given: str) -> bool:
        """Constant-time check of a hook URL's secret (never true when none is set)."""
        return bool(self.hook_secret) and hmac.compare_digest(
            self.hook_secret.encode(), (given or "").encode("utf-8", "replace")[:256])


@dataclass
class PortalSettings:
    portal: PortalConfig = field(default_factory=PortalConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    source: str = "defaults"
    #: ``oasis run --demo`` only (never a config key): /demo/visitor signs a made-up device in
    #: (`captive_portal.demo`).
    demo: bool = False

    @classmethod
    def from_config(cls, config: Config, *, demo: bool = False) -> "PortalSettings":
        return cls(config.portal, config.sms, config.source, demo)


__all__ = ["LOCALES", "SMS_DRIVER_NAMES", "PortalConfig", "PortalSettings", "SmsConfig"]
