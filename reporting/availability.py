"""AP availability: the share of scheduled time each AP answered, per AP, site and fleet.

Facts: the monitoring service reports every poll cycle's AP states (`record_states`); a change
of an AP's reachability is kept as a raw transition (``kpi_ap_transitions``) and closes one
state interval and opens the next (``kpi_ap_intervals``). States: ``up`` (it answered, even
degraded or refusing our credentials), ``down`` (its own outage), ``parent_down`` (it and every
other AP of its site stopped answering together: the site's gateway or backhaul is the common
cause) and ``unknown`` (no data: the AP left the inventory). Planned maintenance
(`core.maintenance`) is taken out of scheduled time when a period is computed, so a window
planned or cancelled later changes the figures of any period it touches.

The KPIs are computed on demand from the intervals (see docs/reporting.md, "KPI definitions"):
per-AP seconds by state are summed in SQL, and only the rare non-up intervals and the
maintenance windows are walked in Python, so a year of 2,000 APs reads a few hundred thousand
index entries, not 17.5 million hourly rows.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from core import inventory, maintenance
from core.config import Config
from core.localtime import show
from core.store import Store, now
from reporting.i18n import N_
from reporting.model import Chart, Column, Figure, Filters, Period, Section, Series, Table, Target
from reporting.timeline import DayTotals, Span, day_edges, median, overlap, overlaps, percent, union

AREA = "availability"
UP, DOWN, PARENT_DOWN, UNKNOWN = "up", "down", "parent_down", "unknown"
OUTAGE_STATES = (DOWN, PARENT_DOWN)
#: How the poller's AP states (`controller.monitoring.snapshot.ApState` values) count here.
REACHABILITY = {"up": UP, "degraded": UP, "auth_failed": UP, "down": DOWN}
#: A site needs at least this many APs for "all of them down together" to point at its parent.
PARENT_MIN_APS = 2
#: The APs behind a failed gateway do not all time out in the same poll cycle: an AP found
#: down this long before its whole site was is taken as parent down from its own start.
PARENT_GRACE_S = 300.0
#: The rolling windows shown beside the period, ending where it ends.
WINDOWS = (("1d", 1), ("7d", 7), ("30d", 30), ("365d", 365))
DAY = 86400.0
MAX_MARKS = 40


# -- reading (for the controller's pages and its demo history) -------------------------------

def down_spans(store: Store, start: float, end: float
               ) -> dict[int, list[tuple[float, float]]]:
    """Each AP's down and parent-down runs overlapping ``[start, end)``, clipped to it, oldest
    first (an open run ends at ``end``)."""
    rows = store.conn.execute(
        "SELECT ap_id, started_at, coalesce(ended_at, ?) FROM kpi_ap_intervals "
        "WHERE state IN ('down', 'parent_down') AND coalesce(ended_at, ?) > ? "
        "AND started_at < ? ORDER BY ap_id, started_at", (end, end, start, end)).fetchall()
    spans: dict[int, list[tuple[float, float]]] = {}
    for ap_id, began, ended in rows:
        spans.setdefault(ap_id, []).append((max(began, start), min(ended, end)))
    return spans


# -- recording (called by the controller's monitoring service) ------------------------------

def reachability(poller_state: str) -> str | None:
    """``up`` or ``down`` for a poller state; None when the poller does not know yet."""
    return REACHABILITY.get(poller_state)


def record_transition(store: Store, ap_id: int, state: str, at: float, *,
                      site_id: int | None = None, source: str = "poller") -> bool:
    """Record that AP ``ap_id`` is in ``state`` from ``at`` on; False if it already was."""
    with store.transaction() as conn:
        return _transition(conn, ap_id, site_id, state, at, source)


def _transition(conn: sqlite3.Connection, ap_id: int, site_id: int | None, state: str,
                at: float, source: str) -> bool:
    if state not in (UP, DOWN, PARENT_DOWN, UNKNOWN):
        raise ValueError(f"state: expected up, down, parent_down or unknown, got {state!r}")
    current = conn.execute("SELECT id, state, started_at FROM kpi_ap_intervals"
                           " WHERE ap_id = ? AND ended_at IS NULL", (ap_id,)).fetchone()
    if (current is None and state == UNKNOWN) or (current is not None and current[1] == state):
        return False
    conn.execute("INSERT INTO kpi_ap_transitions (ap_id, site_id, at, state, source)"
                 " VALUES (?, ?, ?, ?, ?)", (ap_id, site_id, at, state, source))
    if current is not None:
        conn.execute("UPDATE kpi_ap_intervals SET ended_at = ? WHERE id = ?",
                     (max(at, current[2]), current[0]))
    conn.execute("INSERT INTO kpi_ap_intervals (ap_id, site_id, state, started_at)"
                 " VALUES (?, ?, ?, ?)", (ap_id, site_id, state, at))
    return True


def rebuild(store: Store, ap_id: int | None = None) -> int:
    """Derive the state intervals again from the raw transitions (of one AP, or of all);
    returns the intervals written. The transitions are the record; the intervals only make
    periods quick to compute."""
    where, args = ("WHERE ap_id = ?", [ap_id]) if ap_id is not None else ("", [])
    written = 0
    with store.transaction() as conn:
        conn.execute(f"DELETE FROM kpi_ap_intervals {where}", args)
        current: dict[int, tuple[str, float]] = {}
        rows: list[tuple[int, int | None, str, float, float | None]] = []
        for ap, site, at, state in conn.execute(
                f"SELECT ap_id, site_id, at, state FROM kpi_ap_transitions {where}"
                " ORDER BY ap_id, at, id", args):
            before = current.get(ap)
            if before is not None and before[0] == state:
                continue
            if before is not None and rows and rows[-1][0] == ap and rows[-1][4] is None:
                rows[-1] = (*rows[-1][:4], max(at, rows[-1][3]))
            if state != UNKNOWN or before is not None:
                rows.append((ap, site, state, at, None))
            current[ap] = (state, at)
        conn.executemany("INSERT INTO kpi_ap_intervals (ap_id, site_id, state, started_at,"
                         " ended_at) VALUES (?, ?, ?, ?, ?)", rows)
        written = len(rows)
    return written


def classify(states: Mapping[int, str], sites: Mapping[int, int],
             parent_down_sites: Iterable[int] = ()) -> dict[int, str]:
    """Reachability of each AP from the poller's states, with ``parent_down`` for the down APs
    of a site whose parent is known to be down (``parent_down_sites``) and for the APs of a site
    (of at least `PARENT_MIN_APS` APs) whose every AP is known and down."""
    reach = {ap: r for ap, s in states.items() if (r := reachability(s)) is not None}
    by_site: dict[int, list[int]] = defaultdict(list)
    for ap, site in sites.items():
        by_site[site].append(ap)
    known_down = set(parent_down_sites)
    for site, aps in by_site.items():
        if site in known_down or (len(aps) >= PARENT_MIN_APS
                                  and all(reach.get(ap) == DOWN for ap in aps)):
            for ap in aps:
                if reach.get(ap) == DOWN:
                    reach[ap] = PARENT_DOWN
    return reach


def record_states(store: Store, at: float, states: Mapping[int, str],
                  parent_down_sites: Iterable[int] = (),
                  owned: Collection[int] | None = None) -> int:
    """One poll cycle's states (AP id -> poller state); records what changed, returns how many.

    ``parent_down_sites`` names sites whose gateway or backhaul the caller knows to be down
    (their down APs are parent down); without it a site is parent down when all its APs are.
    ``owned``: the APs whose transitions this caller records (a poller of several, given every
    AP's state so that a site is judged whole); None: all. APs the poller does not know yet are
    left as they are; an AP gone from the inventory is closed as ``unknown``."""
    sites = inventory.ap_sites(store.conn)
    reach = classify(states, sites, parent_down_sites)
    current = dict(store.conn.execute(
        "SELECT ap_id, state FROM kpi_ap_intervals WHERE ended_at IS NULL").fetchall())
    changes: list[tuple[int, int | None, str]] = [
        (ap_id, sites[ap_id], state) for ap_id, state in reach.items()
        if current.get(ap_id) != state and ap_id in sites and (owned is None or ap_id in owned)]
    changes += [(ap_id, None, UNKNOWN) for ap_id, state in current.items()
                if ap_id not in sites and state != UNKNOWN]
    if not changes:
        return 0  # most cycles: no write transaction at all
    changed = 0
    with store.transaction() as conn:
        for ap_id, site_id, state in changes:
            if state == PARENT_DOWN and current.get(ap_id) == DOWN and _relabel(conn, ap_id, at):
                changed += 1
                continue
            changed += _transition(conn, ap_id, site_id, state, at, "poller")
    return changed


def record_stopped(store: Store, at: float, ap_ids: Collection[int] | None = None) -> int:
    """Monitoring stops: every AP's state (of ``ap_ids``, a stopping poller's own; None: all) is
    unknown from ``at`` until the next poll cycle says otherwise (time nobody watched is not
    scheduled time). Returns the APs changed."""
    with store.transaction() as conn:
        open_aps = [row[0] for row in conn.execute(
            "SELECT ap_id FROM kpi_ap_intervals WHERE ended_at IS NULL AND state != 'unknown'")
            if ap_ids is None or row[0] in ap_ids]
        site_of = dict(conn.execute("SELECT ap_id, site_id FROM kpi_ap_intervals"
                                    " WHERE ended_at IS NULL").fetchall())
        for ap_id in open_aps:
            _transition(conn, ap_id, site_of.get(ap_id), UNKNOWN, at, "poller")
    return len(open_aps)


def _relabel(conn: sqlite3.Connection, ap_id: int, at: float) -> bool:
    """Make the AP's open outage parent down from its start, if it began within
    `PARENT_GRACE_S` (the rest of its site went down in the next cycles)."""
    row = conn.execute("SELECT id, started_at FROM kpi_ap_intervals WHERE ap_id = ?"
                       " AND ended_at IS NULL AND state = 'down'", (ap_id,)).fetchone()
    if row is None or at - row[1] > PARENT_GRACE_S:
        return False
    conn.execute("UPDATE kpi_ap_intervals SET state = 'parent_down' WHERE id = ?", (row[0],))
    conn.execute("UPDATE kpi_ap_transitions SET state = 'parent_down' WHERE id = (SELECT id FROM"
                 " kpi_ap_transitions WHERE ap_id = ? AND at = ? ORDER BY id DESC LIMIT 1)",
                 (ap_id, row[1]))
    return True


# -- computing ------------------------------------------------------------------------------

@dataclass
class ApFigures:
    ap_id: int
    site_id: int | None
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    maintenance_s: float = 0.0
    outages: list[float] = field(default_factory=list)     # own outages, seconds in the period
    parent_episodes: int = 0

    @property
    def scheduled_s(self) -> float:
        return self.seconds[UP] + self.seconds[DOWN] + self.seconds[PARENT_DOWN]

    @property
    def percent(self) -> float | None:
        return percent(self.seconds[UP], self.scheduled_s)


class _Maintenance:
    """The planned windows of a span, merged per AP (its own, its site's, the network's)."""

    def __init__(self, windows: Iterable[maintenance.Window], start: float, end: float):
        self.network: list[Span] = []
        self.sites: dict[int, list[Span]] = defaultdict(list)
        self.aps: dict[int, list[Span]] = defaultdict(list)
        for w in windows:
            span = (max(w.starts_at, start), min(w.ends_at, end))
            if w.ap_id is not None:
                self.aps[w.ap_id].append(span)
            elif w.site_id is not None:
                self.sites[w.site_id].append(span)
            else:
                self.network.append(span)
        self._cache: dict[tuple[int | None, int | None], list[Span]] = {}
        #: Everything any window covers, to pass over the many intervals no window touches.
        self.any = union([*self.network, *(s for v in self.sites.values() for s in v),
                          *(s for v in self.aps.values() for s in v)])
        self._any_ends = [e for _, e in self.any]

    def pieces(self, ap_id: int, site_id: int | None, start: float, end: float) -> list[Span]:
        """The planned parts of [start, end) for this AP."""
        i = bisect.bisect_right(self._any_ends, start)
        if i >= len(self.any) or self.any[i][0] >= end:
            return []
        return overlaps(start, end, self.of(ap_id, site_id))

    def of(self, ap_id: int, site_id: int | None) -> list[Span]:
        key = (ap_id if ap_id in self.aps else None, site_id)
        if key not in self._cache:
            self._cache[key] = union([*self.network, *self.sites.get(site_id or -1, ()),
                                      *self.aps.get(ap_id, ())])
        return self._cache[key]


@dataclass
class _Facts:
    """What one pass over the store gives for [start, until)."""
    aps: dict[int, ApFigures]
    outages: list[tuple[int, int | None, str, float, float, float]]  # ap, site, state, s, e, eff
    days: list[float]                          # local midnights (edges)
    scheduled_by_day: list[float]
    down_by_day: list[float]
    parent_by_day: list[float]


def _where(site_id: int | None, ap_id: int | None) -> tuple[str, list]:
    sql, args = "", []
    if site_id is not None:
        sql += " AND site_id = ?"
        args.append(site_id)
    if ap_id is not None:
        sql += " AND ap_id = ?"
        args.append(ap_id)
    return sql, args


#: A non-up interval: AP, site, state, start, end, and its planned-maintenance parts.
NonUp = tuple[int, int | None, str, float, float, list[Span]]


def _non_up(store: Store, start: float, until: float, site_id: int | None,
            ap_id: int | None, windows: _Maintenance, now_: float | None = None
            ) -> list[NonUp]:
    """The non-up intervals meeting [start, until), whole (an open one ends at ``now_``,
    by default ``until``), with their planned parts."""
    where, args = _where(site_id, ap_id)
    rows = store.conn.execute(
        "SELECT ap_id, site_id, state, started_at, coalesce(ended_at, ?) FROM kpi_ap_intervals"
        " WHERE state IN ('down', 'parent_down', 'unknown') AND (ended_at > ? OR ended_at IS NULL)"
        " AND started_at < ?"
        + where + " ORDER BY started_at", [until if now_ is None else now_, start, until,
                                           *args]).fetchall()
    if not windows.any:   # the usual case: no maintenance anywhere near
        none: list[Span] = []
        return [(*row, none) for row in rows]
    pieces = windows.pieces
    return [(ap, site, state, s, e, pieces(ap, site, s, e)) for ap, site, state, s, e in rows]


#: AP id -> (when its first state began, its site then, when its last one ended): its
#: timeline is contiguous in between, so what is not "down", "parent down" or "unknown" is up.
Spans = Mapping[int, tuple[float, int | None, float]]


def _firsts(store: Store, until: float, site_id: int | None, ap_id: int | None
            ) -> dict[int, tuple[float, int | None, float]]:
    """Each AP's timeline (see `Spans`); at one site only while the AP was there."""
    where, args = _where(site_id, ap_id)
    if site_id is None:   # a timeline runs to now: its last state is open
        # The site of each AP's first interval (the later row of two starting together).
        return {ap: (first, site, until) for ap, first, site in store.conn.execute(
            "SELECT f.ap_id, f.first, i.site_id FROM (SELECT ap_id, min(started_at) AS first"
            " FROM kpi_ap_intervals WHERE started_at < ?" + where + " GROUP BY ap_id) AS f"
            " JOIN kpi_ap_intervals AS i ON i.ap_id = f.ap_id AND i.started_at = f.first"
            " ORDER BY i.id", [until, *args])}
    return {ap: (first, site, last) for ap, first, site, last in store.conn.execute(
        "SELECT ap_id, min(started_at), site_id, max(coalesce(ended_at, ?)) FROM"
        " kpi_ap_intervals WHERE started_at < ?" + where + " GROUP BY ap_id, site_id",
        [until, until, *args])}


