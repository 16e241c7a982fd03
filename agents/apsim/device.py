"""One simulated access point: identity, interfaces, boot time, and what it reads at an instant.

State changes only through the control operations (reboot, link down/up, reachability, wrap);
everything else is computed from the clock, so the many APs of one process cost memory only for
these few fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.apsim.inventory import ApPlan
from agents.apsim.traffic import DayProfile, TimeWarp, TrafficStream, client_count, unit_hash

COUNTER64_MOD = 1 << 64
COUNTER32_MOD = 1 << 32
#: Default room left below 2**64 when an AP is asked to wrap its HC counters soon (~1 min).
WRAP_HEADROOM_OCTETS = 64 * 1024 * 1024

UP, DOWN = 1, 2  # ifAdminStatus / ifOperStatus values


@dataclass(frozen=True)
class InterfaceKind:
    """A row of ifTable as built: what it is, how fast, and its share of the AP's traffic."""

    index: int
    name: str
    if_type: int          # IANAifType: 24 softwareLoopback, 6 ethernetCsmacd, 71 ieee80211
    speed_bps: int
    alias: str
    mtu: int
    #: Fraction of the AP's client download / upload this interface carries out / in.
    down_share: float
    up_share: float
    #: The interface faces clients (downloads leave it) rather than the uplink (they arrive).
    radio: bool
    #: Average packet size in bytes, download direction and upload direction.
    down_packet: int = 1100
    up_packet: int = 320
    #: One error per this many packets (rare: radios see more than wires).
    packets_per_error: int = 400_000


INTERFACES: tuple[InterfaceKind, ...] = (
    InterfaceKind(1, "lo", 24, 10_000_000, "", 65536, 0.0, 0.0, False,
                  down_packet=200, up_packet=200, packets_per_error=1 << 62),
    InterfaceKind(2, "eth0", 6, 1_000_000_000, "uplink", 1500, 1.03, 1.03, False,
                  packets_per_error=5_000_000),
    InterfaceKind(3, "wlan0", 71, 144_000_000, "2.4 GHz", 1500, 0.4, 0.4, True),
    InterfaceKind(4, "wlan1", 71, 866_700_000, "5 GHz", 1500, 0.6, 0.6, True),
)
RADIO_INDEXES = tuple(i.index for i in INTERFACES if i.radio)
#: Download bytes/s per client at the day's peak, and upload.
DOWNLOAD_PER_CLIENT = 45_000.0
UPLOAD_PER_CLIENT = 8_000.0


@dataclass
class InterfaceState:
    """Live state of one interface; counters are octets carried before ``up_since``."""

    kind: InterfaceKind
    in_stream: TrafficStream
    out_stream: TrafficStream
    admin_up: bool = True
    oper_up: bool = True
    carried_in: float = 0.0
    carried_out: float = 0.0
    up_since: float = 0.0
    last_change: float = 0.0
    #: Added to the HC columns (mod 2**64): non-zero when asked to wrap soon.
    hc_offsets: tuple[int, int, int, int] = (0, 0, 0, 0)

    def octets(self, now: float) -> tuple[float, float]:
        """(in, out) octets since the AP booted; they stop moving while the link is down."""
        if not self.oper_up:
            return self.carried_in, self.carried_out
        return (self.carried_in + self.in_stream.octets_between(self.up_since, now),
                self.carried_out + self.out_stream.octets_between(self.up_since, now))


