"""Backhaul failover in the namespace lab: real agent, real routes, faults from nftables.

Topology and fault injection live in tests/lab/branch.py. The agent runs with 20 ms probes, 10
misses to fail and a 1.5 s hold-down, as a separate process in the branch namespace, exactly as
systemd would run it; the tests only watch the kernel's routes, nft counters, the agent's state
file and, for MQTT, a subscriber at headquarters.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.lab.branch import HQ_ADDRESS, STREAM_PORT, BranchLab
from tests.lab.netns import Lab, Namespace, sweep_stale
from tests.mosquitto import CONFIG_TEMPLATE
from tests.support import require_root, require_tool, wait_for

# serial: probes every 20 ms, failover within a second, packet gaps counted at 1000 per
# second: timing a busy neighbour on the other core would bend (tests/parallel.py).
pytestmark = [pytest.mark.lab, pytest.mark.serial, pytest.mark.timeout(90)]

HOLDDOWN_S = 1.5


def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def link_state(state: dict, name: str) -> dict:
    return next((link for link in state.get("links", []) if link["name"] == name), {})


class Branch:
    """The lab plus a running responder and agent, and shortcuts the tests read."""

    def __init__(self, topo: BranchLab, folder: Path, **config) -> None:
        self.topo = topo
        self.folder = folder
        self.state_path = folder / "state.json"
        topo.start_responder()
        self.agent = topo.start_agent(topo.agent_config(folder, holddown_s=HOLDDOWN_S, **config),
                                      str(folder / "agent.log"))
        wait_for(lambda: link_state(self.state(), "primary").get("replies", 0) > 20
                 and link_state(self.state(), "backup").get("replies", 0) > 20,
                 timeout=10, what="agent probing both links")
        assert topo.active_interface() == "bhp0"

    def state(self) -> dict:
        return read_state(self.state_path)

    def active(self) -> str | None:
        return self.topo.active_interface()

    def stream(self, packets: int = 200, rate: int = 1000) -> None:
        """Send ``packets`` datagrams from the host behind the branch to headquarters."""
        self.topo.host.run_python("-m", "tests.lab.udpstream", "send", HQ_ADDRESS,
                                  str(STREAM_PORT), "--rate", str(rate), "--seconds",
                                  str(packets / rate))

    def log(self) -> str:
        path = self.folder / "agent.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def lab():
    require_root()
    require_tool("nft")
    require_tool("ip")
    sweep_stale()
    with Lab() as created:
        yield created


@pytest.fixture
def branch(lab, tmp_path):
    topo = BranchLab(lab)
    created = Branch(topo, tmp_path)
    yield created
    assert created.agent.poll() is None, f"agent died:\n{created.log()}"


def test_dead_path_moves_traffic_to_backup_and_back_after_holddown(branch):
    topo = branch.topo
    branch.topo.dead_path("primary")
    failed_at = time.monotonic()
    wait_for(lambda: branch.active() == "bhb0", timeout=2, interval=0.005, what="failover")
    detection_s = time.monotonic() - failed_at
    # 10 misses at 20 ms plus one timeout: ~220 ms; leave room for a shared CPU.
    assert detection_s < 1.0, detection_s

    before = topo.counter("stream_backup"), topo.counter("stream_primary")
    branch.stream(200)
    wait_for(lambda: topo.counter("stream_backup") - before[0] >= 190, timeout=5,
             what="stream over the backup")
    assert topo.counter("stream_primary") == before[1]

    topo.clear_faults()
    cleared_at = time.monotonic()
    wait_for(lambda: branch.active() == "bhp0", timeout=10, interval=0.01, what="failback")
    assert time.monotonic() - cleared_at >= HOLDDOWN_S

    before = topo.counter("stream_primary")
    branch.stream(200)
    wait_for(lambda: topo.counter("stream_primary") - before >= 190, timeout=5,
             what="stream back on the primary")
    kinds = [line for line in branch.log().splitlines() if " -> " in line]
    assert len(kinds) == 2, kinds  # one failover, one failback: no flapping in between


def test_carrier_loss_switches_at_once_without_losing_the_stream(branch):
    topo = branch.topo
    receiver = topo.hq.python("-m", "tests.lab.udpstream", "receive", str(STREAM_PORT),
                              "--idle", "0.5", "--max", "20", stdout=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    sender = topo.host.python("-m", "tests.lab.udpstream", "send", HQ_ADDRESS,
                              str(STREAM_PORT), "--rate", "1000", "--seconds", "1.5")
    wait_for(lambda: topo.counter("stream_primary") > 300, timeout=5, interval=0.01,
             what="stream flowing on the primary")
    topo.carrier("primary", up=False)
    wait_for(lambda: branch.active() == "bhb0", timeout=1, interval=0.005,
             what="switch on carrier loss")
    sender.wait(timeout=10)
    stats = json.loads(receiver.stdout.readline())
    receiver.wait(timeout=5)
    # The kernel drops the linkdown route by itself (ignore_routes_with_linkdown): the gap is
    # what was on the wire when the far end went down, a few packets at most.
    assert stats["received"] > 1300, stats
    assert stats["max_gap_packets"] <= 20, stats
    assert "carrier" in branch.log()

    topo.carrier("primary", up=True)
    wait_for(lambda: branch.active() == "bhp0", timeout=10, interval=0.01,
             what="failback after carrier returns")


def test_moderate_random_loss_does_not_fail_over(branch):
    topo = branch.topo
    topo.random_loss("primary", 15)
    deadline = time.monotonic() + 6.0  # 300 probes at 15% loss
    worst_loss = 0.0
    while time.monotonic() < deadline:
        assert branch.active() == "bhp0", branch.log()
        worst_loss = max(worst_loss, link_state(branch.state(), "primary").get("loss_pct", 0))
        time.sleep(0.1)  # sampling pace of an observer, not synchronisation
    state = branch.state()
    assert state["failovers"] == 0, branch.log()
    assert link_state(state, "primary")["state"] == "up"
    assert worst_loss >= 5, "the loss never showed in the window: was it injected?"


def test_probes_of_each_link_leave_over_that_link(branch):
    topo = branch.topo
    topo.dead_path("primary")
    wait_for(lambda: branch.active() == "bhb0", timeout=2, interval=0.01, what="failover")
    # With the main route on the backup, the primary's probes must still go over the primary.
    primary, backup = topo.counter("probe_primary"), topo.counter("probe_backup")
    wait_for(lambda: topo.counter("probe_primary") - primary >= 50, timeout=5,
             what="primary probes still on the primary")
    grew_primary = topo.counter("probe_primary") - primary
    grew_backup = topo.counter("probe_backup") - backup
    assert 0.5 < grew_backup / grew_primary < 2.0, (grew_primary, grew_backup)
    assert topo.counter("leak_primary") == 0
    assert topo.counter("leak_backup") == 0


def test_failback_flushes_flows_natted_to_the_backup(lab, tmp_path):
    topo = BranchLab(lab)
    topo.snat_backup()
    branch = Branch(topo, tmp_path, extra="flush_conntrack_on_failback = true")
    topo.dead_path("primary")
    wait_for(lambda: branch.active() == "bhb0", timeout=2, interval=0.01, what="failover")
    # A flow that starts on the backup is source-NATed to the backup's address...
    sender = topo.host.python("-m", "tests.lab.udpstream", "send", HQ_ADDRESS, str(STREAM_PORT),
                              "--rate", "200", "--seconds", "8")
    wait_for(lambda: topo.counter("stream_backup") > 50, timeout=5, what="flow on the backup")
    topo.clear_faults()
    wait_for(lambda: branch.active() == "bhp0", timeout=10, interval=0.01, what="failback")
    # ...and after failback the flush makes it start afresh on the primary, untranslated.
    wait_for(lambda: "flushed 1 conntrack entries" in branch.log(), timeout=2,
             what="conntrack flush")
    primary = topo.counter("stream_primary")
    wait_for(lambda: topo.counter("stream_primary") - primary >= 100, timeout=5,
             what="flow on the primary")
    stale = topo.counter("stale_nat")
    wait_for(lambda: topo.counter("stream_primary") - primary >= 200, timeout=5,
             what="more of the flow on the primary")
    assert topo.counter("stale_nat") == stale, "packets still carry the backup's NAT address"
    sender.terminate()


class NamespacedMosquitto:
    """Mosquitto at headquarters, behind the backhaul (it cannot be reached from the root ns)."""

    def __init__(self, ns: Namespace, folder: Path, port: int = 11883) -> None:
        self.ns = ns
        self.port = port
        self.folder = folder
        (folder / "data").mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        self.config.write_text(CONFIG_TEMPLATE.format(host=HQ_ADDRESS, port=port,
                                                      data_dir=folder / "data", user="root"))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with (self.folder / "mosquitto.log").open("ab") as handle:
            self.process = self.ns.popen(require_tool("mosquitto"), "-c", str(self.config),
                                         stderr=handle)
        wait_for(self.listening, timeout=10, what="mosquitto listening")

    def listening(self) -> bool:
        """A socket in LISTEN state (0A) on our port, read from the namespace's /proc/net/tcp."""
        table = self.ns.run("cat", "/proc/net/tcp").stdout
        return any(f":{self.port:04X} " in line and line.split()[3] == "0A"
                   for line in table.splitlines()[1:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM saves the persistence file (queued messages)
            self.process.wait(timeout=10)


def test_events_reach_mosquitto_after_broker_outage(lab, tmp_path):
    topo = BranchLab(lab)
    broker = NamespacedMosquitto(topo.hq, tmp_path / "broker")
    broker.start()
    tap_out = (tmp_path / "tap.jsonl").open("w")
    topo.hq.python("-m", "tests.lab.mqtt_tap", HQ_ADDRESS, str(broker.port), "backhaul/#",
                   stdout=tap_out)
    branch = Branch(topo, tmp_path, mqtt_host=HQ_ADDRESS, mqtt_port=broker.port)

    def received() -> list[dict]:
        text = (tmp_path / "tap.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def event_kinds() -> list[str]:
        return [m["payload"]["kind"] for m in received() if m["topic"].endswith("/events")]

    wait_for(lambda: "agent_started" in event_kinds(), timeout=10, what="first event")

    broker.stop()
    topo.dead_path("primary")
    wait_for(lambda: branch.active() == "bhb0", timeout=2, interval=0.01, what="failover")
    topo.clear_faults()
    wait_for(lambda: branch.active() == "bhp0", timeout=10, interval=0.01, what="failback")
    wait_for(lambda: branch.state().get("spooled", 0) >= 4, timeout=5,
             what="events spooled while the broker is away")
    assert "failover" not in event_kinds()

    broker.start()
    wait_for(lambda: {"failover", "failback"} <= set(event_kinds()), timeout=20,
             what="spooled events delivered after the outage")
    kinds = event_kinds()
    assert kinds.index("link_down") < kinds.index("failover") < kinds.index("failback")
    events = [m["payload"] for m in received() if m["topic"].endswith("/events")]
    assert all(e["schema"] == "oasis.backhaul.event/1" and e["branch"] == "branch-lab"
               for e in events)
    failover = next(e for e in events if e["kind"] == "failover")
    assert failover["from_link"] == "primary" and failover["to_link"] == "backup"
    # detection for the KPIs: 10 misses at 20 ms from the first missed probe to the switch
    assert 150 <= failover["detect_ms"] < 1500, failover
    assert "detect_ms" not in next(e for e in events if e["kind"] == "failback")
    wait_for(lambda: branch.state().get("spooled") == 0, timeout=10, what="spool drained")
    states = [m["payload"] for m in received() if m["topic"].endswith("/state")]
    assert states and states[-1]["active_link"] == "primary"
    for link in states[-1]["links"]:   # every reply is in one RTT bucket
        assert sum(link["rtt_buckets"]) == link["replies"] > 0, link
    broker.stop()


def test_lab_removes_namespaces_and_processes_even_when_the_test_fails():
    require_root()
    require_tool("ip")
    names: list[str] = []
    process = None
    with pytest.raises(RuntimeError, match="boom"):
        with Lab() as failing:
            ns = failing.namespace("x")
            other = failing.namespace("y")
            failing.veth(ns, "bhx0", other, "bhx1")
            ns.address("bhx0", "10.201.9.1/30")
            names = [ns.name, other.name]
            process = ns.popen("sleep", "60")
            raise RuntimeError("boom")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(name in listed for name in names)
    assert process is not None and process.poll() is not None