def _compute(store: Store, start: float, until: float, site_id: int | None, ap_id: int | None,
             non_up: list[NonUp], windows: _Maintenance,
             firsts: Spans, edges: list[float] | None) -> _Facts:
    # Every second of an AP's timeline in the period is up unless a non-up interval says not.
    aps: dict[int, ApFigures] = {}
    days = DayTotals(edges or [])
    down_days, parent_days = DayTotals(edges or []), DayTotals(edges or [])
    for ap, (first, site, last) in firsts.items():
        lo, hi = max(first, start), min(last, until)
        if hi > lo:
            aps[ap] = figures = ApFigures(ap, site)
            figures.seconds[UP] = hi - lo
            if edges:
                days.add(lo, hi)
    # Maintenance per state, from the non-up intervals; what is left of a window is "up".
    maint_by_ap: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    outages = []
    unknown_planned: dict[int, list[Span]] = defaultdict(list)
    add_down, add_parent = down_days.add, parent_days.add
    for ap, site, state, s, e, planned_parts in non_up:
        lo = max(start, s)
        hi = min(until, e)
        owner = aps.get(ap)
        if hi <= lo or owner is None:
            continue
        owner.seconds[UP] -= hi - lo
        owner.seconds[state] += hi - lo
        if planned_parts:
            pieces = overlaps(lo, hi, planned_parts)
            taken = sum(b - a for a, b in pieces)
            maint_by_ap[ap][state] += taken
        else:
            pieces, taken = planned_parts, 0.0
        if edges:
            if state == DOWN:
                add_down(lo, hi)
                for a, b in pieces:
                    add_down(a, b, -1.0)
            elif state == PARENT_DOWN:
                add_parent(lo, hi)
                for a, b in pieces:
                    add_parent(a, b, -1.0)
            else:
                days.add(lo, hi, -1.0)
                unknown_planned[ap].extend(pieces)
        left = hi - lo - taken
        if left > 0 and state != UNKNOWN:
            outages.append((ap, site, state, s, e, left))
            if state == DOWN:
                owner.outages.append(left)
            else:
                owner.parent_episodes += 1
    for ap, figures in aps.items():
        planned = windows.of(ap, figures.site_id)
        if not planned:
            continue
        first, _, last = firsts[ap]
        monitored = overlap(max(first, start), min(last, until), planned)
        by_state = maint_by_ap.get(ap, {})
        monitored -= by_state.get(UNKNOWN, 0.0)
        for state in OUTAGE_STATES:
            figures.seconds[state] -= by_state.get(state, 0.0)
        up_planned = max(monitored - by_state.get(DOWN, 0.0) - by_state.get(PARENT_DOWN, 0.0), 0.0)
        figures.seconds[UP] = max(figures.seconds[UP] - up_planned, 0.0)
        figures.maintenance_s = max(monitored, 0.0)
        if edges:
            for a, b in overlaps(max(first, start), min(last, until), planned):
                days.add(a, b, -1.0)
            # what of a window fell on unknown time was subtracted twice: give it back
            for a, b in unknown_planned.get(ap, ()):
                days.add(a, b, 1.0)
    return _Facts(aps, outages, edges or [], days.totals(), down_days.totals(),
                  parent_days.totals())


