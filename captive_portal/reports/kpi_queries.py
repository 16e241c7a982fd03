"""The reads the 940 service KPIs need (``reporting.service``), with their SQL.

Reporting never reads the 940 tables itself: it calls these functions with a window
[since, until) in unix seconds and the optional site and category filters. Each returns plain
facts (times, codes, counts); what they mean as KPIs is reporting's business.

Indexes for them (migration reports 0120): events by time and kind, reports by their last
change and by site, notifications by creation time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from captive_portal.reports.escalation import ESCALATION_NOTE
from core.store import Store

#: Statuses a report can still be worked in (the complement of `SETTLED` among the statuses).
OPEN = ("received", "forwarded", "acknowledged", "assigned", "in_progress", "reopened")


@dataclass(slots=True)
class ReportFacts:
    """One report with its status timeline: what the service KPIs are computed from."""
    id: int
    created_at: float
    category: str
    site: str | None
    channel: str            # portal, open311, backoffice
    due_at: float           # SLA due time in force now (reset by a reopen)
    lat: float | None
    lon: float | None
    #: (at, status, actor) of its status events after filing and forwarding, oldest first
    #: (``received`` is at ``created_at``; ``forwarded`` changes nothing a KPI reads).
    events: list[tuple[float, str, str]] = field(default_factory=list)


def _filters(site: str | None, category: str | None, alias: str = "r") -> tuple[str, list]:
    clauses, params = [], []
    if site is not None:
        clauses.append(f"{alias}.site = ?")
        params.append(site)
    if category is not None:
        clauses.append(f"{alias}.category = ?")
        params.append(category)
    return "".join(f" AND {c}" for c in clauses), params


def service_reports(store: Store, since: float, until: float, *, site: str | None = None,
                    category: str | None = None) -> Iterator[ReportFacts]:
    """Every report that was filed, moved or open at some moment of [since, until), with its
    status timeline, one at a time in id order (a year's 100,000 need not be held at once).

    A report created before ``until`` belongs if it is not settled now or changed at or after
    ``since`` (every move, escalation and phone check sets ``updated_at``): a report settled
    before ``since`` and untouched since then was settled during the whole window.
    The reports drive the events' join (CROSS JOIN keeps SQLite from walking every status event
    by the (kind, at) index): a report's events come by the (report_id, id) index, in the
    order they were written, which is time order.
    """
    where, params = _filters(site, category)
    open_marks = ", ".join("?" for _ in OPEN)
    candidates = (f"SELECT r.id FROM reports r WHERE r.updated_at >= ? AND r.created_at < ?{where} "
                  f"UNION SELECT r.id FROM reports r WHERE r.status IN ({open_marks}) "
                  f"AND r.created_at < ?{where}")
    args = [since, until, *params, *OPEN, until, *params]
    conn = store.conn
    events = conn.execute(
        f"SELECT r.id, e.at, e.status, e.actor FROM reports r CROSS JOIN report_events e "
        f"ON e.report_id = r.id AND +e.kind = 'status' "
        f"AND e.status NOT IN ('received', 'forwarded') "
        f"WHERE r.id IN ({candidates}) ORDER BY r.id, e.id", args)
    event = next(events, None)
    for row in conn.execute(
            f"SELECT id, created_at, category, site, channel, due_at, lat, lon FROM reports "
            f"WHERE id IN ({candidates}) ORDER BY id", args):
        facts = ReportFacts(*row)
        last, ordered = -math.inf, True
        while event is not None and event[0] == facts.id:
            ordered = ordered and event[1] >= last
            last = event[1]
            facts.events.append((event[1], event[2], event[3]))
            event = next(events, None)
        if not ordered:  # events are written as they happen: only a clock step puts them out
            facts.events.sort(key=_at)
        yield facts


def _at(event: tuple[float, str, str]) -> float:
    return event[0]


def escalations_by_level(store: Store, since: float, until: float, *, site: str | None = None,
                         category: str | None = None) -> dict[int, int]:
    """Escalations raised in [since, until), by the level they raised a report to."""
    where, params = _filters(site, category)
    prefix = len(ESCALATION_NOTE) + 1
    rows = store.conn.execute(
        f"SELECT CAST(substr(e.note, {prefix}) AS INTEGER) AS level, count(*) "
        f"FROM report_events e {'JOIN reports r ON r.id = e.report_id ' if where else ''}"
        f"WHERE e.kind = 'escalation' AND e.at >= ? AND e.at < ?{where} "
        f"GROUP BY level ORDER BY level", [since, until, *params])
    return {int(level): count for level, count in rows if level}


def sms_states(store: Store, since: float, until: float, *, site: str | None = None,
               category: str | None = None) -> list[tuple[str, str | None, int]]:
    """(purpose, SMS state, count) of the citizen and contact SMS the 940 pipeline decided in
    [since, until). The state is the SMS gateway's (``sms_messages.state``); None while the
    notification has not been handed to the gateway yet."""
    where, params = _filters(site, category)
    return [tuple(row) for row in store.conn.execute(
        f"SELECT n.purpose, m.state, count(*) FROM report_notifications n "
        f"{'JOIN reports r ON r.id = n.report_id ' if where else ''}"
        f"LEFT JOIN sms_messages m ON m.id = n.sms_id "
        f"WHERE n.created_at >= ? AND n.created_at < ?{where} "
        f"GROUP BY n.purpose, m.state ORDER BY n.purpose, m.state", [since, until, *params])]


__all__ = ["OPEN", "ReportFacts", "escalations_by_level", "service_reports", "sms_states"]
