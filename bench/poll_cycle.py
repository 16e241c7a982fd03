"""Poll-cycle benchmark: the controller against Prometheus snmp_exporter, same APs, same run.

    .venv/bin/python bench/poll_cycle.py                       # 500 and 2,000 APs, v2c + v3
    .venv/bin/python bench/poll_cycle.py --counts 2000 --v3-counts 2000 --cycles 5 --json out.json
    .venv/bin/python bench/poll_cycle.py --counts 10000 --v3-counts 10000 --no-exporter
    .venv/bin/python bench/poll_cycle.py --tiny          # seconds: what the test suite runs

For each AP count it starts the simulator in its own processes (``python -m controller apsim
run --count N --no-traps --shard I/P``, loopback only; one process per 2,500 APs unless
``--sim-procs`` says otherwise), then, for SNMPv2c (``--counts``) and for SNMPv3 authPriv
SHA/AES (``--v3-counts``):

1. the controller (``poll_controller.py``, its own process) polls every AP for ``--cycles``
   cycles through the full monitoring path; per cycle: wall time, controller CPU, RSS, and the
   simulators' CPU over the same cycle;
2. snmp_exporter reads the same objects from every AP over the same SNMP version and user
   (``poll_exporter.py``), scraped with the same concurrency limit; per cycle: wall time to
   scrape all N targets, exporter CPU, simulator CPU.

The ratio printed is our steady-state polls/s divided by the exporter's steady-state targets/s
(steady = median of cycles 2..n; cycle 1 is shown apart: it learns max-repetitions and, over
v3, discovers every engine, and the exporter warms up its connections).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.apsim.control import send_command  # noqa: E402
from agents.apsim.inventory import simulated_inventory  # noqa: E402
from bench.poll_controller import COMMUNITY, V3_AUTH, V3_PRIV, V3_USER  # noqa: E402
from bench.poll_exporter import (  # noqa: E402
    DEFAULT_BINARY,
    module_name,
    scrape_cycle,
    v2c_auth,
    v3_auth,
    write_config,
)
from bench.poll_procs import Child, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAX_COUNT = 10_000
MAX_CYCLES = 20
#: APs per simulator process when --sim-procs is not given.
APS_PER_SIMULATOR = 2500


def machine_facts(exporter: str) -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    version = subprocess.run([exporter, "--version"], capture_output=True, text=True,
                             timeout=30)
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "python": platform.python_version(),
            "pysnmp": importlib.metadata.version("pysnmp"),
            "snmp_exporter": (version.stdout or version.stderr).splitlines()[0],
            "load_at_start": [round(x, 2) for x in os.getloadavg()]}


class Simulator(Child):
    """``oasis apsim run`` in its own process (one shard of the fleet), with its control
    endpoint for request counts."""

    def __init__(self, count: int, first_address: str, port: int, shard: tuple[int, int]):
        self.control = ("127.0.0.1", free_port(kind=socket.SOCK_STREAM))
        super().__init__(f"apsim-{shard[0]}", [
            sys.executable, "-m", "controller", "apsim", "run", "--count", str(count),
            "--no-traps", "--first-address", first_address, "--port", str(port),
            "--shard", f"{shard[0]}/{shard[1]}",
            "--control", f"{self.control[0]}:{self.control[1]}"], cwd=str(ROOT))

    def requests(self) -> int:
        """SNMP requests answered or refused so far (v2c + v3)."""
        stats = send_command("stats", self.control)["stats"]
        return stats["v2c_requests"] + stats["v3_requests"]


class Simulators:
    """The simulator processes serving one fleet, read as one: CPU and requests summed."""

    def __init__(self, count: int, first_address: str, port: int, processes: int):
        self.members: list[Simulator] = []
        try:
            for index in range(processes):
                self.members.append(Simulator(count, first_address, port, (index, processes)))
            for member in self.members:
                member.wait_for(r"apsim: \d+ APs on", timeout_s=300)
        except BaseException:
            self.stop()
            raise

    @property
    def pids(self) -> list[int]:
        return [member.process.pid for member in self.members]

    def cpu_s(self) -> float:
        return sum(member.cpu_s() for member in self.members)

    def requests(self) -> int:
        return sum(member.requests() for member in self.members)

    def stop(self) -> None:
        for member in self.members:
            member.stop()


def run_controller(sim: Simulators, count: int, first_address: str, port: int, version: str,
                   args) -> list[dict]:
    """The controller worker's cycles, each with the simulator's CPU over that cycle."""
    with tempfile.TemporaryDirectory(prefix="oasis-bench-") as store:
        worker = Child(f"controller-v{version}", [
            sys.executable, str(ROOT / "bench" / "poll_controller.py"), "--store", store,
            "--count", str(count), "--first-address", first_address, "--port", str(port),
            "--version", version, "--cycles", str(args.cycles), "--v3-path", args.v3_path,
            "--max-in-flight", str(args.max_in_flight)], cwd=str(ROOT))
        try:
            worker.wait_for(r'"seeded"', timeout_s=600)
            cycles = []
            sim_cpu, requests = sim.cpu_s(), sim.requests()
            for _ in range(args.cycles):
                worker.send("go")
                line = worker.wait_for(r'^\{"cycle"', timeout_s=300).string
                now, answered = sim.cpu_s(), sim.requests()
                cycles.append(json.loads(line) | {"sim_cpu_s": round(now - sim_cpu, 3),
                                                  "sim_requests": answered - requests})
                sim_cpu, requests = now, answered
            return cycles
        finally:
            worker.stop()


def run_exporter(sim: Simulators, count: int, first_address: str, port: int, version: str,
                 args) -> list[dict]:
    """snmp_exporter scraped for every AP, ``args.cycles`` times, over ``version``."""
    plans = simulated_inventory(count, first_address, port)
    auth = v3_auth(V3_USER, V3_AUTH, V3_PRIV) if version == "3" else v2c_auth(COMMUNITY)
    with tempfile.TemporaryDirectory(prefix="oasis-exporter-") as folder:
        config = write_config(Path(folder) / "snmp.yml", {p["platform"] for p in plans},
                              auth, timeout_s=2.0, retries=1)
        listen = ("127.0.0.1", free_port(kind=socket.SOCK_STREAM))
        exporter = Child("snmp_exporter", [args.exporter, f"--config.file={config}",
                                           f"--web.listen-address={listen[0]}:{listen[1]}"])
        try:
            exporter.wait_for(r'msg="Listening on"', timeout_s=60)
            jobs = [(module_name(p["platform"]), f"{p['mgmt_ip']}:{port}") for p in plans]
            cycles = []
            for cycle in range(args.cycles):
                sim0, exp0, own0 = sim.cpu_s(), exporter.cpu_s(), time.process_time()
                requests = sim.requests()
                wall, outcome = scrape_cycle(listen, jobs, args.max_in_flight,
                                             deadline_s=max(120.0, count * 0.1))
                cycles.append({"cycle": cycle + 1, "targets": count, "answered": outcome.ok,
                               "failed": outcome.failed, "samples": outcome.samples,
                               "cycle_s": round(wall, 3),
                               "cpu_s": round(exporter.cpu_s() - exp0, 3),
                               "sim_cpu_s": round(sim.cpu_s() - sim0, 3),
                               "sim_requests": sim.requests() - requests,
                               "scraper_cpu_s": round(time.process_time() - own0, 3),
                               "rss_mb": round(exporter.rss_mb(), 1),
                               "first_error": outcome.first_error})
            return cycles
        finally:
            exporter.stop()


def steady(cycles: list[dict], key: str) -> float:
    later = [c[key] for c in cycles[1:]] or [cycles[0][key]]
    return round(statistics.median(later), 3)


def summarise(count: int, ours: list[dict], exporter: list[dict] | None) -> dict:
    summary = {"count": count,
               "ours_first_s": ours[0]["cycle_s"], "ours_steady_s": steady(ours, "cycle_s"),
               "ours_steady_cpu_s": steady(ours, "cpu_s"),
               "ours_cpu_ms_per_poll": round(steady(ours, "cpu_s") / count * 1000, 3),
               "ours_sim_cpu_s": steady(ours, "sim_cpu_s"),
               "ours_requests_per_ap": round(steady(ours, "sim_requests") / count, 2),
               "ours_max_rss_mb": max(c["rss_mb"] for c in ours),
               "ours_answered": min(c["answered"] for c in ours)}
    summary["ours_polls_per_s"] = round(count / summary["ours_steady_s"], 1)
    if exporter:
        summary |= {"exporter_first_s": exporter[0]["cycle_s"],
                    "exporter_steady_s": steady(exporter, "cycle_s"),
                    "exporter_steady_cpu_s": steady(exporter, "cpu_s"),
                    "exporter_sim_cpu_s": steady(exporter, "sim_cpu_s"),
                    "exporter_requests_per_target": round(
                        steady(exporter, "sim_requests") / count, 2),
                    "exporter_answered": min(c["answered"] for c in exporter)}
        summary["exporter_targets_per_s"] = round(count / summary["exporter_steady_s"], 1)
        summary["ratio"] = round(summary["ours_polls_per_s"]
                                 / summary["exporter_targets_per_s"], 2)
    return summary


def print_cycles(title: str, cycles: list[dict]) -> None:
    print(f"  {title}")
    for c in cycles:
        extra = f" rss {c['rss_mb']:.0f} MB"
        if "scraper_cpu_s" in c:
            extra += f" scraper cpu {c['scraper_cpu_s']:.2f}s failed {c['failed']}"
        print(f"    cycle {c['cycle']}: {c['answered']}/{c['targets']} answered in "
              f"{c['cycle_s']:.2f}s, cpu {c['cpu_s']:.2f}s, simulator cpu "
              f"{c['sim_cpu_s']:.2f}s ({c['sim_requests']} SNMP requests),{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="500,2000", help="AP counts over SNMPv2c "
                        "('' = none), comma separated")
    parser.add_argument("--v3-counts", default="500,2000",
                        help="AP counts over SNMPv3 authPriv SHA/AES ('' = none)")
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--first-address", default="127.0.1.1")
    parser.add_argument("--sim-procs", type=int, default=0,
                        help=f"simulator processes (0: one per {APS_PER_SIMULATOR:,} APs)")
    parser.add_argument("--v3-path", choices=("fast", "pysnmp"), default="fast",
                        help="the controller's SNMPv3 path (pysnmp: the engine it replaced)")
    parser.add_argument("--exporter", default=DEFAULT_BINARY)
    parser.add_argument("--no-exporter", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--tiny", action="store_true",
                        help="4 APs, 2 cycles, v2c and v3, in seconds: the test suite runs it "
                             "so the benchmark keeps working")
    args = parser.parse_args()
    if args.tiny:
        args.counts, args.v3_counts, args.cycles = "4", "4", 2
    counts = {int(c) for c in args.counts.split(",") if c}
    v3_counts = {int(c) for c in args.v3_counts.split(",") if c}
    if not args.first_address.startswith("127.") or any(
            not 0 < c <= MAX_COUNT for c in counts | v3_counts):
        parser.error(f"loopback addresses and 1..{MAX_COUNT} APs only")
    args.cycles = max(2, min(args.cycles, MAX_CYCLES))
    facts = machine_facts(args.exporter)
    print("machine:", json.dumps(facts, ensure_ascii=False))
    report: dict = {"facts": facts, "v3_path": args.v3_path, "runs": []}
    for count in sorted(counts | v3_counts):
        port = free_port(host=args.first_address)
        processes = args.sim_procs or max(1, -(-count // APS_PER_SIMULATOR))
        sim = Simulators(count, args.first_address, port, processes)
        try:
            run: dict = {"count": count, "simulators": processes}
            print(f"\n{count} APs ({processes} simulator process(es), pids {sim.pids}, "
                  f"udp/{port})")
            for version, wanted in (("2c", counts), ("3", v3_counts)):
                if count in wanted:
                    run |= measure_version(sim, count, port, version, args)
            report["runs"].append(run)
        finally:
            sim.stop()
    report["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print("\nload average at end:", report["load_at_end"])
    for run in report["runs"]:
        for key, label in (("summary", "SNMPv2c"), ("summary_v3", "SNMPv3 authPriv SHA/AES")):
            s = run.get(key)
            if s is None:
                continue
            line = (f"{s['count']} APs, {label}: ours {s['ours_polls_per_s']} polls/s "
                    f"(cycle {s['ours_steady_s']:.2f}s, {s['ours_cpu_ms_per_poll']:.2f} ms CPU "
                    f"per poll, max RSS {s['ours_max_rss_mb']:.0f} MB)")
            if "ratio" in s:
                line += (f", snmp_exporter {s['exporter_targets_per_s']} targets/s (cycle "
                         f"{s['exporter_steady_s']:.2f}s) -> ratio {s['ratio']}")
            print(line)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


def measure_version(sim: Simulators, count: int, port: int, version: str, args) -> dict:
    """Ours, then snmp_exporter, over one SNMP version: the cycles and their summary."""
    suffix, label = ("", "SNMPv2c fast path") if version == "2c" else (
        "_v3", f"SNMPv3 authPriv SHA/AES ({args.v3_path} path)")
    found: dict = {}
    found[f"ours{suffix}"] = run_controller(sim, count, args.first_address, port, version, args)
    print_cycles(f"controller, {label}", found[f"ours{suffix}"])
    if not args.no_exporter:
        found[f"exporter{suffix}"] = run_exporter(sim, count, args.first_address, port, version,
                                                  args)
        print_cycles(f"snmp_exporter, SNMPv{version}", found[f"exporter{suffix}"])
    found[f"summary{suffix}"] = summarise(count, found[f"ours{suffix}"],
                                          found.get(f"exporter{suffix}"))
    print("  summary:", json.dumps(found[f"summary{suffix}"]))
    return found


if __name__ == "__main__":
    main()