# -- the section ----------------------------------------------------------------------------

def build(store: Store, config: Config, period: Period, filters: Filters) -> Section:
    """The availability section of ``period`` (see the module docstring)."""
    settings = config.reporting
    target = Target(settings.availability_green, settings.availability_amber)
    section = Section(AREA, N_("AP availability"), period, filters)
    site_id = _site_id(store, filters.site)
    until = min(period.end, now())
    horizon = min(period.start, until - WINDOWS[-1][1] * DAY)
    windows = _Maintenance(maintenance.overlapping(store, horizon, until), horizon, until)
    firsts = _firsts(store, until, site_id, filters.ap)
    edges = day_edges(period.days(), period.tz)
    if until > period.start:
        non_up = _non_up(store, period.start, until, site_id, filters.ap, windows)
        facts = _compute(store, period.start, until, site_id, filters.ap, non_up, windows,
                         firsts, edges)
    else:  # a period still to come
        nothing = [0.0] * max(len(edges) - 1, 0)
        facts = _Facts({}, [], edges, nothing, nothing, nothing)

    aps = facts.aps.values()
    scheduled = sum(a.scheduled_s for a in aps)
    up = sum(a.seconds[UP] for a in aps)
    own = sum(a.seconds[DOWN] for a in aps)
    parent = sum(a.seconds[PARENT_DOWN] for a in aps)
    outages = [d for a in aps for d in a.outages]
    section.figures = [
        Figure("availability.fleet_percent", N_("Availability"), percent(up, scheduled),
               "percent", target, N_("Time the APs answered / scheduled time (planned "
                                     "maintenance excluded)")),
        Figure("availability.own_percent", N_("Availability, parent down set aside"),
               percent(up, scheduled - parent), "percent", target,
               N_("Time answered / scheduled time without the time their site's gateway or "
                  "backhaul was down")),
        Figure("availability.outages", N_("Outages"), len(outages) if scheduled else None,
               "count"),
        Figure("availability.median_outage", N_("Median outage"), median(outages), "seconds"),
        Figure("availability.longest_outage", N_("Longest outage"),
               max(outages) if outages else None, "seconds"),
        Figure("availability.mttr", N_("Mean time to restore"),
               own / len(outages) if outages else None, "seconds"),
        Figure("availability.own_down", N_("Own outage time"), own if scheduled else None,
               "seconds"),
        Figure("availability.parent_down", N_("Parent down time"),
               parent if scheduled else None, "seconds"),
        Figure("availability.parent_episodes", N_("Parent down episodes"),
               _episodes(facts.outages) if scheduled else None, "count"),
        Figure("availability.maintenance", N_("Planned maintenance excluded"),
               sum(a.maintenance_s for a in aps) if scheduled else None, "seconds"),
        Figure("availability.aps_below_target", N_("APs below target"),
               sum(1 for a in aps if (p := a.percent) is not None and p < target.green)
               if scheduled else None, "count"),
    ]
    names = _names(store)
    sites = {s["id"]: s for s in inventory.list_sites(store)}
    rolling = _windows(store, until, site_id, filters.ap, windows, firsts)
    section.tables = [_ap_table(facts, names, sites, target, rolling),
                      _site_table(facts, sites, rolling, firsts), _window_table(rolling),
                      _outage_table(facts, names, sites, period.tz)]
    section.charts = [_daily_chart(facts, period), _downtime_chart(facts)]
    return section


