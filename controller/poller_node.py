"""A poller alone (``oasis poller``, or ``oasis run`` with ``[monitoring] role = "poller"``).

It runs the monitoring service (its share of the APs, the trap receiver, alerts and events for
the APs it owns) and an MQTT link for the announcements, and nothing else: no admin app, no
portal, no 940 pipeline. Admin nodes read what it publishes in the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from controller.monitoring.service import MonitoringService
from controller.monitoring.snapshot import Snapshot
from core.config import Config
from core.mqtt import MqttLink
from core.secrets import SecretBox
from core.store import Store

log = logging.getLogger(__name__)

__all__ = ["PollerNode"]


@dataclass
class PollerNode:
    config: Config
    store_path: str | Path
    #: This poller's holder id in its group (None: `core.leases.holder_id("poller")`).
    holder: str | None = None
    snapshot: Snapshot = field(default_factory=Snapshot)
    link: MqttLink | None = None
    monitoring: MonitoringService | None = None

    def start(self) -> None:
        Store(self.store_path).close()  # migrations before anything reads the store
        secret_box = SecretBox.from_key_file(self.config.resolve_path(self.config.store.key_file))
        publish = None
        if self.config.mqtt.addresses():  # every broker of [mqtt], failing over in turn
            self.link = MqttLink(self.config.mqtt, client_id=f"{self.config.mqtt.client_id}-"
                                 f"poller-{id(self):x}")
            self.link.start()  # connects in the background; publishing before then is queued
            publish = self.link.publish_json
        else:
            log.info("no MQTT broker configured: events and alerts are kept in the store only")
        self.monitoring = MonitoringService(self.config, self.store_path, secret_box,
                                            self.snapshot, publish=publish, holder=self.holder)
        self.monitoring.start()

    def health_problem(self) -> str | None:
        if self.monitoring is not None and not self.monitoring.alive:
            return "monitoring stopped"
        return None

    def stop(self) -> None:
        if self.monitoring is not None:
            self.monitoring.stop()
        if self.link is not None:
            self.link.stop()
