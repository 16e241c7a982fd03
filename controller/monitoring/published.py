"""The monitoring snapshot published in the store, so that every admin node reads one picture.

Each poller keeps its own `Snapshot` of the APs it owns (its working memory: previous
counters, failure runs) and, after each cycle, publishes it: one upsert per AP into
``ap_status`` in a single ``executemany``, and its own row in ``monitoring_pollers`` (last
cycle, trap counts, a generation bumped by every publish). A linkDown/linkUp trap that changes
an AP's state publishes that one row at once.

Why every row every cycle rather than only changed ones: an AP that answers changes every
cycle (its poll time, uptime, rates and counters), so in the usual fleet nearly every row
changes; comparing would cost as much as writing. bench/pollers.py measures the write
(``publish_ms``).

Admin nodes read through `PublishedSnapshots`: a request asks for the current `SnapshotView`;
the view is decoded again only when some poller's generation moved, so a page costs one small
query while nothing changed. The in-memory `Snapshot` offers the same reading interface
(`Snapshot.current`), which is what an app given one (the tests) reads.
"""

from __future__ import annotations

import json
import operator
import threading
import time
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from controller.monitoring.snapshot import ApState, ApStatus, CycleStats, InterfaceStatus, Snapshot
from core import leases
from core.store import Store

__all__ = ["PollerInfo", "PublishedSnapshots", "SnapshotPublisher", "SnapshotReader",
           "SnapshotSource", "SnapshotView", "decode", "encode", "published_states",
           "published_statuses"]

#: Rows of pollers not heard from for this long are dropped (a restarted poller is a new holder).
FORGET_POLLER_S = 86400.0

_STATUS_FIELDS = tuple(f.name for f in fields(ApStatus))
_INTERFACE_FIELDS = tuple(f.name for f in fields(InterfaceStatus))
_TUPLE_FIELDS = ("links_down", "missing")

_UPSERT_STATUS = (
    "INSERT INTO ap_status (ap_id, poller, generation, polled_at, state, status)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (ap_id) DO UPDATE SET poller = excluded.poller,"
    " generation = excluded.generation, polled_at = excluded.polled_at,"
    " state = excluded.state, status = excluded.status")

_UPSERT_POLLER = (
    "INSERT INTO monitoring_pollers (holder, generation, published_at, cycles, cycle_started_at,"
    " cycle_duration_s, cycle_polled, cycle_answered, cycle_failed, traps_received,"
    " traps_unknown_source, traps_malformed, traps_bad_community, traps_v3_refused)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (holder) DO UPDATE SET generation = excluded.generation,"
    " published_at = excluded.published_at, cycles = excluded.cycles,"
    " cycle_started_at = excluded.cycle_started_at,"
    " cycle_duration_s = excluded.cycle_duration_s, cycle_polled = excluded.cycle_polled,"
    " cycle_answered = excluded.cycle_answered, cycle_failed = excluded.cycle_failed,"
    " traps_received = excluded.traps_received,"
    " traps_unknown_source = excluded.traps_unknown_source,"
    " traps_malformed = excluded.traps_malformed,"
    " traps_bad_community = excluded.traps_bad_community,"
    " traps_v3_refused = excluded.traps_v3_refused")


def _layout() -> int:
    """A number naming this release's fields, in order: a row written with other fields (by a
    poller of another release, during an upgrade) is not read field by field as if it were ours."""
    names = ",".join(_STATUS_FIELDS) + ";" + ",".join(_INTERFACE_FIELDS)
    return zlib.crc32(names.encode())


LAYOUT = _layout()
_STATE_AT = _STATUS_FIELDS.index("state")
_INTERFACES_AT = _STATUS_FIELDS.index("interfaces")
_TUPLES_AT = tuple(_STATUS_FIELDS.index(name) for name in _TUPLE_FIELDS)
# attrgetter reads every field in one C call: the encode is the bulk of a publish's CPU.
_status_values = operator.attrgetter(*_STATUS_FIELDS)
_interface_values = operator.attrgetter(*_INTERFACE_FIELDS)
_compact = json.JSONEncoder(separators=(",", ":")).encode


def encode(status: ApStatus) -> str:
    """An AP's status as the JSON text its ``ap_status`` row keeps: ``[layout, values...]`` in
    field order, each interface a list of its values. Positional, not keyed: a fleet's rows are
    written every cycle and decoded by every admin node, and keys tripled both the text and the
    time (bench/pollers.py)."""
    values: list[Any] = [LAYOUT, *_status_values(status)]
    values[1 + _STATE_AT] = status.state.value
    values[1 + _INTERFACES_AT] = [_interface_values(i) for i in status.interfaces]
    return _compact(values)


class LayoutError(ValueError):
    """A row written by a release with other fields; the next publish rewrites it."""


