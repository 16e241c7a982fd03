"""The monitoring snapshot: what the poller knows, read by the UI, API, alerts and reports.

The poller is the only writer; readers get immutable values and never touch devices.
"""

from __future__ import annotations

import enum
import re
import threading
from dataclasses import dataclass, field, replace


class ApState(str, enum.Enum):
    UNKNOWN = "unknown"          # not polled yet
    UP = "up"
    #: Some polls failed, fewer than snmp.down_after in a row; or it answers with a radio or
    #: its uplink down (ifOperStatus), so part of the park has no WiFi.
    DEGRADED = "degraded"
    DOWN = "down"                # snmp.down_after consecutive polls timed out
    AUTH_FAILED = "auth_failed"  # the AP answered but rejected our credentials


#: What an interface is to the AP, from its ifType and name (`interface_role`).
UPLINK, RADIO, LOOPBACK, OTHER = "uplink", "radio", "loopback", "other"
IF_TYPE_SOFTWARE_LOOPBACK = 24
IF_TYPE_IEEE80211 = 71
#: Names radios go by when their agent reports them as plain ethernet (madwifi's ath0, Aironet's
#: Dot11Radio0, OpenWrt's phy0-ap0).
_RADIO_NAME = re.compile(r"^(wlan|ath|wifi|radio|dot11radio|phy|wl)\d+([-.:].*)?$", re.IGNORECASE)


def interface_role(if_type: int | None, name: str) -> str:
    """``loopback``, ``radio`` (ieee80211, or a radio's usual name), else ``other``; the AP's
    `ApStatus.uplink` is chosen among the others."""
    if if_type == IF_TYPE_SOFTWARE_LOOPBACK or name == "lo":
        return LOOPBACK
    if if_type == IF_TYPE_IEEE80211 or _RADIO_NAME.match(name):
        return RADIO
    return OTHER


@dataclass(frozen=True)
class InterfaceStatus:
    index: int
    name: str
    if_type: int | None = None
    #: ifAdminStatus / ifOperStatus as read: True up, False down, None not read (or stale).
    admin_up: bool | None = None
    oper_up: bool | None = None
    #: ``uplink``, ``radio``, ``loopback`` or ``other`` (`interface_role`, uplink per AP).
    role: str = OTHER
    in_octets: int | None = None      # raw counters as last read (HC, or 32-bit: counter_bits)
    out_octets: int | None = None
    in_packets: int | None = None
    out_packets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_bps: float | None = None       # rates since the previous poll; None on first poll/reboot
    out_bps: float | None = None
    in_pps: float | None = None
    out_pps: float | None = None
    errors_ps: float | None = None
    #: 64: octets and packets from the ifXTable HC counters; 32: from the ifTable (no HC).
    counter_bits: int | None = None


@dataclass(frozen=True)
class ApStatus:
    ap_id: int
    name: str
    state: ApState = ApState.UNKNOWN
    polled_at: float | None = None            # unix time of the last poll attempt
    answered_at: float | None = None          # unix time of the last successful poll
    consecutive_failures: int = 0
    last_error: str | None = None
    sys_descr: str | None = None
    sys_name: str | None = None
    uptime_s: float | None = None
    rebooted: bool = False                    # uptime went backwards at the last poll
    clients: int | None = None                # None: unknown (platform offers no count, or not read)
    interfaces: tuple[InterfaceStatus, ...] = ()
    #: The AP's traffic is its uplink's, as a visitor sees it: ``in_bps`` is what arrives from
    #: the network (the visitors' download), ``out_bps`` what leaves towards it (their upload).
    #: Radios carry the same bytes again, so adding them would count everything twice.
    in_bps: float | None = None
    out_bps: float | None = None
    in_pps: float | None = None
    out_pps: float | None = None
    #: Sums over the radios: ``radio_out_bps`` is sent to clients, ``radio_in_bps`` from them.
    radio_in_bps: float | None = None
    radio_out_bps: float | None = None
    errors_ps: float | None = None            # sum over the non-loopback interfaces
    #: Name of the interface whose traffic is the AP's; None when no interface qualifies.
    uplink: str | None = None
    #: Radios and uplink the AP answers about but reports down (ifOperStatus), by name.
    links_down: tuple[str, ...] = ()
    #: Unix time of the first failed poll of the current run of failures (None while it
    #: answers): a down AP is shown "down since" this, not with its last answer's values.
    down_since: float | None = None
    poll_ms: float | None = None              # duration of the last poll
    #: Objects the AP did not give at the last poll, each as "object: reason" (reason: the
    #: agent's error-status such as genErr, or "absent"); the rest of the poll counts.
    missing: tuple[str, ...] = ()
    #: The interface table did not end within the poll's limits: interfaces are missing.
    interfaces_truncated: bool = False


