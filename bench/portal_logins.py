"""Click-through logins per second and login latency, from the form post to the gateway's ack.

Everything real, in one network namespace (root): Mosquitto, the gateway agent on real
nftables (its LAN a dummy bridge), the portal as a park runs it (``python -m captive_portal
serve``: granian, ``portal.workers`` = 2). A driver inside the namespace
posts terms logins for new clients from ``--concurrency`` threads over keep-alive HTTP and
times each post (the portal answers only once the gateway has acked the allow). It runs once
with 10 clients already authorised and once with 10,000, reads the nft time the agent reports
in each ack, and the agent's resident memory.

    sudo .venv/bin/python bench/portal_logins.py [--logins 2000] [--concurrency 8] [--json out]
    sudo .venv/bin/python bench/portal_logins.py --tiny     # seconds: what the test suite runs

Targets (issue 3): >= 300 logins/s, p99 <= 100 ms, p99 at 10,000 within 10 % of p99 at 10,
agent RSS <= 60 MB with 10,000 clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.contracts.gateway import COMMAND_SCHEMA, SessionGrant, allow_command, topic  # noqa: E402
from captive_portal.gateways import register_gateway  # noqa: E402
from core.config import MqttConfig  # noqa: E402
from core.contracts.signature import ClientClaim, sign  # noqa: E402
from core.mqtt import InboundMessage, MqttLink  # noqa: E402
from core.secrets import SecretBox  # noqa: E402
from core.store import Store  # noqa: E402
from tests.lab.netns import Lab, sweep_stale  # noqa: E402

KEY = "bench-gateway-key-0123456789abcdef0123456789abcdef"
PORTAL = ("127.0.0.1", 8081)
MQTT_PORT = 1883


def client_identity(n: int) -> tuple[str, str]:
    """MAC and IP of simulated client ``n`` (10.77.0.0/16 leaves room for 65,000)."""
    return (f"02:00:00:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}",
            f"10.77.{(n >> 8) & 255}.{n & 255}")


# -- inside the namespace: the driver ------------------------------------------------------

class AckTap:
    """Collects the agent's acks (nft time per command) while the driver runs."""

    def __init__(self) -> None:
        self.nft_ms: list[float] = []
        self.failures = 0
        self.link = MqttLink(MqttConfig(host="127.0.0.1", port=MQTT_PORT),
                             client_id="bench-tap")
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)
        self.acked = 0
        self.link.subscribe(topic("+", "ack"), self._on_ack)
        self.link.start()
        self.link.wait_connected(10)

    def _on_ack(self, message: InboundMessage) -> None:
        with self._lock:
            self.acked += 1
            if message.payload.get("ok"):
                self.nft_ms.append(float(message.payload.get("nft_ms") or 0))
            else:
                self.failures += 1
            self._acked.notify_all()

    def wait_acked(self, count: int, timeout: float) -> bool:
        with self._lock:
            return self._acked.wait_for(lambda: self.acked >= count, timeout)


def preauthorise(tap: AckTap, first: int, count: int) -> None:
    """Authorise ``count`` clients directly over MQTT, as a portal would, and wait for acks."""
    target = tap.acked + count
    expires = time.time() + 7200
    for n in range(first, first + count):
        mac, ip = client_identity(n)
        grant = SessionGrant(n, mac, ip, expires, quota_bytes=0, idle_timeout_s=0,
                             rate_up_kbps=0, rate_down_kbps=0)
        tap.link.publish_json(topic("gw1", "command"),
                              allow_command(f"pre-{n}", grant, time.time() + 600),
                              schema=COMMAND_SCHEMA)
    if not tap.wait_acked(target, 120):
        raise SystemExit(f"pre-authorisation stalled at {tap.acked}/{target} acks")


