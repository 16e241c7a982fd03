"""Sharded polling benchmark: one fleet of simulated APs (SNMPv2c) polled by 1, 2 and 4
``oasis poller`` processes sharing one store.

    .venv/bin/python bench/pollers.py                          # 20,000 APs, 1, 2 and 4 pollers
    .venv/bin/python bench/pollers.py --count 5000 --pollers 1,2 --cycles 2 --json out.json
    .venv/bin/python bench/pollers.py --tiny                   # seconds: what the test suite runs

The simulator runs as in bench/poll_cycle.py (``oasis apsim run --shard I/P``, one process per
2,500 APs, loopback only). The store (SQLite) is seeded once with every AP. For each poller
count P, P ``oasis poller`` processes start on it (the real service: poll, publish the
snapshot, metrics, alerts, availability) and split the APs by membership leases. Once each has
finished a cycle knowing all P members (steady state), the benchmark reads, per poller, the
process CPU at the moment its cycle count moves and again ``--cycles`` cycles later:

- cycle time: wall time between those moments per cycle (poll + the store writes after it),
  and the poll alone (``cycle_duration_s`` the poller published);
- CPU per poll: the pollers' CPU over their cycles divided by the polls in them; with the same
  work per AP it must stay flat as pollers are added (the extra cost of a poller is its
  membership and its share of the store's reads);
- hand-over (P >= 2): one poller is SIGKILLed; the time until every AP it had published is
  polled again by another, and when its lease ran out.

Also measured once: the publish (every row of the fleet in one executemany, against writing
only the rows whose text changed) and an admin node's read of the published snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.poll_controller import seed  # noqa: E402
from bench.poll_cycle import APS_PER_SIMULATOR, Simulators  # noqa: E402
from bench.poll_procs import Child, free_port  # noqa: E402
from controller.monitoring import published  # noqa: E402
from controller.monitoring.snapshot import CycleStats, Snapshot  # noqa: E402
from core import leases  # noqa: E402
from core.secrets import SecretBox  # noqa: E402
from core.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAX_COUNT = 40_000
GROUP = "pollers"


def machine_facts() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "python": platform.python_version(),
            "load_at_start": [round(x, 2) for x in os.getloadavg()]}


def write_config(folder: Path, args) -> Path:
    toml = folder / "poller.toml"
    toml.write_text(
        f"[store]\npath = '{folder / 'oasis.db'}'\nkey_file = '{folder / 'oasis.key'}'\n"
        f"[snmp]\ninterval = {args.interval}\ntimeout = 2.0\nretries = 1\n"
        f"max_in_flight = {args.max_in_flight}\ntrap_listen = '127.0.0.1:0'\n"
        f"[monitoring]\ngroup = '{GROUP}'\nmember_ttl_s = {args.ttl}\n")
    return toml


class Poller(Child):
    """``oasis poller`` in its own process; its holder id is read from its first line."""

    def __init__(self, config: Path):
        super().__init__("poller", [sys.executable, "-m", "controller", "--config", str(config),
                                    "poller"], cwd=str(ROOT))
        self.holder = self.wait_for(r"^Oasis Edge poller (\S+) running", 120).group(1)


def poller_rows(store: Store) -> dict[str, tuple]:
    """holder -> (cycles, cycle_polled, cycle_duration_s)."""
    return {r[0]: (r[1], r[2], r[3]) for r in store.conn.execute(
        "SELECT holder, cycles, cycle_polled, cycle_duration_s FROM monitoring_pollers")}


def wait_until(predicate, timeout_s: float, what: str, every_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(every_s)


def measure(store: Store, pollers: list[Poller], count: int, cycles: int,
            timeout_s: float) -> dict:
    """Steady cycles of every poller: CPU and wall between its cycle-count changes."""
    holders = [p.holder for p in pollers]

    def steady():
        rows = poller_rows(store)
        known = [rows.get(h) for h in holders]
        return all(k and k[0] >= 1 for k in known) and \
            sum(k[1] or 0 for k in known if k) == count and known
    wait_until(steady, timeout_s, f"{len(pollers)} pollers sharing {count} APs")
    start: dict[str, tuple] = {}
    end: dict[str, tuple] = {}
    durations: dict[str, list[float]] = {h: [] for h in holders}
    seen = {h: row[0] for h, row in poller_rows(store).items() if h in holders}
    deadline = time.monotonic() + timeout_s * (cycles + 1)
    while len(end) < len(pollers):
        if time.monotonic() > deadline:
            raise RuntimeError("pollers stopped finishing cycles")
        rows = poller_rows(store)
        for poller in pollers:
            h = poller.holder
            done, polled, poll_s = rows[h]
            if done == seen[h] or h in end:
                continue
            seen[h] = done
            mark = (done, poller.cpu_s(), time.monotonic(), polled)
            if h not in start:
                start[h] = mark
                continue
            durations[h].append(poll_s)
            if done - start[h][0] >= cycles:
                end[h] = mark
        time.sleep(0.02)
    per_poller = []
    for poller in pollers:
        h = poller.holder
        c0, cpu0, t0, _ = start[h]
        c1, cpu1, t1, polled = end[h]
        done = c1 - c0
        per_poller.append({"holder": h, "aps": polled, "cycles": done,
                           "cycle_s": round((t1 - t0) / done, 3),
                           "poll_s": round(statistics.median(durations[h]), 3),
                           "cpu_s_per_cycle": round((cpu1 - cpu0) / done, 3),
                           "cpu_ms_per_poll": round((cpu1 - cpu0) / (done * polled) * 1000, 4),
                           "rss_mb": round(poller.rss_mb(), 1)})
    polls = sum(p["aps"] * p["cycles"] for p in per_poller)
    cpu = sum(p["cpu_s_per_cycle"] * p["cycles"] for p in per_poller)
    return {"pollers": len(pollers), "per_poller": per_poller,
            "cycle_s": max(p["cycle_s"] for p in per_poller),
            "poll_s": max(p["poll_s"] for p in per_poller),
            "cpu_ms_per_poll": round(cpu / polls * 1000, 4),
            "fleet_polls_per_s": round(sum(p["aps"] / p["cycle_s"] for p in per_poller), 1)}


def hand_over(store: Store, pollers: list[Poller], timeout_s: float) -> dict:
    """SIGKILL the first poller; time until each AP it published is polled again."""
    victim = pollers[0]
    theirs = {ap for ap, holder in store.conn.execute("SELECT ap_id, poller FROM ap_status")
              if holder == victim.holder}
    (expires_at,) = store.conn.execute(
        "SELECT expires_at FROM leases WHERE name = ?",
        (f"member:{GROUP}:{victim.holder}",)).fetchone()
    victim.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    victim.process.wait(10)

    def polled_again():
        late = [ap for ap, holder, at in store.conn.execute(
            "SELECT ap_id, poller, polled_at FROM ap_status")
            if ap in theirs and (holder == victim.holder or (at or 0) <= killed_at)]
        return not late
    wait_until(polled_again, timeout_s, "the killed poller's APs polled again", every_s=0.1)
    published_after = time.time() - killed_at
    # When the last of them was polled (its poll time), not when its poller published the cycle.
    last_poll = max(at for ap, at in store.conn.execute("SELECT ap_id, polled_at FROM ap_status")
                    if ap in theirs)
    survivors = leases.members(store, GROUP)
    return {"killed_aps": len(theirs), "lease_expired_after_s": round(expires_at - killed_at, 2),
            "polled_again_after_s": round(last_poll - killed_at, 2),
            "published_after_s": round(published_after, 2), "live_after": len(survivors)}


def publish_cost(store: Store, rounds: int = 3) -> dict:
    """The publish of the whole fleet (every row) against writing only changed rows, and an
    admin node's read of the published snapshot, on the store as the pollers left it."""
    statuses = [published.decode(text) for (text,) in
                store.conn.execute("SELECT status FROM ap_status")]
    publisher = published.SnapshotPublisher("bench-publish")
    stats = CycleStats(time.time(), 1.0, len(statuses), len(statuses), 0)
    every: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        publisher.cycle(store, statuses, stats, Snapshot())
        every.append(time.perf_counter() - started)
    previous = {s.ap_id: published.encode(s) for s in statuses}
    changed_only: list[float] = []
    for _ in range(rounds):
        # The best case for "changed only": nothing changed, so nothing is written.
        started = time.perf_counter()
        rows = [s for s in statuses if published.encode(s) != previous[s.ap_id]]
        publisher.cycle(store, rows, stats, Snapshot())
        changed_only.append(time.perf_counter() - started)
    store.conn.execute("DELETE FROM monitoring_pollers WHERE holder = 'bench-publish'")
    reader = published.PublishedSnapshots(GROUP)
    started = time.perf_counter()
    view = reader.current(store)
    first = time.perf_counter() - started
    started = time.perf_counter()
    reader.current(store)
    cached = time.perf_counter() - started
    return {"rows": len(statuses),
            "publish_every_row_ms": round(statistics.median(every) * 1000, 1),
            "publish_changed_only_nothing_changed_ms": round(
                statistics.median(changed_only) * 1000, 1),
            "admin_read_decode_ms": round(first * 1000, 1),
            "admin_read_cached_ms": round(cached * 1000, 2), "admin_sees": len(view.statuses)}


