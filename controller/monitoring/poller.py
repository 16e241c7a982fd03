"""The poll coordinator: owns SNMP I/O towards the APs and keeps the monitoring snapshot.

Modelled on Home Assistant's DataUpdateCoordinator: one loop reads every AP each
``snmp.interval`` with at most ``snmp.max_in_flight`` requests outstanding, turns raw counters
into rates, writes an `ApStatus` per AP into the `Snapshot`, then tells listeners
(``on_cycle``) what changed. Nothing else talks to the devices; web requests read the snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Callable, Iterable

from controller.monitoring import rates
from controller.monitoring.snapshot import (
    LOOPBACK,
    RADIO,
    UPLINK,
    ApState,
    ApStatus,
    CycleStats,
    InterfaceStatus,
    Snapshot,
    interface_role,
    links_down,
)
from controller.settings import SnmpConfig
from controller.snmp.engine import (
    Credentials,
    PollResult,
    PollTarget,
    SnmpAgentError,
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpTimeout,
    V2cCredentials,
    V3Credentials,
)
from core import inventory
from core.store import iso
from core.secrets import SecretBox, SecretError
from netconfig.platforms import UnknownPlatform, get_platform

log = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class StateChange:
    """An AP moved between states this cycle (alerts and the event log react to these)."""

    ap_id: int
    name: str
    old: ApState
    new: ApState
    error: str | None = None


@dataclass
class _Sample:
    """The last answered poll of an AP, for the next poll's rates."""

    at: float                    # monotonic seconds
    uptime_ticks: int | None
    interfaces: dict[int, dict[str, int | str]]


CycleListener = Callable[[Snapshot, CycleStats, list[StateChange]], None]


