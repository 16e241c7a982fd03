"""The 940 report pipeline in the controller process: one MQTT link, three workers.

`ReportsService` opens the forwarder's persistent MQTT 5 session and runs the outbox forwarder,
the status-update consumer and the SLA watcher on it. The controller runtime starts it next to
monitoring; ``oasis reports forward`` runs it alone (its own process, as in the crash tests).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from flask import Flask

from captive_portal.config import SmsConfig
from captive_portal.context import StoreProvider
from captive_portal.reports.awareness import AwarenessSender
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.context import configure
from captive_portal.reports.forwarder import ReportForwarder
from captive_portal.reports.sla import SlaWatcher
from captive_portal.reports.status import StatusConsumer
from captive_portal.sms import SmsRetrier, SmsService, make_driver
from core.config import MqttConfig
from core.mqtt import MQTT_V5, MqttLink

log = logging.getLogger(__name__)


class ReportsService:
    def __init__(self, store_path: str | Path, mqtt: MqttConfig, config: ReportsConfig, *,
                 sms_config: SmsConfig | None = None, sms: SmsService | None = None,
                 protocol: str = MQTT_V5, host: str | None = None, port: int | None = None,
                 clock: Callable[[], float] = time.time, poll_s: float = 0.5,
                 retry_sms: bool = False):
        self.store_path = str(store_path)
        self.config = config
        self._stores = StoreProvider(self.store_path)
        if sms is None and sms_config is not None:
            sms = SmsService(self._stores, make_driver(sms_config), sms_config, clock=clock)
        self.sms = sms
        link_config = replace(mqtt, client_id=config.client_id)
        # A persistent session either way: MQTT 5 clean_start=False + expiry, or 3.1.1
        # clean_session=False on the embedded broker (whose sessions live in memory).
        self.link = MqttLink(link_config, protocol=protocol, host=host, port=port,
                             clean_start=False,
                             session_expiry_s=config.session_expiry_s if protocol == MQTT_V5
                             else 0, reconnect_min_s=0.2, reconnect_max_s=5.0)
        self.forwarder = ReportForwarder(self.store_path, self.link, config, clock=clock,
                                         poll_s=poll_s)
        self.status = StatusConsumer(self.store_path, self.link, config, sms, clock=clock)
        self.sla = SlaWatcher(self.store_path, config, sms, clock=clock,
                              on_outbox=self.forwarder.wake)
        # The portal's process retries failed SMS; a deployment without one asks us to.
        self.sms_retrier = SmsRetrier(sms) if retry_sms and sms is not None else None
        # Awareness messages go out from here, paced (captive_portal.reports.awareness).
        self.awareness = AwarenessSender(self._stores, sms, sms.config.awareness_per_minute) \
            if sms is not None else None

    def attach_portal(self, app: Flask) -> None:
        """Give the portal app the ``[reports]`` settings and a way to wake the forwarder when a
        report is filed (else it is published at the next poll)."""
        configure(app, self.config, on_filed=self.forwarder.wake)

    def start(self) -> None:
        # Subscriptions first, so they go out with the first CONNECT's resubscribe.
        self.forwarder.start()
        self.status.start()
        self.link.start()
        self.sla.start()
        if self.sms is not None:
            # The gateway's receipts and citizens' replies come to this process (an SMPP bind
            # is opened here; drivers called back over HTTP have nothing to start).
            self.sms.start()
        if self.sms_retrier is not None:
            self.sms_retrier.start()
        if self.awareness is not None:
            self.awareness.start()

    def stop(self) -> None:
        if self.awareness is not None:
            self.awareness.stop()
        if self.sms_retrier is not None:
            self.sms_retrier.stop()
        if self.sms is not None:
            self.sms.stop()
        self.sla.stop()
        self.forwarder.stop()
        self.status.stop()
        self.link.stop()
        self._stores.close_all()


__all__ = ["ReportsService"]