def run_pollers(store: Store, config: Path, count: int, how_many: int, args) -> dict:
    pollers: list[Poller] = []
    try:
        for _ in range(how_many):
            pollers.append(Poller(config))
        figures = measure(store, pollers, count, args.cycles, args.steady_timeout)
        print(f"  {how_many} poller(s): cycle {figures['cycle_s']:.2f}s (poll "
              f"{figures['poll_s']:.2f}s), {figures['cpu_ms_per_poll']:.3f} ms CPU per poll, "
              f"{figures['fleet_polls_per_s']:.0f} polls/s", flush=True)
        for p in figures["per_poller"]:
            print(f"    {p['holder']}: {p['aps']} APs, cycle {p['cycle_s']:.2f}s, poll "
                  f"{p['poll_s']:.2f}s, CPU {p['cpu_s_per_cycle']:.2f}s/cycle "
                  f"({p['cpu_ms_per_poll']:.3f} ms/poll), RSS {p['rss_mb']:.0f} MB")
        if how_many >= 2:
            figures["hand_over"] = hand_over(store, pollers, args.steady_timeout + args.ttl)
            h = figures["hand_over"]
            print(f"    killed one ({h['killed_aps']} APs): lease ran out after "
                  f"{h['lease_expired_after_s']:.1f}s, its APs all polled again after "
                  f"{h['polled_again_after_s']:.1f}s (published after "
                  f"{h['published_after_s']:.1f}s; TTL {args.ttl:g}s)", flush=True)
        return figures
    finally:
        for poller in pollers:
            poller.stop()
        for row in store.conn.execute("SELECT holder FROM monitoring_pollers").fetchall():
            leases.leave(store, GROUP, row[0])  # a killed poller's lease: not for the next run
        store.conn.execute("DELETE FROM monitoring_pollers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--pollers", default="1,2,4", help="poller counts, comma separated")
    parser.add_argument("--cycles", type=int, default=3, help="steady cycles measured")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="snmp.interval: below the cycle time, so each poller polls back "
                             "to back")
    parser.add_argument("--ttl", type=float, default=10.0, help="monitoring.member_ttl_s")
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--first-address", default="127.0.1.1")
    parser.add_argument("--sim-procs", type=int, default=0,
                        help=f"simulator processes (0: one per {APS_PER_SIMULATOR:,} APs)")
    parser.add_argument("--steady-timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--tiny", action="store_true",
                        help="40 APs, 1 and 2 pollers, in seconds: the test suite runs it")
    args = parser.parse_args()
    # Stopped with SIGTERM, the run still stops its pollers and simulators (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.tiny:
        args.count, args.pollers, args.cycles, args.ttl, args.interval = 40, "1,2", 1, 3.0, 0.5
        args.steady_timeout = 60.0
    counts = [int(p) for p in args.pollers.split(",") if p]
    if not args.first_address.startswith("127.") or not 0 < args.count <= MAX_COUNT \
            or not counts or any(not 1 <= p <= 16 for p in counts):
        parser.error(f"loopback addresses, 1..{MAX_COUNT} APs and 1..16 pollers only")
    facts = machine_facts()
    print("machine:", json.dumps(facts, ensure_ascii=False), flush=True)
    report: dict = {"facts": facts, "count": args.count, "interval_s": args.interval,
                    "ttl_s": args.ttl, "runs": []}
    port = free_port(host=args.first_address)
    processes = args.sim_procs or max(1, -(-args.count // APS_PER_SIMULATOR))
    sim = Simulators(args.count, args.first_address, port, processes)
    try:
        with tempfile.TemporaryDirectory(prefix="oasis-pollers-") as folder:
            config = write_config(Path(folder), args)
            store = Store(Path(folder) / "oasis.db")
            box = SecretBox.from_key_file(Path(folder) / "oasis.key")
            started = time.perf_counter()
            seed(store, box, args.count, args.first_address, port, "2c")
            report["seed_s"] = round(time.perf_counter() - started, 1)
            print(f"{args.count} APs v2c ({processes} simulator process(es), udp/{port}), "
                  f"seeded in {report['seed_s']:.1f}s", flush=True)
            for how_many in counts:
                report["runs"].append(run_pollers(store, config, args.count, how_many, args))
            report["publish"] = publish_cost(store)
            print("publish and admin read:", json.dumps(report["publish"]), flush=True)
            store.close()
    finally:
        sim.stop()
    report["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print("load average at end:", report["load_at_end"])
    summary = {"count": args.count, "cpus": facts["nproc"],
               "load_at_start": facts["load_at_start"], "load_at_end": report["load_at_end"],
               "runs": [{k: r[k] for k in ("pollers", "cycle_s", "poll_s", "cpu_ms_per_poll",
                                            "fleet_polls_per_s")}
                        | ({k: r["hand_over"][k] for k in ("polled_again_after_s",
                                                             "published_after_s",
                                                             "lease_expired_after_s")}
                           if "hand_over" in r else {}) for r in report["runs"]],
               "publish": report["publish"]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