def _site_id(store: Store, slug: str | None) -> int | None:
    if not slug:
        return None
    site = inventory.site_by_slug(store, slug)
    return -1 if site is None else int(site["id"])  # an unknown site has no data


def _names(store: Store) -> dict[int, str]:
    return {ap: name for ap, (name, _) in inventory.names_and_capacities(store.conn).items()}


def _episodes(outages: list[tuple[int, int | None, str, float, float, float]]) -> int:
    """Parent-down episodes: one per site and start (its APs go down together)."""
    return len({(site, s) for _, site, state, s, _, _ in outages if state == PARENT_DOWN})


def _site_cells(sites: Mapping[int, dict], site_id: int | None) -> dict[str, object]:
    site = sites.get(site_id or -1)
    return {"site": site["slug"] if site else None,
            "site_name_ar": site["name_ar"] if site else None,
            "site_name_en": site["name_en"] if site else None}


def _ap_table(facts: _Facts, names: Mapping[int, str], sites: Mapping[int, dict],
              target: Target, rolling: Mapping[str, _Window]) -> Table:
    rows = []
    for a in sorted(facts.aps.values(), key=lambda a: (a.percent is None, a.percent or 0.0,
                                                        names.get(a.ap_id, ""))):
        rows.append({"ap_id": a.ap_id, "ap": names.get(a.ap_id, f"#{a.ap_id}"),
                     **_site_cells(sites, a.site_id), "availability": a.percent,
                     "status": target.status(a.percent), "scheduled": a.scheduled_s,
                     "own_down": a.seconds[DOWN], "parent_down": a.seconds[PARENT_DOWN],
                     "maintenance": a.maintenance_s, "outages": len(a.outages),
                     "longest": max(a.outages) if a.outages else None,
                     "mttr": sum(a.outages) / len(a.outages) if a.outages else None,
                     **_window_cells(rolling, [a.ap_id])})
    return Table("availability-aps", N_("Availability per AP"), [
        Column("ap", N_("AP")), Column("site", N_("Site")),
        Column("availability", N_("Availability"), "percent"),
        Column("own_down", N_("Own outage time"), "seconds"),
        Column("parent_down", N_("Parent down time"), "seconds"),
        Column("maintenance", N_("Planned maintenance"), "seconds"),
        Column("outages", N_("Outages"), "count"),
        Column("longest", N_("Longest outage"), "seconds"),
        Column("mttr", N_("Mean time to restore"), "seconds"), *_window_columns()], rows)


