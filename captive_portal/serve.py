"""Serving the portal: the app with its MQTT link to the gateways and SMS retries.

Two ways to serve the same `PortalRuntime`:

- `PortalServer` runs it under waitress in a thread of the calling process: what ``oasis run``
  starts next to the admin app (one process for everything, the embedded default).
- `serve_workers` is ``oasis portal serve`` (``python -m captive_portal serve``) for a real park:
  granian's HTTP server with ``portal.workers`` processes, each building its own runtime in
  `worker_app`. One Python process holds one interpreter lock; a login costs about 3 ms of it,
  so one process tops out near 300 logins/s, and more workers use the other cores. Each worker
  has its own MQTT client (acks come to all, each waits for its own commands) and takes a share
  of the gateways' accounting reports (an MQTT shared subscription), so none is applied twice.
"""

from __future__ import annotations

import atexit
import gc
import http.client
import logging
import os
import socket
import ssl
import threading
from pathlib import Path

from waitress.server import create_server
from werkzeug.middleware.proxy_fix import ProxyFix

from captive_portal import create_app
from captive_portal.config import PortalSettings
from captive_portal.context import EXTENSION, StoreProvider
from captive_portal.gateway_link import MqttGatewayControl
from captive_portal.reports.context import configure as configure_reports
from captive_portal.sms import SmsRetrier
from core.config import Config, host_port, load_config
from core.logs import configure as configure_logging
from core.mqtt import MQTT_V5, MQTT_V311, MqttLink
from core.secrets import SecretBox
from core.systemd import ServiceNotifier

log = logging.getLogger(__name__)

#: The shared-subscription group portal workers split gateway reports in.
SHARE_GROUP = "oasis-portal"
#: Environment a worker process reads its verbosity from (the config comes by OASIS_CONFIG).
VERBOSITY_ENV = "OASIS_SERVE_VERBOSITY"
#: Seconds a new worker gets to start before the one it replaces is stopped (on SIGHUP, or
#: when a worker died); one is up within a second when the broker answers, and the
#: listening socket holds new connections meanwhile.
RESPAWN_INTERVAL_S = 1.0
#: Seconds a worker gets to stop (on SIGTERM, or when a reload replaces it) before granian kills
#: it: without a limit granian waits for it for ever, and a worker that hangs on its way out
#: (seen under load after a reload) would hold the whole portal's stop, or the next reload.
WORKER_KILL_TIMEOUT_S = 10
#: Seconds the watchdog's probe waits for a worker's answer.
PROBE_TIMEOUT_S = 5.0


class PortalRuntime:
    """The portal app and what runs beside it: the MQTT link to the gateways, SMS retries.

    ``instance`` tells workers of one portal apart (their MQTT client ids: host and pid, so
    workers of two nodes never take each other's broker session); a runtime with an instance
    shares gateway reports with its sibling workers.
    """

    def __init__(self, config: Config, settings: PortalSettings, *,
                 mqtt_protocol: str | None = None, instance: str = ""):
        self.settings = settings
        mqtt = config.mqtt
        external = bool(mqtt.addresses())  # else the embedded broker `oasis run` started
        host, port = (None, None) if external else host_port(mqtt.embedded_listen)
        # The embedded broker (amqtt) speaks only MQTT 3.1.1, and has no shared subscriptions.
        protocol = mqtt_protocol or (MQTT_V5 if external else MQTT_V311)
        suffix = f"-portal-{instance}" if instance else "-portal"
        self.link = MqttLink(mqtt, client_id=f"{mqtt.client_id}{suffix}", protocol=protocol,
                             host=host, port=port)
        secret_box = SecretBox.from_key_file(config.resolve_path(config.store.key_file))
        store_path = str(config.store_location())
        # The MQTT thread writes accounting with stores of its own (one per thread anyway).
        self._report_stores = StoreProvider(store_path)
        share = SHARE_GROUP if instance and external else None
        self.gateways = MqttGatewayControl(self.link, self._report_stores, share=share)
        self.app = create_app(settings, store_path=store_path, secret_box=secret_box,
                              gateway=self.gateways, links=lambda: [self.link.health()],
                              timezone=config.municipality.timezone)
        hops = settings.portal.proxy_hops
        if hops:  # behind a TLS proxy: the visitor's address and scheme are in its headers
            self.app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
                self.app.wsgi_app, x_for=hops, x_proto=hops)
        # The [reports] section (categories' limits, Open311 keys...); the controller's forwarder
        # picks up what is filed here from the shared store's outbox.
        configure_reports(self.app, config.reports)
        self._stores = self.app.extensions[EXTENSION].stores
        self.retrier = SmsRetrier(self.app.extensions[EXTENSION].sms)

    def start(self, connect_timeout_s: float = 10.0) -> None:
        self.gateways.start()
        self.link.start()
        if not self.link.wait_connected(connect_timeout_s):
            log.warning("portal not connected to the broker yet; logins wait for it")
        self.retrier.start()

    def stop(self) -> None:
        self.retrier.stop()
        self.link.stop()
        self._stores.close_all()
        self._report_stores.close_all()


