"""The edge daemons under their units' protocol (agents/*/oasis-*.service): READY=1 once they
serve, WATCHDOG=1 from their main loops, STOPPING=1 on SIGTERM. Each runs as the unit starts
it, the gateway and backhaul agents in a network namespace of their own (nftables, routes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.netns import Lab
from tests.support import free_port, free_udp_port, require_root, require_tool
from tests.systemd_notify import NotifyListener, assert_ready_then_pinged, stop_daemon

# The commands the units start (agents/*/oasis-*.service).
GATEWAY = str(Path(sys.executable).with_name("oasis-gateway"))
BACKHAUL = str(Path(sys.executable).with_name("oasis-backhaul"))
GATEWAY_KEY = "service-test-gateway-key-0123456789abcdef"


@pytest.fixture
def listener():
    listener = NotifyListener()
    yield listener
    listener.close()


@pytest.fixture
def lab():
    require_root()
    require_tool("ip")
    with Lab("sd") as lab:
        yield lab


def _with_only(*capabilities: str) -> list[str]:
    """Run a command with no capability but ``capabilities`` and no way to gain one (the
    unit's CapabilityBoundingSet and NoNewPrivileges). It keeps uid 0: this machine's
    interpreter lives where only root may read, so the user switch itself is left to systemd."""
    caps = ",".join(["-all", *(f"+{cap}" for cap in capabilities)])
    return [require_tool("setpriv"), f"--bounding-set={caps}", f"--inh-caps={caps}",
            "--no-new-privs", "--"]


def _link(ns, name: str) -> None:
    """An interface with carrier: one end of a veth pair whose other end is up too."""
    ns.lab.veth(ns, name, ns, f"{name}p")
    ns.ip("link", "set", f"{name}p", "up")


def _run_until_pinged(listener: NotifyListener, process: subprocess.Popen,
                      while_running=lambda: None) -> dict[str, str]:
    try:
        ready = assert_ready_then_pinged(listener, process.pid)
        while_running()
    finally:
        code = stop_daemon(process)
    listener.wait_for("STOPPING", timeout=5)
    assert code == 0
    return ready


def test_echo_responder(listener):
    listen = f"127.0.0.1:{free_udp_port()}"
    process = subprocess.Popen([BACKHAUL, "responder", "--listen", listen],
                               env=listener.environment(watchdog_s=1.0),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = _run_until_pinged(listener, process)
    assert ready["STATUS"] == f"answering probes on {listen}"


@pytest.mark.lab
def test_gateway_agent(lab, listener, tmp_path):
    require_tool("nft")
    ns = lab.namespace("gw")
    _link(ns, "sdlan0")
    ns.address("sdlan0", "10.77.0.1/24")
    key = tmp_path / "gateway.key"
    key.write_text(GATEWAY_KEY)
    key.chmod(0o600)
    config = tmp_path / "gateway.toml"
    config.write_text(f"""[gateway]
gateway_id = "gw-sd"
lan_interface = "sdlan0"
lan_address = "10.77.0.1"
portal_url = "https://10.77.0.2/"
hmac_key_file = "{key}"
table = "sd_gw"
state_db = "{tmp_path / 'gateway.db'}"
ap_dir = "{tmp_path / 'aps'}"
[mqtt]
host = "127.0.0.1"
port = {free_port()}
""")
    process = ns.popen(*_with_only("net_admin"), GATEWAY, "--config", str(config), "run",
                       env=listener.environment(watchdog_s=1.0))
    answers = []

    def ask_the_api():
        """RFC 8908: the API hands out the portal's HTTPS URL (HTTP is only the redirect)."""
        reply = ns.run(require_tool("curl"), "-s", "http://10.77.0.1:8908/captive-portal/api")
        answers.append(json.loads(reply.stdout))

    ready = _run_until_pinged(listener, process, ask_the_api)
    assert answers == [{"captive": True, "user-portal-url": "https://10.77.0.2/"}]
    assert ready["STATUS"] == "gateway gw-sd enforcing, 0 authorised clients"


@pytest.mark.lab
def test_backhaul_agent(lab, listener, tmp_path):
    ns = lab.namespace("br")
    links = ""
    for number, name in ((1, "primary"), (2, "backup")):
        _link(ns, f"sdbh{number}")
        ns.address(f"sdbh{number}", f"10.20.{number}.2/24")
        links += f"""
[[backhaul.links]]
name = "{name}"
interface = "sdbh{number}"
gateway = "10.20.{number}.1"
probe_peer = "172.16.0.1"
table = {100 + number}
priority = {10 * number}
fwmark = {0x100 + number}
"""
    config = tmp_path / "backhaul.toml"
    config.write_text(f"""[backhaul]
branch = "branch-sd"
routes = ["default"]
spool = "{tmp_path / 'spool.db'}"
state_file = "{tmp_path / 'state.json'}"
{links}
[mqtt]
host = ""
""")
    process = ns.popen(*_with_only("net_admin", "net_raw"), BACKHAUL, "run", "--config",
                       str(config),
                       env=listener.environment(watchdog_s=1.0))
    ready = _run_until_pinged(listener, process)
    assert ready["STATUS"] == "branch branch-sd on primary"
