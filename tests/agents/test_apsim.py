"""The AP simulator against real net-snmp tools: v2c and v3, counters, traps, control.

One simulator (a dozen APs on a random 127/8 range and a free port) serves the whole module;
traps go to a UDP socket of the test, and each test waits for the trap it caused by kind and
source address, so the order of other tests' traps does not matter.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from pyasn1.codec.ber import decoder as pyasn1_decoder
from pysnmp.proto import api

from agents.apsim.cli import apsim
from agents.apsim.inventory import simulated_inventory, simulated_sites
from agents.apsim.runner import SimulatorThread
from agents.apsim.simulator import SimulatorSettings
from tests.support import free_port, free_udp_port, require_tool, wait_for

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
COUNT = 12
SYS_UPTIME = ".1.3.6.1.2.1.1.3.0"
IF_OPER_STATUS = ".1.3.6.1.2.1.2.2.1.8"
HC_IN_OCTETS = ".1.3.6.1.2.1.31.1.1.1.6"
TRAPS = {"coldStart": "1.3.6.1.6.3.1.1.5.1", "warmStart": "1.3.6.1.6.3.1.1.5.2",
         "linkDown": "1.3.6.1.6.3.1.1.5.3", "linkUp": "1.3.6.1.6.3.1.1.5.4",
         "authenticationFailure": "1.3.6.1.6.3.1.1.5.5"}


class TrapSink:
    """A UDP socket standing in for the controller's trap receiver."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.seen: list[tuple[str, str, list]] = []

    def wait(self, kind: str, source: str, timeout: float = 5.0) -> list:
        """Varbinds of the first trap of ``kind`` sent from ``source`` (the AP's own address)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (src, oid, varbinds) in enumerate(self.seen):
                if src == source and oid == TRAPS[kind]:
                    del self.seen[i]
                    return varbinds
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {kind} trap from {source} within {timeout}s")
            self.sock.settimeout(remaining)
            try:
                data, (src, _) = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            message, _ = pyasn1_decoder.decode(data, asn1Spec=V2C.Message())
            assert str(V2C.apiMessage.get_community(message)) == "public"
            pdu = V2C.apiMessage.get_pdu(message)
            assert pdu.tagSet == V2C.SNMPv2TrapPDU.tagSet
            varbinds = [(str(o), v) for o, v in V2C.apiPDU.get_varbinds(pdu)]
            assert varbinds[0][0] == SYS_UPTIME[1:] and varbinds[1][0] == "1.3.6.1.6.3.1.1.4.1.0"
            self.seen.append((src, str(varbinds[1][1]), varbinds))


@pytest.fixture(scope="module")
def traps():
    sink = TrapSink()
    yield sink
    sink.sock.close()


@pytest.fixture(scope="module")
def sim(traps):
    first = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}.250"  # crosses an octet
    settings = SimulatorSettings(count=COUNT, first_address=first, port=free_udp_port(),
                                 trap_target=traps.address)
    with SimulatorThread(settings, control=("127.0.0.1", free_port())) as running:
        yield running


def ap(sim, platform: str, k: int = 0):
    """The k-th simulated AP of a platform (its plan)."""
    return [p for p in sim.simulator.plans if p.platform == platform][k]


def snmp(tool: str, sim, plan, *args: str, version: str = "2c", community: str = "public",
         auth_key: str = "oasis-auth-key", timeout: float = 2.0) -> subprocess.CompletedProcess:
    """Run a net-snmp tool against one simulated AP with numeric OIDs and raw timeticks."""
    path = require_tool(tool)
    if version == "3":
        s = sim.settings
        creds = ["-v3", "-l", "authPriv", "-u", s.v3_user, "-a", "SHA", "-A", auth_key,
                 "-x", "AES", "-X", s.v3_priv_key]
    else:
        creds = ["-v2c", "-c", community]
    return subprocess.run([path, *creds, "-On", "-Ot", "-t", str(timeout), "-r", "0",
                           f"{plan.mgmt_ip}:{plan.snmp_port}", *args],
                          capture_output=True, text=True, timeout=30)


def values(result: subprocess.CompletedProcess) -> dict[str, str]:
    """``.oid = TYPE: value`` lines as {oid: "TYPE: value"}."""
    assert result.returncode == 0, result.stderr
    out = {}
    for line in result.stdout.splitlines():
        oid, _, value = line.partition(" = ")
        out[oid] = value.strip()
    return out


def number(value: str) -> int:
    return int(value.rsplit(" ", 1)[-1])


def test_inventory_is_deterministic_and_split_across_two_sites():
    inventory = simulated_inventory()
    assert len(inventory) == 20 and inventory == simulated_inventory()
    assert {a["site"] for a in inventory} == {s["slug"] for s in simulated_sites()}
    assert [a["name"] for a in inventory[:2]] == ["AW-AP-01", "AW-AP-02"]
    assert inventory[10]["name"] == "KAP-AP-01" and inventory[10]["site"] == "king-abdullah-park"
    assert len({a["mac"] for a in inventory}) == 20
    platforms = [a["platform"] for a in inventory]
    counts = [platforms.count(p) for p in ("openwrt", "cisco_aironet", "generic")]
    assert counts[0] > counts[1] > counts[2] > 0
    big = simulated_inventory(300, "127.0.1.250", 1161)
    assert [a["mgmt_ip"] for a in big[5:7]] == ["127.0.1.255", "127.0.2.0"]
    assert all(24 < a["lat"] < 26.5 and 49 < a["lon"] < 50.5 for a in big)


def test_v2c_system_group_per_platform(sim):
    for platform, descr in (("openwrt", "OpenWrt 23.05"), ("cisco_aironet", "Cisco IOS Software")):
        plan = ap(sim, platform)
        got = values(snmp("snmpget", sim, plan, ".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.5.0",
                          ".1.3.6.1.2.1.1.6.0", ".1.3.6.1.2.1.1.2.0", SYS_UPTIME))
        assert descr in got[".1.3.6.1.2.1.1.1.0"]
        assert got[".1.3.6.1.2.1.1.5.0"] == f'STRING: "{plan.name}"'
        assert plan.site.name_en in got[".1.3.6.1.2.1.1.6.0"]
        assert got[".1.3.6.1.2.1.1.2.0"].startswith("OID: .1.3.6.1.4.1.")
        assert number(got[SYS_UPTIME]) > 3600 * 100  # the fleet booted hours to weeks ago


def test_missing_objects_and_instances(sim):
    got = values(snmp("snmpget", sim, ap(sim, "openwrt"), ".1.3.6.1.2.1.1.99.0",
                      ".1.3.6.1.2.1.1.5.1", ".1.3.6.1.2.1.31.1.1.1.6.9"))
    assert got[".1.3.6.1.2.1.1.99.0"].startswith("No Such Object")
    assert got[".1.3.6.1.2.1.1.5.1"].startswith("No Such Instance")
    assert got[".1.3.6.1.2.1.31.1.1.1.6.9"].startswith("No Such Instance")


def test_v2c_walks_system_and_ifxtable_in_order(sim):
    plan = ap(sim, "openwrt")
    system = values(snmp("snmpwalk", sim, plan, ".1.3.6.1.2.1.1"))
    assert list(system) == [f".1.3.6.1.2.1.1.{i}.0" for i in range(1, 8)]
    walk = snmp("snmpbulkwalk", sim, plan, ".1.3.6.1.2.1.31.1.1.1")
    ifx = values(walk)  # snmpbulkwalk itself fails on an OID that does not increase
    assert [ifx[f".1.3.6.1.2.1.31.1.1.1.1.{i}"] for i in (1, 2, 3, 4)] == \
        ['STRING: "lo"', 'STRING: "eth0"', 'STRING: "wlan0"', 'STRING: "wlan1"']
    assert all(ifx[f"{HC_IN_OCTETS}.{i}"].startswith("Counter64: ") for i in (1, 2, 3, 4))
    assert ifx[".1.3.6.1.2.1.31.1.1.1.15.2"] == "Gauge32: 1000"
    types = values(snmp("snmpwalk", sim, plan, ".1.3.6.1.2.1.2.2.1.3"))
    assert [number(v) for v in types.values()] == [24, 6, 71, 71]
    whole = snmp("snmpwalk", sim, ap(sim, "cisco_aironet"), ".1.3.6.1")
    assert whole.returncode == 0 and "OID not increasing" not in whole.stderr
    assert ".1.3.6.1.4.1.9.9.273.1.1.2.1.1.4 = Gauge32" in whole.stdout


def test_poller_shaped_getbulk_carries_client_counts(sim):
    columns = [".1.3.6.1.2.1.2.2.1.3", ".1.3.6.1.2.1.2.2.1.14", HC_IN_OCTETS]
    system = [".1.3.6.1.2.1.1.1", ".1.3.6.1.2.1.1.3", ".1.3.6.1.2.1.1.5"]
    extend = ".1.3.6.1.4.1.8072.1.3.2.3.1.1.7.99.108.105.101.110.116.114.4294967295"
    got = values(snmp("snmpbulkget", sim, ap(sim, "openwrt"), "-Cn4", "-Cr4",
                      *system, extend, *columns))
    clients = got[".1.3.6.1.4.1.8072.1.3.2.3.1.1.7.99.108.105.101.110.116.115"]
    assert clients.startswith('STRING: "') and clients[9:-1].isdigit()
    assert len(got) == 4 + 4 * len(columns)
    cisco_col = ".1.3.6.1.4.1.9.9.273.1.1.2.1.1"
    result = snmp("snmpbulkget", sim, ap(sim, "cisco_aironet"), "-Cn3", "-Cr4",
                  *system, *columns, cisco_col)
    assert result.returncode == 0, result.stderr
    radios = [line for line in result.stdout.splitlines() if line.startswith(cisco_col + ".")]
    # Two radio rows, then the column runs off the end of the MIB (the last object served).
    assert [r.split(" = ")[0] for r in radios] == [cisco_col + ".3", cisco_col + ".4"] * 1 + \
        [cisco_col + ".4"] * 2
    assert all(r.split(" = ")[1].startswith("Gauge32: ") for r in radios[:2])
    assert all("No more variables" in r for r in radios[2:])


def test_counters_only_move_forward(sim):
    plan = ap(sim, "openwrt", 1)
    oids = [f"{HC_IN_OCTETS}.2", ".1.3.6.1.2.1.31.1.1.1.10.4", ".1.3.6.1.2.1.31.1.1.1.7.2"]

    def read() -> list[int]:
        got = values(snmp("snmpget", sim, plan, *oids))
        return [number(got[o]) for o in oids]

    def moved() -> list[int] | None:
        now = read()
        return now if now[0] > first[0] else None

    first = read()
    later = wait_for(moved, what="eth0 traffic")
    assert all(b >= a for a, b in zip(first, later)), (first, later)


def test_v3_authpriv_answers_and_wrong_key_is_an_auth_error(sim):
    plan = ap(sim, "generic")
    got = values(snmp("snmpget", sim, plan, ".1.3.6.1.2.1.1.5.0", f"{HC_IN_OCTETS}.3",
                      version="3"))
    assert got[".1.3.6.1.2.1.1.5.0"] == f'STRING: "{plan.name}"'
    assert got[f"{HC_IN_OCTETS}.3"].startswith("Counter64: ")
    walk = values(snmp("snmpbulkwalk", sim, plan, ".1.3.6.1.2.1.31.1.1.1.1", version="3"))
    assert len(walk) == 4
    started = time.monotonic()
    wrong = snmp("snmpget", sim, plan, ".1.3.6.1.2.1.1.5.0", version="3",
                 auth_key="not-the-auth-key", timeout=3)
    assert wrong.returncode != 0
    assert "Authentication failure" in wrong.stderr and "Timeout" not in wrong.stderr
    assert time.monotonic() - started < 2.5  # a report came back; nothing waited out a timeout


def test_wrong_community_is_silent_and_raises_an_auth_trap(sim, traps):
    plan = ap(sim, "openwrt", 2)
    result = snmp("snmpget", sim, plan, SYS_UPTIME, community="guess", timeout=0.5)
    assert result.returncode != 0 and "Timeout" in result.stderr
    traps.wait("authenticationFailure", plan.mgmt_ip)


def test_reboot_resets_uptime_and_sends_cold_start(sim, traps):
    plan = ap(sim, "openwrt", 3)
    before = values(snmp("snmpget", sim, plan, SYS_UPTIME, f"{HC_IN_OCTETS}.2"))
    state = sim.reboot(plan.name)
    assert state["uptime_s"] < 5
    after = values(snmp("snmpget", sim, plan, SYS_UPTIME, f"{HC_IN_OCTETS}.2"))
    assert number(after[SYS_UPTIME]) < number(before[SYS_UPTIME])
    assert number(after[f"{HC_IN_OCTETS}.2"]) < number(before[f"{HC_IN_OCTETS}.2"])
    varbinds = traps.wait("coldStart", plan.mgmt_ip)
    assert int(varbinds[0][1]) < 500  # sysUpTime.0 of the fresh boot, in ticks


def test_link_down_and_up_change_status_and_trap(sim, traps):
    plan = ap(sim, "cisco_aironet")
    sim.link_down(plan.name, 3)
    got = values(snmp("snmpget", sim, plan, f"{IF_OPER_STATUS}.3", f"{IF_OPER_STATUS}.4",
                      ".1.3.6.1.4.1.9.9.273.1.1.2.1.1.3"))
    assert number(got[f"{IF_OPER_STATUS}.3"]) == 2 and number(got[f"{IF_OPER_STATUS}.4"]) == 1
    assert number(got[".1.3.6.1.4.1.9.9.273.1.1.2.1.1.3"]) == 0  # no clients on a dead radio
    varbinds = dict(traps.wait("linkDown", plan.mgmt_ip)[2:])
    assert {k: int(v) for k, v in varbinds.items()} == {
        "1.3.6.1.2.1.2.2.1.1.3": 3, "1.3.6.1.2.1.2.2.1.7.3": 2, "1.3.6.1.2.1.2.2.1.8.3": 2}
    sim.link_up(plan.name, 3)
    got = values(snmp("snmpget", sim, plan, f"{IF_OPER_STATUS}.3"))
    assert number(got[f"{IF_OPER_STATUS}.3"]) == 1
    varbinds = dict(traps.wait("linkUp", plan.mgmt_ip)[2:])
    assert int(varbinds["1.3.6.1.2.1.2.2.1.8.3"]) == 1
    with pytest.raises(ValueError, match="no interface 9"):
        sim.link_down(plan.name, 9)


def test_unreachable_ap_times_out_until_reachable(sim):
    plan = ap(sim, "openwrt", 4)
    sim.set_reachable(plan.name, False)
    silent = snmp("snmpget", sim, plan, SYS_UPTIME, timeout=0.5)
    assert silent.returncode != 0 and "Timeout" in silent.stderr
    neighbour = values(snmp("snmpget", sim, ap(sim, "openwrt", 5), SYS_UPTIME))
    assert neighbour  # only that AP went quiet
    sim.set_reachable(plan.name, True)
    assert values(snmp("snmpget", sim, plan, SYS_UPTIME))


def test_hc_counters_wrap_past_two_to_the_64(sim):
    plan = ap(sim, "openwrt", 5)
    sim.wrap_soon(plan.name, headroom=3000)
    oid = f"{HC_IN_OCTETS}.1"  # loopback: a steady 2 kB/s that never stops
    near = number(values(snmp("snmpget", sim, plan, oid))[oid])
    assert near > 2**64 - 10_000
    wait_for(lambda: number(values(snmp("snmpget", sim, plan, oid))[oid]) < 1 << 32,
             timeout=10, what="the HC counter to wrap")
    sim.wrap_soon(plan.name, None)


def test_control_endpoint_from_the_command_line(sim, traps):
    plan = ap(sim, "openwrt", 6)
    control = f"{sim.control[0]}:{sim.control[1]}"
    runner = CliRunner()
    result = runner.invoke(apsim, ["trap", plan.name, "warmStart", "--control", control])
    assert result.exit_code == 0, result.output
    traps.wait("warmStart", plan.mgmt_ip)
    result = runner.invoke(apsim, ["link-down", plan.name, "4", "--control", control])
    assert result.exit_code == 0 and '"oper": "down"' in result.output
    traps.wait("linkDown", plan.mgmt_ip)
    result = runner.invoke(apsim, ["link-up", plan.name, "4", "--control", control])
    assert result.exit_code == 0
    result = runner.invoke(apsim, ["reboot", "XX-AP-99", "--control", control])
    assert result.exit_code != 0 and "no simulated AP named 'XX-AP-99'" in result.output


def test_run_command_serves_until_sigterm(tmp_path):
    snmpget = require_tool("snmpget")
    port, control = free_udp_port(), free_port()
    first = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}.1"
    process = subprocess.Popen(
        [sys.executable, "-c", "from agents.apsim.cli import apsim; apsim()", "run",
         "--count", "3", "--first-address", first, "--port", str(port), "--no-traps",
         "--control", f"127.0.0.1:{control}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        banner = process.stdout.readline()
        assert f"3 APs on {first}-" in banner, process.stderr.read() if not banner else banner
        host = first.rsplit(".", 1)[0] + ".3"
        result = subprocess.run([snmpget, "-v2c", "-c", "public", "-On", "-t", "2", "-r", "0",
                                 f"{host}:{port}", ".1.3.6.1.2.1.1.5.0"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and "KAP-AP-01" in result.stdout, result.stderr
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
