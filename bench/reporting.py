"""KPI reporting at a year's scale: every Reports page (overview and each area, Arabic and
English, through the admin app's Flask test client), the monthly PDF, and the peak memory of
the process that serves them.

The history is written first by the areas' generators in a child process (so its memory is not
counted): a year for 2,000 APs (availability facts, rolled up hourly by the area), 1,000,000
portal sessions, 100,000 940 reports, and the backhaul branches. Targets (issue 12): each page
<= 2 s, the monthly PDF <= 10 s, memory <= 300 MB.

    .venv/bin/python bench/reporting.py            # the full year (minutes to generate)
    .venv/bin/python bench/reporting.py --tiny     # 20 APs, 30 days: seconds (the test suite)
    .venv/bin/python bench/reporting.py --keep DIR # write the history once to DIR, reuse it
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = 86400.0
FULL = {"aps": 2000, "days": 365, "sessions": 1_000_000, "reports": 100_000}
TINY = {"aps": 20, "days": 30, "sessions": 5_000, "reports": 500}
TARGETS = {"page_s": 2.0, "pdf_s": 10.0, "rss_mb": 300.0}


def machine() -> dict:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "machine": platform.machine(), "load": round(os.getloadavg()[0], 1)}


def configure(folder: Path):
    from core.config import load_config

    config = load_config(env={})
    config.store.path = str(folder / "oasis.db")
    config.store.key_file = str(folder / "oasis.key")
    return config


def generate(folder: Path, scale: dict, end: float) -> dict:
    """Write the history (run in a child process: its memory is not the pages')."""
    from core.secrets import SecretBox
    from core.store import Store
    from reporting.history import availability, backhaul, service, usage

    config = configure(folder)
    store = Store(config.store.path)
    box = SecretBox.from_key_file(config.store.key_file)
    start = end - scale["days"] * DAY
    timings, counts = {}, {}
    for name, call in (
            ("availability", lambda: availability.seed(store, start=start, end=end,
                                                       aps=scale["aps"])),
            ("backhaul", lambda: backhaul.seed(store, start=start, end=end)),
            ("usage", lambda: usage.seed(store, start=start, end=end,
                                         sessions_per_day=scale["sessions"] / scale["days"],
                                         gateways=max(2, scale["aps"] // 20), secret_box=box)),
            ("service", lambda: {"reports": service.replay(store, config, start, end,
                                                           reports=scale["reports"])})):
        began = time.perf_counter()
        counts[name] = call()
        timings[name] = round(time.perf_counter() - began, 1)
    store.close()
    return {"generate_s": timings, "rows": counts,
            "store_mb": round(Path(config.store.path).stat().st_size / 1e6, 1)}


def measure(folder: Path, end: float, rounds: int, tiny: bool = False) -> dict:
    """Pages (30 days and the last full month; tiny: 30 days) and the monthly PDF (tiny: in
    Arabic only), each in a fresh process that did not write the history."""
    from controller import auth
    from core.config import MunicipalityConfig
    from core.localtime import local
    from core.secrets import SecretBox
    from core.store import Store
    from reporting import areas, pdf
    from reporting.model import Filters, Period
    from tests.controller.web_harness import PASSWORD, build_app, login

    config = configure(folder)
    store = Store(config.store.path)
    if not any(u.username == "bench" for u in auth.list_users(store)):
        auth.create_user(store, "bench", PASSWORD, "viewer", "bench")
    app = build_app(config, SecretBox.from_key_file(config.store.key_file))
    client = app.test_client()
    login(client, "bench")
    tz = config.section(MunicipalityConfig).timezone
    last_month = (local(end, tz).date().replace(day=1) - __import__("datetime").timedelta(days=1))
    month = f"month:{last_month:%Y-%m}"
    pages: dict[str, float] = {}
    for period in ("30d",) if tiny else ("30d", month):
        for name in ("overview", *(a.name for a in areas.AREAS)):
            path = "/kpi/" if name == "overview" else f"/kpi/area/{name}"
            for lang in ("ar", "en"):
                best = float("inf")
                for _ in range(rounds):
                    began = time.perf_counter()
                    response = client.get(f"{path}?period={period}&lang={lang}")
                    took = time.perf_counter() - began
                    assert response.status_code == 200, (path, response.status_code)
                    best = min(best, took)
                pages[f"{name} {period} {lang}"] = round(best, 3)
    # The first PDF of a process also loads WeasyPrint, Pango and fontconfig's font set ("cold");
    # a running admin app has paid that once ("warm": the best of the later ones).
    pdfs: dict[str, dict] = {}
    for attempt in range(rounds):
        for lang in ("ar",) if tiny else ("ar", "en"):
            began = time.perf_counter()
            sections = areas.build_all(store, config, Period.parse(month, tz, now=end),
                                       Filters())
            built = time.perf_counter() - began
            data = pdf.render(sections, config, lang)
            took = round(time.perf_counter() - began, 2)
            entry = pdfs.setdefault(lang, {"cold_s": took, "s": None, "bytes": len(data),
                                           "build_s": round(built, 2)})
            if attempt or rounds == 1:
                entry["s"] = took if entry["s"] is None else min(entry["s"], took)
    store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"pages_s": pages, "pdf": pdfs, "month": month, "rss_peak_mb": round(rss_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="20 APs, 30 days: seconds")
    parser.add_argument("--keep", type=Path, help="Folder for the store (reused if present)")
    parser.add_argument("--rounds", type=int, default=3, help="Requests per page (best kept)")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # the child's part
    parser.add_argument("--end", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    scale = TINY if args.tiny else FULL
    if args.generate:
        print(json.dumps(generate(args.generate, scale, args.end)))
        return
    print("machine:", json.dumps(machine()))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-reporting-"))
    folder.mkdir(parents=True, exist_ok=True)
    end = time.time()
    written = None
    if not (folder / "oasis.db").exists():
        print(f"writing the history ({scale}) into {folder} ...", flush=True)
        child = subprocess.run([sys.executable, __file__, "--generate", str(folder), "--end",
                                str(end), *(["--tiny"] if args.tiny else [])],
                               capture_output=True, text=True, check=True)
        written = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"history: {written}", flush=True)
    result = measure(folder, end, 1 if args.tiny else args.rounds, tiny=args.tiny)
    slowest = max(result["pages_s"].items(), key=lambda kv: kv[1])
    for page, seconds in result["pages_s"].items():
        print(f"page {page}: {seconds:.3f} s")
    for lang, figures in result["pdf"].items():
        print(f"PDF {result['month']} {lang}: {figures['s']:.2f} s warm (sections "
              f"{figures['build_s']:.2f} s), {figures['cold_s']:.2f} s cold, "
              f"{figures['bytes']:,} bytes")
    print(f"slowest page: {slowest[0]} {slowest[1]:.3f} s (target {TARGETS['page_s']} s); "
          f"peak RSS {result['rss_peak_mb']} MB (target {TARGETS['rss_mb']} MB)")
    print(json.dumps({**machine(), "scale": scale, "history": written, **result,
                      "slowest_page": {"page": slowest[0], "s": slowest[1]},
                      "targets": TARGETS}))


if __name__ == "__main__":
    main()
