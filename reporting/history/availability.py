"""A deterministic AP availability history for the KPI demo (a month) and the benchmark (a year,
2,000 APs).

Each AP is mostly up; own outages arrive at random (about one every `MEAN_DAYS_BETWEEN` days,
most of them minutes long, a few hours); each site loses its gateway now and then (a
"parent down" episode: every AP of the site at once); once a month the whole network has a
planned maintenance window at night in which some APs reboot (their outage falls inside the
window and is not counted). The facts are written as the monitoring service would have
written them, transitions and state intervals, in bulk (executemany); the last interval of each
AP stays open, so live monitoring carries on from it. The same seed gives the same history.

Grain: one row per state change, not per hour. Availability over any window is a sum over
intervals, so a year of 2,000 APs is some 200,000 interval rows instead of 17.5 million hourly
ones, and a period's figures need no roll-up that could be stale.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from core import inventory, maintenance
from core.store import Store

DAY = 86400.0
MEAN_DAYS_BETWEEN = 12.0           # own outages per AP
PARENT_MEAN_DAYS_BETWEEN = 40.0    # parent-down episodes per site
SYNTHETIC_SITE_SIZE = 20           # APs per made-up site when the inventory is not used
MAINTENANCE_REASON = "firmware upgrade (history)"


def _outage_seconds(rng: random.Random) -> float:
    """Mostly minutes (median about 12 min), sometimes hours."""
    if rng.random() < 0.05:
        return rng.uniform(2 * 3600, 10 * 3600)
    return min(rng.lognormvariate(6.6, 0.9), 4 * 3600)


def _aps(store: Store, aps: int | Sequence[tuple[int, int | None]] | None
         ) -> list[tuple[int, int | None]]:
    if aps is None:
        return [(a["id"], a["site_id"]) for a in inventory.list_aps(store)]
    if isinstance(aps, int):
        return [(n, 1 + (n - 1) // SYNTHETIC_SITE_SIZE) for n in range(1, aps + 1)]
    return list(aps)


def seed(store: Store, *, start: float, end: float,
         aps: int | Sequence[tuple[int, int | None]] | None = None, seed: int = 12,
         maintenance_every_days: float = 30.0) -> dict[str, int]:
    """Write the history of [start, end) for ``aps`` (None: the inventory's APs; a number: that
    many made-up APs, ids from 1, in sites of `SYNTHETIC_SITE_SIZE`; or (ap id, site id)
    pairs). APs that already have availability facts are left alone. Returns row counts."""
    rng = random.Random(seed)
    known = {row[0] for row in store.conn.execute("SELECT DISTINCT ap_id FROM kpi_ap_intervals")}
    fleet = [(ap, site) for ap, site in _aps(store, aps) if ap not in known]
    if not fleet or end <= start:
        return {"aps": 0, "transitions": 0, "intervals": 0, "maintenance": 0}

    # planned windows: the whole network, 01:00-03:00 UTC+3 once every so many days
    windows: list[tuple[float, float]] = []
    t = start + rng.uniform(2, 10) * DAY
    while t < end:
        night = t - (t + 3 * 3600) % DAY + 22 * 3600  # 01:00 Riyadh (22:00 UTC)
        if start <= night and night + 2 * 3600 <= end:
            windows.append((night, night + 2 * 3600))
        t += maintenance_every_days * DAY
    by_site: dict[int | None, list[int]] = defaultdict(list)
    for ap, site in fleet:
        by_site[site].append(ap)
    parent: dict[int | None, list[tuple[float, float]]] = {}
    for site, members in sorted(by_site.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        episodes = []
        t = start + rng.expovariate(1 / (PARENT_MEAN_DAYS_BETWEEN * DAY))
        while t < end and len(members) >= 2:
            length = rng.uniform(20 * 60, 3 * 3600)
            episodes.append((t, min(t + length, end)))
            t += length + rng.expovariate(1 / (PARENT_MEAN_DAYS_BETWEEN * DAY))
        parent[site] = episodes

    transitions: list[tuple] = []
    intervals: list[tuple] = []
    for ap, site in fleet:
        spells: list[tuple[float, float, str]] = [(s, e, "parent_down")
                                                  for s, e in parent.get(site, ())]
        t = start + rng.expovariate(1 / (MEAN_DAYS_BETWEEN * DAY))
        while t < end:
            length = _outage_seconds(rng)
            spells.append((t, min(t + length, end), "down"))
            t += length + rng.expovariate(1 / (MEAN_DAYS_BETWEEN * DAY))
        for ws, we in windows:
            if rng.random() < 0.3:   # rebooted by the upgrade, inside the window
                s = ws + rng.uniform(0, 3600)
                spells.append((s, s + rng.uniform(120, 900), "down"))
        # parent-down wins where it overlaps an own outage; otherwise the earlier spell wins
        spells.sort(key=lambda sp: (sp[0], sp[2] != "parent_down"))
        state, since = "up", start
        transitions.append((ap, site, start, "up"))
        for s, e, kind in spells:
            if s < since or s >= end:
                continue
            intervals.append((ap, site, state, since, s))
            transitions.append((ap, site, s, kind))
            intervals.append((ap, site, kind, s, e))
            transitions.append((ap, site, e, "up"))
            state, since = "up", e
        intervals.append((ap, site, "up", since, None))
    with store.transaction() as conn:
        conn.executemany("INSERT INTO kpi_ap_transitions (ap_id, site_id, at, state, source)"
                         " VALUES (?, ?, ?, ?, 'history')", transitions)
        conn.executemany("INSERT INTO kpi_ap_intervals (ap_id, site_id, state, started_at,"
                         " ended_at) VALUES (?, ?, ?, ?, ?)",
                         [i for i in intervals if i[4] is None or i[4] > i[3]])
        maintenance.add_past(conn, [(ws, we, MAINTENANCE_REASON, ws - 7 * DAY)
                                    for ws, we in windows], actor="history")
    return {"aps": len(fleet), "transitions": len(transitions), "intervals": len(intervals),
            "maintenance": len(windows)}


__all__ = ["seed"]
