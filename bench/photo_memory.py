"""Photo uploads under attack: the memory ceiling and /healthz latency during concurrent bombs.

The portal app runs as ``oasis run`` serves it: waitress, 8 threads, in its own process (the
child of this script). From here ``--uploads`` clients post the 940 form at the same moment,
each with one photo, while a prober asks ``/healthz`` every 50 ms. Measured on the child: its
resident memory before (after one warm-up report) and its peak (``VmHWM``); the answers and
their times; /healthz's worst latency during the storm.

Photos (``--photo``):

* ``bomb``: the issue's pixel bomb, a valid PNG of 6300 x 6300 that weighs ~131 KB;
* ``heaviest``: the heaviest photo still accepted, a 4096 x 4096 RGBA PNG (16.8 million pixels:
  the ``max_photo_decode_pixels`` budget) of ~70 KB;
* ``phone``: a 48 MP baseline JPEG (8000 x 6000), as a phone camera writes at full size.

The peer is the same code before the fix: ``--before DIR`` serves the app from another tree of
the project (``git worktree add /tmp/before <commit>``) in the same run and prints the ratio of
its memory growth to ours.

    .venv/bin/python bench/photo_memory.py --photo bomb --uploads 8 [--before /tmp/before]
    .venv/bin/python bench/photo_memory.py --photo heaviest --uploads 8
    .venv/bin/python bench/photo_memory.py --tiny        # seconds: what the test suite runs
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import wait_for_tcp  # noqa: E402


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine(), "load": round(os.getloadavg()[0], 1)}


def status_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


# -- the photos ----------------------------------------------------------------------------------

def _png(width: int, height: int, pixel: bytes, colour: int) -> bytes:
    """A valid PNG of one colour, built row by row (never the whole image in this process)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    packer = zlib.compressobj(9)
    row = b"\x00" + pixel * width
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))


