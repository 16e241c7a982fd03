"""The hardening fault run, run by ``bench/reports_rate.py controller-fault``.

Reports are filed over Open311 while the controller (the process running the 940 forwarder) is
SIGKILLed and started again several times and poison is published on every topic any component
subscribes to; visitors log in through the real gateway agent all along; both ``/healthz`` are
polled throughout. Everything is real, in one network namespace (root): Mosquitto, the gateway
agent on real nftables (its LAN a bridge with no one behind it), the portal as a park runs it
(``python -m captive_portal serve``, two granian workers), the controller (``oasis run
--no-portal``), the reference back office in its own process, and this driver.

What is judged at the end:

* reports: every Open311 POST answered 200 with a tracking number, every one of those stored
  once, forwarded, and held by the back office once (``lost``, ``duplicated``);
* logins: each a landing page and a terms POST that the portal answers only once the gateway
  acked the allow command (``failed``);
* health: each sample of the portal's ``/healthz`` against what was running when it was taken.
  The forwarder is down from its SIGKILL on; the portal may say so once its heartbeat is stale
  (`STALE_AFTER_S`) and must have said so by then plus half a second. After the controller is
  ready again (its own ``/healthz`` 200), the portal must say healthy within a second. A sample
  outside those windows that disagrees is a lie. The admin ``/healthz`` must be 200 while the
  controller is up and ready. A probe that got no answer in time (``unanswered``: two cores
  shared by every process here) claims nothing, so it is counted apart, not as a lie.

With ``--nodes 2`` (the issue's two-node fault run, docs/scale-out.md) two controllers run on
the one store, each with its own MQTT client ids and admin port, and every kill SIGKILLs the
node holding the forwarder's lease (the other node stands by), restarting it ``down_s`` later.
The poison corpus goes out whole before the visitors start (the small cases keep coming
throughout), and one visitor, not counted, logs in first: two controllers and everything else
chewing through its 2 MB payloads at once on two cores held the first logins' gateway acks past
the portal's 5 s timeout.
What is judged: the same reports figures (0 lost, 0 duplicated), logins, and per kill the
seconds until the other node held the lease (``takeover_s``, sampled from the store every
50 ms; at most ``lease_ttl_s`` plus the standby's look, a second). The portal's ``/healthz``
follows the forwarder's heartbeat, so it says 503 for part of each takeover; it is counted
(``portal_unhealthy_samples``), not judged as a lie.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captive_portal.gateways import register_gateway  # noqa: E402
from captive_portal.reports import open311_keys  # noqa: E402
from captive_portal.reports.forwarder import ReportForwarder  # noqa: E402
from captive_portal.reports.health import STALE_AFTER_S  # noqa: E402
from core.config import MqttConfig  # noqa: E402
from core.contracts.reports import TOPIC_NEW  # noqa: E402
from core.contracts.signature import ClientClaim, sign  # noqa: E402
from core.mqtt import MqttLink  # noqa: E402
from core.secrets import SecretBox  # noqa: E402
from core.store import Store  # noqa: E402
from tests.hardening.mqtt_poison import GATEWAY, TOPICS, retained_poison  # noqa: E402
from tests.lab.netns import Lab, sweep_stale  # noqa: E402
from tests.mosquitto import MosquittoBroker  # noqa: E402
from tests.support import free_port, free_udp_port  # noqa: E402

KEY = "fault-run-gateway-key-0123456789abcdef0123456789"
BRIDGE, LAN = "rfbr0", "10.77.0.1"
#: A sample this long after the portal should have turned (healthy or not) still counts.
GRACE_DOWN_S = STALE_AFTER_S + 0.5
GRACE_UP_S = 1.0
#: Poison payloads small enough to publish over and over during the run (the big ones, up to
#: 2 MB, go once at the start).
SMALL = 4096


@dataclass
class Plan:
    reports: int
    kills: int
    up_s: float
    down_s: float
    logins_per_s: float
    poison_per_s: float
    #: Controller nodes on the one store (1: the single-node run, judged on /healthz).
    nodes: int = 1
    #: ``[reports] lease_ttl_s`` of every node.
    lease_ttl_s: float = 12.0
    #: The store's backend: "sqlite" (a file) or "postgresql" (a throwaway cluster started
    #: inside the namespace, as tests/peers_postgres.py starts the suite's).
    store: str = "sqlite"

    @property
    def seconds(self) -> float:
        """How long the controller's lives and deaths take (the reports are spread over it)."""
        return self.kills * (self.up_s + self.down_s) + self.up_s


