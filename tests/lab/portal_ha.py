"""Several portal nodes on one store behind a real HAProxy, in one network namespace (root).

What runs, all real: Mosquitto; the park gateway agent on real nftables (its LAN a dummy
bridge, as in bench/portal_logins.py); ``nodes`` portal processes (``python -m captive_portal
serve``, each its own config, MQTT client id and port, all on one store: an SQLite file, or a
``postgresql://`` store running inside the namespace); HAProxy from Debian with
docs/haproxy-nodes.cfg, only its addresses swapped for the lab's. A node is killed the way a
machine dies: SIGKILL to its whole process group (the granian main process and its workers).

The visitors are driven from inside the namespace (``python -m tests.lab.portal_ha drive``,
`drive`): each journey is a new device behind the gateway (a signed redirect of its own) that
logs in by terms, or by phone and SMS code (the code read from the store's SMS record, as the
phone would read it), or logs in and files a 940 report. The client's retry policy (`Visitor`)
is what a browser's user does when a page fails: send the same request again. It is safe
because every portal request is: GETs read; a terms login replaces the device's session; a
code request within the resend gap shows the live code's form; a code post is accepted again
from the same device until it expires; a report post carries its form's submission key.

Used by tests/lab/test_portal_ha.py and bench/portal_ha.py.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "docs" / "haproxy-nodes.cfg"
GATEWAY_KEY = "ha-lab-gateway-key-0123456789abcdef0123456789abcdef"
MQTT_PORT = 1883
PROXY_PORT = 8080
FIRST_NODE_PORT = 8081
_HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')
_TRACKING = re.compile(r"940-\d{4}-\d{6}")
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def client_identity(n: int) -> tuple[str, str]:
    """MAC and IP of simulated device ``n`` (10.78.0.0/16)."""
    return (f"02:00:01:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}",
            f"10.78.{(n >> 8) & 255}.{n & 255}")


def haproxy_config(folder: Path, nodes: list[int], proxy_port: int = PROXY_PORT,
                   admin_nodes: list[int] | None = None, admin_port: int = 0) -> str:
    """docs/haproxy-nodes.cfg with the lab's addresses: the portal frontend on loopback at
    ``proxy_port`` (the admin one at ``admin_port``, else the next hundred), one server line
    a node, the stats socket in ``folder``. Without ``admin_nodes`` the admin servers stay as
    written (absent here: marked down, and checked by ``haproxy -c`` all the same)."""
    text = HAPROXY_CONFIG.read_text()
    text = text.replace("/run/haproxy/admin.sock", str(folder / "haproxy.sock"))
    text = text.replace("    bind :80\n", f"    bind 127.0.0.1:{proxy_port}\n")
    text = text.replace("    bind :8080\n", f"    bind 127.0.0.1:{admin_port or proxy_port + 100}\n")
    for kind, ports in (("portal", nodes), ("admin", admin_nodes)):
        if ports is None:
            continue
        servers = "".join(f"    server {kind}{i + 1} 127.0.0.1:{port} check\n"
                          for i, port in enumerate(ports))
        text, count = re.subn(rf"(    server {kind}\d+ [^\n]+\n)+", servers, text)
        assert count == 1, f"docs/haproxy-nodes.cfg: no {kind} server lines to swap"
    return text


def haproxy_stats(socket_path: Path) -> list[dict[str, str]]:
    """HAProxy's ``show stat`` rows from its stats socket (a file: reachable from any network
    namespace); none when it does not answer."""
    chunks = []
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(5)
            conn.connect(str(socket_path))
            conn.sendall(b"show stat\n")
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except OSError:
        return []
    lines = [line for line in b"".join(chunks).decode().splitlines() if line]
    if not lines or not lines[0].startswith("# "):
        return []
    header = lines[0][2:].split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]


def servers_up(socket_path: Path, backend: str) -> int:
    return sum(1 for row in haproxy_stats(socket_path) if row.get("pxname") == backend
               and row.get("svname") not in ("FRONTEND", "BACKEND") and row.get("status") == "UP")


# -- outside the namespace: build the lab and start the real processes -----------------------

class PortalNodes:
    """The lab: call `start` (everything up and answering), then `drive`; `close` ends it.

    ``store_url`` is a ``postgresql://`` store to use instead of the SQLite file (its server
    must be reachable from inside the namespace).
    """

    def __init__(self, lab, folder: Path, nodes: int = 2, workers: int = 1,
                 store_url: str = "", proxy: bool = True):
        from tests.lab.netns import Namespace  # noqa: F401 - the lab's type, for readers
        self.lab = lab
        self.folder = folder
        self.ns = lab.namespace("ha")
        self.count = nodes
        self.workers = workers
        self.store_url = store_url
        self.proxy = proxy
        self.ports = [FIRST_NODE_PORT + i for i in range(nodes)]
        self.portals: list[subprocess.Popen] = []
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def store_location(self) -> str:
        return self.store_url or str(self.folder / "oasis.db")

    @property
    def entry_port(self) -> int:
        """Where visitors go: HAProxy, or the first node directly."""
        return PROXY_PORT if self.proxy else self.ports[0]

    def _start(self, name: str, *argv: str, python: bool = False) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("ab")
        start = self.ns.python if python else self.ns.popen
        process = start(*argv, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def wait(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in self.processes)
                raise TimeoutError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.05)

    def _answers(self, port: int, path: str = "/healthz?scope=local") -> bool:
        return self.ns.run("curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}{path}",
                           check=False).returncode == 0

    def start(self) -> None:
        from captive_portal.gateways import register_gateway
        from core.secrets import SecretBox
        from core.store import Store

        self.ns.ip("link", "add", "habr0", "type", "bridge")
        self.ns.address("habr0", "10.78.0.1/16")
        (self.folder / "mosquitto.conf").write_text(
            f"listener {MQTT_PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nset_tcp_nodelay true\nuser root\n")
        self._start("mosquitto", shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                    str(self.folder / "mosquitto.conf"))
        store = Store(self.store_location)
        register_gateway(store, SecretBox.from_key_file(self.folder / "oasis.key"), "gw1",
                         key=GATEWAY_KEY)
        store.close()
        (self.folder / "gateway.key").write_text(GATEWAY_KEY)
        (self.folder / "gateway.key").chmod(0o600)
        (self.folder / "gateway.toml").write_text(f"""[gateway]