def _site_table(facts: _Facts, sites: Mapping[int, dict], rolling: Mapping[str, _Window],
                firsts: Spans) -> Table:
    by_site: dict[int | None, list[ApFigures]] = defaultdict(list)
    for a in facts.aps.values():
        by_site[a.site_id].append(a)
    episodes: dict[int | None, set[float]] = defaultdict(set)
    for _, site, state, s, _, _ in facts.outages:
        if state == PARENT_DOWN:
            episodes[site].add(s)
    site_aps: dict[int | None, list[int]] = defaultdict(list)
    for ap, (_, site, _) in firsts.items():
        site_aps[site].append(ap)
    rows = []
    for site_id, members in by_site.items():
        scheduled = sum(a.scheduled_s for a in members)
        outages = [d for a in members for d in a.outages]
        rows.append({**_site_cells(sites, site_id), "aps": len(members),
                     "availability": percent(sum(a.seconds[UP] for a in members), scheduled),
                     "own_down": sum(a.seconds[DOWN] for a in members),
                     "parent_down": sum(a.seconds[PARENT_DOWN] for a in members),
                     "parent_episodes": len(episodes[site_id]), "outages": len(outages),
                     "median_outage": median(outages),
                     "mttr": sum(outages) / len(outages) if outages else None,
                     **_window_cells(rolling, site_aps.get(site_id, ()))})
    rows.sort(key=lambda r: (r["availability"] is None, r["availability"] or 0.0,
                             r["site"] or ""))
    return Table("availability-sites", N_("Availability per site"), [
        Column("site", N_("Site")), Column("aps", N_("APs"), "count"),
        Column("availability", N_("Availability"), "percent"),
        Column("own_down", N_("Own outage time"), "seconds"),
        Column("parent_down", N_("Parent down time"), "seconds"),
        Column("parent_episodes", N_("Parent down episodes"), "count"),
        Column("outages", N_("Outages"), "count"),
        Column("median_outage", N_("Median outage"), "seconds"),
        Column("mttr", N_("Mean time to restore"), "seconds"), *_window_columns()], rows)


