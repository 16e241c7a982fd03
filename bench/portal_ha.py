"""Portal logins through HAProxy to two nodes, against one node answering directly, and the
gap when one of the two is SIGKILLed mid-run.

Everything real, in one network namespace (root), built by `tests.lab.portal_ha` as the lab
test builds it: Mosquitto, the park gateway agent on real nftables, portal nodes (``python -m
captive_portal serve``, ``--workers`` each) on one store, HAProxy from Debian with
docs/haproxy-nodes.cfg. The driver is bench/portal_logins.py's client grown a retry (a page
that fails is sent again, as its visitor would): ``--concurrency`` threads, each login a new
device (landing page, then the timed terms post until the portal answers, which is once the
gateway acked the allow, then the status page to see the login took).

Runs: 1 node direct (SQLite), 1 node through HAProxy (the proxy's own cost), 2 nodes through
HAProxy (SQLite, then PostgreSQL: a throwaway cluster reached over its Unix socket), and
``--kills`` runs on 2 nodes where node 2 and its workers are SIGKILLed after a third of the
logins: lost logins (none may be), the longest pause in completed logins from the kill on
(target: under 1 s), what the client and HAProxy retried.

    sudo .venv/bin/python bench/portal_ha.py [--logins 2000] [--concurrency 8] [--json out]
    sudo .venv/bin/python bench/portal_ha.py --tiny     # seconds: what the test suite runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab.netns import Lab, sweep_stale  # noqa: E402
from tests.lab.portal_ha import PortalNodes  # noqa: E402


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    haproxy = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "haproxy": haproxy.split()[2] if haproxy else None,
            "load": round(os.getloadavg()[0], 1)}


def one_run(name: str, args, *, nodes: int, proxy: bool, store_url: str = "",
            kill: bool = False) -> dict:
    """A fresh lab and store; a warm-up, then ``args.logins`` logins (node 2 killed after a
    third of them when ``kill``)."""
    sweep_stale("ha")
    folder = Path(tempfile.mkdtemp(prefix="ha-bench-"))
    with Lab(prefix="ha") as lab:
        lab_nodes = PortalNodes(lab, folder, nodes=nodes, workers=args.workers,
                                store_url=store_url, proxy=proxy)
        lab_nodes.start()
        lab_nodes.drive(args.concurrency * 4, args.concurrency, first=900_000)  # warm-up
        figures = lab_nodes.drive(args.logins, args.concurrency, first=1,
                                  kill_after=args.logins // 3 if kill else 0,
                                  timeout=900)
        if proxy:
            figures["haproxy"] = lab_nodes.proxy_retries()
            figures["nodes_up_at_end"] = lab_nodes.servers_up()
    figures.pop("trackings", None)
    figures.pop("by_kind", None)
    figures["run"] = name
    figures["load"] = round(os.getloadavg()[0], 1)  # the machine is shared: what it ran under
    return figures


def postgres_url(cluster) -> str:
    """A new migrated database of ``cluster`` over its Unix socket (reachable from the lab's
    namespace, where the cluster's loopback address is not)."""
    name = cluster.database().rsplit("/", 1)[1]
    return f"postgresql://oasis@/{name}?host={cluster.root}&port={cluster.port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="portal.workers of each node")
    parser.add_argument("--kills", type=int, default=3, help="runs with a node killed")
    parser.add_argument("--no-postgresql", action="store_true",
                        help="skip the runs on a PostgreSQL store")
    parser.add_argument("--tiny", action="store_true",
                        help="60 logins a run, SQLite only, one kill: the test suite runs it "
                             "so the benchmark keeps working")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if args.tiny:
        args.logins, args.concurrency, args.workers, args.kills = 60, 4, 1, 1
        args.no_postgresql = True
    facts = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), flush=True)
    runs = [one_run("1 node direct, SQLite", args, nodes=1, proxy=False),
            one_run("1 node via HAProxy, SQLite", args, nodes=1, proxy=True),
            one_run("2 nodes via HAProxy, SQLite", args, nodes=2, proxy=True)]
    runs += [one_run(f"2 nodes via HAProxy, SQLite, node 2 killed ({i + 1})", args, nodes=2,
                     proxy=True, kill=True) for i in range(args.kills)]
    if not args.no_postgresql:
        from core.store.postgresql import close_pools
        from tests.peers_postgres import pg_bin, start_cluster
        cluster = start_cluster()
        try:
            runs.append(one_run("2 nodes via HAProxy, PostgreSQL", args, nodes=2, proxy=True,
                                store_url=postgres_url(cluster)))
            runs += [one_run(f"2 nodes via HAProxy, PostgreSQL, node 2 killed ({i + 1})",
                             args, nodes=2, proxy=True, store_url=postgres_url(cluster),
                             kill=True) for i in range(args.kills)]
            facts["postgresql"] = subprocess.run(
                [pg_bin("pg_ctl"), "--version"], capture_output=True, text=True).stdout.split()[2]
        finally:
            close_pools()
            cluster.stop()
    print(f"\n{args.logins} terms logins a run, {args.concurrency} clients, "
          f"portal.workers = {args.workers} a node\n")
    print("| run | logins/s | p50 ms | p99 ms | lost | client retries | HAProxy retries"
          " / redispatches | longest pause after the kill | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        proxy = r.get("haproxy") or {}
        gap = r.get("gap_after_kill_s")
        print(f"| {r['run']} | {r['logins_per_s']} | {r['p50_ms']} | {r['p99_ms']} | "
              f"{r['failed']} | {r['client_retries']} | "
              f"{proxy.get('retries', '-')} / {proxy.get('redispatches', '-')} | "
              f"{f'{gap:.2f} s' if gap is not None else '-'} | {r['load']} |")
    direct = runs[0]["logins_per_s"]
    two = next(r for r in runs if r["run"] == "2 nodes via HAProxy, SQLite")["logins_per_s"]
    killed = [r for r in runs if "killed" in r["run"]]
    result = {**facts, "logins": args.logins, "concurrency": args.concurrency,
              "workers": args.workers, "runs": runs,
              "ratio_two_nodes_to_direct": round(two / direct, 2) if direct else None,
              "lost_when_killed": sum(r["failed"] for r in killed),
              "longest_pause_after_kill_s": max(r["gap_after_kill_s"] or 0 for r in killed)
              if killed else None}
    print(f"\nratio 2 nodes via HAProxy / 1 node direct (SQLite): "
          f"{result['ratio_two_nodes_to_direct']}")
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
