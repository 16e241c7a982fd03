"""The monitoring snapshot: what the poller knows, read by the UI, API, alerts and reports.

The poller is the only writer; readers get immutable values and never touch devices.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field


class ApState(str, enum.Enum):
    UNKNOWN = "unknown"          # not polled yet
    UP = "up"
    DEGRADED = "degraded"        # some polls failed, fewer than snmp.down_after in a row
    DOWN = "down"                # snmp.down_after consecutive polls timed out
    AUTH_FAILED = "auth_failed"  # the AP answered but rejected our credentials


@dataclass(frozen=True)
class InterfaceStatus:
    index: int
    name: str
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
    in_bps: float | None = None               # sums over the non-loopback interfaces
    out_bps: float | None = None
    in_pps: float | None = None
    out_pps: float | None = None
    errors_ps: float | None = None
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
