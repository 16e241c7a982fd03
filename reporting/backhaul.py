"""Backhaul KPIs per branch and link: availability, failovers and failbacks, time on backup,
detection time, flaps, p95 probe RTT and loss.

Facts: the controller's backhaul service hands over every branch event (`record_event`) and
state (`record_state`) it stored. Events are kept raw, once each (the agent's event id), and
replayed into link intervals (up/down) and path intervals (which link carries traffic, on the
primary or a backup) from the event's time on, so an event delivered late from the agent's
spool lands where it belongs. States carry the agent's cumulative probe counters and RTT
histogram per link; their deltas are added to an hourly row per link (a counter that went
backwards is an agent restart: the new value is the delta).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core import inventory
from core.config import Config
from core.contracts.backhaul import RTT_BUCKETS_MS
from core.localtime import show
from core.store import Store, now
from reporting.i18n import N_
from reporting.model import Chart, Column, Figure, Filters, Period, Section, Series, Table, Target
from reporting.timeline import DayTotals, Span, day_edges, median, percent, union

AREA = "backhaul"
PRIMARY, BACKUP = "primary", "backup"
BUCKETS = len(RTT_BUCKETS_MS) + 1
_B = ", ".join(f"b{i}" for i in range(BUCKETS))
HOUR = 3600.0
DAY = 86400.0
#: Kept beside the agent's events: where a state first told a link's state or the path.
STATE_LINK, STATE_PATH = "state_link", "state_path"


#: Counters beyond this are not an agent's (SQLite integers stop at 2**63).
COUNTER_LIMIT = 2**62


def _counter(value: Any) -> int | None:
    """A cumulative counter as the agent sends it, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < COUNTER_LIMIT:
        return None
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if 0 <= number < 1e12 else None


def unix_time(value: str | float) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


# -- recording (called by the controller's backhaul service) --------------------------------

def record_event(store: Store, event: Mapping[str, Any]) -> bool:
    """Keep a branch event (an ``oasis.backhaul.event/1`` payload); False if kept before."""
    at = unix_time(event["at"])
    with store.transaction() as conn:
        try:
            conn.execute(
                "INSERT INTO kpi_backhaul_events (event_id, branch, at, kind, link, from_link,"
                " to_link, reason, detect_ms, switch_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (event["id"], event["branch"], at, event["kind"], event.get("link"),
                 event.get("from_link"), event.get("to_link"), event.get("reason"),
                 _number(event.get("detect_ms")), _number(event.get("switch_ms"))))
        except sqlite3.IntegrityError:
            return False
        replay(conn, event["branch"], at)
    return True


