"""The controller side of the poll-cycle benchmark, run as its own process by poll_cycle.py.

Why a separate process: its CPU time and resident memory must be the controller's alone, not
the benchmark manager's or the simulator's. It runs the monitoring path as
``controller/monitoring/service.py`` does after each cycle (Poller -> Snapshot -> metrics.write_cycle
into a SQLite store -> alert evaluation), over an inventory seeded with the simulator's APs, and
prints one JSON line per cycle on stdout.

    .venv/bin/python bench/poll_controller.py --store DIR --count 2000 --port 1161 --cycles 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from agents.apsim.inventory import simulated_inventory, simulated_sites  # noqa: E402
from controller.monitoring import metrics  # noqa: E402
from controller.monitoring.alerts import AlertEvaluator  # noqa: E402
from controller.monitoring.poller import Poller, targets_from_store  # noqa: E402
from controller.monitoring.snapshot import Snapshot  # noqa: E402
from controller.settings import AlertsConfig, SnmpConfig  # noqa: E402
from controller.snmp.engine import SnmpClient  # noqa: E402
from core import inventory
from core.secrets import SecretBox  # noqa: E402
from core.store import Store  # noqa: E402

ACTOR = "bench"
#: Simulator defaults (agents.apsim.simulator.SimulatorSettings).
COMMUNITY = "public"
V3_USER, V3_AUTH, V3_PRIV = "oasis", "oasis-auth-key", "oasis-priv-key"


def seed(store: Store, box: SecretBox, count: int, first_address: str, port: int,
         version: str) -> None:
    """The simulator's sites and APs, every AP with the same SNMP version."""
    for site in simulated_sites():
        inventory.add_site(store, site, ACTOR)
    for ap in simulated_inventory(count, first_address, port):
        data = {k: ap[k] for k in ("name", "mac", "mgmt_ip", "platform", "site", "snmp_port")}
        if version == "3":
            data |= {"snmp_version": "3", "snmp_user": V3_USER, "snmp_auth_key": V3_AUTH,
                     "snmp_priv_key": V3_PRIV}
        else:
            data |= {"snmp_version": "2c", "snmp_community": COMMUNITY}
        inventory.add_ap(store, box, data, ACTOR)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


async def measure(store: Store, box: SecretBox, cycles: int, max_in_flight: int,
                  timeout: float, retries: int, v3_path: str) -> None:
    targets = targets_from_store(store, box)
    config = SnmpConfig(interval=3600.0, timeout=timeout, retries=retries,
                        max_in_flight=max_in_flight, down_after=3)
    evaluator = AlertEvaluator(store, AlertsConfig())
    on_cycle_s: list[float] = []

    def on_cycle(snapshot, stats, changes) -> None:
        """What MonitoringService does after each cycle."""
        started = time.perf_counter()
        metrics.write_cycle(store, snapshot.all(), stats.started_at)
        evaluator.on_cycle(snapshot, stats, changes)
        on_cycle_s.append(time.perf_counter() - started)

    client = SnmpClient(timeout=timeout, retries=retries, v3_path=v3_path)
    poller = Poller(lambda: targets, config, Snapshot(), on_cycle, client=client)
    loop = asyncio.get_running_loop()
    try:
        for cycle in range(cycles):
            # The manager reads the simulator's counters between cycles, then says "go".
            if not await loop.run_in_executor(None, sys.stdin.readline):
                break
            cpu0, wall0 = time.process_time(), time.perf_counter()
            stats = await poller.poll_once()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            print(json.dumps({
                "cycle": cycle + 1, "targets": stats.polled, "answered": stats.answered,
                "poll_s": round(stats.duration_s, 3), "cycle_s": round(wall, 3),
                "on_cycle_s": round(on_cycle_s[-1], 3) if on_cycle_s else None,
                "cpu_s": round(cpu, 3), "rss_mb": round(rss_mb(), 1),
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1),
                "v2c": dict(vars(poller.client.v2c_stats)),
                "v3": dict(vars(poller.client.v3_stats))}), flush=True)
    finally:
        poller.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, type=Path, help="empty directory for the store")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first-address", default="127.0.1.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", choices=("2c", "3"), default="2c")
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--v3-path", choices=("fast", "pysnmp"), default="fast")
    args = parser.parse_args()
    if not args.first_address.startswith("127."):
        parser.error("--first-address: loopback only")
    store = Store(args.store / "oasis.db")
    box = SecretBox.from_key_file(args.store / "oasis.key")
    try:
        seed(store, box, args.count, args.first_address, args.port, args.version)
        print(json.dumps({"seeded": args.count, "rss_mb": round(rss_mb(), 1)}), flush=True)
        asyncio.run(measure(store, box, min(args.cycles, 20), args.max_in_flight,
                            args.timeout, args.retries, args.v3_path))
    finally:
        store.close()


if __name__ == "__main__":
    main()