gateway_id = "gw1"
lan_interface = "habr0"
lan_address = "10.78.0.1"
portal_url = "http://127.0.0.1:{self.entry_port}/"
hmac_key_file = "{self.folder / 'gateway.key'}"
table = "ha_lab"
state_db = "{self.folder / 'gateway.db'}"
enforce_interval_s = 5.0
accounting_interval_s = 30.0
[mqtt]
host = "127.0.0.1"
port = {MQTT_PORT}
""")
        self._start("agent", "-m", "agents.gateway", "--config",
                    str(self.folder / "gateway.toml"), "run", python=True)
        for index in range(self.count):
            self.start_node(index)
        for port in self.ports:
            self.wait(lambda port=port: self._answers(port), 30, f"the portal on {port}")
        if self.proxy:
            config = self.folder / "haproxy.cfg"
            config.write_text(haproxy_config(self.folder, self.ports))
            haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
            subprocess.run([haproxy, "-c", "-q", "-f", str(config)], check=True)
            self._start("haproxy", haproxy, "-W", "-db", "-f", str(config))
            self.wait(lambda: self._answers(PROXY_PORT), 20, "HAProxy")
            self.wait(lambda: self.servers_up() == self.count, 20, "every node up in HAProxy")
        self.wait(lambda: self.ns.run("curl", "-s", "http://10.78.0.1:8908/captive-portal/api",
                                      check=False).returncode == 0, 20, "the gateway agent")

    def node_config(self, index: int) -> Path:
        path = self.folder / f"node{index + 1}.toml"
        store = (f'url = "{self.store_url}"\n' if self.store_url
                 else f'path = "{self.folder / "oasis.db"}"\n')
        path.write_text(
            f'[store]\n{store}key_file = "{self.folder / "oasis.key"}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {MQTT_PORT}\n'
            f'client_id = "ha-node{index + 1}"\n'
            f'[portal]\nlisten = "127.0.0.1:{self.ports[index]}"\nsecure_cookies = false\n'
            f'workers = {self.workers}\nproxy_hops = {1 if self.proxy else 0}\n'
            f'secret_key_file = "{self.folder / f"node{index + 1}-portal.key"}"\n'
            f'posts_per_minute = 1000000\notp_per_phone_per_hour = 1000\n'
            f'otp_per_client_per_hour = 1000\notp_global_per_minute = 100000\n'
            f'otp_global_per_hour = 1000000\n'
            f'[sms]\ndriver = "console"\noutbox = ""\n'
            f'[reports]\nlookups_per_minute = 1000000\n')
        return path

    def start_node(self, index: int) -> subprocess.Popen:
        process = self._start(f"portal{index + 1}", "-m", "captive_portal",
                              "--config", str(self.node_config(index)), "serve", python=True)
        if index < len(self.portals):
            self.portals[index] = process
        else:
            self.portals.append(process)
        return process

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index`` and its workers at once, as a machine that dies."""
        os.killpg(self.portals[index].pid, signal.SIGKILL)
        self.portals[index].wait(10)

    def stats(self) -> list[dict[str, str]]:
        return haproxy_stats(self.folder / "haproxy.sock")

    def servers_up(self) -> int:
        return servers_up(self.folder / "haproxy.sock", "portal_nodes")

    def proxy_retries(self) -> dict[str, int]:
        """What HAProxy did for the requests a dead node could not answer."""
        for row in self.stats():
            if row.get("pxname") == "portal_nodes" and row.get("svname") == "BACKEND":
                return {"retries": int(row.get("wretr") or 0),
                        "redispatches": int(row.get("wredis") or 0),
                        "errors_5xx": int(row.get("hrsp_5xx") or 0)}
        return {}

    def drive(self, journeys: int, concurrency: int, *, mix: str = "terms",
              kill_after: int = 0, kill_node: int = 1, first: int = 1,
              timeout: float = 600) -> dict:
        """Run ``journeys`` visitor journeys from inside the namespace; with ``kill_after``,
        node ``kill_node`` is SIGKILLed once that many journeys have completed."""
        argv = ["-m", "tests.lab.portal_ha", "drive", "--port", str(self.entry_port),
                "--journeys", str(journeys), "--concurrency", str(concurrency),
                "--mix", mix, "--first", str(first), "--store", self.store_location]
        if kill_after:
            argv += ["--kill-after", str(kill_after),
                     "--kill-pgid", str(self.portals[kill_node].pid)]
        result = self.ns.run_python(*argv, timeout=timeout)
        return json.loads(result.stdout.strip().splitlines()[-1])