# -- processes ------------------------------------------------------------------------------------

class Children:
    """Processes started here, each in its own group, logged to the run's folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=ROOT)
        self.running[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.running.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(30)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _status(port: int, path: str, timeout: float = 2.0) -> tuple[int, dict | None]:
    """(status, JSON body) of a GET on loopback; (0, None) when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        body = reply.read()
        try:
            return reply.status, json.loads(body)
        except ValueError:
            return reply.status, None
    except OSError:
        return 0, None
    finally:
        conn.close()


def wait_until(check, timeout: float, what: str) -> float:
    """Poll ``check`` every 50 ms; the time it first held, or SystemExit after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


# -- the visitors ---------------------------------------------------------------------------------

class Reporters(threading.Thread):
    """Files ``count`` reports over Open311 at an even pace across ``seconds``."""

    def __init__(self, port: int, api_key: str, count: int, seconds: float):
        super().__init__(name="reporters", daemon=True)
        self.port, self.api_key, self.count, self.seconds = port, api_key, count, seconds
        self.trackings: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.monotonic()
        for n in range(self.count):
            time.sleep(max(0.0, started + n * self.seconds / self.count - time.monotonic()))
            body = urlencode({"api_key": self.api_key, "service_code": "lighting",
                              "lat": "25.38", "long": "49.59",
                              "description": f"Fault run report {n}: the lamp is out"})
            try:
                conn.request("POST", "/open311/v2/requests.json", body, {
                    "Content-Type": "application/x-www-form-urlencoded"})
                reply = conn.getresponse()
                answer = reply.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"report {n}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            if reply.status == 200:
                self.trackings.append(json.loads(answer)[0]["service_request_id"])
            else:
                self.errors.append(f"report {n}: {reply.status}")
        conn.close()


class Logins(threading.Thread):
    """Visitors logging in (terms click-through) at ``per_s`` until stopped; each login is a new
    device, so every one is an allow command the gateway agent applies to its nft sets."""

    def __init__(self, port: int, per_s: float):
        super().__init__(name="logins", daemon=True)
        self.port, self.per_s = port, per_s
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        n = 0
        started = time.monotonic()
        while not self.stopping.is_set():
            n += 1
            self.stopping.wait(max(0.0, started + n / self.per_s - time.monotonic()))
            try:
                self.latencies_ms.append(self.login(conn, n))
            except (OSError, http.client.HTTPException, RuntimeError) as exc:
                self.failures.append(f"login {n}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.close()

    @staticmethod
    def login(conn: http.client.HTTPConnection, n: int) -> float:
        # 10.77.1.0 and up: clear of the poison's own client (10.77.0.201).
        mac = f"02:00:01:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"
        ip = f"10.77.{1 + ((n >> 8) & 127)}.{n & 255}"
        params = sign(ClientClaim(GATEWAY, mac, ip, "http://example.com/", int(time.time())),
                      KEY.encode())
        conn.request("GET", "/?" + urlencode(params))
        landing = conn.getresponse()
        html = landing.read().decode()
        if landing.status != 200:
            raise RuntimeError(f"landing page answered {landing.status}")
        cookie = landing.getheader("Set-Cookie", "").split(";")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if token is None:
            raise RuntimeError("landing page without a form")
        started = time.perf_counter()
        conn.request("POST", "/login/terms", urlencode({**params, "csrf_token": token.group(1),
                                                        "accept": "yes"}),
                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        reply = conn.getresponse()
        reply.read()
        if reply.status != 303:
            raise RuntimeError(f"login answered {reply.status}")
        return (time.perf_counter() - started) * 1000


class Poisoner(threading.Thread):
    """Retained poison on every topic, the whole corpus once, then the small cases over and over
    at ``per_s`` until stopped."""

    def __init__(self, mqtt: MqttConfig, per_s: float):
        super().__init__(name="poisoner", daemon=True)
        self.link = MqttLink(mqtt, client_id="fault-run-attacker")
        self.per_s = per_s
        self.published = 0
        self.stopping = threading.Event()
        #: Set once the whole corpus went out (the small cases follow, over and over).
        self.corpus_sent = threading.Event()

    def _publish(self, batch: list[tuple[str, bytes, bool]]) -> None:
        deliveries = [self.link.publish_raw(topic, data, retain=retain)
                      for topic, data, retain in batch]
        for delivery in deliveries:
            delivery.wait(30)
        self.published += len(batch)

    def run(self) -> None:
        self.link.start()
        self.link.wait_connected(10)
        self._publish([(topic, data, True) for topic, data in retained_poison()])
        everything = [(target, data, False) for topic in TOPICS.values()
                      for target in topic.topics for data in topic.cases.values()]
        for start in range(0, len(everything), 200):
            self._publish(everything[start:start + 200])
        self.corpus_sent.set()
        small = [item for item in everything if len(item[1]) <= SMALL]
        started, sent = time.monotonic(), 0
        while not self.stopping.is_set():
            for start in range(0, len(small), 50):
                if self.stopping.wait(max(0.0, started + sent / self.per_s - time.monotonic())):
                    break
                self._publish(small[start:start + 50])
                sent += 50
        self.link.stop()


# -- /healthz, polled and judged ------------------------------------------------------------------

@dataclass
class Life:
    """One life of the controller: started, ready (its /healthz first 200), killed."""

    started: float
    ready: float | None = None
    killed: float | None = None


@dataclass
class Sample:
    """One probe of each /healthz, each with the time it was sent (0: no answer in time)."""

    at: float
    portal: int
    admin_at: float
    admin: int
    outbox_depth: int | None


class HealthWatch(threading.Thread):
    """Both /healthz every ``every_s``, each sample with its time."""

    def __init__(self, portal_port: int, admin_port: int, every_s: float = 0.25):
        super().__init__(name="healthz", daemon=True)
        self.portal_port, self.admin_port, self.every_s = portal_port, admin_port, every_s
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every_s):
            at = time.monotonic()
            portal, body = _status(self.portal_port, "/healthz", timeout=3.0)
            admin_at = time.monotonic()
            admin, _ = _status(self.admin_port, "/healthz", timeout=3.0)
            forwarder = (body or {}).get("checks", {}).get("forwarder", {})
            self.samples.append(Sample(at, portal, admin_at, admin,
                                       forwarder.get("outbox_depth")))


def judge(samples: list[Sample], lives: list[Life]) -> dict:
    """Compare each sample with what was running when it was taken (module docstring)."""
    lies: list[str] = []
    unanswered = 0
    detect: list[float] = []
    recover: list[float] = []

    def expect(name: str, got: int, wanted: int, when: str) -> None:
        nonlocal unanswered
        if got == 0 and wanted != 0:
            unanswered += 1
        elif got != wanted:
            lies.append(f"{name} {got} {when}")

    for life, following in zip(lives, [*lives[1:], None], strict=True):
        if life.ready is None:
            continue
        up_until = life.killed if life.killed is not None else float("inf")
        down_until = following.started if following else float("inf")
        for sample in samples:
            for name, at, got in (("portal", sample.at, sample.portal),
                                  ("admin", sample.admin_at, sample.admin)):
                if life.ready + GRACE_UP_S <= at < up_until:
                    expect(name, got, 200, f"{at - life.ready:.1f} s after the controller was "
                           "ready")
                # The portal turns once the heartbeat is stale; the admin app dies at once.
                grace = GRACE_DOWN_S if name == "portal" else 0.5
                if life.killed is not None and life.killed + grace <= at < down_until:
                    expect(name, got, 503 if name == "portal" else 0,
                           f"{at - life.killed:.1f} s after the kill")
        first_up = next((s.at for s in samples if s.at >= life.ready and s.portal == 200), None)
        if first_up is not None:
            recover.append(first_up - life.ready)
        if life.killed is not None:
            first_down = next((s.at for s in samples
                               if life.killed <= s.at < down_until and s.portal == 503), None)
            if first_down is not None:
                detect.append(first_down - life.killed)
    return {"samples": len(samples), "lies": len(lies), "first_lies": lies[:5],
            "unanswered": unanswered,
            "unhealthy_after_kill_s": [round(d, 2) for d in detect],
            "healthy_after_ready_s": [round(r, 2) for r in recover],
            "max_outbox_depth": max((s.outbox_depth or 0 for s in samples), default=0)}


# -- the run --------------------------------------------------------------------------------------

def _configs(folder: Path, broker: MosquittoBroker, portal_port: int, admin_port: int,
             node: int = 0, lease_ttl_s: float = 12.0, store_url: str = "") -> Path:
    """The gateway's config and node ``node``'s (node 0's is the portal's too)."""
    (folder / "gateway.key").write_text(KEY)
    (folder / "gateway.key").chmod(0o600)
    (folder / "gateway.toml").write_text(f"""[gateway]
