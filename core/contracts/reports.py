"""940 reports <-> the municipality's back office over MQTT (schemas in ``schemas/report*.json``).

Topics, under the configured prefix: new reports, updates and escalations go out; the back
office acks them per id on ``reports/ack`` and sends status changes on ``reports/status``, which
we ack on ``reports/status-ack``. docs/reports.md describes the exchange.
"""

from __future__ import annotations

TOPIC_NEW = "reports/new"
TOPIC_UPDATES = "reports/updates"
TOPIC_ESCALATIONS = "reports/escalations"
TOPIC_ACK = "reports/ack"
TOPIC_STATUS = "reports/status"
TOPIC_STATUS_ACK = "reports/status-ack"

SCHEMA_REPORT = "report/1"
SCHEMA_UPDATE = "report-update/1"
SCHEMA_ESCALATION = "report-escalation/1"
SCHEMA_ACK = "report-ack/1"
SCHEMA_STATUS = "report-status/1"
SCHEMA_STATUS_ACK = "report-status-ack/1"

#: Every status a report can be in (``report-status.json`` enumerates the same).
STATUSES = ("received", "forwarded", "acknowledged", "assigned", "in_progress", "resolved",
            "closed", "rejected", "reopened")

__all__ = ["SCHEMA_ACK", "SCHEMA_ESCALATION", "SCHEMA_REPORT", "SCHEMA_STATUS",
           "SCHEMA_STATUS_ACK", "SCHEMA_UPDATE", "STATUSES", "TOPIC_ACK", "TOPIC_ESCALATIONS",
           "TOPIC_NEW", "TOPIC_STATUS", "TOPIC_STATUS_ACK", "TOPIC_UPDATES"]