@dataclass
class _Window:
    """One rolling window's seconds: per AP (up, scheduled) and the own outages of them all."""
    aps: dict[int, tuple[float, float]]
    own_count: int
    own_seconds: float

    def percent_of(self, members: Iterable[int]) -> float | None:
        up = scheduled = 0.0
        for ap in members:
            a, b = self.aps.get(ap, (0.0, 0.0))
            up, scheduled = up + a, scheduled + b
        return percent(up, scheduled)


def _window_sums(store: Store, starts: list[float], until: float, site_id: int | None,
                 ap_id: int | None) -> list[tuple[int, str, list[float], list[int]]]:
    """Per AP and state, for each window start: seconds inside [start, until) and how many
    intervals reach into it; one pass over the intervals for every window."""
    clipped = "max(0, min(coalesce(ended_at, :until), :until) - max(started_at, :w{n}))"
    # Only the non-up intervals: what is left of each timeline is up.
    columns = ", ".join(f"sum({clipped.format(n=n)}), sum({clipped.format(n=n)} > 0)"
                        for n in range(len(starts)))
    params: dict[str, object] = {"until": until, "first": min(starts), "site": site_id,
                                 "ap": ap_id}
    params |= {f"w{n}": start for n, start in enumerate(starts)}
    filters = ((" AND site_id = :site" if site_id is not None else "")
               + (" AND ap_id = :ap" if ap_id is not None else ""))
    out = []
    for row in store.conn.execute(
            f"SELECT ap_id, state, {columns} FROM kpi_ap_intervals"
            " WHERE state IN ('down', 'parent_down', 'unknown')"
            " AND (ended_at > :first OR ended_at IS NULL) AND started_at < :until"
            + filters + " GROUP BY ap_id, state", params):
        out.append((row[0], row[1], [float(v or 0.0) for v in row[2::2]],
                    [int(v or 0) for v in row[3::2]]))
    return out


