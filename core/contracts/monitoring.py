"""What the controller announces about the network, and what APs announce about themselves.

Schemas in ``schemas/{event,alert,adoption-hello}.json``.
"""

from __future__ import annotations

#: AP events (state changes, traps) on ``events/<site>/<ap>/<kind>``.
EVENT_SCHEMA = "event/1"
#: Alerts opened and cleared on ``alerts/...``.
ALERT_SCHEMA = "alert/1"
#: Inventory changes made in the admin app, for other nodes (``inventory/changed``).
INVENTORY_SCHEMA = "inventory/1"
#: An AP announcing itself from an adoption network.
HELLO_TOPIC = "adoption/hello"

__all__ = ["ALERT_SCHEMA", "EVENT_SCHEMA", "HELLO_TOPIC", "INVENTORY_SCHEMA"]
