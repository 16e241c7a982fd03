"""The portal served apart from the controller, as a park runs it: ``oasis run --no-portal`` and
``python -m captive_portal serve`` (granian workers) on one store and a real Mosquitto.

The lab (tests/lab) logs visitors in through the same command with the real gateway agent;
here: the workers come up with the file's settings, a 940 report filed on one of them reaches
the controller's forwarder and the broker, and SIGTERM takes the workers down with the server.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from controller.runtime import Controller
from core.config import load_config
from core.contracts.signature import ClientClaim, sign
from core.store import Store
from tests.support import free_port, free_udp_port, wait_for


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.fixture
def apart(tmp_path, mosquitto):
    portal_port = free_port()
    path = tmp_path / "oasis.toml"
    path.write_text(f"""
[store]
path = "{tmp_path / 'oasis.db'}"
key_file = "{tmp_path / 'oasis.key'}"
[admin]
listen = "127.0.0.1:{free_port()}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
client_id = "oasis-apart"
[snmp]
trap_listen = "127.0.0.1:{free_udp_port()}"
[portal]
listen = "127.0.0.1:{portal_port}"
workers = 2
threads = 4
secret_key_file = "{tmp_path / 'portal.key'}"
secure_cookies = false
[sms]
outbox = "{tmp_path / 'sms.log'}"
[reports]
max_description_chars = 300
""")
    config = load_config(path, env={})
    controller = Controller(config, serve_portal=False)
    controller.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OASIS_")}
    portal = subprocess.Popen([sys.executable, "-m", "captive_portal", "--config", str(path),
                               "serve"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: _get(portal_port, "/healthz")[0] == 200, 20, what="the portal workers")
        # One worker answered; the other may still be starting, its accept loop not running
        # yet, and would then take none of the connections a test spreads over both.
        wait_for(lambda: _each_worker_accepts(portal.pid, portal_port), 30, interval=0.2,
                 what="both portal workers accepting connections")
        yield config, controller, portal, portal_port
    finally:
        if portal.poll() is None:
            portal.send_signal(signal.SIGTERM)
            try:
                portal.wait(15)
            except subprocess.TimeoutExpired:
                portal.kill()
        controller.stop()


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path, headers={"Accept-Language": "en"})
        reply = conn.getresponse()
        return reply.status, reply.read().decode()
    except OSError:
        return 0, ""


def _file(port: int, description: str) -> tuple[int, str]:
    """GET the report form (cookie and CSRF token), then post a report from it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/reports/new?lang=en")
    reply = conn.getresponse()
    form = reply.read().decode()
    cookie = "; ".join(c.split(";")[0] for c in reply.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    body = urlencode({"csrf_token": token, "category": "lighting", "address": "North gate",
                      "description": description})
    conn.request("POST", "/reports/new", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    answer = conn.getresponse()
    return answer.status, answer.read().decode()


def test_controller_without_portal_and_portal_workers_on_one_store(apart):
    config, controller, portal, port = apart
    assert controller.portal is None and controller.portal_url == ""
    assert len(children(portal.pid)) == 2  # granian's two workers

    # A report filed on the portal, with the workers' own [reports] settings...
    assert _get(port, "/reports/new")[0] == 200
    refused, page = _file(port, "x" * 301)
    assert (refused, re.search(r'data-code="([^"]+)"', page).group(1)) == (400, "description_too_long")
    status, html = _file(port, "The lamp by the north gate is out")
    assert status == 200, html[:500]
    tracking = re.search(r"940-\d{4}-\d{6}", html).group(0)

    # ...is published by the controller's forwarder (no back office here: sent, not acked).
    def outbox_state():
        store = Store(config.store_location())
        try:
            row = store.conn.execute(
                "SELECT o.state FROM report_outbox o JOIN reports r ON r.id = o.report_id "
                "WHERE r.tracking = ?", (tracking,)).fetchone()
            return row[0] if row else None
        finally:
            store.close()
    wait_for(lambda: outbox_state() == "sent", 15, what="the forwarder to publish the report")

    workers = children(portal.pid)
    portal.send_signal(signal.SIGTERM)
    portal.wait(15)
    time.sleep(0.2)
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def _workers_holding(port: int, workers: list[int]) -> dict[int, int]:
    """Client port -> pid of the worker holding the server side of that connection to ``port``
    (its socket inode among the worker's descriptors, found in /proc/net/tcp)."""
    owner = {}
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owner[int(target[8:-1])] = pid
    held = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == port and int(fields[9]) in owner:
            held[remote_port] = owner[int(fields[9])]
    return held


def _each_worker_accepts(pid: int, port: int) -> bool:
    """A batch of connections, made at once and each answered (so accepted), reached both
    of the portal's workers."""
    workers = children(pid)
    if len(workers) != 2:
        return False
    batch = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(8)]
    try:
        for conn in batch:
            conn.connect()
        for conn in batch:
            conn.request("GET", "/healthz?scope=local")
            conn.getresponse().read()
        return set(_workers_holding(port, workers).values()) == set(workers)
    finally:
        for conn in batch:
            conn.close()


class _Visitor:
    """One kept-alive connection with its session cookie and CSRF token."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.connect()
        self.client_port = self.conn.sock.getsockname()[1]
        self.cookie = self.token = ""

    def start(self) -> _Visitor:
        self.conn.request("GET", "/reports/mine?lang=en")
        reply = self.conn.getresponse()
        page = reply.read().decode()
        self.cookie = "; ".join(c.split(";")[0] for c in reply.headers.get_all("Set-Cookie") or [])
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert reply.status == 200 and found, f"GET /reports/mine: {reply.status} {page[:300]!r}"
        self.token = found.group(1)
        return self

    def post_terms(self) -> tuple[int, str]:
        """A login post without the gateway's signature: 400, unless the rate limit says 429."""
        body = urlencode({"csrf_token": self.token, "accept": "yes"})
        self.conn.request("POST", "/login/terms", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})
        reply = self.conn.getresponse()
        page = reply.read().decode()
        return reply.status, re.search(r'data-code="([^"]+)"', page).group(1)