def _window(n: int, start: float, until: float,
            sums: list[tuple[int, str, list[float], list[int]]], planned_rows: list[NonUp],
            windows: _Maintenance, firsts: Spans) -> _Window:
    """The same arithmetic as `_compute` for [start, until), from the SQL sums and only the
    outages that planned maintenance touches (without per-day or per-outage detail)."""
    seconds: dict[int, dict[str, float]] = {}
    for ap, (first, _, last) in firsts.items():
        span = min(last, until) - max(first, start)
        if span > 0:
            seconds[ap] = defaultdict(float, {UP: span})
    own_count, own_seconds = 0, 0.0
    for ap, state, totals, reaching in sums:
        if reaching[n] and ap in seconds:
            seconds[ap][UP] -= totals[n]
            seconds[ap][state] = totals[n]
            if state == DOWN:
                own_count += reaching[n]
                own_seconds += totals[n]
    taken: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for ap, _, state, s, e, parts in planned_rows:
        lo, hi = max(s, start), min(e, until)
        if hi <= lo:
            continue
        planned = sum(b - a for a, b in overlaps(lo, hi, parts))
        taken[ap][state] += planned
        if state == DOWN:
            own_seconds -= planned
            own_count -= hi - lo - planned <= 0
    per_ap: dict[int, tuple[float, float]] = {}
    by_key: dict[tuple[int, float, float], float] = {}
    for ap, by_state in seconds.items():
        monitored_planned = 0.0
        first, site, last = firsts[ap]
        planned_spans = windows.of(ap, site) if windows.any else []
        if planned_spans:
            key = (id(planned_spans), max(first, start), min(last, until))
            if key not in by_key:
                by_key[key] = overlap(max(first, start), min(last, until), planned_spans)
            monitored_planned = max(by_key[key] - taken[ap][UNKNOWN], 0.0)
        t = taken.get(ap, {})
        outage_planned = t.get(DOWN, 0.0) + t.get(PARENT_DOWN, 0.0)
        up = by_state[UP] - max(monitored_planned - outage_planned, 0.0)
        scheduled = by_state[UP] + by_state[DOWN] + by_state[PARENT_DOWN] - monitored_planned
        if scheduled > 0:
            per_ap[ap] = (max(up, 0.0), scheduled)
    return _Window(per_ap, own_count, max(own_seconds, 0.0))


def _windows(store: Store, until: float, site_id: int | None, ap_id: int | None,
             windows: _Maintenance,
             firsts: Spans) -> dict[str, _Window]:
    """The rolling windows ending at ``until``: one SQL pass for all of them, and of the
    outages only those planned maintenance touches (one query per stretch of maintenance)."""
    seen: set[tuple[int, float]] = set()
    planned_rows = []
    for a, b in windows.any:
        for row in _non_up(store, a, b, site_id, ap_id, windows, until):
            if row[5] and (row[0], row[3]) not in seen:
                seen.add((row[0], row[3]))
                planned_rows.append(row)
    starts = [until - days * DAY for _, days in WINDOWS]
    sums = _window_sums(store, starts, until, site_id, ap_id)
    return {name: _window(n, starts[n], until, sums, planned_rows, windows, firsts)
            for n, (name, _) in enumerate(WINDOWS)}