class Poller:
    """Polls the targets from ``targets_provider()`` each cycle into ``snapshot``."""

    def __init__(self, targets_provider: Callable[[], Iterable[PollTarget]],
                 snmp_config: SnmpConfig, snapshot: Snapshot,
                 on_cycle: CycleListener | None = None, *, client: SnmpClient | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 outage_start: Callable[[int], float | None] | None = None,
                 known: Callable[[list[int]], Iterable[ApStatus]] | None = None):
        self.targets_provider = targets_provider
        self.config = snmp_config
        self.snapshot = snapshot
        self.on_cycle = on_cycle
        self.client = client or SnmpClient(timeout=snmp_config.timeout, retries=snmp_config.retries,
                                           v3_path=snmp_config.v3_path)
        self._samples: dict[int, _Sample] = {}
        #: The clock rates are computed with (a test sets the time between two polls).
        self.clock = clock
        #: When an AP's current outage began by the stored history (unix seconds, or None),
        #: asked when an AP this process has never heard fails: a controller restarted
        #: during an outage says since when, not "since the restart".
        self.outage_start = outage_start
        #: What is already known of APs this process has not polled yet (the published
        #: snapshot): an AP handed over from another poller, or polled before a restart, goes on
        #: from its state, failure run and "down since" instead of starting unknown.
        self.known = known
        self._stopping = asyncio.Event()
        #: The requests in flight at once, shared by a cycle and `poll_more` beside it (made
        #: per cycle, on the loop that runs it).
        self._gate: asyncio.Semaphore | None = None
        #: APs whose interface table was cut, logged once until it reads whole again.
        self._truncated: set[int] = set()

    async def run(self) -> None:
        """Poll every ``interval`` seconds (start to start) until `stop()` is called."""
        self._stopping.clear()
        while not self._stopping.is_set():
            started = time.monotonic()
            await self.poll_once()
            remaining = self.config.interval - (time.monotonic() - started)
            if remaining <= 0:
                log.warning("poll cycle took %.1fs, longer than snmp.interval %.1fs",
                            time.monotonic() - started, self.config.interval)
                continue
            try:
                await asyncio.wait_for(self._stopping.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        self.client.close()

    async def poll_once(self) -> CycleStats:
        """One cycle over all current targets; returns its statistics."""
        targets = list(self.targets_provider())
        self._forget_removed({t.ap_id for t in targets})
        self._take_over([t.ap_id for t in targets if self.snapshot.get(t.ap_id) is None])
        await self.client.prepare(targets)
        started_wall, started = time.time(), time.monotonic()
        changes: list[StateChange] = []
        gate = self._gate = asyncio.Semaphore(self.config.max_in_flight)

        async def poll_gated(target: PollTarget) -> bool:
            async with gate:
                return await self._poll_one(target, changes)

        outcomes = await asyncio.gather(*(poll_gated(t) for t in targets))
        answered = sum(outcomes)
        stats = CycleStats(started_at=started_wall, duration_s=time.monotonic() - started,
                           polled=len(targets), answered=answered, failed=len(targets) - answered)
        self.snapshot.finish_cycle(stats)
        if self.on_cycle is not None:
            try:
                self.on_cycle(self.snapshot, stats, changes)
            except Exception:  # a listener's bug must not stop monitoring
                log.exception("on_cycle listener failed")
        return stats

    async def poll_more(self, targets: list[PollTarget]) -> tuple[list[ApStatus],
                                                                   list[StateChange]]:
        """Poll ``targets`` now, beside the cycle in progress (APs this poller just took over
        from one that died): their statuses and state changes, for the caller to publish. The
        next cycle includes them as any other."""
        await self.client.prepare(targets)
        self._take_over([t.ap_id for t in targets if self.snapshot.get(t.ap_id) is None])
        changes: list[StateChange] = []
        gate = self._gate or asyncio.Semaphore(self.config.max_in_flight)

        async def poll_gated(target: PollTarget) -> bool:
            async with gate:
                return await self._poll_one(target, changes)

        await asyncio.gather(*(poll_gated(t) for t in targets))
        found = (self.snapshot.get(t.ap_id) for t in targets)
        return [s for s in found if s is not None], changes

    def _take_over(self, ap_ids: list[int]) -> None:
        if not ap_ids or self.known is None:
            return
        try:
            statuses = list(self.known(ap_ids))
        except Exception:  # a hint only: without it the AP starts unknown, as on a new store
            log.exception("could not read the published status of %d APs", len(ap_ids))
            return
        for status in statuses:
            if status.state is not ApState.UNKNOWN:
                self.snapshot.put(status)

    def _forget_removed(self, current: set[int]) -> None:
        for status in self.snapshot.all():
            if status.ap_id not in current:
                self.snapshot.drop(status.ap_id)
                self._samples.pop(status.ap_id, None)
                self._truncated.discard(status.ap_id)
                self.client.forget(status.ap_id)

    async def _poll_one(self, target: PollTarget, changes: list[StateChange]) -> bool:
        previous = self.snapshot.get(target.ap_id) or ApStatus(ap_id=target.ap_id, name=target.name)
        polled_at, started = time.time(), time.monotonic()
        try:
            result = await self.client.poll(target)
        except SnmpAuthError as exc:
            status = self._failed(previous, ApState.AUTH_FAILED, 0, f"auth: {exc}")
        except SnmpAgentError as exc:
            # It answered, with an error for every object: degraded, never down.
            status = self._failed(previous, ApState.DEGRADED, 0, f"agent: {exc}")
        except SnmpTimeout as exc:
            status = self._timed_out(previous, f"timeout: {exc}")
        except SnmpError as exc:
            status = self._timed_out(previous, f"error: {exc}")
        except UnknownPlatform as exc:
            status = self._failed(previous, ApState.UNKNOWN, previous.consecutive_failures, str(exc))
        else:
            status = self._answered(target, previous, result, polled_at, self.clock())
        answered = status.answered_at == polled_at
        down_since = None if answered else (previous.down_since or self._began(previous,
                                                                               polled_at))
        status = dataclasses.replace(status, name=target.name, polled_at=polled_at,
                                     poll_ms=(time.monotonic() - started) * 1000.0,
                                     down_since=down_since)
        self.snapshot.put(status)
        if status.state is not previous.state:
            changes.append(StateChange(target.ap_id, target.name, previous.state, status.state,
                                       status.last_error))
            _log_change(previous, status)
        return answered

    def _began(self, previous: ApStatus, polled_at: float) -> float:
        """When the failure seen at ``polled_at`` began: now, unless this process never heard
        the AP and the stored history knows an earlier start."""
        if previous.answered_at is not None or self.outage_start is None:
            return polled_at
        try:
            earlier = self.outage_start(previous.ap_id)
        except Exception:  # the history is a hint; a store problem must not stop the poll
            log.exception("could not read when AP %s went down", previous.name)
            return polled_at
        return min(earlier, polled_at) if earlier is not None else polled_at

    def _timed_out(self, previous: ApStatus, error: str) -> ApStatus:
        failures = previous.consecutive_failures + 1
        state = ApState.DOWN if failures >= self.config.down_after else ApState.DEGRADED
        return self._failed(previous, state, failures, error)

    @staticmethod
    def _failed(previous: ApStatus, state: ApState, failures: int, error: str) -> ApStatus:
        """Keep what identifies the AP; drop what would pretend to be current."""
        return dataclasses.replace(
            previous, state=state, consecutive_failures=failures, last_error=error,
            rebooted=False, clients=None, in_bps=None, out_bps=None, in_pps=None, out_pps=None,
            radio_in_bps=None, radio_out_bps=None, errors_ps=None, uptime_s=None,
            links_down=(),
            interfaces=tuple(dataclasses.replace(i, in_bps=None, out_bps=None, in_pps=None,
                                                 out_pps=None, errors_ps=None, admin_up=None,
                                                 oper_up=None)
                             for i in previous.interfaces))

    def _answered(self, target: PollTarget, previous: ApStatus, result: PollResult,
                  polled_at: float, now: float) -> ApStatus:
        sample = self._samples.get(target.ap_id)
        elapsed = now - sample.at if sample else 0.0
        restarted = sample is not None and rates.rebooted(sample.uptime_ticks, result.uptime_ticks,
                                                          elapsed)
        interfaces = tuple(interface_status(index, counters,
                                            sample.interfaces.get(index) if sample else None,
                                            elapsed, restarted)
                           for index, counters in sorted(result.interfaces.items()))
        self._samples[target.ap_id] = _Sample(now, result.uptime_ticks, result.interfaces)
        interfaces = with_uplink(interfaces)
        counted = [i for i in interfaces if i.role != LOOPBACK]
        uplink = next((i for i in interfaces if i.role == UPLINK), None)
        radios = [i for i in interfaces if i.role == RADIO]
        down = links_down(interfaces)
        self._note_truncation(target, result)
        missing = tuple(f"{name}: {reason}" for name, reason in sorted(result.missing.items()))
        return ApStatus(
            ap_id=target.ap_id, name=target.name,
            state=ApState.DEGRADED if down else ApState.UP, answered_at=polled_at,
            consecutive_failures=0, sys_descr=result.sys_descr,
            sys_name=result.sys_name,
            uptime_s=None if result.uptime_ticks is None else result.uptime_ticks / 100.0,
            rebooted=restarted, clients=client_count(target.platform, result),
            interfaces=interfaces,
            in_bps=uplink.in_bps if uplink else None,
            out_bps=uplink.out_bps if uplink else None,
            in_pps=uplink.in_pps if uplink else None,
            out_pps=uplink.out_pps if uplink else None,
            radio_in_bps=rates.sum_rates(i.in_bps for i in radios),
            radio_out_bps=rates.sum_rates(i.out_bps for i in radios),
            errors_ps=rates.sum_rates(i.errors_ps for i in counted),
            uplink=uplink.name if uplink else None, links_down=down,
            last_error=f"partial: {', '.join(missing)}" if any(
                not m.endswith(": absent") for m in missing) else None,
            missing=missing, interfaces_truncated=result.truncated)

    def _note_truncation(self, target: PollTarget, result: PollResult) -> None:
        """Log once when an AP's interface table starts being cut, and once when it is whole."""
        if result.truncated and target.ap_id not in self._truncated:
            self._truncated.add(target.ap_id)
            log.warning("AP %s: interface table cut at %d interfaces after %d requests; the "
                        "rest are not polled (snapshot interfaces_truncated, metric "
                        "oasis_ap_interfaces_truncated)", target.name, len(result.interfaces),
                        result.requests)
        elif not result.truncated and target.ap_id in self._truncated:
            self._truncated.discard(target.ap_id)
            log.info("AP %s: interface table read whole again (%d interfaces)", target.name,
                     len(result.interfaces))


def _log_change(previous: ApStatus, status: ApStatus) -> None:
    """The controller's log says when an AP goes down, degrades and comes back."""
    if status.state is ApState.DOWN:
        log.warning("AP %s is down (%d polls unanswered since %s): %s", status.name,
                    status.consecutive_failures, iso(status.down_since), status.last_error)
    elif status.state is ApState.AUTH_FAILED:
        log.warning("AP %s refuses our SNMP credentials: %s", status.name, status.last_error)
    elif status.state is ApState.DEGRADED and status.links_down:
        log.warning("AP %s is degraded: %s down", status.name, ", ".join(status.links_down))
    elif status.state is ApState.DEGRADED:
        log.info("AP %s did not answer a poll: %s", status.name, status.last_error)
    elif status.state is ApState.UP and previous.state is not ApState.UNKNOWN:
        log.info("AP %s is up again (was %s)", status.name, previous.state.value)


def with_uplink(interfaces: Iterable[InterfaceStatus]) -> tuple[InterfaceStatus, ...]:
    """The interfaces with the AP's uplink marked: the first (by ifIndex) that is neither a
    loopback nor a radio and is not down, else the first of those; its traffic is the AP's
    (download in, upload out)."""
    marked = tuple(interfaces)
    wired = [i for i in marked if i.role not in (LOOPBACK, RADIO)]
    # A spare port that was never cabled is down; the uplink is the first one that is up.
    uplink = next((i for i in wired if i.oper_up is not False), wired[0] if wired else None)
    if uplink is None:
        return marked
    return tuple(dataclasses.replace(i, role=UPLINK) if i is uplink else i for i in marked)


def _status_flag(row: Mapping[str, int | str], column: str) -> bool | None:
    """ifAdminStatus / ifOperStatus as up (1) or not; None when not read."""
    value = row.get(column)
    return value == 1 if isinstance(value, int) else None


def _counter(row: Mapping[str, int | str], column: str) -> int | None:
    """A counter column of an interface row as an int; None when absent or, from an agent that
    answers a counter with another type (text, an address), not a number."""
    value = row.get(column)
    return value if isinstance(value, int) else None


#: Counter column -> (its 32-bit ifTable fallback, the counter kind for rates.MAX_PER_SECOND).
_TRAFFIC = {"in_octets": ("in_octets32", "octets"), "out_octets": ("out_octets32", "octets"),
            "in_packets": ("in_packets32", "packets"),
            "out_packets": ("out_packets32", "packets")}


def _source(counters: Mapping[str, int | str], column: str) -> tuple[str | None, int]:
    """Which column holds ``column``'s value on this row: the HC one, else its 32-bit fallback."""
    if column in counters:
        return column, rates.COUNTER64
    fallback = _TRAFFIC[column][0]
    return (fallback, rates.COUNTER32) if fallback in counters else (None, rates.COUNTER64)


def interface_status(index: int, counters: Mapping[str, int | str],
                     before: Mapping[str, int | str] | None, elapsed: float,
                     restarted: bool) -> InterfaceStatus:
    """One interface's counters and, given the previous poll's, its rates.

    Octets and packets come from the HC counters, or the 32-bit ifTable ones on agents without
    them (a rate only when both polls read the same one); the name from ifName, else ifDescr.
    """
    def rate(column: str, width: int, kind: str) -> float | None:
        if before is None:
            return None
        return rates.per_second(_counter(before, column), _counter(counters, column), elapsed,
                                width=width, restarted=restarted, kind=kind)

    values: dict[str, int | None] = {}
    per_second: dict[str, float | None] = {}
    bits = None
    for column, (_, kind) in _TRAFFIC.items():
        source, width = _source(counters, column)
        values[column] = _counter(counters, source) if source else None
        same = before is not None and source is not None and source in before
        per_second[column] = rate(source, width, kind) if same and source else None
        if source and column == "in_octets":
            bits = width
    in_errors = rate("in_errors", rates.COUNTER32, "errors")
    out_errors = rate("out_errors", rates.COUNTER32, "errors")
    name = str(counters.get("if_name") or counters.get("if_descr") or index)
    if_type = _counter(counters, "if_type")
    return InterfaceStatus(
        index=index, name=name, if_type=if_type, role=interface_role(if_type, name),
        admin_up=_status_flag(counters, "admin_status"),
        oper_up=_status_flag(counters, "oper_status"),
        in_octets=values["in_octets"], out_octets=values["out_octets"],
        in_packets=values["in_packets"], out_packets=values["out_packets"],
        in_errors=_counter(counters, "in_errors"), out_errors=_counter(counters, "out_errors"),
        in_bps=None if per_second["in_octets"] is None else per_second["in_octets"] * 8,
        out_bps=None if per_second["out_octets"] is None else per_second["out_octets"] * 8,
        in_pps=per_second["in_packets"], out_pps=per_second["out_packets"],
        errors_ps=None if in_errors is None or out_errors is None else in_errors + out_errors,
        counter_bits=bits)


def client_count(platform: str, result: PollResult) -> int | None:
    """Associated clients per the platform table; None when the platform has no count or the
    AP did not return it."""
    source = get_platform(platform).client_count
    if source is None:
        return None
    if source.kind == "column_sum":
        return sum(result.client_column.values()) if result.client_column else None
    value = result.client_scalar
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        digits = _DIGITS.search(value)          # extend scripts may print "7\n" or "clients: 7"
        return int(digits.group()) if digits else None
    return None


def targets_from_store(store, secret_box: SecretBox) -> list[PollTarget]:
    """PollTargets for every AP in the inventory, secrets decrypted.

    An AP whose secrets are missing or do not decrypt is left out (and logged) rather than
    polled with wrong credentials, which on v3 would flip it to auth_failed for the wrong reason.
    """
    targets = []
    for ap in inventory.aps_to_poll(store):
        ap_id, name, version, user = ap["id"], ap["name"], ap["snmp_version"], ap["snmp_user"]
        try:
            credentials: Credentials
            if version == "2c":
                community = secret_box.decrypt(ap["snmp_community_enc"])
                if not community:
                    raise ValueError("no SNMP community stored")
                credentials = V2cCredentials(community)
            else:
                if not user:
                    raise ValueError("no SNMPv3 user stored")
                credentials = V3Credentials(
                    user, secret_box.decrypt(ap["snmp_auth_key_enc"]),
                    secret_box.decrypt(ap["snmp_priv_key_enc"]), ap["snmp_auth_proto"] or "SHA",
                    ap["snmp_priv_proto"] or "AES", ap["snmp_context"] or "",
                    ap["snmp_engine_id"])
        except (SecretError, ValueError) as exc:
            log.warning("not polling AP %s (id %d): %s", name, ap_id, exc)
            continue
        targets.append(PollTarget(ap_id, name, ap["mgmt_ip"], ap["snmp_port"], ap["platform"],
                                  credentials))
    return targets


__all__ = ["Poller", "PollTarget", "StateChange", "client_count", "interface_status",
           "targets_from_store", "with_uplink"]