gateway_id = "{GATEWAY}"
lan_interface = "{BRIDGE}"
lan_address = "{LAN}"
portal_url = "http://127.0.0.1:{portal_port}/"
hmac_key_file = "{folder / 'gateway.key'}"
table = "fault_run"
state_db = "{folder / 'gateway.db'}"
accounting_interval_s = 5.0
[mqtt]
host = "{broker.host}"
port = {broker.port}
""")
    # Each node its own MQTT client ids: one id on two nodes takes the session back and forth.
    suffix = f"-{node}" if node else ""
    config = folder / f"oasis{suffix}.toml"
    config.write_text(f"""[store]
path = "{folder / 'oasis.db'}"
url = "{store_url}"
key_file = "{folder / 'oasis.key'}"
[admin]
listen = "127.0.0.1:{admin_port}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
client_id = "fault-run{suffix}"
[snmp]
trap_listen = "127.0.0.1:{free_udp_port()}"
[portal]
listen = "127.0.0.1:{portal_port}"
secret_key_file = "{folder / 'portal.key'}"
secure_cookies = false
posts_per_minute = 1000000
[sms]
driver = "console"
outbox = ""
[reports]
resend_after_s = 2.0
resend_max_s = 10.0
client_id = "fault-reports{suffix}"
lease_ttl_s = {lease_ttl_s}
""")
    return config


def drive(plan: Plan, folder: Path) -> dict:
    """Inside the namespace: start everything, run the faults, judge."""
    children = Children(folder)
    broker = MosquittoBroker("/usr/sbin/mosquitto", folder / "mosquitto",
                             extra_config="autosave_on_changes false\nautosave_interval 1\n")
    portal_port, admin_port = free_port(), free_port()
    config = _configs(folder, broker, portal_port, admin_port)
    store = Store(folder / "oasis.db")
    register_gateway(store, SecretBox.from_key_file(folder / "oasis.key"), GATEWAY, key=KEY)
    api_key = open311_keys.issue(store, "fault-run")
    python, oasis = sys.executable, [sys.executable, "-m", "controller", "--config", str(config)]
    lives: list[Life] = []
    broker.start()
    try:
        children.start("backoffice", *oasis, "backoffice", "run", "--db",
                       str(folder / "backoffice.db"))
        children.start("agent", python, "-m", "agents.gateway", "--config",
                       str(folder / "gateway.toml"), "run")
        children.start("portal", python, "-m", "captive_portal", "--config", str(config), "serve")

        def start_controller() -> None:
            lives.append(Life(time.monotonic()))
            children.start("controller", *oasis, "run", "--no-portal")
            lives[-1].ready = wait_until(lambda: _status(admin_port, "/healthz")[0] == 200, 60,
                                         "the controller to be ready")

        start_controller()
        wait_until(lambda: _status(portal_port, "/healthz")[0] == 200, 60, "the portal")
        watch = HealthWatch(portal_port, admin_port)
        poisoner = Poisoner(MqttConfig(host=broker.host, port=broker.port), plan.poison_per_s)
        logins = Logins(portal_port, plan.logins_per_s)
        reporters = Reporters(portal_port, api_key, plan.reports, plan.seconds)
        started = time.monotonic()
        for thread in (watch, poisoner, logins, reporters):
            thread.start()
        for _ in range(plan.kills):
            time.sleep(max(0.0, lives[-1].ready + plan.up_s - time.monotonic()))
            lives[-1].killed = time.monotonic()
            children.kill("controller")
            time.sleep(plan.down_s)
            start_controller()
        reporters.join()
        filed = time.monotonic() - started
        # Every report answered 200 reaches the back office once.
        wait_until(lambda: _unacked(store) == 0, 180, "every outbox row to be acked")
        time.sleep(max(0.0, lives[-1].ready + plan.up_s - time.monotonic()))
        for thread in (watch, poisoner, logins):
            thread.stopping.set()
            thread.join(60)
        final_portal, final_admin = (_status(portal_port, "/healthz")[0],
                                     _status(admin_port, "/healthz")[0])
    finally:
        children.stop_all()
        broker.stop()
    return _figures(plan, folder, store, reporters, logins, poisoner,
                    judge(watch.samples, lives), lives, filed, final_portal, final_admin)


class LeaseWatch(threading.Thread):
    """Which node holds the forwarder's lease, sampled from the store every 50 ms: the list of
    (time, node) at each change (None: nobody holds it)."""

    def __init__(self, store_path: str):
        super().__init__(name="lease-watch", daemon=True)
        self.store_path = store_path
        self.changes: list[tuple[float, int | None]] = []
        self.stopping = threading.Event()

    def holder(self) -> int | None:
        return self.changes[-1][1] if self.changes else None

    def run(self) -> None:
        store = Store(self.store_path, migrate=False)
        try:
            while not self.stopping.wait(0.05):
                row = store.conn.execute(
                    "SELECT holder FROM leases WHERE name = ? AND expires_at > ?",
                    (f"singleton:{ReportForwarder.LEASE}", time.time())).fetchone()
                node = None
                if row is not None:  # ...:report-forwarder:fault-reports[-N]
                    tail = row[0].rsplit(":", 1)[-1]
                    node = int(tail.rsplit("-", 1)[1]) if tail.count("-") == 2 else 0
                if not self.changes or self.changes[-1][1] != node:
                    self.changes.append((time.monotonic(), node))
        finally:
            store.close()


def _warm_up(portal_port: int, timeout: float = 60.0) -> None:
    """One visitor logged in (not counted), retried until the gateway agent, busy with the
    poison corpus, acks within the portal's timeout again."""
    deadline = time.monotonic() + timeout
    n = (1 << 20) | (127 << 8) | 1  # a device and address (10.77.128.x) of its own
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", portal_port, timeout=30)
        try:
            Logins.login(conn, n)
            return
        except (OSError, http.client.HTTPException, RuntimeError):
            if time.monotonic() > deadline:
                raise SystemExit("no visitor could log in before the run") from None
            n += 1
        finally:
            conn.close()


