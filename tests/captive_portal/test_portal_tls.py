"""The portal over HTTPS, both ways docs/portal.md describes, with real handshakes against a
throwaway CA: granian's own TLS (``portal.tls_certificate`` / ``portal.tls_key``) and HAProxy
in front of a plain-HTTP portal. A visitor logs in over HTTPS (a plain MQTT link acks as the
park gateway would), the certificate is renewed and reloaded, and the visitor is still logged
in, served by new workers under the same main process, with no request failing meanwhile."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from captive_portal.gateways import register_gateway
from core.config import MqttConfig, load_config
from core.contracts.gateway import ACK_SCHEMA, topic
from core.contracts.signature import ClientClaim, sign
from core.mqtt import InboundMessage, MqttLink
from core.secrets import SecretBox
from core.store import Store
from tests.support import free_port, require_tool, wait_for, wait_for_tcp
from tests.systemd_notify import NotifyListener, stop_daemon, write_oasis_config
from tests.tls_certs import TestCA, peer_serial

GATEWAY_ID = "gw1"
GATEWAY_KEY = "tls-test-gateway-key-0123456789abcdef0123"
OASIS = str(Path(sys.executable).with_name("oasis"))


def workers_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return sorted(int(child) for child in path.read_text().split()) if path.exists() else []


class AckingGateway:
    """Stands in for the park gateway's agent on MQTT: acks every command as applied."""

    def __init__(self, mosquitto):
        self.link = MqttLink(MqttConfig(host=mosquitto.host, port=mosquitto.port),
                             client_id="tls-test-gateway")
        self.subscription = self.link.subscribe(topic(GATEWAY_ID, "command"), self._ack)
        self.link.start()
        assert self.link.wait_connected(10) and self.subscription.wait_active(10)

    def _ack(self, message: InboundMessage) -> None:
        payload = message.payload if isinstance(message.payload, dict) else {}
        self.link.publish_json(topic(GATEWAY_ID, "ack"), {
            "command_id": payload.get("command_id"), "session_id": payload.get("session_id"),
            "action": payload.get("action"), "ok": True, "error": None, "nft_ms": 0.1},
            qos=1, schema=ACK_SCHEMA)

    def stop(self) -> None:
        self.link.stop()


def prepare_store(config_path: Path) -> None:
    """Migrate the store and register the gateway, as `oasis migrate` and `portal gateway-add`."""
    config = load_config(config_path, env={})
    store = Store(config.store_location())
    try:
        register_gateway(store, SecretBox.from_key_file(config.resolve_path(config.store.key_file)),
                         GATEWAY_ID, key=GATEWAY_KEY)
    finally:
        store.close()


class Visitor:
    """A phone that trusts the CA: one HTTPS connection per request, a cookie jar of one."""

    def __init__(self, port: int, context: ssl.SSLContext, host: str = "127.0.0.1",
                 source: str | None = None):
        self.port, self.context, self.host, self.source = port, context, host, source
        self.cookie = ""

    def request(self, method: str, path: str, body: dict | None = None
                ) -> tuple[int, str, int]:
        """Status, page and the serial of the certificate the server presented."""
        conn = http.client.HTTPSConnection(
            self.host, self.port, timeout=10, context=self.context,
            source_address=(self.source, 0) if self.source else None)
        headers = {"Accept-Language": "en", "Cookie": self.cookie}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.connect()
            assert isinstance(conn.sock, ssl.SSLSocket)
            serial = peer_serial(conn.sock)
            conn.request(method, path, body=data, headers=headers)
            reply = conn.getresponse()
            page = reply.read().decode()
        finally:
            conn.close()
        cookies = reply.headers.get_all("Set-Cookie") or []
        if cookies:
            self.cookie = "; ".join(c.split(";")[0] for c in cookies)
        return reply.status, page, serial

    def log_in(self) -> None:
        claim = ClientClaim(GATEWAY_ID, "02:00:00:00:00:01", "10.77.0.100", "http://example.com/",
                            int(time.time()))
        signed = sign(claim, GATEWAY_KEY.encode())
        status, page, _ = self.request("GET", "/?" + urlencode(signed))
        assert status == 200, page[:300]
        token = _csrf(page)
        status, page, _ = self.request("POST", "/login/terms",
                                       {**signed, "csrf_token": token, "accept": "yes"})
        assert status == 303, page[:300]

    def logged_in(self) -> bool:
        status, page, _ = self.request("GET", "/status")
        assert status == 200
        return 'id="time-left"' in page


