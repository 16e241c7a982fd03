"""A deterministic backhaul history for the KPI demo and the benchmark: branches with a primary
and a backup link, a few failovers a month (the primary goes down, the agent fails over within a
fraction of a second, fails back after the hold-down), now and then a flap, a backup link that
drops on its own, and hourly probe statistics (fibre a few ms, the park wireless tens of ms).

Events are written raw, as the agents would have sent them, and replayed into link and path
intervals by `reporting.backhaul.replay`; the hourly probe rows are written in bulk. The same
seed gives the same history.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence

from core import inventory
from core.contracts.backhaul import RTT_BUCKETS_MS
from core.store import Store
from reporting.backhaul import BUCKETS, replay

DAY = 86400.0
HOUR = 3600.0
PROBES_PER_HOUR = 3600 * 1000 // 200          # one probe every 200 ms
MEAN_DAYS_BETWEEN_FAILOVERS = 9.0
HOLDDOWN_S = 60.0
#: (name, priority, median RTT ms, spread, usual loss)
LINKS = (("fibre", 0, 4.0, 0.35, 0.0005), ("park-wifi", 1, 28.0, 0.4, 0.004))


def _branches(store: Store, branches: int | Sequence[str] | None) -> list[str]:
    if branches is None:
        found = [s["slug"] for s in inventory.list_sites(store) if s["kind"] == "branch"]
        return found or [f"branch-{n:02d}" for n in range(1, 5)]
    if isinstance(branches, int):
        return [f"branch-{n:02d}" for n in range(1, branches + 1)]
    return list(branches)


def _shape(median: float, spread: float) -> list[float]:
    """Share of replies per RTT bucket for a log-normal RTT."""
    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (spread * math.sqrt(2))))
    bounds = list(RTT_BUCKETS_MS)
    shares, before = [], 0.0
    for bound in bounds:
        now = cdf(bound)
        shares.append(now - before)
        before = now
    shares.append(1.0 - before)
    return shares


def seed(store: Store, *, start: float, end: float, branches: int | Sequence[str] | None = None,
         seed: int = 940) -> dict[str, int]:
    """Write the history of [start, end) for ``branches`` (None: the inventory's branch sites,
    else four made-up ones; a number: that many made-up ones; or their ids). Branches that
    already have backhaul facts are left alone. Returns row counts."""
    rng = random.Random(seed)
    known = {r[0] for r in store.conn.execute("SELECT DISTINCT branch FROM kpi_backhaul_links")}
    chosen = [b for b in _branches(store, branches) if b not in known]
    start = start - start % HOUR
    if not chosen or end <= start:
        return {"branches": 0, "events": 0, "probe_rows": 0}
    events: list[tuple] = []
    probe_rows: list[tuple] = []
    links_rows: list[tuple] = []
    shapes = {name: _shape(median, spread) for name, _, median, spread, _ in LINKS}
    for branch in chosen:
        def event(at: float, kind: str, branch: str = branch, **fields: object) -> None:
            events.append((str(uuid.UUID(int=rng.getrandbits(128))), branch, at, kind,
                           fields.get("link"), fields.get("from_link"), fields.get("to_link"),
                           fields.get("reason"), fields.get("detect_ms"),
                           fields.get("switch_ms")))

        event(start, "agent_started", to_link="fibre")
        down: dict[str, list[tuple[float, float]]] = {"fibre": [], "park-wifi": []}
        t = start + rng.expovariate(1 / (MEAN_DAYS_BETWEEN_FAILOVERS * DAY))
        while t < end - HOUR:
            length = min(rng.lognormvariate(6.8, 1.0), 6 * HOUR)
            # 3 missed probes at 200 ms: the first one was due some 0.4-0.8 s before the switch
            detect_ms = rng.uniform(400, 800)
            event(t, "link_down", link="fibre", reason="misses")
            event(t + 0.005, "failover", from_link="fibre", to_link="park-wifi",
                  reason="fibre down", detect_ms=round(detect_ms, 1),
                  switch_ms=round(rng.uniform(2, 12), 2))
            down["fibre"].append((t, t + length))
            back = t + length
            if rng.random() < 0.15:                     # a flap: up, then down again soon
                event(back, "link_up", link="fibre", reason="recovered")
                again = back + rng.uniform(20, HOLDDOWN_S - 5)
                event(again, "link_down", link="fibre", reason="loss")
                back = again + rng.uniform(60, 600)
                down["fibre"].append((again, back))
            event(back, "link_up", link="fibre", reason="recovered")
            event(back + HOLDDOWN_S, "failback", from_link="park-wifi", to_link="fibre",
                  reason=f"fibre up for {HOLDDOWN_S:g}s", switch_ms=round(rng.uniform(2, 12), 2))
            t = back + HOLDDOWN_S + rng.expovariate(1 / (MEAN_DAYS_BETWEEN_FAILOVERS * DAY))
        t = start + rng.expovariate(1 / (25 * DAY))
        while t < end - HOUR:                           # the backup drops on its own
            length = rng.uniform(300, 2 * HOUR)
            event(t, "link_down", link="park-wifi", reason="loss")
            event(t + length, "link_up", link="park-wifi", reason="recovered")
            down["park-wifi"].append((t, t + length))
            t += length + rng.expovariate(1 / (25 * DAY))
        totals = {}
        for name, priority, _, _, loss in LINKS:
            spans = sorted(down[name])
            probes = replies = 0
            buckets = [0] * BUCKETS
            hour, k = start, 0
            while hour < end:
                lost = 0.0
                while k < len(spans) and spans[k][1] <= hour:
                    k += 1
                for s, e in spans[k:k + 3]:
                    lost += max(0.0, min(e, hour + HOUR) - max(s, hour))
                sent = PROBES_PER_HOUR
                ok = int(sent * (1 - lost / HOUR) * (1 - loss * rng.uniform(0.2, 2.0)))
                counts = [int(ok * share) for share in shapes[name]]
                counts[0] += ok - sum(counts)
                probe_rows.append((branch, name, hour, sent, ok, *counts))
                probes, replies = probes + sent, replies + ok
                buckets = [a + b for a, b in zip(buckets, counts)]
                hour += HOUR
            totals[name] = (priority, probes, replies, buckets)
        for name, (priority, probes, replies, buckets) in totals.items():
            links_rows.append((branch, name, priority, probes, replies, str(buckets), end))
    columns = ", ".join(f"b{i}" for i in range(BUCKETS))
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO kpi_backhaul_links (branch, link, priority, probes, replies, buckets, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", links_rows)
        conn.executemany(
            "INSERT INTO kpi_backhaul_events (event_id, branch, at, kind, link, from_link,"
            " to_link, reason, detect_ms, switch_ms) VALUES (?,?,?,?,?,?,?,?,?,?)", events)
        conn.executemany(
            f"INSERT INTO kpi_backhaul_probes_hourly (branch, link, hour, probes, replies,"
            f" {columns}) VALUES ({', '.join('?' * (5 + BUCKETS))})", probe_rows)
        # The UTC day of a whole hour; the cast because PostgreSQL has no % of a float.
        day = "hour - CAST(hour AS BIGINT) % 86400"
        conn.execute(
            f"INSERT INTO kpi_backhaul_probes_daily SELECT branch, link, {day},"
            f" sum(probes), sum(replies), {', '.join(f'sum(b{i})' for i in range(BUCKETS))}"
            f" FROM kpi_backhaul_probes_hourly WHERE hour >= ? AND branch IN"
            f" ({', '.join('?' * len(chosen))}) GROUP BY branch, link, {day}"
            f" ON CONFLICT (branch, link, day) DO NOTHING", [start, *chosen])
        for branch in chosen:
            replay(conn, branch, start)
    return {"branches": len(chosen), "events": len(events), "probe_rows": len(probe_rows)}


__all__ = ["seed"]