def decode(text: str) -> ApStatus:
    """The `ApStatus` an ``ap_status`` row keeps; `LayoutError` for another release's row."""
    layout, *values = json.loads(text)
    if layout != LAYOUT or len(values) != len(_STATUS_FIELDS):
        raise LayoutError(f"status row of layout {layout}, not {LAYOUT}")
    values[_STATE_AT] = ApState(values[_STATE_AT])
    values[_INTERFACES_AT] = tuple(InterfaceStatus(*i) for i in values[_INTERFACES_AT])
    for at in _TUPLES_AT:
        values[at] = tuple(values[at])
    return ApStatus(*values)


def _decoded(rows: Iterable[tuple[int, str]]) -> Iterator[tuple[int, ApStatus]]:
    """(ap_id, status) of the rows this release can read."""
    for ap_id, text in rows:
        try:
            yield ap_id, decode(text)
        except LayoutError:
            continue


class SnapshotPublisher:
    """One poller process's writes: its APs' rows and its own poller row."""

    def __init__(self, holder: str):
        self.holder = holder
        self.generation = 0
        self.cycles = 0
        self._last: CycleStats | None = None

    def cycle(self, store: Store, statuses: Iterable[ApStatus], stats: CycleStats,
              counters: Snapshot) -> int:
        """Publish one cycle: every status given (the APs this poller owns), the cycle's
        figures and the trap counters, in one transaction; returns the rows written."""
        self.cycles += 1
        self._last = stats
        self.generation += 1
        rows = [(s.ap_id, self.holder, self.generation, s.polled_at, s.state.value, encode(s))
                for s in statuses]
        at = time.time()
        with store.transaction() as conn:
            conn.executemany(_UPSERT_STATUS, rows)
            conn.execute(_UPSERT_POLLER, self._poller_row(counters, at))
            # An AP deleted from the inventory leaves the picture; so does a long-dead poller.
            conn.execute("DELETE FROM ap_status WHERE NOT EXISTS"
                         " (SELECT 1 FROM aps WHERE aps.id = ap_status.ap_id)")
            conn.execute("DELETE FROM monitoring_pollers WHERE published_at < ?",
                         (at - FORGET_POLLER_S,))
        return len(rows)

    def one(self, store: Store, status: ApStatus, counters: Snapshot) -> None:
        """Publish one AP's status between cycles (a trap changed it)."""
        self.generation += 1
        with store.transaction() as conn:
            conn.execute(_UPSERT_STATUS, (status.ap_id, self.holder, self.generation,
                                          status.polled_at, status.state.value, encode(status)))
            conn.execute(_UPSERT_POLLER, self._poller_row(counters, time.time()))

    def some(self, store: Store, statuses: Iterable[ApStatus], counters: Snapshot) -> None:
        """Publish some APs' statuses between cycles (APs taken over mid-cycle)."""
        self.generation += 1
        rows = [(s.ap_id, self.holder, self.generation, s.polled_at, s.state.value, encode(s))
                for s in statuses]
        with store.transaction() as conn:
            conn.executemany(_UPSERT_STATUS, rows)
            conn.execute(_UPSERT_POLLER, self._poller_row(counters, time.time()))

    def leave(self, store: Store) -> None:
        """A clean stop: this poller's row goes (its APs' rows stay, as last seen)."""
        store.conn.execute("DELETE FROM monitoring_pollers WHERE holder = ?", (self.holder,))

    def _poller_row(self, counters: Snapshot, at: float) -> tuple:
        last = self._last
        return (self.holder, self.generation, at, self.cycles,
                last.started_at if last else None, last.duration_s if last else None,
                last.polled if last else None, last.answered if last else None,
                last.failed if last else None, counters.traps_received,
                counters.traps_unknown_source, counters.traps_malformed,
                counters.traps_bad_community, counters.traps_v3_refused)


def published_statuses(store: Store, ap_ids: Collection[int]) -> list[ApStatus]:
    """The published statuses of these APs (a poller that gains an AP goes on from there: its
    state, failure run and "down since" carry over to the new owner)."""
    wanted = set(ap_ids)
    if not wanted:
        return []
    rows = store.conn.execute("SELECT ap_id, status FROM ap_status").fetchall() \
        if len(wanted) > 500 else store.conn.execute(
            f"SELECT ap_id, status FROM ap_status WHERE ap_id IN"
            f" ({', '.join('?' * len(wanted))})", sorted(wanted)).fetchall()
    return [status for ap_id, status in _decoded(r for r in rows if r[0] in wanted)]


def published_states(store: Store) -> dict[int, str]:
    """Every published AP's state (the availability KPIs classify a site from all its APs,
    whichever poller owns them)."""
    return dict(store.conn.execute("SELECT ap_id, state FROM ap_status").fetchall())


@dataclass(frozen=True)
class PollerInfo:
    """One poller process as its row says, and whether its membership lease is live."""

    holder: str
    live: bool
    published_at: float
    cycles: int
    last_cycle: CycleStats | None
    aps: int