def drive_nodes(plan: Plan, folder: Path) -> dict:
    """Inside the namespace: ``plan.nodes`` controllers on one store; each kill SIGKILLs the
    node holding the forwarder's lease and starts it again ``down_s`` later."""
    children = Children(folder)
    broker = MosquittoBroker("/usr/sbin/mosquitto", folder / "mosquitto",
                             extra_config="autosave_on_changes false\nautosave_interval 1\n")
    portal_port = free_port()
    admin_ports = [free_port() for _ in range(plan.nodes)]
    cluster = None
    location = str(folder / "oasis.db")
    if plan.store == "postgresql":
        from tests.peers_postgres import start_cluster
        cluster = start_cluster()
        location = cluster.empty_database()
    configs = [_configs(folder, broker, portal_port, admin_ports[n], n, plan.lease_ttl_s,
                        location if cluster else "")
               for n in range(plan.nodes)]
    store = Store(location)
    register_gateway(store, SecretBox.from_key_file(folder / "oasis.key"), GATEWAY, key=KEY)
    api_key = open311_keys.issue(store, "fault-run")
    python = sys.executable
    lives: list[Life] = []
    current: dict[int, Life] = {}  # each node's life now
    takeovers: list[float] = []
    broker.start()
    try:
        children.start("backoffice", python, "-m", "controller", "--config", str(configs[0]),
                       "backoffice", "run", "--db", str(folder / "backoffice.db"))
        children.start("agent", python, "-m", "agents.gateway", "--config",
                       str(folder / "gateway.toml"), "run")
        children.start("portal", python, "-m", "captive_portal", "--config", str(configs[0]),
                       "serve")

        def start_node(n: int) -> None:
            lives.append(Life(time.monotonic()))
            current[n] = lives[-1]
            children.start(f"controller-{n}", python, "-m", "controller", "--config",
                           str(configs[n]), "run", "--no-portal")

        def ready(n: int) -> None:
            current[n].ready = wait_until(
                lambda: _status(admin_ports[n], "/healthz")[0] == 200, 60,
                f"controller {n} to be ready")

        for n in range(plan.nodes):  # all at once, as a cluster's nodes boot
            start_node(n)
        for n in range(plan.nodes):
            ready(n)
        wait_until(lambda: _status(portal_port, "/healthz")[0] == 200, 60, "the portal")
        watch = HealthWatch(portal_port, admin_ports[0])
        leases = LeaseWatch(location)
        poisoner = Poisoner(MqttConfig(host=broker.host, port=broker.port), plan.poison_per_s)
        logins = Logins(portal_port, plan.logins_per_s)
        reporters = Reporters(portal_port, api_key, plan.reports, plan.seconds)
        leases.start()
        wait_until(lambda: leases.holder() is not None, 30, "a forwarder to hold the lease")
        # The poison corpus first (a one-off of payloads up to 2 MB that every process on the
        # two cores chews through at once with two controllers), then the steady load.
        poisoner.start()
        poisoner.corpus_sent.wait(120)
        _warm_up(portal_port)
        started = time.monotonic()
        for thread in (watch, logins, reporters):
            thread.start()
        for _ in range(plan.kills):
            time.sleep(max(0.0, (lives[-1].ready or 0.0) + plan.up_s - time.monotonic()))
            victim = leases.holder()
            if victim is None:  # between holders: wait for one (the TTL at most)
                wait_until(lambda: leases.holder() is not None, plan.lease_ttl_s + 5,
                           "a forwarder to hold the lease")
                victim = leases.holder()
            assert victim is not None
            killed = current[victim].killed = time.monotonic()
            children.kill(f"controller-{victim}")
            wait_until(lambda v=victim: leases.holder() not in (None, v),
                       plan.lease_ttl_s + 10, "another node to take the forwarder's lease")
            takeovers.append(next(at for at, node in leases.changes
                                  if at >= killed and node not in (None, victim)) - killed)
            time.sleep(max(0.0, killed + plan.down_s - time.monotonic()))
            start_node(victim)
            ready(victim)
        reporters.join()
        filed = time.monotonic() - started
        wait_until(lambda: _unacked(store) == 0, 180, "every outbox row to be acked")
        for thread in (watch, poisoner, logins, leases):
            thread.stopping.set()
            thread.join(60)
        final_portal = _status(portal_port, "/healthz")[0]
        final_admin = [_status(port, "/healthz")[0] for port in admin_ports]
    finally:
        children.stop_all()
        broker.stop()
    try:
        figures = _figures(plan, folder, store, reporters, logins, poisoner,
                       {"samples": len(watch.samples),
                        "portal_unhealthy_samples": sum(1 for s in watch.samples
                                                        if s.portal == 503)},
                           lives, filed, final_portal, final_admin)
    finally:
        store.close()
        if cluster is not None:
            from core.store.postgresql import close_pools
            close_pools()
            cluster.stop()
            shutil.rmtree(cluster.root, ignore_errors=True)
    figures.update(bench="controller-fault-nodes", nodes=plan.nodes, store=plan.store,
                   lease_ttl_s=plan.lease_ttl_s,
                   takeover_s=[round(t, 2) for t in takeovers])
    return figures


