"""Benchmark: push a config change to N simulated APs with every check on.

    .venv/bin/python bench/provision_push.py --aps 200 500 [--workers 48]
    .venv/bin/python bench/provision_push.py --tiny     # seconds: what the test suite runs

The simulator (SNMP and SSH for every AP) runs in its own process, as real APs would be other
machines; the controller side is this process: a batch job through `BatchRunner` exactly as
``oasis config push all`` runs it (canary first, bounded thread pool), each AP with SNMP
pre-check, SSH read and backup, apply, SNMP and new-SSH-session post-check, read-back compare,
post-push backup and audit entry. Two rounds per size: the first provisioning (factory config ->
template) and then a change (a new SSID), which is the number the target is about.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.apsim.inventory import plan_aps, simulated_sites  # noqa: E402
from agents.apsim.ssh_server import CLI_PLATFORMS, login_for  # noqa: E402
from controller.provisioning import SnmpReachability  # noqa: E402
from core import inventory  # noqa: E402
from core.secrets import SecretBox  # noqa: E402
from core.store import Store  # noqa: E402
from netconfig import jobs, variables  # noqa: E402
from netconfig.batch import BatchRunner  # noqa: E402
from netconfig.settings import ProvisioningConfig  # noqa: E402

SIMULATOR = """
import asyncio, sys
from agents.apsim.runner import run_forever
from agents.apsim.simulator import SimulatorSettings
settings = SimulatorSettings(count={count}, first_address={first!r}, port={udp}, trap_target=None,
                             v3=False, ssh_port={tcp})
asyncio.run(run_forever(settings, None, announce=lambda line: print(line, flush=True)))
"""
VARIABLES = {"radios": {"2g": {"channel": 6, "tx_power": 17}, "5g": {"channel": 36,
                                                                      "tx_power": 20}},
             "ssids": [{"id": "public", "ssid": "Amanah WiFi", "vlan": 10}]}


def plans_for(count: int, first: str, udp: int) -> tuple[int, list]:
    """Enough simulated APs that ``count`` of them speak SSH (generic ones do not)."""
    total = count
    while True:
        plans = [p for p in plan_aps(total, first, udp) if p.platform in CLI_PLATFORMS]
        if len(plans) >= count:
            return total, plans[:count]
        total += 1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_size(count: int, workers: int, folder: Path) -> list[dict]:
    first, udp, tcp = "127.0.64.1", 21161, 22222
    total, plans = plans_for(count, first, udp)
    sim = subprocess.Popen([sys.executable, "-c", SIMULATOR.format(count=total, first=first,
                                                                  udp=udp, tcp=tcp)],
                           stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert sim.stdout is not None
        sim.stdout.readline()             # "apsim: N APs on ..." once every socket is bound
        db = folder / f"bench-{count}.db"
        box = SecretBox.from_key_file(folder / "bench.key")
        store = Store(db)
        for site in simulated_sites():
            inventory.add_site(store, {k: site[k] for k in inventory.SITE_FIELDS}, "bench")
        for plan in plans:
            inventory.add_ap(store, box, {
                "name": plan.name, "mac": plan.mac, "mgmt_ip": plan.mgmt_ip,
                "platform": plan.platform, "site": plan.site.slug, "snmp_port": udp,
                "snmp_community": "public", "ssh_port": tcp, "ssh_username":
                login_for(plan.platform), "ssh_password": "oasis-sim"}, "bench")
        settings = ProvisioningConfig(workers=workers, canary=1, max_failures=count)
        snmp = SnmpReachability(timeout=2.0, retries=1)
        rows = []
        try:
            for round_name, ssid in (("provision", "Amanah WiFi"), ("change", "Amanah Parks")):
                variables.set_layer(store, box, "global", None, VARIABLES | {
                    "ssids": [{"id": "public", "ssid": ssid, "vlan": 10}]}, "bench")
                ap_ids = [a["id"] for a in inventory.list_aps(store)]
                job_id = jobs.create(store, "push", "all", ap_ids, "bench")
                runner = BatchRunner(lambda: Store(db), box, settings, snmp=snmp)
                sim_cpu, own_cpu = cpu_seconds(sim.pid), resource.getrusage(
                    resource.RUSAGE_SELF)
                started = time.perf_counter()
                result = runner.run(job_id, "bench")
                durations = sorted(o.seconds for o in result.outcomes)
                wall = time.perf_counter() - started
                own = resource.getrusage(resource.RUSAGE_SELF)
                items = jobs.get(store, job_id)["items"]
                rows.append({
                    "aps": count, "round": round_name, "workers": workers,
                    "status": result.status, "failed": result.failed, "wall_s": round(wall, 1),
                    "aps_per_s": round(count / wall, 1),
                    "p50_ap_s": round(statistics.median(durations), 2),
                    "p95_ap_s": round(durations[int(len(durations) * 0.95) - 1], 2),
                    "controller_cpu_s": round(own.ru_utime + own.ru_stime - own_cpu.ru_utime
                                              - own_cpu.ru_stime, 1),
                    "simulator_cpu_s": round(cpu_seconds(sim.pid) - sim_cpu, 1)})
                print(rows[-1], flush=True)
                for item in [i for i in items if i["status"] not in ("succeeded", "unchanged")][:5]:
                    print(f"  {item['ap_name']}: {item['status']} at {item['stage']}: "
                          f"{item['message']}", flush=True)
        finally:
            snmp.close()
            store.close()
        return rows
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--workers", type=int, default=48)
    parser.add_argument("--tiny", action="store_true",
                        help="2 APs, 2 workers, in seconds: the test suite runs it so the "
                             "benchmark keeps working")
    args = parser.parse_args()
    if args.tiny:
        args.aps, args.workers = [2], 2
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.machine()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        rows = [row for count in args.aps for row in run_size(count, args.workers, Path(folder))]
    print("\n| APs | round | workers | status | failed | wall s | APs/s | per AP p50 s | "
          "per AP p95 s | controller CPU s | simulator CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['aps']} | {r['round']} | {r['workers']} | {r['status']} | {r['failed']} | "
              f"{r['wall_s']} | {r['aps_per_s']} | {r['p50_ap_s']} | {r['p95_ap_s']} | "
              f"{r['controller_cpu_s']} | {r['simulator_cpu_s']} |")


if __name__ == "__main__":
    main()
