"""The captive-portal lab: two phones, a park gateway, the controller and "the internet".

Built on `tests.lab.netns` (namespaces prefixed ``cp``), over real veth links::

    cl1 ─┐                 ┌─ ctl   10.77.1.2   portal (waitress) + Mosquitto
         ├─ cpbr0 ─ gw ────┤
    cl2 ─┘ 10.77.0.1/24    └─ inet  203.0.113.10 web server: the probe hosts, example.test

The gateway namespace runs the real agent (`python -m agents.gateway run`) and dnsmasq with
the config the agent renders; clients get their address from dnsmasq with busybox ``udhcpc``
and resolve names through it (``/etc/netns/<ns>/resolv.conf``); every HTTP exchange of a
client is a real ``curl`` inside its namespace. Nothing here fakes the data path.

``python -m tests.lab.portal_lab internet --bind ADDRESS`` is the "internet" web server: it
answers the OS probes like the real probe servers (`captive_portal.probes`), ``/bytes/N`` with
N bytes, anything else with a small page, and a plain TCP banner on port 443.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from captive_portal.gateways import register_gateway
from captive_portal.probes import probe_for, probe_hosts
from core import inventory
from core.secrets import SecretBox
from core.store import Store
from tests.lab.netns import Lab, Namespace, stop_process, sweep_stale

GW_LAN, GW_CTL, CTL, GW_INET, INET = "10.77.0.1", "10.77.1.1", "10.77.1.2", "203.0.113.1", \
    "203.0.113.10"
#: A second address of the internet host, reachable before login by name only (walled garden).
GARDEN = "203.0.113.20"
PORTAL_PORT, MQTT_PORT = 8081, 1883
PORTAL_URL = f"http://{CTL}:{PORTAL_PORT}/"
GATEWAY_ID = "gw1"
GATEWAY_KEY = "lab-gateway-key-0123456789abcdef0123456789abcdef"
CLIENT_MACS = {"cl1": "02:00:00:77:00:01", "cl2": "02:00:00:77:00:02"}
#: The AP each phone associates with, as the AP tags its DHCP (option 82 circuit-id, Aruba's
#: ``AP-MAC:SSID``); cl2's AP inserts nothing.
CLIENT_APS = {"cl1": "02:00:00:aa:00:07:OasisPark", "cl2": ""}
API_URL = f"http://{GW_LAN}:8908/captive-portal/api"
NETNS_ETC = Path("/etc/netns")

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    env > "$LEASE_OUT"
    ;;
esac
exit 0
"""


@dataclass
class Reply:
    """One curl exchange: status 0 means no HTTP answer (see ``exit_code``)."""

    status: int
    location: str
    body: str
    exit_code: int
    seconds: float
    headers: str


def lab_store_url(request) -> str:
    """On the PostgreSQL pass a new migrated database of the session's cluster, reached over
    its Unix socket (a file: the portal in the lab's namespace reaches it as the test does);
    else "" (the lab's SQLite file)."""
    if request.config.getoption("--store") != "postgresql":
        return ""
    cluster = request.getfixturevalue("postgres_cluster")
    name = cluster.database().rsplit("/", 1)[1]
    return f"postgresql://oasis@/{name}?host={cluster.root}&port={cluster.port}"