@dataclass(frozen=True)
class CycleStats:
    started_at: float
    duration_s: float
    polled: int
    answered: int
    failed: int


@dataclass
class Snapshot:
    """Thread-safe holder of the latest ApStatus per AP plus cycle statistics."""

    _aps: dict[int, ApStatus] = field(default_factory=dict)
    last_cycle: CycleStats | None = None
    cycles: int = 0
    traps_received: int = 0
    traps_unknown_source: int = 0
    #: Datagrams the trap receiver dropped: undecodable, and with the wrong community.
    traps_malformed: int = 0
    traps_bad_community: int = 0
    #: SNMPv3 notifications refused by USM (unknown user, wrong digest, replay, ...).
    traps_v3_refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pollers(self) -> tuple:
        """The poller processes behind the snapshot (`published.PollerInfo`); a live snapshot
        is one process's own and lists none."""
        return ()

    def current(self, store: object = None) -> "Snapshot":
        """The snapshot an admin app reads (`controller.monitoring.published.SnapshotSource`):
        this live one, when the app was given it (tests, a poller's own process)."""
        return self

    def put(self, status: ApStatus) -> None:
        with self._lock:
            self._aps[status.ap_id] = status

    def drop(self, ap_id: int) -> None:
        with self._lock:
            self._aps.pop(ap_id, None)

    def get(self, ap_id: int) -> ApStatus | None:
        with self._lock:
            return self._aps.get(ap_id)

    def all(self) -> list[ApStatus]:
        with self._lock:
            return list(self._aps.values())

    def finish_cycle(self, stats: CycleStats) -> None:
        with self._lock:
            self.last_cycle = stats
            self.cycles += 1

    def count_trap(self, *, known: bool) -> None:
        with self._lock:
            self.traps_received += 1
            if not known:
                self.traps_unknown_source += 1

    def count_dropped_trap(self, reason: str) -> None:
        """The receiver's ``on_drop``: ``malformed``, ``bad_community`` or ``v3_refused``."""
        with self._lock:
            if reason == "malformed":
                self.traps_malformed += 1
            elif reason == "v3_refused":
                self.traps_v3_refused += 1
            else:
                self.traps_bad_community += 1


def links_down(interfaces: tuple[InterfaceStatus, ...]) -> tuple[str, ...]:
    """The radios and uplink reported down (ifOperStatus), by name."""
    return tuple(i.name for i in interfaces if i.role in (UPLINK, RADIO) and i.oper_up is False)


def with_link(status: ApStatus, if_index: int, up: bool) -> ApStatus:
    """``status`` as a linkDown/linkUp trap says it is now, until the next poll reads it.

    Only an AP whose last poll answered is changed (a trap about an AP we cannot reach says
    nothing we could show): its interface's ifOperStatus, the links down, and so its state."""
    if status.answered_at is None or status.answered_at != status.polled_at \
            or status.state not in (ApState.UP, ApState.DEGRADED):
        return status
    interfaces = tuple(replace(i, oper_up=up) if i.index == if_index else i
                       for i in status.interfaces)
    down = links_down(interfaces)
    return replace(status, interfaces=interfaces, links_down=down,
                   state=ApState.DEGRADED if down else ApState.UP)