class PortalServer(PortalRuntime):
    """A running portal under waitress in this process; `stop` shuts all of it down."""

    def __init__(self, config: Config, settings: PortalSettings, *, threads: int | None = None,
                 mqtt_protocol: str | None = None):
        super().__init__(config, settings, mqtt_protocol=mqtt_protocol)
        if settings.portal.tls_certificate:
            log.warning("the portal inside `oasis run` serves plain HTTP on %s: HTTPS is "
                        "`oasis portal serve` (portal.tls_certificate) or a TLS proxy",
                        settings.portal.listen)
        listen_host, listen_port = host_port(settings.portal.listen, "portal.listen")
        self.server = create_server(self.app, host=listen_host, port=listen_port,
                                    threads=threads or settings.portal.threads,
                                    ident="oasis-portal")
        self._thread = threading.Thread(target=self.server.run, name="portal-http", daemon=True)

    @property
    def port(self) -> int:
        # One listen address gives a TcpWSGIServer, which sets effective_port; waitress's
        # stubs declare it on neither server class.
        return self.server.effective_port  # type: ignore[union-attr]

    def start(self, connect_timeout_s: float = 10.0) -> None:
        super().start(connect_timeout_s)
        self._thread.start()
        log.info("portal listening on %s", self.settings.portal.listen)

    def stop(self) -> None:
        self.server.close()
        super().stop()


def start_portal(config: Config, settings: PortalSettings) -> PortalServer:
    """Build and start the portal for ``oasis run``; call `PortalServer.stop` on shutdown."""
    server = PortalServer(config, settings)
    server.start()
    return server


def serve_workers(config: Config, settings: PortalSettings, verbose: int = 0) -> None:
    """Serve ``portal.listen`` with ``portal.workers`` granian processes until SIGTERM/SIGINT.

    Workers load the same config file (``OASIS_CONFIG``, with the same environment overrides)
    in `worker_app`; a worker that dies is started again.
    """
    from granian import Granian
    from granian.constants import Interfaces, SSLProtocols
    from granian.log import LogLevels

    portal = settings.portal
    host, port = host_port(portal.listen, "portal.listen")
    if config.source != "defaults":
        os.environ["OASIS_CONFIG"] = str(Path(config.source).resolve())
    os.environ[VERBOSITY_ENV] = str(verbose)
    tls = bool(portal.tls_certificate)
    service = ServiceNotifier.from_environment()  # before the workers start
    server = Granian("captive_portal.serve:worker_app", address=host, port=port,
                     interface=Interfaces.WSGI, factory=True, workers=portal.workers,
                     blocking_threads=portal.threads, respawn_failed_workers=True,
                     respawn_interval=RESPAWN_INTERVAL_S,
                     workers_kill_timeout=WORKER_KILL_TIMEOUT_S,
                     log_level=LogLevels.info if verbose else LogLevels.warning,
                     ssl_cert=config.resolve_path(portal.tls_certificate) if tls else None,
                     ssl_key=config.resolve_path(portal.tls_key) if tls else None,
                     # TLS 1.2 still: phones of a few years ago are park visitors too.
                     ssl_protocol_min=SSLProtocols.tls12)
    watch = PortalWatch(service, host, port, tls=tls)
    # SIGHUP (`systemctl reload`): granian starts new workers one at a time on the same
    # listening socket, each reading the certificate files again, and stops the old ones
    # once the new are up; visitors' sessions are in the store and their cookies signed with
    # the key file, so nobody is logged out.
    server.on_reload(watch.reloading)
    server.on_startup(watch.start)
    server.on_shutdown(watch.stop)
    server.serve()


class PortalWatch(threading.Thread):
    """In granian's main process: tells systemd the portal is up, and keeps telling it.

    READY=1 once a worker answers on the listening socket, then WATCHDOG=1 while one keeps
    answering ``/healthz?scope=local``. Any HTTP answer counts (a 503 says the broker is away,
    which a restart would not fix); no answer in time stops the pings, and
    systemd restarts the portal after ``WatchdogSec=``.
    """

    def __init__(self, service: ServiceNotifier, host: str, port: int, *, tls: bool):
        super().__init__(name="portal-watch", daemon=True)
        self.service = service
        # A wildcard listen address is reached on loopback.
        self.host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        self.port = port
        self.tls = tls
        # An answer later than the next ping is due counts as none.
        self.timeout = min(PROBE_TIMEOUT_S, max(0.5, service.watchdog_interval))
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.2):
            if self.probe() is None:
                self.service.ready(f"portal on {'https' if self.tls else 'http'} port {self.port}")
                break
        self.service.serve_until(self._stop_event, self.probe, longest=PROBE_TIMEOUT_S)

    def probe(self) -> str | None:
        """None if a worker answered over HTTP(S), else what went wrong."""
        if self.tls:
            # Loopback, to see that a worker answers: whose certificate it is does not matter.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", "/healthz?scope=local")
            conn.getresponse().read()
        except (OSError, http.client.HTTPException) as exc:
            return f"no worker answers on port {self.port}: {exc}"
        finally:
            conn.close()
        return None

    def reloading(self) -> None:
        log.info("reload: new workers read the certificate and the config again")

    def stop(self) -> None:
        self.service.stopping()
        self._stop_event.set()


def worker_app():
    """Granian's factory: one worker's runtime, started, and its WSGI app."""
    verbose = int(os.environ.get(VERBOSITY_ENV, "0") or 0)
    configure_logging(verbose)
    config = load_config()
    runtime = PortalRuntime(config, PortalSettings.from_config(config),
                            instance=f"{socket.gethostname()}-{os.getpid()}")
    runtime.start()
    atexit.register(runtime.stop)
    # What start-up built lives as long as the worker: keep it out of every full collection.
    gc.collect()
    gc.freeze()
    log.info("portal worker %s ready", os.getpid())
    return runtime.app


__all__ = ["PortalRuntime", "PortalServer", "PortalWatch", "serve_workers", "start_portal",
           "worker_app"]
