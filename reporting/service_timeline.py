"""One 940 report's timeline read for a period, and the statistics the service KPIs use.

`Timeline` walks a report's status events once (`captive_portal.reports.kpi_queries` gives
them) and keeps only what the KPIs of a period [start, end) need: its first acknowledgement,
its state and last closure at the end, its closures in the period and the reopens that followed
them, the answers to its resolutions, and the spans it was open.
"""

from __future__ import annotations

import bisect
import math
import statistics

from captive_portal.reports.kpi_queries import ReportFacts
from captive_portal.reports.lifecycle import SETTLED
from reporting.calendar import DAY

#: The first answer of the back office: any of these after ``received``/``forwarded``.
ACK_STATUSES = frozenset({"acknowledged", "assigned", "in_progress", "resolved", "rejected"})
#: The municipality's end of the work: the SLA clock stops (``closed`` follows ``resolved``).
CLOSING = frozenset({"resolved", "rejected"})
#: Reopen rates are counted within these many calendar days of a closure.
REOPEN_WINDOWS = (14, 30)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest rank: the smallest value at or above 90 % of the values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


class Timeline:
    """One report's status history read once for a period [start, end): what every KPI needs
    of it, gathered in a single pass over its events."""

    __slots__ = ("ack_days", "answers", "closed_at", "closures", "facts", "first_ack",
                 "open_spans", "reopened_within", "reopens", "sla_seconds", "status_end")

    def __init__(self, facts: ReportFacts, start: float, end: float):
        # Locals in the loop, attributes at the end: a year is 100,000 timelines.
        first_ack: float | None = None
        reopens: list[float] = []
        status_end: str | None = "received" if facts.created_at < end else None
        closed_at: float | None = None
        closures = 0
        reopened_within: dict[int, int] | None = None
        answers: list[str] = []
        open_spans: list[tuple[float, float]] = []
        previous = "received"
        pending: float | None = None    # a closure in the period waiting to see a reopen
        opened: float | None = facts.created_at
        for at, status, actor in facts.events:
            if first_ack is None and status in ACK_STATUSES:
                first_ack = at
            before_end = at < end
            if before_end:
                status_end = status
            in_period = before_end and at >= start
            if status in CLOSING:
                if before_end:
                    closed_at = at
                pending = at if in_period else None
                closures += in_period
            elif status == "reopened":
                reopens.append(at)
                if pending is not None:
                    if reopened_within is None:
                        reopened_within = dict.fromkeys(REOPEN_WINDOWS, 0)
                    for days in REOPEN_WINDOWS:
                        if at - pending <= days * DAY:
                            reopened_within[days] += 1
                pending = None
            if in_period and previous == "resolved":
                if status == "closed":
                    answers.append("confirmed" if actor == "citizen" else "unanswered")
                elif status == "reopened":
                    answers.append("disputed" if actor == "citizen" else "reopened_staff")
            if status in SETTLED:
                if opened is not None:
                    open_spans.append((opened, at))
                    opened = None
            elif opened is None:
                opened = at
            previous = status
        if opened is not None:
            open_spans.append((opened, math.inf))
        facts.events = []  # read: a year of timelines need not stay in memory
        self.facts = facts
        self.ack_days: float | None = None
        self.first_ack = first_ack
        self.reopens = reopens
        #: Status just before ``end`` (None: filed after it) and the last closure before it.
        self.status_end = status_end
        self.closed_at = closed_at
        #: Closures (resolved, rejected) in the period, and how many of them a reopen followed
        #: within each of `REOPEN_WINDOWS` days (None: none did).
        self.closures = closures
        self.reopened_within = reopened_within
        #: Answers to a resolution given in the period: confirmed, unanswered, disputed,
        #: reopened_staff.
        self.answers = answers
        #: [from, to) spans in which the report was open (to = inf while it still is).
        self.open_spans = open_spans
        # The SLA window is the same length in every cycle (a reopen restarts it).
        self.sla_seconds = facts.due_at - (reopens[-1] if reopens else facts.created_at)

    @property
    def open_at_end(self) -> bool:
        return self.status_end is not None and self.status_end not in SETTLED

    def due_at(self, at: float) -> float:
        """The SLA due time in force just before ``at``."""
        n = bisect.bisect_left(self.reopens, at)
        anchor = self.reopens[n - 1] if n else self.facts.created_at
        return anchor + self.sla_seconds


__all__ = ["ACK_STATUSES", "CLOSING", "REOPEN_WINDOWS", "Timeline", "median", "p90",
           "percent"]
