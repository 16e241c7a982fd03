"""Serving the portal: the app, its MQTT link to the gateways, SMS retries, and waitress.

`start_portal` is what ``oasis run`` calls (next to the admin app); ``python -m captive_portal
serve`` runs the same thing alone.
"""

from __future__ import annotations

import logging
import threading

from waitress.server import create_server

from captive_portal import create_app
from captive_portal.config import PortalSettings
from captive_portal.context import EXTENSION, StoreProvider
from captive_portal.gateway_link import MqttGatewayControl
from captive_portal.sms import SmsRetrier
from controller.config import Config, host_port
from controller.mqtt import MQTT_V311, MQTT_V5, MqttLink
from controller.secrets import SecretBox

log = logging.getLogger(__name__)


class PortalServer:
    """A running portal; `stop` shuts down HTTP, SMS retries and the MQTT link."""

    def __init__(self, config: Config, settings: PortalSettings, *, threads: int = 8,
                 mqtt_protocol: str | None = None):
        self.settings = settings
        mqtt = config.mqtt
        host, port = (mqtt.host, mqtt.port) if mqtt.host else host_port(mqtt.embedded_listen)
        # The embedded broker (amqtt) speaks only MQTT 3.1.1.
        protocol = mqtt_protocol or (MQTT_V5 if mqtt.host else MQTT_V311)
        self.link = MqttLink(mqtt, client_id=f"{mqtt.client_id}-portal", protocol=protocol,
                             host=host, port=port)
        secret_box = SecretBox.from_key_file(config.resolve_path(config.store.key_file))
        store_path = str(config.resolve_path(config.store.path))
        # The MQTT thread writes accounting with stores of its own (one per thread anyway).
        self._report_stores = StoreProvider(store_path)
        self.gateways = MqttGatewayControl(self.link, self._report_stores)
        self.app = create_app(settings, store_path=store_path, secret_box=secret_box,
                              gateway=self.gateways)
        self._stores = self.app.extensions[EXTENSION].stores
        self.retrier = SmsRetrier(self.app.extensions[EXTENSION].sms)
        listen_host, listen_port = host_port(settings.portal.listen, "portal.listen")
        self.server = create_server(self.app, host=listen_host, port=listen_port,
                                    threads=threads, ident="oasis-portal")
        self._thread = threading.Thread(target=self.server.run, name="portal-http", daemon=True)

    @property
    def port(self) -> int:
        return self.server.effective_port

    def start(self, connect_timeout_s: float = 10.0) -> None:
        self.gateways.start()
        self.link.start()
        if not self.link.wait_connected(connect_timeout_s):
            log.warning("portal not connected to the broker yet; logins wait for it")
        self.retrier.start()
        self._thread.start()
        log.info("portal listening on %s", self.settings.portal.listen)

    def stop(self) -> None:
        self.server.close()
        self.retrier.stop()
        self.link.stop()
        self._stores.close_all()
        self._report_stores.close_all()


def start_portal(config: Config, settings: PortalSettings) -> PortalServer:
    """Build and start the portal for ``oasis run``; call `PortalServer.stop` on shutdown."""
    server = PortalServer(config, settings)
    server.start()
    return server


__all__ = ["PortalServer", "start_portal"]