class SnapshotReader(Protocol):
    """What pages, the API and /metrics read: the live `Snapshot` and `SnapshotView` alike."""

    @property
    def last_cycle(self) -> CycleStats | None: ...
    @property
    def cycles(self) -> int: ...
    @property
    def traps_received(self) -> int: ...
    @property
    def traps_unknown_source(self) -> int: ...
    @property
    def traps_malformed(self) -> int: ...
    @property
    def traps_bad_community(self) -> int: ...
    @property
    def traps_v3_refused(self) -> int: ...
    @property
    def pollers(self) -> tuple[PollerInfo, ...]: ...
    def get(self, ap_id: int) -> ApStatus | None: ...
    def all(self) -> list[ApStatus]: ...


class SnapshotSource(Protocol):
    """Where an admin app gets its snapshot for a request."""

    def current(self, store: Store) -> SnapshotReader: ...


@dataclass(frozen=True)
class SnapshotView:
    """The published snapshot as one request reads it (immutable)."""

    statuses: Mapping[int, ApStatus]
    pollers: tuple[PollerInfo, ...] = ()
    last_cycle: CycleStats | None = None
    cycles: int = 0
    traps_received: int = 0
    traps_unknown_source: int = 0
    traps_malformed: int = 0
    traps_bad_community: int = 0
    traps_v3_refused: int = 0

    def get(self, ap_id: int) -> ApStatus | None:
        return self.statuses.get(ap_id)

    def all(self) -> list[ApStatus]:
        return list(self.statuses.values())


@dataclass
class PublishedSnapshots:
    """The admin side: `current(store)` gives the published snapshot. The statuses are kept
    decoded between requests; only the rows of pollers that published since are read again
    (all of them when rows went: an AP deleted). Thread-safe; one per app."""

    group: str = "pollers"
    _generations: dict[str, int] | None = None
    _statuses: dict[int, ApStatus] = field(default_factory=dict)
    _owners: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def current(self, store: Store) -> SnapshotView:
        rows = store.conn.execute(
            "SELECT holder, generation, published_at, cycles, cycle_started_at,"
            " cycle_duration_s, cycle_polled, cycle_answered, cycle_failed, traps_received,"
            " traps_unknown_source, traps_malformed, traps_bad_community, traps_v3_refused"
            " FROM monitoring_pollers ORDER BY holder").fetchall()
        generations = {r[0]: r[1] for r in rows}
        with self._lock:
            self._refresh(store, generations)
            statuses = dict(self._statuses)
            owned: dict[str, int] = {}
            for holder in self._owners.values():
                owned[holder] = owned.get(holder, 0) + 1
        live = set(leases.members(store, self.group))
        pollers = tuple(PollerInfo(
            holder=r[0], live=r[0] in live, published_at=r[2], cycles=r[3],
            last_cycle=CycleStats(r[4], r[5], r[6], r[7], r[8]) if r[4] is not None else None,
            aps=owned.get(r[0], 0)) for r in rows)
        counted = [p for p in pollers if p.live] or list(pollers)
        return SnapshotView(
            statuses=statuses, pollers=pollers, last_cycle=_combined(counted),
            cycles=max((p.cycles for p in counted), default=0),
            traps_received=sum(r[9] for r in rows), traps_unknown_source=sum(r[10] for r in rows),
            traps_malformed=sum(r[11] for r in rows), traps_bad_community=sum(r[12] for r in rows),
            traps_v3_refused=sum(r[13] for r in rows))

    def _refresh(self, store: Store, generations: dict[str, int]) -> None:
        known = self._generations
        if known == generations:
            return
        (rows,) = store.conn.execute("SELECT count(*) FROM ap_status").fetchone()
        if known is None or rows < len(self._statuses):
            self._statuses, self._owners = {}, {}
            fresh = store.conn.execute("SELECT ap_id, poller, status FROM ap_status").fetchall()
        else:
            fresh = []
            for holder, generation in generations.items():
                if known.get(holder) != generation:
                    fresh += store.conn.execute(
                        "SELECT ap_id, poller, status FROM ap_status WHERE poller = ?"
                        " AND generation > ?", (holder, known.get(holder, -1))).fetchall()
        owners = {ap_id: poller for ap_id, poller, _ in fresh}
        for ap_id, status in _decoded((ap_id, text) for ap_id, _, text in fresh):
            self._statuses[ap_id] = status
            self._owners[ap_id] = owners[ap_id]
        self._generations = generations


def _combined(pollers: Iterable[PollerInfo]) -> CycleStats | None:
    """The pollers' last cycles as one: the APs of all of them, the slowest one's duration."""
    cycles = [p.last_cycle for p in pollers if p.last_cycle is not None]
    if not cycles:
        return None
    return CycleStats(started_at=min(c.started_at for c in cycles),
                      duration_s=max(c.duration_s for c in cycles),
                      polled=sum(c.polled for c in cycles),
                      answered=sum(c.answered for c in cycles),
                      failed=sum(c.failed for c in cycles))
