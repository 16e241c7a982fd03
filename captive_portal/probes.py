"""The operating systems' connectivity probes and the answers that mean "online".

Before login every probe is caught by the gateway and answered with a 302 to the portal (which
every OS reads as "captive" and opens the portal for). After login the probes reach their real
servers, which answer as below; a gateway or lab that stands in for those servers must answer
exactly so, byte for byte: Android takes only an empty 204 as online, Apple only its Success
page, Windows only its exact text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    os: str
    host: str
    path: str
    status: int
    content_type: str
    body: bytes

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.path}"


_FIREFOX_CANONICAL = (b'<meta http-equiv="refresh" '
                      b'content="0;url=https://support.mozilla.org/kb/captive-portal"/>')

PROBES = (
    Probe("android", "connectivitycheck.gstatic.com", "/generate_204", 204, "", b""),
    Probe("android", "www.google.com", "/gen_204", 204, "", b""),
    Probe("android", "play.googleapis.com", "/generate_204", 204, "", b""),
    Probe("apple", "captive.apple.com", "/hotspot-detect.html", 200, "text/html",
          b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"),
    Probe("windows", "www.msftconnecttest.com", "/connecttest.txt", 200, "text/plain",
          b"Microsoft Connect Test"),
    Probe("windows", "www.msftncsi.com", "/ncsi.txt", 200, "text/plain", b"Microsoft NCSI"),
    Probe("firefox", "detectportal.firefox.com", "/canonical.html", 200, "text/html",
          _FIREFOX_CANONICAL),
    Probe("firefox", "detectportal.firefox.com", "/success.txt", 200, "text/plain",
          b"success\n"),
)
#: Windows also checks DNS: this name must resolve to this address once online.
WINDOWS_DNS_PROBE = ("dns.msftncsi.com", "131.107.255.255")


def probe_for(host: str, path: str) -> Probe | None:
    host = host.split(":")[0].lower()
    return next((p for p in PROBES if p.host == host and p.path == path), None)


def probe_hosts() -> list[str]:
    return sorted({p.host for p in PROBES})


__all__ = ["PROBES", "Probe", "WINDOWS_DNS_PROBE", "probe_for", "probe_hosts"]
