"""Every benchmark in bench/ runs in its tiny mode (``--tiny``: seconds), so a change that breaks
one (an import moved, an API renamed, a peer's config no longer accepted) fails the suite
instead of the next person who measures. The figures are not checked against targets (a tiny
run measures little), only that the run completes, reports its machine and its figures, and
loses nothing.

A module in bench/ that is run (it has a ``__main__`` block) is a benchmark and must be here,
unless another benchmark starts it as a child process (`RUN_BY`); a module without one is a part
that the benchmarks import. `test_every_bench_script_is_covered` keeps the list complete.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers_postgres import pg_bin
from tests.support import require, require_root, require_tool

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
#: Benchmark modules with a ``__main__`` that another benchmark runs as its child process.
RUN_BY = {"poll_controller.py": "poll_cycle.py"}
#: The scripts this module runs in tiny mode (kept in step with the tests below).
COVERED = {"poll_cycle.py", "provision_push.py", "reports_rate.py", "portal_logins.py",
           "backhaul_failover.py", "photo_memory.py", "reporting.py", "noc_charts.py",
           "pollers.py", "portal_ha.py", "status_nodes.py"}


def bench(*argv: str, timeout: float = 180) -> str:
    result = subprocess.run([sys.executable, *argv, "--tiny"], cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def last_json(out: str) -> dict:
    start = out.rindex("\n{") + 1 if "\n{" in out else out.index("{")
    return json.loads(out[start:])


def test_every_bench_script_is_covered():
    scripts = {path.name for path in BENCH.glob("*.py")
               if 'if __name__ == "__main__":' in path.read_text()} - set(RUN_BY)
    assert scripts == COVERED, (
        "each bench/ script needs a --tiny mode and a test here (then add it to COVERED)")
    for script in scripts:
        assert "--tiny" in (BENCH / script).read_text(), f"{script} has no --tiny mode"


def test_poll_cycle_tiny():
    require_tool("prometheus-snmp-exporter")
    out = bench("bench/poll_cycle.py")
    assert out.startswith("machine:")
    assert "4/4 answered" in out
    for version in ("SNMPv2c", "SNMPv3 authPriv SHA/AES"):   # ours and the exporter, both
        assert re.search(rf"4 APs, {version}: ours [\d.]+ polls/s .* -> ratio [\d.]+", out), \
            out[-1500:]


def test_pollers_tiny():
    out = bench("bench/pollers.py")
    assert out.startswith("machine:")
    result = last_json(out)
    assert result["count"] == 40 and result["cpus"]
    one, two = result["runs"]
    assert (one["pollers"], two["pollers"]) == (1, 2)
    assert all(run["cpu_ms_per_poll"] > 0 and run["cycle_s"] > 0 for run in (one, two))
    # The killed poller's APs were polled again after its lease ran out, within a cycle more.
    assert two["lease_expired_after_s"] <= two["polled_again_after_s"] <= \
        two["lease_expired_after_s"] + 5
    assert result["publish"]["admin_sees"] == 40


def test_noc_charts_tiny():
    out = bench("bench/noc_charts.py")
    assert out.startswith("machine:")
    result = last_json(out)
    assert result["aps"] == 40 and result["cpus"]
    assert set(result["network_ms"]) == set(result["site_ms"]) == {"1", "6", "24", "168", "720"}


def test_provision_push_tiny():
    out = bench("bench/provision_push.py")
    assert out.startswith("machine:")
    rows = [line for line in out.splitlines() if line.startswith("| 2 |")]
    assert len(rows) == 2, out[-1500:]  # the first provisioning, then a change
    assert all("| succeeded | 0 |" in row for row in rows)


@pytest.mark.parametrize("mode", ["intake", "forward", "fault"])
def test_reports_rate_tiny(mode):
    require_tool("mosquitto")
    result = last_json(bench("bench/reports_rate.py", mode))
    assert result["bench"] == mode and result["cpus"] and result["python"]
    if mode == "intake":
        assert result["errors"] == 0 and result["stored"] == result["reports"]
    else:
        assert result["lost"] == 0 and result["duplicates_after_dedup"] == 0
        assert result["outbox"] == {"acknowledged": result["reports"]}


@pytest.mark.lab
def test_reports_rate_controller_fault_tiny():
    """The hardening fault run: the controller SIGKILLed twice under poison, in a namespace."""
    require_root()
    for tool in ("mosquitto", "nft"):
        require_tool(tool)
    result = last_json(bench("bench/reports_rate.py", "controller-fault", timeout=300))
    assert result["controller_kills"] == 2 and result["cpus"]
    reports = result["reports"]
    assert reports["errors"] == 0 and reports["filed"] == reports["stored"] == 60
    assert reports["lost"] == 0 and reports["duplicated"] == 0
    assert result["logins"]["failed"] == 0 and result["logins"]["ok"] > 0
    assert result["poison_published"] > 4000
    health = result["healthz"]
    assert health["lies"] == 0, health["first_lies"]
    assert len(health["unhealthy_after_kill_s"]) == 2  # it did turn, after each kill
    assert health["final_portal"] == health["final_admin"] == 200


def test_status_nodes_tiny():
    """Status updates on two nodes, one SIGKILLed: every node subscribed and the store applying
    once loses none; a shared subscription holds some in the dead node's session."""
    require_tool("mosquitto")
    result = last_json(bench("bench/status_nodes.py"))
    every, shared = result["every_node"], result["shared"]
    assert result["cpus"] and every["updates"] == shared["updates"] == 100
    assert every["all_applied_by_survivor"] and every["applied_after_kill"] == 100
    assert every["store_outcomes"] == {"applied": 300}
    assert set(every["returned_node_outcomes"]) == {"duplicate"}
    assert shared["reached_survivor"] + shared["kept_for_the_dead_node"] == 100


