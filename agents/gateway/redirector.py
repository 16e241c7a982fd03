"""The agent's HTTP side: the redirector and the RFC 8908 captive-portal API.

Redirector: every HTTP request of an unauthorised client is DNAT'ed here by nftables and
answered with a 302 to the portal carrying the signed claim (gateway id, MAC from the
neighbour table, IP, original URL, timestamp, HMAC), and ``Connection: close``, so no captured
connection outlives the login. OS connectivity probes get the same 302,
which every OS treats as "captive" and answers by opening the portal (never 204, empty 200 or
511 on a probe: those read as "online" or confuse Android). Methods other than GET and HEAD get
511 Network Authentication Required with the link.

RFC 8908 API (DHCP option 114 points at it): ``application/captive+json`` with ``captive`` and
``user-portal-url`` before login, and ``seconds-remaining`` / ``bytes-remaining`` after.
"""

from __future__ import annotations

import html
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

from agents.gateway.config import GatewayConfig
from agents.gateway.dnsmasq import ApDirectory
from agents.gateway.enforcer import Enforcer
from agents.gateway.neighbours import mac_for_ip
from core.contracts.signature import ClientClaim, sign

log = logging.getLogger(__name__)

API_PATH = "/captive-portal/api"
CAPTIVE_JSON = "application/captive+json"
_SO_ORIGINAL_DST = 80


class PortalLinks:
    """Builds signed portal URLs for a client (the redirector's and the API's)."""

    def __init__(self, config: GatewayConfig, key: bytes,
                 neighbour: Callable[[str], str | None] = mac_for_ip,
                 clock: Callable[[], float] = time.time,
                 ap_for: Callable[[str], str] | None = None):
        self.config = config
        self.key = key
        self.neighbour = neighbour
        self.clock = clock
        self.ap_for = ap_for or ApDirectory(config.ap_dir if config.ap_option else "").ap_for

    def for_client(self, ip: str, url: str) -> str | None:
        """The portal URL for ``ip`` asking for ``url``; None if its MAC is unknown."""
        mac = self.neighbour(ip)
        if mac is None:
            return None
        claim = ClientClaim(self.config.gateway_id, mac, ip, url, int(self.clock()),
                            self.ap_for(mac))
        base = self.config.portal_url
        return f"{base}{'&' if '?' in base else '?'}{urlencode(sign(claim, self.key))}"


def _original_url(handler: BaseHTTPRequestHandler) -> str:
    host = handler.headers.get("Host", "").strip()
    if not host:
        try:
            raw = handler.connection.getsockopt(socket.SOL_IP, _SO_ORIGINAL_DST, 16)
            host = socket.inet_ntoa(raw[4:8])
            port = struct.unpack("!H", raw[2:4])[0]
            host = host if port == 80 else f"{host}:{port}"
        except OSError:
            host = "unknown"
    path = handler.path if handler.path.startswith("/") else "/"
    return f"http://{host}{path}"[:2048]


class _QuietHandler(BaseHTTPRequestHandler):
    server_version = "oasis-gateway"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib's signature
        log.debug("%s %s", self.client_address[0], format % args)

    def send_body(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "private, no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def redirect_handler(links: PortalLinks) -> type[BaseHTTPRequestHandler]:
    class RedirectHandler(_QuietHandler):
        def _answer(self, status: int) -> None:
            # A captured connection is never reused: once the visitor logs in, the next
            # request must open a new connection that nftables no longer steers here.
            self.close_connection = True
            location = links.for_client(self.client_address[0], _original_url(self))
            if location is None:
                self.send_body(503, b"Please reconnect to the WiFi.\n", "text/plain",
                               {"Retry-After": "2"})
                return
            link = html.escape(location, quote=True)
            body = (f'<html><head><meta http-equiv="refresh" content="0;url={link}">'
                    f'</head><body><a href="{link}">Login</a></body></html>').encode()
            self.send_body(status, body, "text/html; charset=utf-8", {"Location": location}
                           if status == 302 else {})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(302)

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802
            self._answer(511)

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    return RedirectHandler


def api_handler(links: PortalLinks, enforcer: Enforcer,
                clock: Callable[[], float] = time.time) -> type[BaseHTTPRequestHandler]:
    class CaptiveApiHandler(_QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path.split("?")[0] != API_PATH:
                self.send_body(404, b'{"error": "not_found"}', "application/json")
                return
            ip = self.client_address[0]
            session = enforcer.client(ip)
            if session is not None and session.seconds_left(clock()) == 0:
                session = None  # the kernel has dropped it; the next sweep tells the portal
            portal = links.for_client(ip, "") or links.config.portal_url
            answer: dict = {"captive": session is None, "user-portal-url": portal}
            if session is not None:
                answer["seconds-remaining"] = session.seconds_left(clock())
                if session.bytes_left() is not None:
                    answer["bytes-remaining"] = session.bytes_left()
                answer["can-extend-session"] = False
            self.send_body(200, json.dumps(answer).encode(), CAPTIVE_JSON)

    return CaptiveApiHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HttpSide:
    """The redirector and API servers, each in its own thread; `stop` closes both."""

    def __init__(self, config: GatewayConfig, links: PortalLinks, enforcer: Enforcer,
                 host: str | None = None):
        host = host if host is not None else config.lan_address
        self.redirector = _Server((host, config.redirect_port), redirect_handler(links))
        self.api = _Server((host, config.api_port), api_handler(links, enforcer))
        self._threads = [threading.Thread(target=server.serve_forever, name=name, daemon=True)
                         for server, name in ((self.redirector, "redirector"), (self.api, "api"))]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def alive(self) -> bool:
        """True while both servers' threads run."""
        return all(thread.is_alive() for thread in self._threads)

    def stop(self) -> None:
        for server in (self.redirector, self.api):
            server.shutdown()
            server.server_close()


__all__ = ["API_PATH", "CAPTIVE_JSON", "HttpSide", "PortalLinks", "api_handler",
           "redirect_handler"]