@dataclass
class SimulatedAp:
    plan: ApPlan
    boot_time: float
    profile: DayProfile
    peak_clients: int
    interfaces: dict[int, InterfaceState] = field(default_factory=dict)
    reachable: bool = True
    near_wrap_headroom: int | None = None
    #: SSIDs on the air in radio order, as the AP's SSH side last applied them (SNMP shows them).
    ssids: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def address(self) -> str:
        return self.plan.mgmt_ip

    @classmethod
    def from_plan(cls, plan: ApPlan, now: float, profile: DayProfile) -> "SimulatedAp":
        """A running AP that booted a seeded while ago (hours to weeks), like a real fleet."""
        uptime = 3600 + unit_hash(plan.seed, 1) * 40 * 86400
        peak = 20 + int(unit_hash(plan.seed, 2) * 45)
        ap = cls(plan, now - uptime, profile, peak)
        for kind in INTERFACES:
            down_rate = kind.down_share * DOWNLOAD_PER_CLIENT * peak
            up_rate = kind.up_share * UPLOAD_PER_CLIENT * peak
            background = 2_000.0 if kind.if_type == 24 else 600.0
            # Downloads arrive on the uplink and leave on the radios; uploads the other way.
            in_rate, out_rate = (up_rate, down_rate) if kind.radio else (down_rate, up_rate)
            ap.interfaces[kind.index] = InterfaceState(
                kind,
                TrafficStream(profile, TimeWarp.seeded(plan.seed * 8 + kind.index * 2), in_rate,
                              background),
                TrafficStream(profile, TimeWarp.seeded(plan.seed * 8 + kind.index * 2 + 1),
                              out_rate, background))
        ap.reboot(ap.boot_time)
        return ap

    # -- control -----------------------------------------------------------------------------

    def reboot(self, now: float) -> None:
        """Power-cycle: uptime and every counter start again from zero, links come up."""
        self.boot_time = now
        for state in self.interfaces.values():
            state.admin_up = state.oper_up = True
            state.carried_in = state.carried_out = 0.0
            state.up_since = state.last_change = now
        self._align_wrap(now)

    def set_link(self, if_index: int, up: bool, now: float) -> InterfaceState:
        """Administratively bring an interface down or up (``ip link set``)."""
        state = self.interface(if_index)
        if up == state.oper_up:
            state.admin_up = up
            return state
        if not up:
            state.carried_in, state.carried_out = state.octets(now)
        else:
            state.up_since = now
        state.admin_up = state.oper_up = up
        state.last_change = now
        return state

    def wrap_soon(self, now: float, headroom: int | None = WRAP_HEADROOM_OCTETS) -> None:
        """Put the HC counters ``headroom`` octets (and proportionally packets) below 2**64,
        and keep doing so after reboots; ``None`` returns to counting from zero."""
        self.near_wrap_headroom = headroom
        self._align_wrap(now)

    def _align_wrap(self, now: float) -> None:
        headroom = self.near_wrap_headroom
        for state in self.interfaces.values():
            if headroom is None:
                state.hc_offsets = (0, 0, 0, 0)
                continue
            raw = hc_raw(state, now)
            kind = state.kind
            room = (headroom, headroom // kind.up_packet, headroom, headroom // kind.down_packet)
            in_octets, in_packets, out_octets, out_packets = (
                (COUNTER64_MOD - r - value) % COUNTER64_MOD for r, value in zip(room, raw))
            state.hc_offsets = (in_octets, in_packets, out_octets, out_packets)

    def interface(self, if_index: int) -> InterfaceState:
        try:
            return self.interfaces[if_index]
        except KeyError:
            known = ", ".join(f"{s.kind.index} ({s.kind.name})" for s in self.interfaces.values())
            raise ValueError(f"{self.name} has no interface {if_index}; it has {known}") from None

    # -- readings ----------------------------------------------------------------------------

    def uptime_ticks(self, now: float) -> int:
        return int((now - self.boot_time) * 100) % COUNTER32_MOD

    def radio_clients(self, now: float) -> dict[int, int]:
        """Clients per radio ifIndex; a radio that is down has none."""
        total = client_count(self.profile, self.peak_clients, self.plan.seed, now)
        first = round(total * 0.4)
        counts = {RADIO_INDEXES[0]: first, RADIO_INDEXES[1]: total - first}
        return {i: (n if self.interfaces[i].oper_up else 0) for i, n in counts.items()}

    def clients(self, now: float) -> int:
        return sum(self.radio_clients(now).values())


def hc_raw(state: InterfaceState, now: float) -> tuple[int, int, int, int]:
    """(in octets, in packets, out octets, out packets) since boot, before any wrap offset."""
    in_octets, out_octets = state.octets(now)
    kind = state.kind
    in_packet, out_packet = ((kind.up_packet, kind.down_packet) if kind.radio
                             else (kind.down_packet, kind.up_packet))
    return (int(in_octets), int(in_octets) // in_packet,
            int(out_octets), int(out_octets) // out_packet)


class Reading:
    """Everything one request may ask about one AP, computed lazily at a single instant so the
    varbinds of a response agree with each other."""

    __slots__ = ("ap", "now", "_raw", "_radios")

    def __init__(self, ap: SimulatedAp, now: float):
        self.ap = ap
        self.now = now
        self._raw: dict[int, tuple[int, int, int, int]] = {}
        self._radios: dict[int, int] | None = None

    def raw(self, if_index: int) -> tuple[int, int, int, int]:
        """(in octets, in packets, out octets, out packets) since boot, computed once."""
        values = self._raw.get(if_index)
        if values is None:
            values = self._raw[if_index] = hc_raw(self.ap.interfaces[if_index], self.now)
        return values

    def hc(self, if_index: int, column: int) -> int:
        """One HC counter (0 in octets, 1 in packets, 2 out octets, 3 out packets) as Counter64."""
        offset = self.ap.interfaces[if_index].hc_offsets[column]
        return (self.raw(if_index)[column] + offset) % COUNTER64_MOD

    def low32(self, if_index: int, column: int) -> int:
        """The same counter as the 32-bit ifTable shows it (no wrap offset: it wraps anyway)."""
        return self.raw(if_index)[column] % COUNTER32_MOD

    def errors(self, if_index: int) -> tuple[int, int]:
        """(in errors, out errors) as Counter32, from the raw packet counts."""
        state = self.ap.interfaces[if_index]
        raw = self.raw(if_index)
        every = state.kind.packets_per_error
        return (raw[1] // every) % COUNTER32_MOD, (raw[3] // (every * 3)) % COUNTER32_MOD

    def radio_clients(self) -> dict[int, int]:
        if self._radios is None:
            self._radios = self.ap.radio_clients(self.now)
        return self._radios