def one_login(conn: http.client.HTTPConnection, n: int) -> float:
    """GET the landing page (untimed), then time the terms POST until the portal answers."""
    mac, ip = client_identity(n)
    params = sign(ClientClaim("gw1", mac, ip, "http://example.com/", int(time.time())),
                  KEY.encode())
    conn.request("GET", "/?" + urlencode(params), headers={"Accept-Language": "ar"})
    landing = conn.getresponse()
    html = landing.read().decode()
    cookie = landing.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    body = urlencode({**params, "csrf_token": token, "accept": "yes"})
    started = time.perf_counter()
    conn.request("POST", "/login/terms", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    reply = conn.getresponse()
    reply.read()
    elapsed = time.perf_counter() - started
    if reply.status != 303:
        raise RuntimeError(f"login {n} answered {reply.status}")
    return elapsed * 1000


def run_logins(first: int, count: int, concurrency: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    numbers = iter(range(first, first + count))

    def worker() -> None:
        conn = http.client.HTTPConnection(*PORTAL, timeout=30)
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            ms = one_login(conn, n)
            with lock:
                latencies.append(ms)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"logins": len(ordered), "seconds": round(wall, 2),
            "logins_per_s": round(len(ordered) / wall, 1),
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
            "max_ms": round(ordered[-1], 2)}


def cpu_s(pid: int) -> float:
    """CPU seconds a process has used so far, with its children's: the portal's workers (alive)
    and the agent's ``nft`` listings (exited and reaped: cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = sum(int(f) for f in fields[11:15]) / 100  # u/s time + reaped children's, 100 Hz
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_s(int(child)) for child in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def drive(args) -> None:
    tap = AckTap()
    results: dict = {"concurrency": args.concurrency, "agent_rss_mb_start": rss_mb(args.agent_pid)}
    next_client = 1
    warm_up = 60_000  # one identity logging in again and again: caches, connections
    for authorised in args.authorised:
        preauthorise(tap, next_client, authorised - (next_client - 1))
        next_client = authorised + 1
        for _ in range(args.concurrency):
            run_logins(warm_up, 1, 1)
        tap.nft_ms.clear()
        pids = {"driver": os.getpid(), "portal": args.portal_pid, "agent": args.agent_pid,
                "broker": args.broker_pid}
        before = {name: cpu_s(pid) for name, pid in pids.items()}
        figures = run_logins(next_client, args.logins, args.concurrency)
        figures["cpu_ms_per_login"] = {
            name: round((cpu_s(pid) - before[name]) * 1000 / args.logins, 2)
            for name, pid in pids.items()}
        next_client += args.logins
        nft = sorted(tap.nft_ms)
        figures["nft_ms_p50"] = round(statistics.median(nft), 3)
        figures["nft_ms_p99"] = round(nft[int(0.99 * (len(nft) - 1))], 3)
        results[f"authorised_{authorised}"] = figures
    # Resident size over the next sweeps (the agent trims its heap after each one): the
    # peak right after the logins and where it settles.
    samples = []
    deadline = time.monotonic() + args.rss_seconds
    while time.monotonic() < deadline:
        samples.append(rss_mb(args.agent_pid))
        time.sleep(0.5)
    results["agent_rss_mb_peak"] = max(samples)
    results["agent_rss_mb"] = samples[-1]
    results["authorised_at_end"] = next_client - 1 + 1
    results["failed_acks"] = tap.failures
    tap.link.stop()
    print(json.dumps(results))


# -- outside: build the namespace and start the real processes ----------------------------

def start(ns, folder: Path, name: str, *argv: str):
    log = (folder / f"{name}.log").open("ab")
    return ns.popen(*argv, stdout=log, stderr=subprocess.STDOUT)


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def orchestrate(args) -> dict:
    sweep_stale("cp")
    folder = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    with Lab(prefix="cp") as lab:
        ns = lab.namespace("bench")
        ns.ip("link", "add", "cpbr0", "type", "bridge")
        ns.address("cpbr0", "10.77.0.1/16")
        (folder / "mosquitto.conf").write_text(
            f"listener {MQTT_PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nset_tcp_nodelay true\nuser root\n")
        start(ns, folder, "mosquitto", shutil.which("mosquitto") or "/usr/sbin/mosquitto",
              "-c", str(folder / "mosquitto.conf"))
        store = Store(folder / "oasis.db")
        register_gateway(store, SecretBox.from_key_file(folder / "oasis.key"), "gw1", key=KEY)
        store.close()
        (folder / "gateway.key").write_text(KEY)
        (folder / "gateway.key").chmod(0o600)
        (folder / "gateway.toml").write_text(f"""[gateway]
gateway_id = "gw1"
lan_interface = "cpbr0"
lan_address = "10.77.0.1"
portal_url = "http://127.0.0.1:8081/"
hmac_key_file = "{folder / 'gateway.key'}"
table = "cp_bench"
state_db = "{folder / 'gateway.db'}"
enforce_interval_s = 5.0
accounting_interval_s = 30.0
[mqtt]
host = "127.0.0.1"
port = {MQTT_PORT}
""")
        (folder / "oasis.toml").write_text(
            f'[store]\npath = "{folder / "oasis.db"}"\nkey_file = "{folder / "oasis.key"}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {MQTT_PORT}\n'
            f'[portal]\nlisten = "127.0.0.1:8081"\nsecure_cookies = false\n'
            f'secret_key_file = "{folder / "portal.secret"}"\nposts_per_minute = 1000000\n'
            f'[sms]\ndriver = "console"\noutbox = ""\n')
        broker = lab.processes[-1]
        agent = start(ns, folder, "agent", sys.executable, "-m", "agents.gateway", "--config",
                      str(folder / "gateway.toml"), "run")
        portal = start(ns, folder, "portal", sys.executable, "-m", "captive_portal", "--config",
                       str(folder / "oasis.toml"), "serve")
        wait_until(lambda: ns.run("curl", "-sf", "http://127.0.0.1:8081/healthz?scope=local",
                                  check=False).returncode == 0, 20, "the portal")
        wait_until(lambda: ns.run("curl", "-s", "http://10.77.0.1:8908/captive-portal/api",
                                  check=False).returncode == 0, 20, "the agent")
        result = ns.run(sys.executable, str(Path(__file__).resolve()), "--drive",
                        "--logins", str(args.logins), "--concurrency", str(args.concurrency),
                        "--authorised", ",".join(map(str, args.authorised)),
                        "--rss-seconds", str(args.rss_seconds),
                        "--agent-pid", str(agent.pid), "--portal-pid", str(portal.pid),
                        "--broker-pid", str(broker.pid), timeout=900)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        elements = ns.run("nft", "list", "set", "inet", "cp_bench", "up").stdout.count("counter")
        figures["elements_in_up_set"] = elements
    return figures


def _counts(text: str) -> list[int]:
    counts = [int(c) for c in text.split(",") if c]
    if counts != sorted(set(counts)) or counts[0] < 1:
        raise argparse.ArgumentTypeError("increasing positive counts, e.g. 10,10000")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--authorised", type=_counts, default=[10, 10_000],
                        help="clients already authorised in each run, comma separated")
    parser.add_argument("--rss-seconds", type=float, default=12.0,
                        help="how long the agent's memory is watched after the logins")
    parser.add_argument("--tiny", action="store_true",
                        help="a few logins with 10 and 60 clients authorised, in seconds: the "
                             "test suite runs it so the benchmark keeps working")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agent-pid", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--portal-pid", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--broker-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tiny:
        args.logins, args.concurrency, args.authorised, args.rss_seconds = 20, 2, [10, 60], 1.0
    if args.drive:
        drive(args)
        return
    figures = orchestrate(args)
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
