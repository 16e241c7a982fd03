"""A branch's backhaul state and switch events as its agent builds them (with the agent's own
`agents.backhaul.telemetry` helpers), at fixed times, for the monitor and branch-page tests."""

from __future__ import annotations

import datetime as dt

from agents.backhaul.telemetry import new_event

BRANCH = "branch-a"


def at(seconds: float) -> str:
    """A branch timestamp ``seconds`` after a fixed start, as the agent writes them."""
    start = dt.datetime(2026, 11, 22, 19, 40, tzinfo=dt.UTC)
    return (start + dt.timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def state(active: str, when: float, branch: str = BRANCH, primary_state: str = "up") -> dict:
    """A state payload as the agent builds it (``schema``/``sent_at`` come from the link)."""
    return {"branch": branch, "at": at(when), "active_link": active, "active_since": at(when),
            "failovers": 0, "spooled": 0, "links": [
                {"name": "primary", "interface": "eth1", "priority": 10, "state": primary_state,
                 "carrier": True, "loss_pct": 0.0 if primary_state == "up" else 100.0,
                 "rtt_ms": 1.2 if primary_state == "up" else None, "consecutive_misses": 0,
                 "probes_sent": 100, "replies": 100},
                {"name": "backup", "interface": "wlan0", "priority": 20, "state": "up",
                 "carrier": True, "loss_pct": 2.0, "rtt_ms": 3.1, "consecutive_misses": 0,
                 "probes_sent": 100, "replies": 98}]}


def switch(kind: str, when: float, branch: str = BRANCH) -> dict:
    from_link, to_link = ("primary", "backup") if kind == "failover" else ("backup", "primary")
    event = new_event(branch, kind, from_link=from_link, to_link=to_link,
                      reason=f"{from_link} down" if kind == "failover" else "holddown passed",
                      switch_ms=1.4)
    event["at"] = at(when)
    return event