class Prober(threading.Thread):
    """New HTTPS connections one after another until stopped; every failure is kept."""

    def __init__(self, visitor: Visitor):
        super().__init__(daemon=True)
        self.visitor = visitor
        self.failures: list[str] = []
        self.answers = 0
        self.retried = 0
        self.serials: set[int] = set()
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                status, _, serial = self._get()
                assert status == 200, status
                self.answers += 1
                self.serials.add(serial)
            except (OSError, AssertionError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))

    def _get(self) -> tuple[int, str, int]:
        """A GET as a browser makes it: a connection that an exiting worker accepted and closed
        without an answer is retried once on a new connection (granian's reload replaces
        workers; one of them may take a connection on its way out on a busy machine: before the
        handshake ends that reads as an SSL EOF)."""
        try:
            return self.visitor.request("GET", "/terms")
        except (ConnectionError, http.client.RemoteDisconnected, ssl.SSLEOFError):
            self.retried += 1
            return self.visitor.request("GET", "/terms")


@pytest.fixture
def ca(tmp_path):
    return TestCA(tmp_path / "pki")


@pytest.fixture
def gateway(mosquitto):
    gateway = AckingGateway(mosquitto)
    yield gateway
    gateway.stop()


def test_granian_serves_https_and_reloads_its_certificate_without_logging_anyone_out(
        tmp_path, mosquitto, ca, gateway):
    first = ca.issue("portal", hosts=("127.0.0.1", "portal.test"))
    config = write_oasis_config(tmp_path, mosquitto, portal=(
        f'tls_certificate = "{first.certificate}"\ntls_key = "{first.key}"\n'))
    prepare_store(config)
    listener = NotifyListener()
    port = _portal_port(config)
    # -v: granian says when it stops each worker, should one be slow to go (the log is
    # shown if the portal does not exit cleanly).
    log_path = tmp_path / "portal.log"
    with log_path.open("wb") as log:
        portal = subprocess.Popen([OASIS, "--config", str(config), "-v", "portal", "serve"],
                                  env=listener.environment(watchdog_s=2.0),
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = listener.wait_for("READY", timeout=30)
        assert ready["STATUS"] == f"portal on https port {port}"
        visitor = Visitor(port, ca.client_context())

        # A real handshake: the CA's certificate for the name, TLS 1.2 at least, no plain HTTP.
        with socket.create_connection(("127.0.0.1", port)) as raw, \
                ca.client_context().wrap_socket(raw, server_hostname="portal.test") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert peer_serial(tls) == first.serial
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with pytest.raises((OSError, http.client.HTTPException)):
            plain.request("GET", "/healthz")
            plain.getresponse().read()
        plain.close()

        visitor.log_in()
        assert visitor.logged_in()
        workers = wait_for(lambda: len(workers_of(portal.pid)) == 2 and workers_of(portal.pid),
                           what="two workers")

        # Renewal: new files in place, then `systemctl reload` (SIGHUP to the main process).
        prober = Prober(Visitor(port, ca.client_context()))
        prober.start()
        wait_for(lambda: prober.answers > 0, what="the prober's first answer")
        second = ca.issue("portal", hosts=("127.0.0.1", "portal.test"))
        assert second.certificate == first.certificate and second.serial != first.serial
        portal.send_signal(signal.SIGHUP)
        wait_for(lambda: second.serial in prober.serials, 30, what="the renewed certificate")
        wait_for(lambda: len(workers_of(portal.pid)) == 2
                 and not set(workers_of(portal.pid)) & set(workers), 30,
                 what="the old workers to be replaced")
        prober.halt.set()
        prober.join(15)

        assert portal.poll() is None  # the same main process (systemd's MAINPID) throughout
        assert prober.failures == [] and prober.answers > 10
        assert prober.retried <= 2, prober.retried  # a rare dropped connection, never a run
        assert visitor.request("GET", "/healthz?scope=local")[2] == second.serial
        assert visitor.logged_in()  # the session from before the reload
    finally:
        code = stop_daemon(portal)
        listener.close()
    assert code == 0, log_path.read_text(errors="replace")[-6000:]


HAPROXY_CONFIG = """\
# The reverse proxy of docs/portal.md, as a test runs it (paths and ports filled in).
global
    maxconn 1024
    ssl-default-bind-options ssl-min-ver TLSv1.2
    stats socket {folder}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option forwardfor
    option http-server-close

frontend portal_https
    bind 127.0.0.1:{https_port} ssl crt {pem} alpn h2,http/1.1
    http-request set-header X-Forwarded-Proto https
    http-request del-header X-Forwarded-For
    default_backend portal

# Plain HTTP only to send the visitor to HTTPS.
frontend portal_http
    bind 127.0.0.1:{http_port}
    http-request redirect scheme https code 301

backend portal
    server portal1 127.0.0.1:{portal_port} check inter 2s
"""


def test_haproxy_in_front_of_the_portal(tmp_path, mosquitto, ca, gateway):
    haproxy = require_tool("haproxy")
    issued = ca.issue("portal", hosts=("127.0.0.1", "portal.test"))
    pem = issued.combined(tmp_path / "portal.pem")
    config = write_oasis_config(tmp_path, mosquitto, portal=(
        'proxy_hops = 1\nposts_per_minute = 3\npublic_url = "https://portal.test/"\n'))
    prepare_store(config)
    portal_port = _portal_port(config)
    https_port, http_port = free_port(), free_port()
    proxy_config = tmp_path / "haproxy.cfg"
    proxy_config.write_text(HAPROXY_CONFIG.format(
        folder=tmp_path, https_port=https_port, http_port=http_port, pem=pem,
        portal_port=portal_port))
    subprocess.run([haproxy, "-c", "-q", "-f", str(proxy_config)], check=True)
    portal = subprocess.Popen([OASIS, "--config", str(config), "portal", "serve"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = subprocess.Popen([haproxy, "-W", "-db", "-f", str(proxy_config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_tcp("127.0.0.1", portal_port, 30)
        wait_for_tcp("127.0.0.1", https_port, 10)
        visitor = Visitor(https_port, ca.client_context(), host="127.0.0.1")
        wait_for(lambda: _answers(visitor), 30, what="the portal through the proxy")

        # HTTP is kept only to redirect to HTTPS.
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
        plain.request("GET", "/status")
        moved = plain.getresponse()
        assert moved.status == 301
        assert moved.headers["Location"] == f"https://127.0.0.1:{http_port}/status"
        plain.close()

        visitor.log_in()
        assert visitor.logged_in()

        # The portal sees each visitor's own address (its per-address limits), not the proxy's:
        # one visitor spending its form posts leaves another's untouched.
        first = Visitor(https_port, ca.client_context(), source="127.0.0.5")
        second = Visitor(https_port, ca.client_context(), source="127.0.0.6")
        token = _token(first)
        answers = [first.request("POST", "/login/terms", {"csrf_token": token})[0]
                   for _ in range(4)]
        assert answers == [400, 400, 400, 429]
        assert second.request("POST", "/login/terms", {"csrf_token": _token(second)})[0] == 400

        # Renewing the certificate: new file, `systemctl reload haproxy` (SIGUSR2 to the
        # master): the portal and its workers are not touched, the visitor stays logged in.
        workers = workers_of(portal.pid)
        renewed = ca.issue("portal", hosts=("127.0.0.1", "portal.test"))
        renewed.combined(pem)
        proxy.send_signal(signal.SIGUSR2)
        wait_for(lambda: visitor.request("GET", "/terms")[2] == renewed.serial, 30,
                 what="the proxy to serve the renewed certificate")
        assert visitor.logged_in()
        assert workers_of(portal.pid) == workers
    finally:
        stop_daemon(proxy)
        stop_daemon(portal)


def _answers(visitor: Visitor) -> bool:
    try:
        return visitor.request("GET", "/healthz?scope=local")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def _token(visitor: Visitor) -> str:
    return _csrf(visitor.request("GET", "/reports/mine")[1])


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def _portal_port(config: Path) -> int:
    found = re.search(r'\[portal\]\nlisten = "127.0.0.1:(\d+)"', config.read_text())
    assert found
    return int(found.group(1))