class PortalLab:
    def __init__(self, lab: Lab, folder: Path, store_url: str = ""):
        self.lab = lab
        self.folder = folder
        self.ns: dict[str, Namespace] = {}
        self.processes: dict[str, subprocess.Popen] = {}
        #: The store: the lab's SQLite file, or a PostgreSQL URL (`lab_store_url`).
        self.store_path: str | Path = store_url or folder / "oasis.db"
        self.key_file = folder / "oasis.key"
        self.outbox = folder / "sms-outbox.log"
        #: Client -> the environment udhcpc gave its lease script (ip, router, opt114...).
        self.leases: dict[str, dict[str, str]] = {}

    # -- topology --------------------------------------------------------------------------

    def build(self) -> None:
        for role in ("gw", "cl1", "cl2", "ctl", "inet"):
            self.ns[role] = self.lab.namespace(role)
        gw = self.ns["gw"]
        gw.ip("link", "add", "cpbr0", "type", "bridge")
        gw.address("cpbr0", f"{GW_LAN}/24")
        for client, mac in CLIENT_MACS.items():
            port = f"cp{client}"
            self.lab.veth(gw, port, self.ns[client], "eth0")
            gw.ip("link", "set", port, "master", "cpbr0")
            gw.ip("link", "set", port, "up")
            self.ns[client].ip("link", "set", "eth0", "address", mac)
            self.ns[client].ip("link", "set", "eth0", "up")
            self._resolv(client, GW_LAN)
        self.lab.veth(gw, "cpctl", self.ns["ctl"], "cpgw")
        gw.address("cpctl", f"{GW_CTL}/24")
        self.ns["ctl"].address("cpgw", f"{CTL}/24")
        self.ns["ctl"].ip("route", "add", "10.77.0.0/24", "via", GW_CTL)
        self.lab.veth(gw, "cpinet", self.ns["inet"], "cpgw")
        gw.address("cpinet", f"{GW_INET}/24")
        self.ns["inet"].address("cpgw", f"{INET}/24")
        self.ns["inet"].ip("addr", "add", f"{GARDEN}/24", "dev", "cpgw")
        self.ns["inet"].ip("route", "add", "10.77.0.0/24", "via", GW_INET)
        gw.sysctl("net.ipv4.ip_forward", "1")

    def _resolv(self, role: str, nameserver: str) -> None:
        folder = NETNS_ETC / self.ns[role].name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resolv.conf").write_text(f"nameserver {nameserver}\n")

    def close(self) -> None:
        self.lab.close()
        for ns in self.ns.values():
            shutil.rmtree(NETNS_ETC / ns.name, ignore_errors=True)

    def _start(self, name: str, role: str, *argv: str, python: bool = False) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        starter = self.ns[role].python if python else self.ns[role].popen
        self.processes[name] = starter(*argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def stop(self, name: str, *, kill: bool = False) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if kill:
            os.killpg(process.pid, 9)
            process.wait(5)
        else:
            stop_process(process)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def wait(self, predicate, timeout: float, what: str):
        """Poll until ``predicate()`` is truthy; the failure names ``what`` and the logs."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {n}\n{self.log(n)}" for n in ("agent", "portal"))
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
            time.sleep(0.05)

    # -- services --------------------------------------------------------------------------

    def start_internet(self) -> None:
        self._start("internet", "inet", "-m", "tests.lab.portal_lab", "internet", "--bind",
                    "0.0.0.0", python=True)
        self.wait(lambda: self.curl("gw", f"http://{INET}/").status == 200, 10, "internet")

    def start_upstream_dns(self) -> None:
        """The "internet's" DNS, upstream of the gateway's dnsmasq: it alone knows garden.test,
        so the gateway learns that walled-garden address the way it would in a park."""
        self._start("upstream-dns", "inet", shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "-k",
                    "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
                    f"--listen-address={INET}", f"--address=/garden.test/{GARDEN}",
                    "--user=root", "--pid-file=", "--log-facility=-")

    def start_broker(self) -> None:
        conf = self.folder / "mosquitto.conf"
        conf.write_text(f"listener {MQTT_PORT} {CTL}\nallow_anonymous true\n"
                        "persistence false\nset_tcp_nodelay true\nuser root\n")
        self._start("mosquitto", "ctl", shutil.which("mosquitto") or "/usr/sbin/mosquitto",
                    "-c", str(conf))
        self.wait(lambda: self.ns["ctl"].run("bash", "-c", f"exec 3<>/dev/tcp/{CTL}/{MQTT_PORT}",
                                             check=False).returncode == 0, 10, "mosquitto")

    def write_portal_config(self, **portal) -> None:
        settings = {"listen": f"{CTL}:{PORTAL_PORT}", "public_url": PORTAL_URL,
                    "secret_key_file": str(self.folder / "portal.key"), "secure_cookies": False,
                    "session_minutes": 30.0, "data_quota_mb": 0.0, "idle_timeout_minutes": 0.0,
                    "rate_up_kbps": 0, "rate_down_kbps": 0, "otp_resend_after_s": 0,
                    "posts_per_minute": 1000, "gateway_ack_timeout_s": 5.0, **portal}
        lines = ["[portal]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        lines += ["[sms]", 'driver = "console"', f"outbox = {json.dumps(str(self.outbox))}"]
        where = "url" if str(self.store_path).startswith("postgresql://") else "path"
        (self.folder / "oasis.toml").write_text(
            f'[store]\n{where} = "{self.store_path}"\nkey_file = "{self.key_file}"\n'
            f'[mqtt]\nhost = "{CTL}"\nport = {MQTT_PORT}\nclient_id = "lab-controller"\n'
            + "\n".join(lines) + "\n")

    def start_portal(self, **portal) -> None:
        self.write_portal_config(**portal)
        self._start("portal", "ctl", "-m", "captive_portal", "--config",
                    str(self.folder / "oasis.toml"), "serve", "-v", python=True)
        self.wait(lambda: self.curl("ctl", f"{PORTAL_URL}healthz?scope=local").status == 200, 15,
                  "portal")

    def restart_portal(self, **portal) -> None:
        self.stop("portal")
        self.start_portal(**portal)

    def write_gateway_config(self) -> Path:
        key = self.folder / "gateway.key"
        key.write_text(GATEWAY_KEY)
        key.chmod(0o600)
        path = self.folder / "gateway.toml"
        hosts = [f"{h}={INET}" for h in ("example.test", *probe_hosts())]
        path.write_text(f"""[gateway]
gateway_id = "{GATEWAY_ID}"
lan_interface = "cpbr0"
lan_address = "{GW_LAN}"
portal_url = "{PORTAL_URL}"
hmac_key_file = "{key}"
table = "cp_gw"
state_db = "{self.folder / 'gateway.db'}"
enforce_interval_s = 0.25
accounting_interval_s = 1.0
dhcp_range = "10.77.0.100,10.77.0.150,1h"
dns_servers = ["{INET}"]
dns_hosts = {json.dumps(hosts)}
walled_garden_domains = ["garden.test"]
ap_dir = "{self.folder / 'aps'}"
[mqtt]
host = "{CTL}"
port = {MQTT_PORT}
""")
        return path

    def start_agent(self) -> None:
        self._start("agent", "gw", "-m", "agents.gateway", "--config",
                    str(self.folder / "gateway.toml"), "run", "-v", python=True)
        self.wait(lambda: self.curl("gw", API_URL).status == 200, 15, "gateway agent")

    def start_dnsmasq(self) -> None:
        conf = self.folder / "dnsmasq.conf"
        self.ns["gw"].run(sys.executable, "-m", "agents.gateway", "--config",
                          str(self.folder / "gateway.toml"), "dnsmasq-config", "--lease-file",
                          str(self.folder / "leases"), "--lease-hook",
                          str(self.folder / "lease-hook"), "--output", str(conf))
        self._start("dnsmasq", "gw", shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "-k",
                    "-C", str(conf), "--log-facility=-", "--user=root")

    def register_gateway(self) -> None:
        store = Store(self.store_path)
        register_gateway(store, SecretBox.from_key_file(self.key_file), GATEWAY_ID, key=GATEWAY_KEY)
        store.close()

    def seed_walkway_ap(self) -> str:
        """Put the AP that tags cl1's DHCP (option 82) in the inventory, with its site; returns
        the AP's name."""
        store = Store(self.store_path)
        try:
            inventory.add_site(store, {"slug": "al-ahsa-walkway", "name_en": "Al-Ahsa Walkway",
                                       "name_ar": "ممشى الأحساء", "kind": "walkway"}, "lab")
            inventory.add_ap(store, SecretBox.from_key_file(self.key_file),
                             {"name": "walkway-ap-07", "mac": "02:00:00:aa:00:07",
                              "mgmt_ip": "10.78.0.7", "site": "al-ahsa-walkway",
                              "platform": "openwrt"}, "lab")
        finally:
            store.close()
        return "walkway-ap-07"

    # -- clients ---------------------------------------------------------------------------

    def dhcp(self, client: str) -> dict[str, str]:
        script = self.folder / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        lease = self.folder / f"lease-{client}.env"
        # The phone's AP, bridging its DHCP to the gateway, adds option 82 naming itself
        # (circuit-id, sub-option 1); replies to tagged requests are broadcast (-B).
        circuit = CLIENT_APS.get(client, "").encode()
        relay_info = ["-B", "-x", f"0x52:{bytes([1, len(circuit)]).hex()}{circuit.hex()}"] \
            if circuit else []
        self.ns[client].run("env", f"LEASE_OUT={lease}", "busybox", "udhcpc", "-i", "eth0", "-n",
                            "-q", "-f", "-t", "6", "-T", "1", "-O", "114", *relay_info, "-s",
                            str(script), timeout=20)
        return dict(line.split("=", 1) for line in lease.read_text().splitlines() if "=" in line)

    def curl(self, role: str, url: str, *args: str, timeout: float = 5.0) -> Reply:
        started = time.monotonic()
        result = self.ns[role].run(
            "curl", "-s", "-S", "-D", "-", "--max-time", str(timeout), *args, url,
            check=False, timeout=timeout + 5)
        seconds = time.monotonic() - started
        head, _, body = result.stdout.partition("\n\n")
        status = re.match(r"HTTP/\S+ (\d{3})", head)
        location = re.search(r"^location: (\S+)", head, re.I | re.M)
        return Reply(int(status.group(1)) if status else 0,
                     location.group(1) if location else "", body, result.returncode, seconds,
                     head)

    def portal_link(self, client: str) -> str:
        """The signed portal URL the gateway hands this client for a plain HTTP request."""
        reply = self.curl(client, "http://example.test/page?x=1")
        assert reply.status == 302, reply
        return reply.location

    def _form(self, client: str, html: str, action: str, jar: Path, **fields) -> Reply:
        form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>',
                         html, re.S)
        assert form, f"no form {action} in:\n{html[:2000]}"
        data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                               form.group(1)))
        data.update(fields)
        args = ["-c", str(jar), "-b", str(jar)]
        for name, value in data.items():
            args += ["--data-urlencode", f"{name}={value.replace('&amp;', '&')}"]
        return self.curl(client, f"http://{CTL}:{PORTAL_PORT}{action}", *args)

    def login_terms(self, client: str, lang: str = "ar") -> Reply:
        jar = self.folder / f"cookies-{client}"
        landing = self.curl(client, self.portal_link(client) + f"&lang={lang}",
                            "-c", str(jar), "-b", str(jar))
        assert landing.status == 200, landing
        return self._form(client, landing.body, "/login/terms", jar, accept="yes")

    def login_sms(self, client: str, phone: str) -> Reply:
        jar = self.folder / f"cookies-{client}"
        landing = self.curl(client, self.portal_link(client), "-c", str(jar), "-b", str(jar))
        sent = self._form(client, landing.body, "/login/phone", jar, phone=phone)
        assert sent.status == 200, sent
        code = self.last_code()
        return self._form(client, sent.body, "/login/code", jar, code=code)

    def file_report(self, client: str, **fields: str) -> Reply:
        """File a 940 report from the portal's form, in the client's portal session."""
        jar = self.folder / f"cookies-{client}"
        page = self.curl(client, f"{PORTAL_URL}reports/new", "-c", str(jar), "-b", str(jar))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.body).group(1)
        args = ["-c", str(jar), "-b", str(jar), "-F", f"csrf_token={token}"]
        for name, value in fields.items():
            args += ["-F", f"{name}={value}"]
        return self.curl(client, f"{PORTAL_URL}reports/new", *args)

    def last_code(self) -> str:
        message = json.loads(self.outbox.read_text().splitlines()[-1])
        return re.search(r"\d{6}", message["text"]).group(0)

    def status_page(self, client: str) -> Reply:
        jar = self.folder / f"cookies-{client}"
        return self.curl(client, f"{PORTAL_URL}status", "-c", str(jar), "-b", str(jar))

    def logout(self, client: str) -> Reply:
        jar = self.folder / f"cookies-{client}"
        return self._form(client, self.status_page(client).body, "/logout", jar)

    def online(self, client: str) -> bool:
        reply = self.curl(client, "http://example.test/hello", timeout=2)
        return reply.status == 200 and "hello from the internet" in reply.body

    def captive(self, client: str) -> bool:
        reply = self.curl(client, "http://example.test/hello", timeout=2)
        return reply.status == 302 and reply.location.startswith(PORTAL_URL)

    def api(self, client: str) -> dict:
        reply = self.curl(client, API_URL, "-H", "Accept: application/captive+json")
        assert reply.status == 200, reply
        return json.loads(reply.body)


