"""How long the history charts' reads take on a big fleet: the network's (dashboard), a site's
and one AP's, for each range the pages offer, and the range choice.

A store is filled as a year-old controller's would be: a day of raw samples (one a minute) and
``--days`` of hourly roll-ups for ``--aps`` APs. Each read is timed as the pages make it
(`controller.monitoring.metrics`). Prints the machine, one line per read, then a JSON summary.

    .venv/bin/python bench/noc_charts.py            # 2,000 APs, 30 days
    .venv/bin/python bench/noc_charts.py --tiny     # 40 APs, 2 days (the suite runs this)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.monitoring import metrics  # noqa: E402
from core.store import Store  # noqa: E402

RANGES_H = (1, 6, 24, 168, 720)
SITE_SIZE = 20


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load": round(os.getloadavg()[0], 1)}


def fill(store: Store, aps: int, days: int, now: int) -> int:
    """A day of raw rows a minute and ``days`` of hourly rows per AP; returns rows written."""
    raw = ((ap, now - 86400 + i * 60, 1, 10 + ap % 7, 1e6, 1e5, 90.0, 30.0, 0.0)
           for i in range(1440) for ap in range(1, aps + 1))
    hour = now // 3600 * 3600
    hourly = ((ap, hour - h * 3600, 60, 60, 10.0, 12, 1e6, 1e5, 2e6, 2e5, 0.0)
              for h in range(1, 24 * days) for ap in range(1, aps + 1))
    with store.transaction() as conn:
        conn.executemany("INSERT INTO metrics_raw (ap_id, at, up, clients, in_bps, out_bps, "
                         "in_pps, out_pps, errors_ps) VALUES (?,?,?,?,?,?,?,?,?)", raw)
        conn.executemany("INSERT INTO metrics_hourly (ap_id, hour, samples, up_samples, "
                         "clients_avg, clients_max, in_bps_avg, out_bps_avg, in_bps_max, "
                         "out_bps_max, errors_ps_avg) VALUES (?,?,?,?,?,?,?,?,?,?,?)", hourly)
    return aps * 1440 + aps * (24 * days - 1)


def timed(read) -> tuple[float, object]:
    started = time.perf_counter()
    value = read()
    return (time.perf_counter() - started) * 1000, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tiny", action="store_true", help="40 APs, 2 days")
    args = parser.parse_args()
    aps, days = (40, 2) if args.tiny else (args.aps, args.days)
    print(f"machine: {json.dumps(machine())}")
    now = int(time.time()) // 60 * 60
    summary: dict = {"bench": "noc_charts", "aps": aps, "days": days, **machine(),
                     "network_ms": {}, "site_ms": {}, "ap_ms": {}}
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "oasis.db")
        try:
            fill_ms, rows = timed(lambda: fill(store, aps, days, now))
            print(f"{rows} rows written in {fill_ms / 1000:.1f} s")
            every = list(range(1, aps + 1))
            site = every[:SITE_SIZE]
            for hours in RANGES_H:
                since = now - hours * 3600
                for name, ids in (("network", every), ("site", site)):
                    ms, series = timed(lambda: metrics.group_series(store, ids, since, now))
                    summary[f"{name}_ms"][hours] = round(ms, 1)
                    print(f"{name} ({len(ids)} APs), {hours} h: {series.resolution}, "
                          f"{len(series.points)} points in {ms:.1f} ms")
                ms, series = timed(lambda: metrics.series(store, 1, since, now))
                summary["ap_ms"][hours] = round(ms, 1)
                print(f"one AP, {hours} h: {series.resolution}, {len(series.points)} points "
                      f"in {ms:.1f} ms")
            ms, _ = timed(lambda: [metrics.has_samples_before(store, every, now - h * 3600)
                                   for h in (0, 1, 6)])
            summary["range_choice_ms"] = round(ms, 1)
            print(f"range choice (network): {ms:.1f} ms")
        finally:
            store.close()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
