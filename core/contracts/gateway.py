"""Portal <-> park gateway over MQTT (schemas in ``schemas/gateway-*.json``).

Topics, under the configured prefix:

- ``gateway/<id>/command``      allow/deny from the portal (QoS 1)
- ``gateway/<id>/ack``          one per command, with ``ok``, ``error`` and the nft time
- ``gateway/<id>/accounting``   byte counters and last-seen of authorised clients, in chunks
- ``gateway/<id>/session-end``  a session ended on the gateway (expired, quota, idle, removed)
"""

from __future__ import annotations

import re

COMMAND_SCHEMA = "gateway-command/1"
ACK_SCHEMA = "gateway-ack/1"
ACCOUNTING_SCHEMA = "gateway-accounting/1"
SESSION_END_SCHEMA = "gateway-session-end/1"

#: What a gateway id may look like (it is a topic level and a file name on the gateway).
GATEWAY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def topic(gateway_id: str, kind: str) -> str:
    """``gateway/<id>/<kind>``; ``+`` as the id subscribes to every gateway."""
    return f"gateway/{gateway_id}/{kind}"


__all__ = ["ACCOUNTING_SCHEMA", "ACK_SCHEMA", "COMMAND_SCHEMA", "GATEWAY_ID",
           "SESSION_END_SCHEMA", "topic"]