def record_state(store: Store, state: Mapping[str, Any]) -> None:
    """Take a branch state (``oasis.backhaul.state/1``): its links and their priorities, and the
    probe counters' growth since the previous state, added to the hour it was reported in."""
    branch, at = state["branch"], unix_time(state["at"])
    hour = at - at % HOUR
    with store.transaction() as conn:
        known = {link: (probes, replies, json.loads(buckets) if buckets else None, seen)
                 for link, probes, replies, buckets, seen in conn.execute(
                     "SELECT link, probes, replies, buckets, at FROM kpi_backhaul_links"
                     " WHERE branch = ?", (branch,))}
        fresh = not known
        seeds: list[tuple] = []
        for order, link in enumerate(state.get("links") or ()):
            name = link["name"]
            probes, replies = _counter(link.get("probes_sent")), _counter(link.get("replies"))
            buckets = link.get("rtt_buckets")
            if not (isinstance(buckets, list) and len(buckets) == BUCKETS
                    and all(_counter(b) is not None for b in buckets)):
                buckets = None
            priority = link.get("priority")
            if (isinstance(priority, bool) or not isinstance(priority, int)
                    or abs(priority) >= COUNTER_LIMIT):
                priority = order
            before = known.get(name)
            if before is not None and before[3] is not None and before[3] > at:
                continue  # an older state delivered late: its counters are behind
            if before is not None and probes is not None and before[0] is not None:
                d_probes = _delta(before[0], probes)
                d_replies = _delta(before[1] or 0, replies or 0)
                d_buckets = ([_delta(b, c) for b, c in zip(before[2], buckets)]
                             if buckets and before[2] else [0] * BUCKETS)
                if probes < before[0]:   # the agent restarted: its counters began again
                    d_replies = replies or 0
                    d_buckets = list(buckets) if buckets else [0] * BUCKETS
                if d_probes or d_replies:
                    for table, key, when in (("kpi_backhaul_probes_hourly", "hour", hour),
                                             ("kpi_backhaul_probes_daily", "day", at - at % DAY)):
                        conn.execute(
                            f"INSERT INTO {table} (branch, link, {key}, probes, replies, {_B})"
                            f" VALUES (?, ?, ?, ?, ?, {', '.join('?' * BUCKETS)})"
                            f" ON CONFLICT (branch, link, {key}) DO UPDATE SET"
                            f" probes = probes + excluded.probes,"
                            f" replies = replies + excluded.replies, "
                            + ", ".join(f"b{i} = b{i} + excluded.b{i}" for i in range(BUCKETS)),
                            (branch, name, when, d_probes, d_replies, *d_buckets))
            conn.execute(
                "INSERT INTO kpi_backhaul_links (branch, link, priority, probes, replies, buckets,"
                " at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (branch, link) DO UPDATE SET"
                " priority = excluded.priority, probes = excluded.probes,"
                " replies = excluded.replies, buckets = excluded.buckets, at = excluded.at",
                (branch, name, priority, probes, replies,
                 json.dumps(buckets) if buckets else None, at))
            if fresh or not _open(conn, "kpi_backhaul_link_intervals", branch, name):
                seeds.append((f"state:{branch}:{name}:{at}", branch, at, STATE_LINK, name,
                              None, "down" if link.get("state") == "down" else "up"))
        active = state.get("active_link")
        if active and not _open(conn, "kpi_backhaul_path_intervals", branch, None):
            seeds.append((f"state:{branch}:path:{at}", branch, at, STATE_PATH, None, active,
                          None))
        if seeds:
            # Where the branch's timeline starts without an event: kept as facts like the
            # events, so a replay for an older event delivered later keeps them.
            conn.executemany("INSERT OR IGNORE INTO kpi_backhaul_events (event_id, branch, at,"
                             " kind, link, to_link, reason) VALUES (?, ?, ?, ?, ?, ?, ?)", seeds)
            replay(conn, branch, at)


def _delta(before: int, after: int) -> int:
    return after - before if after >= before else after


def _open(conn: sqlite3.Connection, table: str, branch: str, link: str | None) -> Any:
    sql = f"SELECT id, started_at, {'state' if 'link_' in table else 'link'} FROM {table}" \
          " WHERE branch = ? AND ended_at IS NULL"
    args: list[Any] = [branch]
    if link is not None:
        sql += " AND link = ?"
        args.append(link)
    return conn.execute(sql, args).fetchone()


def _set(conn: sqlite3.Connection, table: str, branch: str, link: str | None, column: str,
         value: str, at: float, active: str | None = None) -> None:
    """Close the open interval (of ``link``, or the branch's path) and open one with ``value``
    from ``at``, unless it has that value already."""
    current = _open(conn, table, branch, link)
    if current is not None:
        same = (conn.execute(f"SELECT {column} FROM {table} WHERE id = ?",
                             (current[0],)).fetchone()[0] == value)
        if same and (link is not None or current[2] == active):
            return
        conn.execute(f"UPDATE {table} SET ended_at = ? WHERE id = ?",
                     (max(at, current[1]), current[0]))
    conn.execute(f"INSERT INTO {table} (branch, link, {column}, started_at) VALUES (?, ?, ?, ?)",
                 (branch, link if link is not None else active, value, at))


def _path(conn: sqlite3.Connection, branch: str, to_link: str, kind: str | None) -> str:
    """primary or backup: by the links' priorities when a state told them, else by the kind."""
    ranked = conn.execute("SELECT link FROM kpi_backhaul_links WHERE branch = ?"
                          " ORDER BY priority, link LIMIT 1", (branch,)).fetchone()
    if ranked is not None:
        return PRIMARY if ranked[0] == to_link else BACKUP
    return BACKUP if kind == "failover" else PRIMARY