def photo(kind: str, tiny: bool) -> tuple[bytes, str]:
    if kind == "bomb":
        side = 2500 if tiny else 6300
        return _png(side, side, b"\xc8\x1e\x1e", 2), "bomb.png"
    if kind == "heaviest":
        side = 1024 if tiny else 4096
        return _png(side, side, b"\x10\x80\x10\x80", 6), "heaviest.png"
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600) if tiny else (8000, 6000), (20, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue(), "phone.jpg"


# -- the portal in a child process ---------------------------------------------------------------

def serve(store_path: str, port: int, tree: str | None) -> None:
    """Child process: the portal app on waitress (8 threads) until SIGTERM."""
    if tree:  # the peer's packages first (this file's own imports are only tests.support)
        sys.path.insert(0, tree)
    import logging

    from cryptography.fernet import Fernet
    from waitress import serve as waitress_serve

    from captive_portal import create_app
    from captive_portal.config import PortalSettings
    from core.secrets import SecretBox

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a busy queue is the point
    settings = PortalSettings()
    settings.portal.secure_cookies = False
    settings.portal.posts_per_minute = 10_000
    settings.sms.outbox = ""
    app = create_app(settings, store_path=store_path, secret_box=SecretBox(Fernet.generate_key()),
                     gateway=None, secret_key=b"b" * 32)
    waitress_serve(app, host="127.0.0.1", port=port, threads=8, _quiet=True)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _file(port: int, data: bytes | None, name: str) -> tuple[int, float, str]:
    """GET the form (cookie, CSRF token), POST it with one photo: (status, seconds, code)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("GET", "/reports/new?lang=en")
    reply = connection.getresponse()
    form = reply.read().decode()
    cookie = "; ".join(c.split(";")[0] for c in reply.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    boundary = uuid.uuid4().hex
    parts = [(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
              ).encode() for k, v in (("csrf_token", token), ("category", "lighting"),
                                      ("description", "Lamp out by the gate"),
                                      ("address", "North gate"))]
    if data is not None:
        parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
                      f'filename="{name}"\r\nContent-Type: image/png\r\n\r\n').encode()
                     + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    started = time.perf_counter()
    connection.request("POST", "/reports/new", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie})
    answer = connection.getresponse()
    page = answer.read().decode(errors="replace")
    code = re.search(r'data-code="([^"]+)"', page)
    return answer.status, time.perf_counter() - started, code.group(1) if code else "filed"


def storm(uploads: int, kind: str, tiny: bool, tree: str | None = None) -> dict:
    """One server, ``uploads`` simultaneous photo posts, /healthz probed all along."""
    data, name = photo(kind, tiny)
    with tempfile.TemporaryDirectory(prefix="oasis-photo-bench-") as folder:
        port = _free_port()
        args = [sys.executable, __file__, "serve", "--store", f"{folder}/portal.db",
                "--port", str(port)] + (["--tree", tree] if tree else [])
        server = subprocess.Popen(args)
        try:
            wait_for_tcp("127.0.0.1", port, 30)
            _file(port, None, "")  # warm-up: templates, catalogues, the store's first writes
            baseline = status_kb(server.pid, "VmRSS")
            answers: list[tuple[int, float, str]] = []
            lock = threading.Lock()
            start = threading.Barrier(uploads + 1)
            done = threading.Event()

            def upload() -> None:
                start.wait()
                result = _file(port, data, name)
                with lock:
                    answers.append(result)
            health: list[float] = []

            def probe() -> None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                while not done.is_set():
                    began = time.perf_counter()
                    connection.request("GET", "/healthz")
                    connection.getresponse().read()
                    health.append(time.perf_counter() - began)
                    done.wait(0.05)
            clients = [threading.Thread(target=upload) for _ in range(uploads)]
            prober = threading.Thread(target=probe)
            for thread in clients:
                thread.start()
            prober.start()
            began = time.perf_counter()
            start.wait()
            for thread in clients:
                thread.join()
            elapsed = time.perf_counter() - began
            done.set()
            prober.join()
            peak = status_kb(server.pid, "VmHWM")
            settled = status_kb(server.pid, "VmRSS")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(20)
    codes: dict[str, int] = {}
    for status, _, code in answers:
        codes[f"{status} {code}"] = codes.get(f"{status} {code}", 0) + 1
    return {"photo": kind, "photo_bytes": len(data), "uploads": uploads,
            "tree": tree or "current", "rss_before_mb": round(baseline / 1024, 1),
            "rss_peak_mb": round(peak / 1024, 1), "rss_after_mb": round(settled / 1024, 1),
            "growth_mb": round((peak - baseline) / 1024, 1), "seconds": round(elapsed, 2),
            # A 503 photo_busy is the documented "try again"; any other 5xx is a failure.
            "answers": codes, "server_errors": sum(1 for status, _, code in answers
                                                   if status >= 500 and code != "photo_busy"),
            "upload_max_s": round(max(t for _, t, _ in answers), 2),
            "healthz_probes": len(health),
            "healthz_p50_ms": round(statistics.median(health) * 1000, 1) if health else None,
            "healthz_max_ms": round(max(health) * 1000, 1) if health else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("serve")
    child.add_argument("--store", required=True)
    child.add_argument("--port", type=int, required=True)
    child.add_argument("--tree")
    parser.add_argument("--photo", choices=("bomb", "heaviest", "phone"), default="bomb")
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--before", help="another tree of the project to measure as the peer")
    parser.add_argument("--tiny", action="store_true", help="2 small uploads: seconds")
    parser.add_argument("--json", help="write the result here too")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.store, args.port, args.tree)
        return
    uploads = 2 if args.tiny else args.uploads
    facts = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), flush=True)
    result: dict = {"bench": "photo_memory", **facts, "ours": storm(uploads, args.photo,
                                                                     args.tiny)}
    if args.before:
        result["before"] = storm(uploads, args.photo, args.tiny, tree=args.before)
        ours = max(result["ours"]["growth_mb"], 1.0)
        result["ratio_growth_before_to_ours"] = round(result["before"]["growth_mb"] / ours, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
