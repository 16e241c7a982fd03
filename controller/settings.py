"""The controller's config sections: ``[admin]``, ``[snmp]``, ``[alerts]`` and ``[retention]``.

Registered with `core.config` through the ``oasis.config`` entry points (pyproject.toml), loaded
like every section: defaults, then the file, then ``OASIS_<SECTION>_<KEY>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import host_port


@dataclass
class AdminConfig:
    listen: str = "127.0.0.1:8080"
    #: Set true when the admin app is served over HTTPS (marks cookies Secure).
    secure_cookies: bool = False
    session_hours: int = 12
    #: Lifetime of a new API token unless it is made with another (``--expires-in``, or "never").
    token_days: int = 90
    #: Language of the admin UI for a user with none of their own whose browser asks for
    #: neither Arabic nor English: "ar" or "en".
    default_locale: str = "ar"
    #: The municipality's map tile server for the map page, as a Leaflet URL template
    #: (``https://tiles.example/{z}/{x}/{y}.png``); empty: the map draws sites and APs on a plain
    #: background, with no request leaving the admin app.
    map_tiles_url: str = ""
    #: The credit the tile server asks to be shown on the map (e.g. "© OpenStreetMap").
    map_tiles_attribution: str = ""

    def validate(self) -> None:
        host_port(self.listen, "listen")
        if self.map_tiles_url:
            if not self.map_tiles_url.startswith(("https://", "http://")) or not all(
                    part in self.map_tiles_url for part in ("{z}", "{x}", "{y}")):
                raise ValueError("map_tiles_url: expected an http(s) URL with {z}, {x} and {y}, "
                                 f"got {self.map_tiles_url!r}")
        if self.default_locale not in ("ar", "en"):
            raise ValueError(f"default_locale: expected ar or en, got {self.default_locale!r}")
        if self.session_hours <= 0:
            raise ValueError("session_hours: must be positive")
        if not 0 < self.token_days <= 3650:
            raise ValueError("token_days: must be between 1 and 3650")


@dataclass
class SnmpConfig:
    #: Seconds between the starts of two poll cycles.
    interval: float = 60.0
    timeout: float = 2.0
    retries: int = 1
    #: Requests in flight at once across all APs.
    max_in_flight: int = 64
    #: Consecutive failed polls before an AP is declared down (it is "degraded" before that).
    down_after: int = 3
    trap_listen: str = "127.0.0.1:1162"
    #: Community accepted on SNMPv1/v2c traps.
    trap_community: str = "public"
    #: How SNMPv3 APs are polled: "fast" (core's USM, the default) or "pysnmp" (its engine).
    v3_path: str = "fast"
    #: The trap receiver's snmpEngineID (hex) for v3 informs; empty: "oasis@<host name>".
    engine_id: str = ""

    def validate(self) -> None:
        for key, ok in (("interval", self.interval > 0), ("timeout", self.timeout > 0),
                        ("retries", self.retries >= 0), ("max_in_flight", self.max_in_flight >= 1),
                        ("down_after", self.down_after >= 1)):
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")
        host_port(self.trap_listen, "trap_listen")
        if self.v3_path not in ("fast", "pysnmp"):
            raise ValueError(f"v3_path: {self.v3_path!r} is not fast or pysnmp")
        if self.engine_id:
            try:
                octets = bytes.fromhex(self.engine_id.removeprefix("0x"))
            except ValueError:
                raise ValueError(f"engine_id: {self.engine_id!r} is not hex") from None
            if not 5 <= len(octets) <= 32:
                raise ValueError("engine_id: an snmpEngineID has 5 to 32 octets")

    @property
    def engine_id_octets(self) -> bytes | None:
        return bytes.fromhex(self.engine_id.removeprefix("0x")) if self.engine_id else None


@dataclass
class AlertsConfig:
    #: Clients per AP above which a "clients above capacity" alert opens (unless the AP sets its own).
    default_capacity: int = 60
    #: Interface errors per second (in + out, all interfaces of an AP) that open an alert.
    interface_errors_per_s: float = 1.0
    #: The 940 pipeline: an alert opens when more reports than this wait for the back office's
    #: ack, when the oldest has waited longer than ``report_oldest_m`` minutes, when one was sent
    #: ``report_resends`` times with no ack, or when the forwarder's MQTT link has been down for
    #: ``report_link_down_s`` seconds.
    report_backlog: int = 20
    report_oldest_m: float = 15.0
    report_resends: int = 6
    report_link_down_s: float = 60.0
    #: An alert is announced only once it has been open this long (seconds; 0: at once), so one
    #: that opens and clears within it (a flapping link) sends nothing.
    notify_delay_s: float = 0.0
    #: An open critical alert nobody acknowledged is sent again this often (minutes; 0: never).
    remind_every_m: float = 60.0
    #: The digest (one mail per period of what opened and cleared) goes out this often (hours).
    digest_every_h: float = 24.0
    #: A notification that could not be sent is retried after this many seconds, doubling up to
    #: ``retry_max_s``, and given up after ``max_attempts`` tries.
    retry_first_s: float = 30.0
    retry_max_s: float = 900.0
    max_attempts: int = 48
    #: Seconds a webhook receiver has to answer.
    webhook_timeout_s: float = 10.0

    def validate(self) -> None:
        if self.default_capacity < 1:
            raise ValueError("default_capacity: must be at least 1")
        if self.interface_errors_per_s < 0:
            raise ValueError("interface_errors_per_s: must not be negative")
        for key in ("report_backlog", "report_resends", "max_attempts"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be at least 1")
        for key in ("report_oldest_m", "report_link_down_s", "digest_every_h", "retry_first_s",
                    "retry_max_s", "webhook_timeout_s"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key}: must be positive")
        if 24 % self.digest_every_h:
            raise ValueError("digest_every_h: must divide a day (1, 2, 3, 4, 6, 8, 12 or 24)")
        if self.notify_delay_s < 0:
            raise ValueError("notify_delay_s: must not be negative (0: at once)")
        if self.remind_every_m < 0:
            raise ValueError("remind_every_m: must not be negative (0: no reminders)")


@dataclass
class RetentionConfig:
    raw_hours: int = 24
    hourly_days: int = 365

    def validate(self) -> None:
        for key in ("raw_hours", "hourly_days"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be at least 1")


#: What ``oasis run`` runs on this node: the admin app and a poller (``both``), the admin app
#: alone (``admin``: it shows what the pollers publish in the store), or a poller alone.
MONITORING_ROLES = ("both", "admin", "poller")
#: A poller's membership lease never runs shorter than this, whatever the poll interval.
MIN_MEMBER_TTL_S = 3.0


@dataclass
class MonitoringConfig:
    """Sharded polling: poller processes (``oasis poller``, or ``oasis run`` with a poller
    role) split the APs among the live members of ``group`` (membership leases in the store)."""
    role: str = "both"
    group: str = "pollers"
    #: A poller's membership lease in seconds; 0: one poll interval (``snmp.interval``, at
    #: least 3 s). It is renewed every cycle and every third of it; a poller that dies has its
    #: APs polled by the others within this TTL plus a third of it (plus their poll).
    member_ttl_s: float = 0.0

    def validate(self) -> None:
        if self.role not in MONITORING_ROLES:
            raise ValueError(f"role: {self.role!r} is not one of {', '.join(MONITORING_ROLES)}")
        if not self.group or ":" in self.group:
            raise ValueError(f"group: {self.group!r}: a name without ':'")
        if self.member_ttl_s < 0:
            raise ValueError("member_ttl_s: must not be negative (0: one poll interval)")

    def ttl_s(self, snmp: SnmpConfig) -> float:
        """The membership lease's length for this poll interval."""
        return max(self.member_ttl_s or snmp.interval, MIN_MEMBER_TTL_S)