# -- inside the namespace: the visitors ------------------------------------------------------

class PageError(RuntimeError):
    """A page that came back wrong even after the retries."""


@dataclass
class Visitor:
    """One device's browser: its cookie, and the same request sent again when a page fails.

    Sent again: a connection refused, reset or closed without an answer, and 502/503/504
    (HAProxy's own answers when no node could take the request). Nothing else: a 4xx is the
    portal's answer and is final.
    """

    port: int
    number: int
    cookie_name: str = "oasis_portal"
    retries: int = 0
    #: What was sent again and why (``"502 POST /login/terms"``), one entry a retry.
    retried: list[str] = field(default_factory=list)
    cookie: str = ""
    conn: http.client.HTTPConnection | None = None
    attempts: int = 8
    give_up_s: float = 15.0

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        body = urlencode(form) if form is not None else None
        headers = {"Accept-Language": "en"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        deadline = time.monotonic() + self.give_up_s
        for attempt in range(self.attempts):
            if self.cookie:
                headers["Cookie"] = self.cookie
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                self.conn.request(method, path, body=body, headers=headers)
                reply = self.conn.getresponse()
                text = reply.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                self._drop()
                status, text = 0, ""
            else:
                for value in reply.headers.get_all("Set-Cookie") or []:
                    if value.startswith(self.cookie_name + "="):
                        self.cookie = value.split(";")[0]
                status = reply.status
                if reply.getheader("Connection", "").lower() == "close":
                    self._drop()
            if status not in (0, 502, 503, 504):
                return status, text
            if attempt + 1 == self.attempts or time.monotonic() > deadline:
                raise PageError(f"{method} {path}: {status or 'no answer'} after "
                                f"{attempt + 1} attempts")
            self.retries += 1
            self.retried.append(f"{status or 'no answer'} {method} {path.split('?')[0]}")
            time.sleep(min(0.05 * 2 ** attempt, 1.0))  # a browser user's pause, growing
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def close(self) -> None:
        self._drop()

    def expect(self, method: str, path: str, status: int, form: dict | None = None) -> str:
        got, text = self.request(method, path, form)
        if got != status:
            code = re.search(r'data-code="([^"]+)"', text)
            raise PageError(f"{method} {path}: {got}, not {status}"
                            f"{f' ({code.group(1)})' if code else ''}")
        return text

    def landing(self) -> dict:
        from core.contracts.signature import ClientClaim, sign
        mac, ip = client_identity(self.number)
        params = sign(ClientClaim("gw1", mac, ip, "http://example.com/", int(time.time())),
                      GATEWAY_KEY.encode())
        return hidden(self.expect("GET", "/?" + urlencode(params), 200))


def hidden(page: str) -> dict:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def phone_of(n: int) -> str:
    return f"05{n % 100_000_000:08d}"


class Codes:
    """Reads the login code an SMS carried to a phone, from the store's SMS record."""

    def __init__(self, location: str):
        from core.store import Store
        self.location = location
        self._local = threading.local()
        self._store = Store

    def latest(self, phone: str, after_id: int = 0) -> tuple[int, str] | None:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self._store(self.location, migrate=False)
        e164 = "+966" + phone[1:]
        row = store.conn.execute(
            "SELECT id, body FROM sms_messages WHERE to_number = ? AND purpose = 'login_code' "
            "AND id > ? ORDER BY id DESC LIMIT 1", (e164, after_id)).fetchone()
        if row is None:
            return None
        found = _CODE.search(row[1])
        return (row[0], found.group(1)) if found else None


def journey(visitor: Visitor, kind: str, codes: Codes) -> dict:
    """One device's visit; returns what it got (``tracking`` for a report)."""
    form = visitor.landing()
    timed = time.perf_counter()
    if kind == "sms":
        phone = phone_of(visitor.number)
        page = visitor.expect("POST", "/login/phone", 200, {**form, "phone": phone})
        found = codes.latest(phone)
        if found is None:
            raise PageError(f"no code was sent to {phone}")
        visitor.expect("POST", "/login/code", 303, {**hidden(page), "phone": phone,
                                                    "code": found[1]})
    else:
        visitor.expect("POST", "/login/terms", 303, {**form, "accept": "yes"})
    elapsed_ms = (time.perf_counter() - timed) * 1000
    done: dict = {"kind": kind, "ms": elapsed_ms}
    status = visitor.expect("GET", "/status", 200)
    if "logout" not in status:
        raise PageError("logged in, but the status page shows no session")
    if kind == "report":
        report = hidden(visitor.expect("GET", "/reports/new", 200))
        page = visitor.expect("POST", "/reports/new", 200, {
            **report, "category": "lighting", "address": "North gate",
            "description": f"Lamp {visitor.number} by the north gate is out"})
        tracking = _TRACKING.search(page)
        if tracking is None:
            raise PageError("the report page shows no tracking number")
        done["tracking"] = tracking.group(0)
    return done


@dataclass
class Run:
    """The driver's tallies, shared by its threads."""

    done: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    retries: int = 0
    retried: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _kinds(mix: str) -> list[str]:
    return {"terms": ["terms"], "mixed": ["terms", "sms", "report"]}[mix]


def run_journeys(port: int, numbers: range, concurrency: int, mix: str, codes: Codes,
                 kill_after: int = 0, kill_pgid: int = 0) -> dict:
    run = Run()
    pending = iter(numbers)
    kinds = _kinds(mix)
    killed_at: list[float] = []

    def worker() -> None:
        while True:
            with run.lock:
                n = next(pending, None)
            if n is None:
                return
            visitor = Visitor(port, n)
            try:
                outcome = journey(visitor, kinds[n % len(kinds)], codes)
            except PageError as exc:
                with run.lock:
                    run.failures.append(f"{n}: {exc}")
            else:
                with run.lock:
                    run.done.append(outcome)
                    run.finished_at.append(time.monotonic())
                    if kill_after and not killed_at and len(run.done) >= kill_after:
                        killed_at.append(time.monotonic())
                        os.killpg(kill_pgid, signal.SIGKILL)
            finally:
                visitor.close()
                with run.lock:
                    run.retries += visitor.retries
                    run.retried.update(visitor.retried)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    ms = sorted(d["ms"] for d in run.done)
    result = {
        "journeys": len(numbers), "completed": len(run.done), "failed": len(run.failures),
        "first_failures": run.failures[:5], "client_retries": run.retries,
        "client_retried": dict(run.retried),
        "seconds": round(wall, 2),
        "logins_per_s": round(len(run.done) / wall, 1) if wall else 0.0,
        "p50_ms": round(statistics.median(ms), 2) if ms else None,
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2) if ms else None,
        "by_kind": {kind: sum(1 for d in run.done if d["kind"] == kind) for kind in kinds},
        "trackings": sorted(d["tracking"] for d in run.done if "tracking" in d),
    }
    if killed_at:
        # The longest wait for the next completed login from the kill on: how long logins
        # stopped (requests in flight on the killed node are retried meanwhile).
        after = sorted(t for t in run.finished_at if t >= killed_at[0])
        marks = [killed_at[0], *after]
        result["gap_after_kill_s"] = round(max(b - a for a, b in zip(marks, marks[1:],
                                                                   strict=False)), 3) \
            if len(marks) > 1 else None
        result["completed_after_kill"] = len(after)
    return result


def drive_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.portal_ha drive")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journeys", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--mix", choices=("terms", "mixed"), default="terms")
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--store", required=True)
    parser.add_argument("--kill-after", type=int, default=0)
    parser.add_argument("--kill-pgid", type=int, default=0)
    args = parser.parse_args(argv)
    codes = Codes(args.store)
    result = run_journeys(args.port, range(args.first, args.first + args.journeys),
                          args.concurrency, args.mix, codes, args.kill_after, args.kill_pgid)
    print(json.dumps(result))


def main() -> None:
    if sys.argv[1:2] == ["drive"]:
        drive_main(sys.argv[2:])
        return
    raise SystemExit("usage: python -m tests.lab.portal_ha drive ...")


if __name__ == "__main__":
    main()


__all__ = ["PortalNodes", "Visitor", "haproxy_config", "haproxy_stats", "journey",
           "run_journeys", "servers_up"]
