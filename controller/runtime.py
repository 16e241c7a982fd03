"""The controller process: MQTT (embedded broker when none is configured), monitoring, admin web.

`Controller.start()` brings the parts up in dependency order and `stop()` takes them down in
reverse; `oasis run` and the end-to-end tests both use it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from captive_portal.config import PortalSettings
from captive_portal.reports.service import ReportsService
from captive_portal.serve import PortalServer
from controller.backhaul.service import BackhaulMonitor
from controller.broker import EmbeddedBroker
from controller.monitoring.service import MonitoringService
from controller.monitoring.snapshot import Snapshot
from controller.notify.channels import Channels
from controller.notify.worker import NotifyWorker
from controller.provisioning import ProvisioningWorker, SnmpReachability
from controller.web import create_app
from core.config import Config, host_port
from core.contracts.monitoring import HELLO_TOPIC, INVENTORY_SCHEMA
from core.mqtt import MQTT_V5, InboundMessage, LinkHealth, MqttLink
from core.secrets import SecretBox
from core.store import Store
from netconfig import adoption
from reporting.schedules import Scheduler as ReportScheduler

log = logging.getLogger(__name__)

#: Where a factory-fresh AP says hello (under the MQTT prefix): {"mac", "mgmt_ip", "platform"?}.


@dataclass
class Controller:
    config: Config
    #: False when the portal runs apart (``oasis run --no-portal`` next to ``oasis portal serve``).
    serve_portal: bool = True
    #: ``oasis run --demo``: the portal lets a made-up device in (`captive_portal.demo`).
    demo: bool = False
    #: This process's poller's own snapshot (its APs); pages read the published one.
    snapshot: Snapshot = field(default_factory=Snapshot)
    broker: EmbeddedBroker | None = None
    link: MqttLink | None = None
    monitoring: MonitoringService | None = None
    backhaul: BackhaulMonitor | None = None
    provisioning: ProvisioningWorker | None = None
    portal: PortalServer | None = None
    reports: ReportsService | None = None
    report_scheduler: ReportScheduler | None = None
    notify: NotifyWorker | None = None
    admin_url: str = ""
    portal_url: str = ""
    _reachability: SnmpReachability | None = None
    _web: BaseWSGIServer | MultiSocketServer | None = None
    _web_thread: threading.Thread | None = None

    def start(self) -> None:
        config = self.config
        store_path = config.store_location()
        Store(store_path).close()  # migrations before anything reads the store
        secret_box = SecretBox.from_key_file(config.resolve_path(config.store.key_file))

        # host None: the link tries every broker of [mqtt] (`MqttConfig.addresses`).
        protocol, host, port = MQTT_V5, None, None
        if not config.mqtt.addresses():
            self.broker = EmbeddedBroker.from_config(config.mqtt)
            self.broker.start()
            protocol, host, port = self.broker.link_protocol, self.broker.host, self.broker.port
        self.link = MqttLink(config.mqtt, protocol=protocol, host=host, port=port)
        self.link.start()  # connects in the background; publishing before then is queued

        if config.monitoring.role != "admin":  # an admin node shows what the pollers publish
            self.monitoring = MonitoringService(config, store_path, secret_box, self.snapshot,
                                                publish=self.link.publish_json)
            self.monitoring.start()
        self.backhaul = BackhaulMonitor(lambda: Store(store_path), self.link,
                                        publish=self.link.publish_json)

        settings = config.provisioning
        self._reachability = SnmpReachability(settings.snmp_timeout)
        self.provisioning = ProvisioningWorker(lambda: Store(store_path), secret_box, settings,
                                               snmp=self._reachability)
        self.provisioning.start()
        self.link.subscribe(HELLO_TOPIC, lambda message: self._hello(store_path, message))

        # The admin app reads the snapshot every poller publishes in the store, this one's too.
        app = create_app(config, secret_box=secret_box,
                         mqtt_publish=self._announce, provisioning_wake=self.provisioning.wake,
                         links=self.link_health)
        web_host, web_port = host_port(config.admin.listen, "admin.listen")
        self._web = web = create_server(app, host=web_host, port=web_port, threads=8,
                                        ident="oasis-edge")
        # One listen address gives a TcpWSGIServer, which sets effective_port; waitress's stubs
        # declare it on neither server class.
        bound_port = web.effective_port  # type: ignore[union-attr]
        self.admin_url = f"http://{web_host}:{bound_port}/"
        self._web_thread = threading.Thread(target=web.run, name="admin-web", daemon=True)
        self._web_thread.start()

        if self.serve_portal:
            self.portal = PortalServer(config, PortalSettings.from_config(config, demo=self.demo))
            sms = {"sms": self.portal.app.extensions["oasis_portal"].sms}
        else:
            # The portal runs apart (`oasis portal serve`, its own workers) on the same store.
            sms = {"sms_config": config.sms, "retry_sms": True}
        self.reports = ReportsService(store_path, config.mqtt, config.reports, **sms,
                                      protocol=protocol, host=host, port=port)
        if self.portal is not None:
            self.reports.attach_portal(self.portal.app)  # it wakes the forwarder on intake
        self.reports.start()  # forwarder, back-office status consumer, SLA watcher
        self.notify = self._notify_worker(store_path, secret_box)
        self.notify.start()  # the 940 pipeline's health, alert routing, the notification outbox
        if self.portal is not None:
            self.portal.start()
            portal_host, _ = host_port(config.portal.listen, "portal.listen")
            self.portal_url = f"http://{portal_host}:{self.portal.port}/"
        # KPI reports on a schedule ([reporting]), mailed through [mail]; once per period.
        self.report_scheduler = ReportScheduler(lambda: Store(store_path, migrate=False), config)
        self.report_scheduler.start()

    def _notify_worker(self, store_path, secret_box: SecretBox) -> NotifyWorker:
        sms = self.reports.sms if self.reports is not None else None
        send_sms = (lambda to, text, locale: sms.send(to, text, purpose="alert", locale=locale)
                    ) if sms is not None else None
        channels = Channels(self.config.mail, self.config.resolve_path("."), send_sms,
                            webhook_timeout_s=self.config.alerts.webhook_timeout_s)
        return NotifyWorker(lambda: Store(store_path), self.config.alerts, channels, secret_box,
                            self.config.municipality.timezone)

    def health_problem(self) -> str | None:
        """The part of this process that has stopped, or None while all run.

        The service's watchdog is pinged only while this is None. A broker, an AP or the back
        office being away is not a problem here: a restart would not bring them back, and each
        part reconnects on its own.
        """
        threads = (("admin web", self._web_thread), ("provisioning", self.provisioning))
        for name, thread in threads:
            if thread is not None and not thread.is_alive():
                return f"{name} stopped"
        if self.notify is not None and not self.notify.alive:
            return "notifications stopped"
        if self.monitoring is not None and not self.monitoring.alive:
            return "monitoring stopped"
        return None

    def _hello(self, store_path, message: InboundMessage) -> None:
        """An AP announcing itself over MQTT ({"mac", "mgmt_ip", "platform"?}) is pending
        adoption if its address is in [provisioning] adoption_networks (rare: a store per call)."""
        payload = message.payload if isinstance(message.payload, dict) else {}
        mac, address = payload.get("mac"), payload.get("mgmt_ip")
        if not isinstance(mac, str) or not isinstance(address, str):
            log.info("adoption hello without mac and mgmt_ip ignored")
            return
        platform = payload.get("platform")
        store = Store(store_path)
        try:
            adoption.announce(store, self.config.provisioning, mgmt_ip=address, mac=mac,
                              platform=platform if isinstance(platform, str) else None,
                              source="mqtt", detail={"topic": message.topic})
        finally:
            store.close()

    def link_health(self) -> list[LinkHealth]:
        """Every MQTT link of this process: the controller's, the forwarder's, the portal's."""
        links = [self.link, self.reports.link if self.reports else None,
                 self.portal.link if self.portal else None]
        return [link.health() for link in links if link is not None]

    def _announce(self, topic_suffix: str, payload: dict) -> None:
        """Inventory changes from the admin app, on MQTT with the project's schema tag."""
        assert self.link is not None  # the admin app starts after the link
        self.link.publish_json(topic_suffix, payload, schema=INVENTORY_SCHEMA)

    def stop(self) -> None:
        if self.report_scheduler is not None:
            self.report_scheduler.stop()
        if self.portal is not None:
            self.portal.stop()
        if self.notify is not None:
            self.notify.stop()
        if self.reports is not None:
            self.reports.stop()
        if self._web is not None:
            self._web.close()
        if self.provisioning is not None:
            self.provisioning.stop()
            self.provisioning.join(30)
        if self._reachability is not None:
            self._reachability.close()
        if self.monitoring is not None:
            self.monitoring.stop()
        if self.backhaul is not None:
            self.backhaul.stop()
        if self.link is not None:
            self.link.stop()
        if self.broker is not None:
            self.broker.stop()
