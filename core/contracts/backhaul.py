"""Branch agents -> controller over MQTT (schemas in ``schemas/backhaul-{state,event}.json``).

State is retained on ``backhaul/<branch>/state``; events go to ``backhaul/<branch>/events`` at
QoS 1, each with a unique ``id`` to de-duplicate on (delivery is at least once).
"""

from __future__ import annotations

from typing import Any

from core.contracts import load_schema

STATE_SCHEMA = "oasis.backhaul.state/1"
EVENT_SCHEMA = "oasis.backhaul.event/1"
EVENT_KINDS = ("failover", "failback", "link_down", "link_up", "agent_started")

#: Upper bounds (ms) of the RTT histogram buckets a state's ``rtt_buckets`` counts replies in;
#: one more bucket past the last bound holds the slower replies. Reporting reads percentiles
#: of any period from the sums of these counts.
RTT_BUCKETS_MS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000)

#: Filters the controller subscribes to (every branch).
STATE_TOPIC, EVENT_TOPIC = "backhaul/+/state", "backhaul/+/events"


def state_topic(branch: str) -> str:
    return f"backhaul/{branch}/state"


def event_topic(branch: str) -> str:
    return f"backhaul/{branch}/events"


def payload_schema() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the state and event payloads, as published (``schema`` and ``sent_at``
    are added by the MQTT link)."""
    return {"state": load_schema("backhaul-state.json"),
            "event": load_schema("backhaul-event.json")}


__all__ = ["EVENT_KINDS", "EVENT_SCHEMA", "EVENT_TOPIC", "RTT_BUCKETS_MS", "STATE_SCHEMA",
           "STATE_TOPIC",
           "event_topic", "payload_schema", "state_topic"]