def replay(conn: sqlite3.Connection, branch: str, since: float) -> None:
    """Rebuild the branch's link and path intervals from ``since`` on, from its raw events."""
    for table in ("kpi_backhaul_link_intervals", "kpi_backhaul_path_intervals"):
        conn.execute(f"DELETE FROM {table} WHERE branch = ? AND started_at >= ?", (branch, since))
        conn.execute(f"UPDATE {table} SET ended_at = NULL WHERE branch = ? AND ended_at >= ?",
                     (branch, since))
    links = [r[0] for r in conn.execute("SELECT link FROM kpi_backhaul_links WHERE branch = ?",
                                        (branch,))]
    for kind, at, link, to_link, reason in conn.execute(
            "SELECT kind, at, link, to_link, reason FROM kpi_backhaul_events WHERE branch = ?"
            " AND at >= ? ORDER BY at, id", (branch, since)).fetchall():
        if kind in ("link_down", "link_up") and link:
            _set(conn, "kpi_backhaul_link_intervals", branch, link, "state",
                 "down" if kind == "link_down" else "up", at)
        elif kind == STATE_LINK and link:
            if not _open(conn, "kpi_backhaul_link_intervals", branch, link):
                _set(conn, "kpi_backhaul_link_intervals", branch, link, "state", reason, at)
        elif kind == STATE_PATH and to_link:
            if not _open(conn, "kpi_backhaul_path_intervals", branch, None):
                _set(conn, "kpi_backhaul_path_intervals", branch, None, "path",
                     _path(conn, branch, to_link, None), at, to_link)
        elif kind == "agent_started":
            for name in links:  # the agent starts every link as up; probes decide again
                _set(conn, "kpi_backhaul_link_intervals", branch, name, "state", "up", at)
        if kind in ("failover", "failback", "agent_started") and to_link:
            _set(conn, "kpi_backhaul_path_intervals", branch, None, "path",
                 _path(conn, branch, to_link, kind), at, to_link)


def links(store: Store) -> list[tuple[str, str, int]]:
    """(branch, link, priority) of every link a branch has reported, by branch then priority:
    what the branch and link filters can offer."""
    return store.conn.execute("SELECT branch, link, priority FROM kpi_backhaul_links"
                              " ORDER BY branch, priority, link").fetchall()


# -- computing ------------------------------------------------------------------------------

def p95(buckets: Sequence[int]) -> float | None:
    """The 95th percentile of an RTT histogram (ms), interpolated inside its bucket; the open
    last bucket answers its lower bound."""
    total = sum(buckets)
    if total <= 0:
        return None
    rank, seen = 0.95 * total, 0.0
    for i, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = RTT_BUCKETS_MS[i - 1] if i > 0 else 0.0
            if i >= len(RTT_BUCKETS_MS):
                return float(lower)
            return lower + (RTT_BUCKETS_MS[i] - lower) * (rank - seen) / count
        seen += count
    return float(RTT_BUCKETS_MS[-1])


def _branches(store: Store, filters: Filters) -> list[str] | None:
    """Branches the filters allow; None for all. A site filter names a branch site's slug."""
    chosen = filters.branch or filters.site
    return None if not chosen else [chosen]


def _in(column: str, values: list[str] | None) -> tuple[str, list]:
    if values is None:
        return "", []
    return f" AND {column} IN ({', '.join('?' * len(values))})", list(values)


def _intervals(store: Store, table: str, value: str, start: float, until: float,
               branches: list[str] | None, link: str | None
               ) -> list[tuple[str, str, str, float, float]]:
    where, args = _in("branch", branches)
    if link is not None and table == "kpi_backhaul_link_intervals":
        where += " AND link = ?"
        args.append(link)
    return [(b, name, v, max(s, start), min(until if e is None else e, until))
            for b, name, v, s, e in store.conn.execute(
                f"SELECT branch, link, {value}, started_at, ended_at FROM {table}"
                f" WHERE (ended_at > ? OR ended_at IS NULL) AND started_at < ?" + where,
                [start, until, *args])]