def _unacked(store: Store) -> int:
    return store.conn.execute("SELECT count(*) FROM report_outbox "
                              "WHERE state != 'acknowledged'").fetchone()[0]


def _figures(plan, folder, store, reporters, logins, poisoner, health, lives, filed,
             final_portal, final_admin) -> dict:
    held = sqlite3.connect(folder / "backoffice.db")
    received: dict[str, int] = dict(held.execute(
        "SELECT message_id, copies FROM received WHERE topic = ?", (TOPIC_NEW,)))
    held.close()
    answered = reporters.trackings
    stored = [r[0] for r in store.conn.execute(
        "SELECT description FROM reports WHERE channel = 'open311'")]
    ordered = sorted(logins.latencies_ms)
    return {
        "bench": "controller-fault", "controller_kills": sum(1 for life in lives if life.killed),
        "plan": {"reports": plan.reports, "kills": plan.kills, "up_s": plan.up_s,
                 "down_s": plan.down_s, "nodes": plan.nodes},
        "reports": {"filed": len(answered), "errors": len(reporters.errors),
                    "first_errors": reporters.errors[:3], "seconds": round(filed, 1),
                    "stored": len(stored),
                    "duplicated": len(stored) - len(set(stored)),
                    "lost": len(set(answered) - set(received)) + _unacked(store),
                    "copies_seen_by_back_office": sum(received.get(t, 0) for t in answered)},
        "logins": {"ok": len(ordered), "failed": len(logins.failures),
                   "first_failures": logins.failures[:3],
                   "p50_ms": round(ordered[len(ordered) // 2], 1) if ordered else None,
                   "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered
                   else None},
        "poison_published": poisoner.published,
        "healthz": {**health, "final_portal": final_portal, "final_admin": final_admin},
        "controller_ready_s": [round(life.ready - life.started, 1) for life in lives
                               if life.ready],
    }


def orchestrate(plan: Plan, tiny: bool) -> dict:
    """As root: a namespace with the gateway's LAN bridge; the driver runs inside it."""
    sweep_stale("rf")
    folder = Path(tempfile.mkdtemp(prefix="oasis-fault-run-"))
    with Lab(prefix="rf") as lab:
        ns = lab.namespace("run")
        ns.ip("link", "add", BRIDGE, "type", "bridge")
        ns.address(BRIDGE, f"{LAN}/16")
        result = ns.run_python(
            str(Path(__file__).resolve().with_name("reports_rate.py")), "controller-fault",
            "--inside", str(folder), "--reports", str(plan.reports), "--kills", str(plan.kills),
            "--up", str(plan.up_s), "--down", str(plan.down_s),
            "--logins-per-s", str(plan.logins_per_s), "--poison-per-s", str(plan.poison_per_s),
            "--nodes", str(plan.nodes), "--lease-ttl", str(plan.lease_ttl_s),
            "--store", plan.store,
            timeout=600 + plan.seconds * 3)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["tiny"] = tiny
    if tiny:  # the suite's run: nothing left behind
        shutil.rmtree(folder, ignore_errors=True)
    else:  # the processes' logs, the stores, the broker's files
        figures["folder"] = str(folder)
    return figures


__all__ = ["Plan", "drive", "drive_nodes", "judge", "orchestrate"]
