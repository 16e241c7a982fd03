"""Backhaul failover benchmark: our agent, keepalived and FRR bfdd in the same namespace lab.

A 1,000 packets/s UDP stream with sequence numbers runs from the host behind the branch to
headquarters; the outage of a fault is the largest sequence gap (1 packet = 1 ms). Per system:
``--trials`` dead paths (nft drop at HQ's ingress of the primary, carrier up), carrier losses
(HQ's end of the primary goes down) and the failback after each; then a ``--loss-minutes`` run
with ``--loss-pct`` random loss on the primary for all systems at once (one lab each) counting
failovers, and the agent's CPU at 20 ms probes. Needs root, nft, keepalived, frr, ping.

    sudo .venv/bin/python bench/backhaul_failover.py               # the full run (~25 min)
    sudo .venv/bin/python bench/backhaul_failover.py --trials 3 --loss-minutes 0.5   # quick
    sudo .venv/bin/python bench/backhaul_failover.py --tiny     # seconds: what the suite runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.backhaul_systems import (  # noqa: E402
    SYSTEMS,
    AgentSystem,
    FailoverSystem,
    egress,
    wait_until,  # noqa: E402
)
from tests.lab.branch import BACKUP, HQ_ADDRESS, PRIMARY, STREAM_PORT, BranchLab  # noqa: E402
from tests.lab.netns import Lab, stop_process, sweep_stale  # noqa: E402

#: Stream time before a fault and after a switch, so the gap is inside the measured window.
MARGIN_S = 0.4


def machine_facts() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "python": platform.python_version(), "loadavg_at_start": os.getloadavg()}


class Trial:
    """One fault on a running system, with the stream measuring it."""

    def __init__(self, topo: BranchLab, system: FailoverSystem) -> None:
        self.topo = topo
        self.system = system

    def run(self, inject: Callable[[], None], repair: Callable[[], None]) -> dict:
        receiver = self.topo.hq.python("-m", "tests.lab.udpstream", "receive", str(STREAM_PORT),
                                       "--idle", "60", "--max", "180",
                                       stdout=subprocess.PIPE, text=True)
        assert receiver.stdout.readline().strip() == "ready"
        sender = self.topo.host.python("-m", "tests.lab.udpstream", "send", HQ_ADDRESS,
                                       str(STREAM_PORT), "--rate", "1000", "--seconds", "100")
        result = {"switched": False, "failed_back": False}
        try:
            wait_until(lambda: self.topo.counter("stream_primary") > 0, 5, what="stream")
            time.sleep(MARGIN_S)  # pacing the scenario, not synchronising with it
            inject()
            faulted = time.monotonic()
            wait_until(lambda: egress(self.topo) == BACKUP.branch_if, 15, interval=0.002,
                       what="failover")
            result["switched"] = True
            result["route_switch_s"] = round(time.monotonic() - faulted, 3)
            time.sleep(MARGIN_S)
            repair()
            result["repaired_ns"] = time.monotonic_ns()
            wait_until(lambda: egress(self.topo) == PRIMARY.branch_if,
                       self.system.failback_timeout_s, interval=0.005, what="failback")
            result["failed_back"] = True
            time.sleep(MARGIN_S)
        except TimeoutError as exc:
            result["error"] = str(exc)
            repair()
        finally:
            stop_process(sender)
            time.sleep(0.05)  # let the last datagrams land before the receiver stops
            receiver.send_signal(signal.SIGTERM)
            stats = json.loads(receiver.stdout.readline() or "{}")
            stop_process(receiver)
        repaired = result.get("repaired_ns", float("inf"))
        gaps = stats.get("gaps", [])
        result["outage_ms"] = max([g[0] for g in gaps if g[1] < repaired], default=0)
        result["failback_lost"] = sum(g[0] for g in gaps if g[1] >= repaired)
        return result


def settle(topo: BranchLab, system: FailoverSystem) -> None:
    """Back to a healthy primary before the next trial (the system's own pace)."""
    wait_until(lambda: egress(topo) == PRIMARY.branch_if, system.failback_timeout_s,
               interval=0.05, what="primary back")
    if hasattr(system, "_bfd_up"):
        wait_until(lambda: system._bfd_up() == 2, 30, interval=0.1, what="BFD sessions up")


def summarize(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(values), "median": statistics.median(values), "p95": p95,
            "max": ordered[-1]}


def run_trials(name: str, trials: int, folder: Path, holddown_s: float) -> dict:
    with Lab() as lab:
        topo = BranchLab(lab)
        system = make_system(name, topo, folder / name, holddown_s)
        try:
            system.start()
            trial = Trial(topo, system)
            results: dict[str, list[dict]] = {"dead_path": [], "carrier_loss": []}
            for index in range(trials):
                for kind, inject, repair in (
                        ("dead_path", lambda: topo.dead_path("primary"), topo.clear_faults),
                        ("carrier_loss", lambda: topo.carrier("primary", False),
                         lambda: topo.carrier("primary", True))):
                    settle(topo, system)
                    outcome = trial.run(inject, repair)
                    results[kind].append(outcome)
                    print(f"  {name} {kind} #{index + 1}: outage {outcome['outage_ms']} ms, "
                          f"failback lost {outcome['failback_lost']}"
                          + (f" ({outcome['error']})" if "error" in outcome else ""), flush=True)
        finally:
            system.stop()
    failbacks = [r["failback_lost"] for rs in results.values() for r in rs if r["failed_back"]]
    return {
        "dead_path_ms": summarize([r["outage_ms"] for r in results["dead_path"]]),
        "carrier_loss_ms": summarize([r["outage_ms"] for r in results["carrier_loss"]]),
        "failback_lost": {"n": len(failbacks), "total": sum(failbacks),
                          "max": max(failbacks, default=0)},
        "errors": [r["error"] for rs in results.values() for r in rs if "error" in r],
        "raw": results,
    }


def make_system(name: str, topo: BranchLab, folder: Path, holddown_s: float) -> FailoverSystem:
    if name == "agent":
        return AgentSystem(topo, folder, holddown_s=holddown_s)
    return SYSTEMS[name](topo, folder)


def run_loss(names: list[str], minutes: float, percent: int, folder: Path,
             holddown_s: float) -> dict:
    """All systems at once, one lab each, the same random loss on each primary."""
    labs = [Lab() for _ in names]
    systems = []
    try:
        for lab, name in zip(labs, names):
            system = make_system(name, BranchLab(lab), folder / f"loss-{name}", holddown_s)
            system.start()
            systems.append(system)
        before = [system.failovers() for system in systems]
        cpu_before = [system.cpu_seconds() for system in systems]
        started = time.monotonic()
        for system in systems:
            system.topo.random_loss("primary", percent)
        time.sleep(minutes * 60)  # the measured period itself
        elapsed = time.monotonic() - started
        out = {}
        for name, system, count, cpu in zip(names, systems, before, cpu_before):
            used = system.cpu_seconds()
            out[name] = {"failovers": system.failovers() - count, "seconds": round(elapsed, 1)}
            if cpu is not None and used is not None:
                out[name]["cpu_pct_of_core"] = round(100.0 * (used - cpu) / elapsed, 2)
        return out
    finally:
        for system in systems:
            system.stop()
        for lab in labs:
            lab.close()


def agent_idle_cpu(folder: Path, seconds: float) -> float:
    """The agent's CPU (% of one core) at 20 ms probes with healthy links."""
    with Lab() as lab:
        system = AgentSystem(BranchLab(lab), folder / "cpu")
        system.start()
        before, started = system.cpu_seconds(), time.monotonic()
        time.sleep(seconds)  # the measured period itself
        return round(100.0 * (system.cpu_seconds() - before) / (time.monotonic() - started), 2)


def print_table(facts: dict, trials: dict, loss: dict, idle_cpu: float | None, args) -> None:
    names = list(trials) or list(loss)
    print("\nmachine:", json.dumps(facts))
    print(f"stream 1000 pps; trials per fault: {args.trials}; agent hold-down {args.holddown}s; "
          f"loss run {args.loss_minutes} min at {args.loss_pct}%")
    width = 24
    print("".ljust(30) + "".join(SYSTEMS_LABEL[n].ljust(width) for n in names))

    def row(label: str, cell: Callable[[str], str]) -> None:
        print(label.ljust(30) + "".join(cell(n).ljust(width) for n in names))

    def stat(key: str, field: str) -> Callable[[str], str]:
        return lambda n: str(trials.get(n, {}).get(key, {}).get(field, "-"))

    for key, label in (("dead_path_ms", "dead path gap ms"), ("carrier_loss_ms",
                                                              "carrier loss gap ms")):
        for field in ("median", "p95", "max"):
            row(f"{label} {field}", stat(key, field))
    row("failback packets lost (total)", stat("failback_lost", "total"))
    row("failback trials", stat("failback_lost", "n"))
    row("errors", lambda n: str(len(trials.get(n, {}).get("errors", []))))
    row(f"failovers in {args.loss_pct}% loss run", lambda n: str(loss.get(n, {}).get(
        "failovers", "-")))
    row("CPU % of a core (loss run)", lambda n: str(loss.get(n, {}).get("cpu_pct_of_core",
                                                                          "-")))
    if idle_cpu is not None:
        print(f"agent CPU at 20 ms probes, healthy links: {idle_cpu}% of a core")


SYSTEMS_LABEL = {"agent": "oasis agent", "keepalived": "keepalived", "frr": "FRR bfdd"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--loss-minutes", type=float, default=10.0)
    parser.add_argument("--loss-pct", type=int, default=20)
    parser.add_argument("--holddown", type=float, default=1.0,
                        help="agent hold-down for the trials (production default is 30 s)")
    parser.add_argument("--systems", default="agent,keepalived,frr")
    parser.add_argument("--cpu-seconds", type=float, default=30.0)
    parser.add_argument("--json", help="write all results here")
    parser.add_argument("--tiny", action="store_true",
                        help="one trial per system and a few seconds of loss, in well under a "
                             "minute: the test suite runs it so the benchmark keeps working")
    args = parser.parse_args(argv)
    if args.tiny:
        args.trials, args.loss_minutes, args.cpu_seconds = 1, 0.05, 1.0
    names = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = set(names) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)} (known: {', '.join(SYSTEMS)})")
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces)")
    sweep_stale()
    facts = machine_facts()
    print("machine:", json.dumps(facts), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="bh-bench-"))
    folder.chmod(0o755)  # FRR's daemons read their config as the frr user
    idle_cpu = agent_idle_cpu(folder, args.cpu_seconds) if "agent" in names else None
    trials = {}
    if args.trials > 0:
        for name in names:
            print(f"{name}: {args.trials} trials of each fault", flush=True)
            trials[name] = run_trials(name, args.trials, folder, args.holddown)
    loss = {}
    if args.loss_minutes > 0:
        print(f"random loss {args.loss_pct}% for {args.loss_minutes} min on all systems",
              flush=True)
        loss = run_loss(names, args.loss_minutes, args.loss_pct, folder, args.holddown)
    print_table(facts, trials, loss, idle_cpu, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": facts, "trials": trials, "loss": loss,
                                               "agent_idle_cpu_pct": idle_cpu}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