def build(store: Store, config: Config, period: Period, filters: Filters) -> Section:
    """The backhaul section of ``period``."""
    settings = config.reporting
    target = Target(settings.availability_green, settings.availability_amber)
    flap_s = settings.flap_window_s
    section = Section(AREA, N_("Backhaul"), period, filters)
    branches = _branches(store, filters)
    link_filter = filters.link
    until = min(period.end, now())
    start = period.start
    edges = day_edges(period.days(), period.tz)
    links = _intervals(store, "kpi_backhaul_link_intervals", "state", start, until, branches,
                       link_filter) if until > start else []
    paths = _intervals(store, "kpi_backhaul_path_intervals", "path", start, until, branches,
                       None) if until > start else []
    where, args = _in("branch", branches)
    events = store.conn.execute(
        "SELECT branch, kind, at, link, from_link, to_link, reason, detect_ms FROM"
        " kpi_backhaul_events WHERE at >= ? AND at < ?" + where + " ORDER BY at",
        [start, until, *args]).fetchall() if until > start else []
    probes = _probes(store, start, until, branches, link_filter)
    flaps = _flaps(store, start, until, branches, link_filter, flap_s)

    # per link
    link_rows: dict[tuple[str, str], dict[str, Any]] = {}
    by_branch_spans: dict[str, dict[str, list[Span]]] = defaultdict(lambda: defaultdict(list))
    for branch, link, state, s, e in links:
        if e <= s:
            continue
        row = link_rows.setdefault((branch, link), {"scheduled": 0.0, "up": 0.0, "downs": 0})
        row["scheduled"] += e - s
        if state == "up":
            row["up"] += e - s
        by_branch_spans[branch][state].append((s, e))
    for branch, kind, at, link, *_ in events:
        if kind == "link_down" and (branch, link) in link_rows:
            link_rows[(branch, link)]["downs"] += 1
    # per branch: available while some link is up
    branch_rows: dict[str, dict[str, Any]] = {}
    all_days, down_days, backup_days = DayTotals(edges), DayTotals(edges), DayTotals(edges)
    for branch, spans in by_branch_spans.items():
        monitored = union(spans["up"] + spans["down"])
        up = union(spans["up"])
        scheduled = sum(b - a for a, b in monitored)
        available = sum(b - a for a, b in up)
        for a, b in monitored:
            all_days.add(a, b)
        for a, b in up:
            down_days.add(a, b, -1.0)
        for a, b in monitored:
            down_days.add(a, b)
        branch_rows[branch] = {"scheduled": scheduled, "available": available, "backup": 0.0,
                               "failovers": 0, "failbacks": 0, "detect": [], "flaps": 0,
                               "primary_up": None}
    for branch, link, path, s, e in paths:
        row = branch_rows.setdefault(branch, {"scheduled": 0.0, "available": 0.0, "backup": 0.0,
                                              "failovers": 0, "failbacks": 0, "detect": [],
                                              "flaps": 0, "primary_up": None})
        if path == BACKUP and e > s:
            row["backup"] += e - s
            backup_days.add(s, e)
    marks: list[tuple[float, str]] = []
    for branch, kind, at, link, from_link, to_link, reason, detect_ms in events:
        counts = branch_rows.get(branch)
        if counts is None:
            continue
        if kind == "failover":
            counts["failovers"] += 1
            if detect_ms is not None:
                counts["detect"].append(float(detect_ms))
            marks.append((at, N_("Failover")))
        elif kind == "failback":
            counts["failbacks"] += 1
            marks.append((at, N_("Failback")))
    for (branch, link), count in flaps.items():
        if branch in branch_rows:
            branch_rows[branch]["flaps"] += count
    primaries = _primaries(store, branches)

    link_table_rows = []
    for (branch, link), row in sorted(link_rows.items()):
        stats = probes.get((branch, link))
        link_table_rows.append({
            "branch": branch, "link": link,
            "role": N_("Primary") if primaries.get(branch) == link else N_("Backup"),
            "availability": percent(row["up"], row["scheduled"]),
            "status": target.status(percent(row["up"], row["scheduled"])),
            "down_time": row["scheduled"] - row["up"], "downs": row["downs"],
            "flaps": flaps.get((branch, link), 0),
            "rtt_p95": p95(stats["buckets"]) if stats else None,
            "loss": percent(stats["probes"] - stats["replies"], stats["probes"]) if stats else None,
            "probes": stats["probes"] if stats else None})
    branch_table_rows = []
    sites = {s["slug"]: s for s in inventory.list_sites(store) if s["kind"] == "branch"}
    for branch, row in sorted(branch_rows.items()):
        primary = primaries.get(branch)
        primary_row = link_rows.get((branch, primary)) if primary else None
        primary_stats = probes.get((branch, primary)) if primary else None
        site = sites.get(branch)
        branch_table_rows.append({
            "branch": branch, "site_name_ar": site["name_ar"] if site else None,
            "site_name_en": site["name_en"] if site else None,
            "availability": percent(row["available"], row["scheduled"]),
            "status": target.status(percent(row["available"], row["scheduled"])),
            "primary_availability": (percent(primary_row["up"], primary_row["scheduled"])
                                     if primary_row else None),
            "failovers": row["failovers"], "failbacks": row["failbacks"],
            "backup_time": row["backup"], "detection_median": median(row["detect"]),
            "flaps": row["flaps"],
            "rtt_p95": p95(primary_stats["buckets"]) if primary_stats else None,
            "loss": (percent(primary_stats["probes"] - primary_stats["replies"],
                             primary_stats["probes"]) if primary_stats else None)})

    scheduled = sum(r["scheduled"] for r in branch_rows.values())
    detect = [d for r in branch_rows.values() for d in r["detect"]]
    merged = [0] * BUCKETS
    sent = answered = 0
    for (branch, link), stats in probes.items():
        if primaries.get(branch) == link or link_filter:
            merged = [a + b for a, b in zip(merged, stats["buckets"])]
            sent += stats["probes"]
            answered += stats["replies"]
    has = bool(branch_rows)
    section.figures = [
        Figure("backhaul.availability", N_("Backhaul availability"),
               percent(sum(r["available"] for r in branch_rows.values()), scheduled),
               "percent", target, N_("Time some link of the branch was up / time it was "
                                     "monitored")),
        Figure("backhaul.failovers", N_("Failovers"),
               sum(r["failovers"] for r in branch_rows.values()) if has else None, "count"),
        Figure("backhaul.failbacks", N_("Failbacks"),
               sum(r["failbacks"] for r in branch_rows.values()) if has else None, "count"),
        Figure("backhaul.backup_time", N_("Time on backup"),
               sum(r["backup"] for r in branch_rows.values()) if has else None, "seconds"),
        Figure("backhaul.detection_median", N_("Median detection time"), median(detect), "ms",
               note=N_("First missed probe to the switch of routes")),
        Figure("backhaul.detection_max", N_("Longest detection time"),
               max(detect) if detect else None, "ms"),
        Figure("backhaul.flaps", N_("Flaps"),
               sum(r["flaps"] for r in branch_rows.values()) if has else None, "count",
               note=N_("A link that came back up and went down again within the flap window")),
        Figure("backhaul.rtt_p95", N_("Probe RTT, 95th percentile"), p95(merged), "ms",
               note=N_("Primary links")),
        Figure("backhaul.loss", N_("Probe loss"), percent(sent - answered, sent), "percent",
               note=N_("Primary links")),
    ]
    section.tables = [
        Table("backhaul-branches", N_("Backhaul per branch"), [
            Column("branch", N_("Branch")),
            Column("availability", N_("Availability"), "percent"),
            Column("primary_availability", N_("Primary link availability"), "percent"),
            Column("failovers", N_("Failovers"), "count"),
            Column("failbacks", N_("Failbacks"), "count"),
            Column("backup_time", N_("Time on backup"), "seconds"),
            Column("detection_median", N_("Median detection time"), "ms"),
            Column("flaps", N_("Flaps"), "count"),
            Column("rtt_p95", N_("Probe RTT, 95th percentile"), "ms"),
            Column("loss", N_("Probe loss"), "percent")], branch_table_rows),
        Table("backhaul-links", N_("Backhaul per link"), [
            Column("branch", N_("Branch")), Column("link", N_("Link")),
            Column("role", N_("Role")),
            Column("availability", N_("Availability"), "percent"),
            Column("down_time", N_("Down time"), "seconds"),
            Column("downs", N_("Times down"), "count"), Column("flaps", N_("Flaps"), "count"),
            Column("rtt_p95", N_("Probe RTT, 95th percentile"), "ms"),
            Column("loss", N_("Probe loss"), "percent")], link_table_rows),
        _switch_table(events, period.tz),
    ]
    monitored_by_day = all_days.totals()
    backup_by_day = backup_days.totals()
    down_by_day = down_days.totals()
    days = edges[:-1]
    section.charts = [
        Chart("backhaul-backup-daily", N_("Time on backup per day"), "bar", "seconds",
              [Series(N_("Time on backup"),
                      [(d, backup_by_day[k] if monitored_by_day[k] > 1e-6 else None)
                       for k, d in enumerate(days)])], sorted(marks)[:100]),
        Chart("backhaul-availability-daily", N_("Backhaul availability per day"), "line",
              "percent", [Series(N_("Backhaul availability"),
                                 [(d, percent(monitored_by_day[k] - down_by_day[k],
                                              monitored_by_day[k]) if monitored_by_day[k] > 1e-6
                                   else None) for k, d in enumerate(days)])],
              sorted(marks)[:100]),
    ]
    return section