def test_the_post_limit_holds_across_the_workers(apart):
    try:
        _post_limit_across_workers(*apart)
    except AssertionError as failure:  # the workers' log says what a 5xx was
        _controller, portal = apart[1], apart[2]
        portal.send_signal(signal.SIGTERM)
        log = portal.communicate(timeout=20)[0]
        raise AssertionError(f"{failure}\n--- portal log ---\n{log[-6000:]}") from None


def _post_limit_across_workers(config, _controller, portal, port):
    limit = config.portal.posts_per_minute
    workers = children(portal.pid)
    assert len(workers) == 2
    visitors: list[_Visitor] = []
    held: dict[int, int] = {}
    # Connections until both workers hold some: the kernel hands each to one worker, and a
    # batch connected at once reaches both accept loops.
    while len(set(held.values())) < 2 and len(visitors) < 64:
        batch = [_Visitor(port) for _ in range(8)]
        visitors.extend(visitor.start() for visitor in batch)
        held = _workers_holding(port, workers)
    assert set(held.values()) == set(workers), "every connection went to one worker"

    answers = [visitors[i % len(visitors)].post_terms() for i in range(2 * limit)]
    used = {held[visitors[i % len(visitors)].client_port] for i in range(2 * limit)}
    assert used == set(workers)
    # Both workers counted in one place: the limit is the configured one, not one per worker.
    assert answers[:limit] == [(400, "signature_missing")] * limit
    assert answers[limit:] == [(429, "too_many_requests")] * limit
    for visitor in visitors:
        visitor.conn.close()


def _landing(visitor: _Visitor, key: str) -> tuple[int, str | None]:
    claim = ClientClaim("gw1", "02:00:00:00:00:01", "10.77.0.100", "http://example.com/",
                        int(time.time()))
    visitor.conn.request("GET", "/?" + urlencode(sign(claim, key.encode())),
                         headers={"Accept-Language": "en"})
    reply = visitor.conn.getresponse()
    found = re.search(r'data-code="([^"]+)"', reply.read().decode())
    return reply.status, found.group(1) if found else None


def test_a_rekey_holds_in_every_worker_at_once(apart):
    """Defect 9: each worker kept the key it had read first until the portal restarted."""
    config, _controller, portal, port = apart
    workers = children(portal.pid)

    def gateway_add(key: str) -> None:
        subprocess.run([sys.executable, "-m", "captive_portal", "--config", config.source,
                        "gateway-add", "gw1", "--key", key], check=True, capture_output=True)

    old, new = "old-key-" + "a" * 32, "new-key-" + "b" * 32
    gateway_add(old)
    visitors: list[_Visitor] = []
    held: dict[int, int] = {}
    while len(set(held.values())) < 2 and len(visitors) < 64:
        visitors.extend(_Visitor(port) for _ in range(8))
        held = _workers_holding(port, workers)
    assert set(held.values()) == set(workers), "every connection went to one worker"
    assert {_landing(visitor, old)[0] for visitor in visitors} == {200}  # each worker has read it

    gateway_add(new)
    assert {_landing(visitor, old) for visitor in visitors} == {(403, "signature_invalid")}
    assert {_landing(visitor, new)[0] for visitor in visitors} == {200}
    for visitor in visitors:
        visitor.conn.close()

    # Both workers counted every landing into the same usage counters (gw1 has no site).
    store = Store(config.store_location())
    try:
        counted = dict(((kind, item), n) for kind, item, n in store.conn.execute(
            "SELECT kind, item, sum(count) FROM portal_usage_counts WHERE site = '' "
            "GROUP BY kind, item"))
    finally:
        store.close()
    assert counted == {("funnel", "redirect"): 3 * len(visitors),
                       ("funnel", "portal"): 2 * len(visitors),
                       ("failure", "signature_invalid"): len(visitors)}
