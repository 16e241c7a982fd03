"""Two admin nodes (`oasis run --no-portal`, each its own process and port) on one store behind
a real HAProxy (the admin part of docs/haproxy-nodes.cfg), round robin, no stickiness: an
operator's sign-in form from one node is accepted by the other, the session holds on both, and
when one node is SIGKILLed the operator stays signed in on the other without a failed page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from controller import auth
from core.store import Store
from tests.controller.web_harness import PASSWORD
from tests.lab.portal_ha import Visitor, haproxy_config, haproxy_stats, servers_up
from tests.support import free_port, free_udp_port, require_tool, wait_for, wait_for_tcp

OASIS = str(Path(sys.executable).with_name("oasis"))
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _node_config(folder: Path, mosquitto, index: int, port: int) -> Path:
    path = folder / f"admin{index}.toml"
    path.write_text(f"""
[store]
path = "{folder / 'oasis.db'}"
key_file = "{folder / 'oasis.key'}"
[admin]
listen = "127.0.0.1:{port}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
client_id = "ha-admin{index}"
[snmp]
trap_listen = "127.0.0.1:{free_udp_port()}"
[sms]
outbox = "{folder / 'sms.log'}"
""")
    return path


@pytest.fixture
def admin_nodes(tmp_path, mosquitto):
    haproxy = require_tool("haproxy")
    store = Store(tmp_path / "oasis.db")
    auth.create_user(store, "adam", PASSWORD, "admin", "test")
    store.close()
    ports = [free_port(), free_port()]
    nodes = [subprocess.Popen([OASIS, "--config", str(_node_config(tmp_path, mosquitto, i + 1,
                                                                    port)),
                               "run", "--no-portal"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i, port in enumerate(ports)]
    proxy_port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(tmp_path, [free_port()], proxy_port=free_port(),
                                     admin_nodes=ports, admin_port=proxy_port))
    proxy = subprocess.Popen([haproxy, "-W", "-db", "-f", str(config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for port in ports:
            wait_for_tcp("127.0.0.1", port, 60)
        wait_for(lambda: servers_up(tmp_path / "haproxy.sock", "admin_nodes") == 2, 30,
                 what="both admin nodes up in HAProxy")
        yield nodes, proxy_port, tmp_path / "haproxy.sock"
    finally:
        proxy.terminate()
        proxy.wait(10)
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGTERM)
                try:
                    node.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(node.pid, signal.SIGKILL)
                    node.wait(10)


def _served(sock: Path) -> dict[str, int]:
    return {row["svname"]: int(row["stot"]) for row in haproxy_stats(sock)
            if row.get("pxname") == "admin_nodes" and row["svname"].startswith("admin")}


def test_an_operator_stays_signed_in_whichever_admin_node_answers_and_when_one_dies(
        admin_nodes):
    nodes, port, sock = admin_nodes
    operator = Visitor(port, 0, cookie_name="oasis_admin")
    token = _CSRF.search(operator.expect("GET", "/login", 200)).group(1)
    # The form came from one node; round robin sends its post to the other.
    status, _ = operator.request("POST", "/login", {"username": "adam", "password": PASSWORD,
                                                    "csrf_token": token})
    assert status == 302
    before = _served(sock)
    for _ in range(6):
        assert operator.request("GET", "/")[0] == 200   # signed in, not sent to /login
    after = _served(sock)
    assert all(after[name] > before[name] for name in after)  # both nodes answered

    os.killpg(nodes[1].pid, signal.SIGKILL)
    nodes[1].wait(10)
    for _ in range(10):
        assert operator.request("GET", "/")[0] == 200   # still signed in, on the survivor
    wait_for(lambda: servers_up(sock, "admin_nodes") == 1, 10,
             what="HAProxy to mark the dead admin node down")
    # What the dead node refused HAProxy sent to the other; the operator's client resends a
    # page only as a browser does (a kept-alive connection closed under it), once at most.
    assert operator.retries <= 1
