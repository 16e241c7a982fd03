"""The status lifecycle of a 940 report: which moves are allowed, and how Open311 sees them.

``received`` (stored here) -> ``forwarded`` (the back office acked it by id) -> ``acknowledged``
(the back office accepted it) -> ``assigned`` -> ``in_progress`` -> ``resolved`` (closure code
sent to the citizen) -> ``closed`` (citizen confirmed, or nobody answered in time) or
``reopened`` (citizen disputed). ``rejected`` ends a report the back office will not handle.
"""

from __future__ import annotations

from core.contracts.reports import STATUSES

#: status -> statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"forwarded", "rejected"}),
    "forwarded": frozenset({"acknowledged", "assigned", "in_progress", "resolved", "rejected"}),
    "acknowledged": frozenset({"assigned", "in_progress", "resolved", "rejected"}),
    "assigned": frozenset({"assigned", "in_progress", "resolved", "rejected"}),
    "in_progress": frozenset({"assigned", "resolved", "rejected"}),
    "resolved": frozenset({"closed", "reopened"}),
    "reopened": frozenset({"acknowledged", "assigned", "in_progress", "resolved", "rejected"}),
    "rejected": frozenset({"reopened"}),
    "closed": frozenset(),
}

#: Statuses the SLA no longer runs for.
SETTLED = frozenset({"resolved", "closed", "rejected"})
#: What Open311 calls "closed"; everything else is "open".
OPEN311_CLOSED = frozenset({"resolved", "closed", "rejected"})
#: Moves only the citizen makes (with the closure code).
CITIZEN_MOVES = frozenset({("resolved", "closed"), ("resolved", "reopened")})


class TransitionError(ValueError):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: str, target: str):
        super().__init__(f"cannot move a report from {current} to {target}")
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    if target not in STATUSES:
        raise TransitionError(current, target)
    if target not in TRANSITIONS[current]:
        raise TransitionError(current, target)


def open311_status(status: str) -> str:
    return "closed" if status in OPEN311_CLOSED else "open"


__all__ = ["CITIZEN_MOVES", "OPEN311_CLOSED", "SETTLED", "STATUSES", "TRANSITIONS",
           "TransitionError", "check_transition", "open311_status"]