def _primaries(store: Store, branches: list[str] | None) -> dict[str, str]:
    where, args = _in("branch", branches)
    primaries: dict[str, str] = {}
    for branch, link in store.conn.execute(
            "SELECT branch, link FROM kpi_backhaul_links WHERE 1 = 1" + where
            + " ORDER BY branch, priority DESC, link DESC", args):
        primaries[branch] = link   # the last one written is the lowest priority number
    return primaries


def _probes(store: Store, start: float, until: float, branches: list[str] | None,
            link: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    """Probes, replies and the RTT histogram per link over the hours [start, until) touches:
    whole UTC days from the daily rows, the hours at either edge from the hourly ones."""
    where, args = _in("branch", branches)
    if link is not None:
        where += " AND link = ?"
        args.append(link)
    first_hour = start - start % HOUR
    first_day = first_hour if first_hour % DAY == 0 else first_hour - first_hour % DAY + DAY
    last_day = max(until - until % DAY, first_day)
    sums = ", ".join(f"sum(b{i})" for i in range(BUCKETS))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    parts = [("kpi_backhaul_probes_daily", "day", first_day, last_day),
             ("kpi_backhaul_probes_hourly", "hour", first_hour, min(first_day, until)),
             ("kpi_backhaul_probes_hourly", "hour", max(last_day, first_hour), until)]
    for table, key, lo, hi in parts:
        if hi <= lo:
            continue
        for row in store.conn.execute(
                f"SELECT branch, link, sum(probes), sum(replies), {sums} FROM {table}"
                f" WHERE {key} >= ? AND {key} < ?" + where + " GROUP BY branch, link",
                [lo, hi, *args]):
            stats = out.setdefault((row[0], row[1]), {"probes": 0, "replies": 0,
                                                      "buckets": [0] * BUCKETS})
            stats["probes"] += row[2] or 0
            stats["replies"] += row[3] or 0
            stats["buckets"] = [a + int(b or 0) for a, b in zip(stats["buckets"], row[4:])]
    return out


def _flaps(store: Store, start: float, until: float, branches: list[str] | None,
           link: str | None, window_s: float) -> dict[tuple[str, str], int]:
    """Up runs shorter than ``window_s`` that ended in a link going down within the period."""
    where, args = _in("branch", branches)
    if link is not None:
        where += " AND link = ?"
        args.append(link)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for branch, name in store.conn.execute(
            "SELECT branch, link FROM kpi_backhaul_link_intervals WHERE state = 'up'"
            " AND ended_at >= ? AND ended_at < ? AND ended_at - started_at < ?" + where,
            [start, until, window_s, *args]):
        counts[(branch, name)] += 1
    return counts


def _switch_table(events: Iterable[tuple], tz: str, limit: int = 200) -> Table:
    rows = [{"branch": branch, "kind": N_("Failover") if kind == "failover" else N_("Failback"),
             "at": show(at, tz, "%Y-%m-%d %H:%M:%S"), "from_link": from_link,
             "to_link": to_link, "reason": reason, "detection": detect_ms}
            for branch, kind, at, link, from_link, to_link, reason, detect_ms in events
            if kind in ("failover", "failback")][-limit:]
    return Table("backhaul-switches", N_("Failovers and failbacks"), [
        Column("branch", N_("Branch")), Column("kind", N_("Kind")), Column("at", N_("Time")),
        Column("from_link", N_("From")), Column("to_link", N_("To")),
        Column("reason", N_("Reason")), Column("detection", N_("Detection time"), "ms")], rows)


__all__ = ["AREA", "build", "links", "p95", "record_event", "record_state", "replay"]