def _window_table(rolling: Mapping[str, _Window]) -> Table:
    rows = []
    for name, window in rolling.items():
        value = window.percent_of(window.aps)
        rows.append({"window": name, "availability": value,
                     "outages": window.own_count if value is not None else None,
                     "mttr": window.own_seconds / window.own_count if window.own_count else None})
    return Table("availability-windows", N_("Availability over 1, 7, 30 and 365 days"), [
        Column("window", N_("Window")), Column("availability", N_("Availability"), "percent"),
        Column("outages", N_("Outages"), "count"),
        Column("mttr", N_("Mean time to restore"), "seconds")], rows)


#: The rolling windows as columns of the AP and site tables.
WINDOW_LABELS = {"1d": N_("Availability, 1 day"), "7d": N_("Availability, 7 days"),
                 "30d": N_("Availability, 30 days"), "365d": N_("Availability, 365 days")}


def _window_columns() -> list[Column]:
    return [Column(f"availability_{name}", WINDOW_LABELS[name], "percent") for name, _ in WINDOWS]


def _window_cells(rolling: Mapping[str, _Window], members: Iterable[int]) -> dict[str, object]:
    chosen = list(members)
    return {f"availability_{name}": window.percent_of(chosen)
            for name, window in rolling.items()}


def _outage_table(facts: _Facts, names: Mapping[int, str], sites: Mapping[int, dict],
                  tz: str, limit: int = 50) -> Table:
    longest = sorted(facts.outages, key=lambda o: -o[5])[:limit]
    rows = [{"ap": names.get(ap, f"#{ap}"), **_site_cells(sites, site),
             "kind": N_("Own outage") if state == DOWN else N_("Parent down"),
             "started": show(s, tz), "ended": show(e, tz), "duration": eff}
            for ap, site, state, s, e, eff in longest]
    return Table("availability-outages", N_("Longest outages"), [
        Column("ap", N_("AP")), Column("site", N_("Site")), Column("kind", N_("Kind")),
        Column("started", N_("Started")), Column("ended", N_("Ended")),
        Column("duration", N_("Duration (maintenance excluded)"), "seconds")], rows)


def _daily_chart(facts: _Facts, period: Period) -> Chart:
    own: list[tuple[float, float | None]] = []
    overall: list[tuple[float, float | None]] = []
    for k, scheduled in enumerate(facts.scheduled_by_day):
        at = facts.days[k]
        if scheduled <= 1e-6:
            own.append((at, None))
            overall.append((at, None))
            continue
        down, parent = facts.down_by_day[k], facts.parent_by_day[k]
        overall.append((at, percent(scheduled - down - parent, scheduled)))
        own.append((at, percent(scheduled - down - parent, scheduled - parent)))
    marks: list[tuple[float, str]] = []
    seen_parent: set[tuple[int | None, float]] = set()
    for ap, site, state, s, e, eff in sorted(facts.outages, key=lambda o: -o[5]):
        if len(marks) >= MAX_MARKS:
            break
        if state == PARENT_DOWN:
            if (site, s) in seen_parent:
                continue
            seen_parent.add((site, s))
        marks.append((max(s, period.start), N_("Outage") if state == DOWN else N_("Parent down")))
    marks.sort()
    return Chart("availability-daily", N_("Availability per day"), "line", "percent",
                 [Series(N_("Availability"), overall),
                  Series(N_("Availability, parent down set aside"), own)], marks)


def _downtime_chart(facts: _Facts) -> Chart:
    points_own = [(facts.days[k], v if facts.scheduled_by_day[k] > 1e-6 else None)
                  for k, v in enumerate(facts.down_by_day)]
    points_parent = [(facts.days[k], v if facts.scheduled_by_day[k] > 1e-6 else None)
                     for k, v in enumerate(facts.parent_by_day)]
    return Chart("availability-downtime", N_("Outage time per day"), "bar", "seconds",
                 [Series(N_("Own outage time"), points_own),
                  Series(N_("Parent down time"), points_parent)])


__all__ = ["AREA", "ApFigures", "build", "classify", "down_spans", "reachability", "rebuild",
           "record_states", "record_stopped", "record_transition"]