@contextmanager
def running_lab(prefix: str, folder: Path, store_url: str = "") -> Iterator[PortalLab]:
    """The whole portal lab, built and started, with both phones holding a DHCP lease."""
    sweep_stale(prefix)
    portal_lab = PortalLab(Lab(prefix=prefix), folder, store_url)
    try:
        portal_lab.build()
        portal_lab.register_gateway()
        portal_lab.write_gateway_config()
        portal_lab.start_internet()
        portal_lab.start_upstream_dns()
        portal_lab.start_broker()
        portal_lab.start_portal()
        portal_lab.start_agent()
        portal_lab.start_dnsmasq()
        portal_lab.leases = {c: portal_lab.dhcp(c) for c in CLIENT_MACS}
        yield portal_lab
    finally:
        portal_lab.close()
        if store_url:
            from core.store.postgresql import close_pools
            close_pools(store_url)


def signed_params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query,
                                         keep_blank_values=True).items()}


# -- the "internet" host -------------------------------------------------------------------

class _InternetHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - stdlib's signature
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        probe = probe_for(self.headers.get("Host", ""), path)
        if probe is not None:
            status, ctype, body = probe.status, probe.content_type, probe.body
        elif path.startswith("/bytes/") and path[7:].isdigit():
            status, ctype, body = 200, "application/octet-stream", b"x" * int(path[7:])
        else:
            status, ctype, body = 200, "text/plain", b"hello from the internet\n"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Banner(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"TLS-STAND-IN\n")


def serve_internet(bind: str) -> None:
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    class BannerServer(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    banner = BannerServer((bind, 443), _Banner)
    threading.Thread(target=banner.serve_forever, daemon=True).start()
    Server((bind, 80), _InternetHandler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["internet"])
    parser.add_argument("--bind", default="0.0.0.0")
    args = parser.parse_args()
    socket.setdefaulttimeout(30)
    serve_internet(args.bind)


if __name__ == "__main__":
    main()