@pytest.mark.lab
@pytest.mark.serial  # takeover within the 3 s lease, controllers killed: alone
def test_reports_rate_controller_fault_two_nodes_tiny():
    """The 940 fault run on two controller nodes sharing one PostgreSQL store (issue 16): the
    node holding the forwarder's lease SIGKILLed twice; the other takes over within the lease
    (3 s here)."""
    require_root()
    for tool in ("mosquitto", "nft"):
        require_tool(tool)
    require(bool(pg_bin("initdb")), "PostgreSQL server binaries (Debian package postgresql)")
    result = last_json(bench("bench/reports_rate.py", "controller-fault", "--nodes", "2",
                             "--store", "postgresql", timeout=300))
    assert result["bench"] == "controller-fault-nodes" and result["nodes"] == 2
    assert result["store"] == "postgresql"
    assert result["controller_kills"] == 2 and len(result["takeover_s"]) == 2
    assert all(0 < t <= result["lease_ttl_s"] + 1.5 for t in result["takeover_s"])
    reports = result["reports"]
    assert reports["errors"] == 0 and reports["filed"] == reports["stored"] == 60
    assert reports["lost"] == 0 and reports["duplicated"] == 0
    assert result["logins"]["failed"] == 0 and result["logins"]["ok"] > 0
    assert result["healthz"]["final_portal"] == 200
    assert result["healthz"]["final_admin"] == [200, 200]


@pytest.mark.lab
def test_portal_logins_tiny():
    require_root()
    for tool in ("mosquitto", "nft", "curl"):
        require_tool(tool)
    result = last_json(bench("bench/portal_logins.py"))
    assert result["failed_acks"] == 0
    for run in ("authorised_10", "authorised_60"):
        assert result[run]["logins"] == 20 and result[run]["p99_ms"] > 0
    assert result["elements_in_up_set"] >= 60


@pytest.mark.lab
def test_portal_ha_tiny():
    require_root()
    for tool in ("mosquitto", "nft", "curl", "haproxy"):
        require_tool(tool)
    out = bench("bench/portal_ha.py", timeout=300)
    assert out.startswith("machine:")
    result = last_json(out)
    assert result["cpus"] and result["haproxy"]
    runs = {run["run"]: run for run in result["runs"]}
    assert len(runs) == 4 and all(run["completed"] == 60 and run["failed"] == 0
                                  for run in runs.values())
    killed = runs["2 nodes via HAProxy, SQLite, node 2 killed (1)"]
    assert killed["nodes_up_at_end"] == 1 and killed["completed_after_kill"] > 0
    assert result["lost_when_killed"] == 0 and result["longest_pause_after_kill_s"] < 5


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.serial  # failover timing of three systems: alone (tests/parallel.py)
def test_backhaul_failover_tiny():
    require_root()
    for tool in ("nft", "keepalived", "ping"):
        require_tool(tool)
    require_tool("vtysh")
    out = bench("bench/backhaul_failover.py", timeout=240)
    assert out.startswith("machine:")
    table = dict(re.findall(r"^(errors|failback trials)\s+(.*)$", out, re.M))
    assert table["errors"].split() == ["0", "0", "0"], out[-2000:]
    assert table["failback trials"].split() == ["2", "2", "2"]


def test_reporting_tiny():
    result = last_json(bench("bench/reporting.py"))
    assert result["cpus"] and result["python"]
    assert result["history"]["rows"]["service"]["reports"] == 500
    assert len(result["pages_s"]) == 10  # 5 pages x 2 languages
    assert result["pdf"]["ar"]["bytes"] > 10_000 and result["rss_peak_mb"] > 0


def test_photo_memory_tiny():
    result = last_json(bench("bench/photo_memory.py"))
    assert result["cpus"] and result["python"]
    ours = result["ours"]
    assert ours["uploads"] == 2 and ours["server_errors"] == 0
    assert sum(ours["answers"].values()) == 2 and ours["rss_peak_mb"] >= ours["rss_before_mb"]
    assert ours["healthz_probes"] >= 1
