"""940 report benchmark: intake rate, forward rate, and a fault run with broker restarts.

* ``intake``: Open311 POSTs over HTTP (waitress serving the portal app in a child process,
  keep-alive clients in threads here); a report counts once its transaction (report, event,
  outbox row) has committed, which is before the 200 is sent.
* ``forward``: N reports already in the outbox; the forwarder publishes them through Mosquitto
  (MQTT 5, QoS 1, persistent sessions) to the reference back office, which stores each once and
  acks it by id; the clock stops when every outbox row is *acknowledged*.
* ``fault``: the same with Mosquitto SIGKILLed and restarted every ``--restart-every`` seconds;
  it reports lost (outbox rows never acked, reports missing at the back office) and duplicates
  after dedup (rows stored twice), and the raw copies the back office saw.
* ``controller-fault`` (root: a network namespace): reports filed over Open311 while the
  controller is SIGKILLed ``--kills`` times and poison is published on every subscribed topic,
  visitors logging in through the real gateway agent all along, both ``/healthz`` polled and
  judged against what was running (reports_fault.py says how).

    .venv/bin/python bench/reports_rate.py intake --reports 5000 --clients 8
    .venv/bin/python bench/reports_rate.py forward --reports 20000 [--broker-save interval]
    .venv/bin/python bench/reports_rate.py fault --reports 20000 --restart-every 3
    sudo .venv/bin/python bench/reports_rate.py controller-fault --reports 2000 --kills 5
    sudo .venv/bin/python bench/reports_rate.py controller-fault --nodes 2 --kills 10 --up 3 \
        [--store postgresql]
    .venv/bin/python bench/reports_rate.py {intake,forward,fault} --tiny   # seconds: the suite's
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import logging
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captive_portal.reports.config import ReportsConfig  # noqa: E402
from captive_portal.reports.intake import NewReport, file_report  # noqa: E402
from captive_portal.reports.service import ReportsService  # noqa: E402
from core.config import MqttConfig  # noqa: E402
from core.contracts.reports import TOPIC_NEW  # noqa: E402
from core.store import Store  # noqa: E402
from tests.mosquitto import MosquittoBroker  # noqa: E402
from tests.support import free_port, wait_for_tcp  # noqa: E402

from reports_fault import (  # noqa: E402  (beside this script)
    Plan,
    drive,
    drive_nodes,
    orchestrate,
)

API_KEY = "bench-key"


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine()}


# -- intake ------------------------------------------------------------------------------------

def serve(store_path: str, port: int) -> None:
    """Child process: the portal app (with Open311) on waitress until killed."""
    from cryptography.fernet import Fernet
    from waitress import serve as waitress_serve

    from captive_portal import create_app
    from captive_portal.config import PortalSettings
    from core.secrets import SecretBox

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a busy queue is the point
    settings = PortalSettings()
    settings.portal.secure_cookies = False
    settings.sms.outbox = ""
    app = create_app(settings, store_path=store_path, secret_box=SecretBox(Fernet.generate_key()),
                     gateway=None, secret_key=b"b" * 32)
    waitress_serve(app, host="127.0.0.1", port=port, threads=8, _quiet=True)


def intake(reports: int, clients: int, folder: Path) -> dict:
    store_path = str(folder / "intake.db")
    store = Store(store_path)
    with store.transaction() as conn:
        conn.execute("INSERT INTO open311_keys (name, key_sha256, created_at) VALUES (?, ?, 0)",
                     ("bench", hashlib.sha256(API_KEY.encode()).hexdigest()))
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "serve", "--store", store_path,
                               "--port", str(port)])
    try:
        wait_for_tcp("127.0.0.1", port, 20)
        per_client = reports // clients
        errors: list[str] = []

        def client(index: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for n in range(per_client):
                body = urlencode({"api_key": API_KEY, "service_code": "lighting",
                                  "lat": "25.38", "long": "49.59",
                                  "description": f"Lamp {index}-{n} is out near the gate"})
                connection.request("POST", "/open311/v2/requests.json", body, {
                    "Content-Type": "application/x-www-form-urlencoded"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(str(response.status))
            connection.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
    stored = store.conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    outbox_rows = store.conn.execute("SELECT count(*) FROM report_outbox").fetchone()[0]
    total = per_client * clients
    return {"bench": "intake", "reports": total, "clients": clients, "seconds": round(elapsed, 2),
            "per_second": round(total / elapsed), "stored": stored, "outbox_rows": outbox_rows,
            "errors": len(errors), **machine()}


# -- forwarding ----------------------------------------------------------------------------------

def _fill(store: Store, reports: int, config: ReportsConfig) -> None:
    for n in range(reports):
        file_report(store, NewReport(category="lighting", description=f"Lamp {n} is out",
                                     channel="open311", lat=25.38, lon=49.59), config)


#: Mosquitto persistence: save after every change (a broker SIGKILL loses nothing it held), or
#: every second (it may lose the last second; the outbox re-sends what was not acked).
BROKER_SAVE = {"changes": "", "interval": "autosave_on_changes false\nautosave_interval 1\n"}


def _backoffice_process(folder: Path, broker: MosquittoBroker) -> subprocess.Popen:
    """The reference back office in its own process, as the real one would be."""
    config = folder / "backoffice.toml"
    config.write_text(f'[store]\npath = "{folder}/unused.db"\nkey_file = "{folder}/k.key"\n'
                      f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    code = ("from controller.cli import cli; from agents.backoffice.cli import backoffice; "
            "cli.add_command(backoffice); cli()")
    office = subprocess.Popen([sys.executable, "-c", code, "--config", str(config), "backoffice",
                               "run", "--db", str(folder / "backoffice.db")],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = office.stderr.readline()  # printed once its subscriptions are granted
    if "running" not in line:
        raise RuntimeError(f"back office did not start: {line!r}")
    threading.Thread(target=office.stderr.read, daemon=True).start()  # never block it
    return office


def forward(reports: int, folder: Path, restart_every: float = 0.0,
            broker_save: str = "changes", window: int = 2000) -> dict:
    config = ReportsConfig(resend_after_s=5.0, resend_max_s=20.0, batch_size=500, window=window)
    store = Store(str(folder / "forward.db"))
    _fill(store, reports, config)
    broker = MosquittoBroker("/usr/sbin/mosquitto", folder / "mosquitto",
                             extra_config=BROKER_SAVE[broker_save])
    broker.start()
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    office = _backoffice_process(folder, broker)
    service = ReportsService(store.path, mqtt, config, poll_s=0.05)
    restarts = 0
    started = time.perf_counter()
    service.start()
    next_restart = started + restart_every if restart_every else None
    deadline = started + 600
    try:
        while time.perf_counter() < deadline:
            acked = store.conn.execute("SELECT count(*) FROM report_outbox WHERE state = "
                                       "'acknowledged'").fetchone()[0]
            if acked == reports:
                break
            if next_restart and time.perf_counter() >= next_restart:
                broker.restart(hard=True)
                restarts += 1
                next_restart = time.perf_counter() + restart_every
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        service.stop()
        office.send_signal(signal.SIGTERM)
        office.wait(30)
        broker.stop()
    held = sqlite3.connect(folder / "backoffice.db")
    received = [r[0] for r in held.execute("SELECT message_id FROM received WHERE topic = ?",
                                           (TOPIC_NEW,))]
    copies = held.execute("SELECT sum(copies) FROM received").fetchone()[0]
    held.close()
    states = dict(store.conn.execute("SELECT state, count(*) FROM report_outbox GROUP BY state"))
    trackings = {r[0] for r in store.conn.execute("SELECT tracking FROM reports")}
    return {"bench": "fault" if restart_every else "forward", "reports": reports,
            "broker_save": broker_save, "window": window,
            "seconds": round(elapsed, 2), "per_second": round(reports / elapsed),
            "broker_restarts": restarts, "outbox": states,
            "lost": len(trackings - set(received)) + (reports - states.get("acknowledged", 0)),
            "duplicates_after_dedup": len(received) - len(set(received)),
            "copies_seen": copies, "published": service.forwarder.published, **machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_intake = sub.add_parser("intake")
    p_intake.add_argument("--reports", type=int, default=5000)
    p_intake.add_argument("--clients", type=int, default=8)
    p_forward = sub.add_parser("forward")
    p_fault = sub.add_parser("fault")
    p_fault.add_argument("--restart-every", type=float, default=3.0)
    for p in (p_forward, p_fault):
        p.add_argument("--reports", type=int, default=20000)
        p.add_argument("--broker-save", choices=sorted(BROKER_SAVE), default="changes")
        p.add_argument("--window", type=int, default=2000)
    p_chaos = sub.add_parser("controller-fault")
    p_chaos.add_argument("--reports", type=int, default=2000)
    p_chaos.add_argument("--kills", type=int, default=5, help="SIGKILLs of the controller")
    p_chaos.add_argument("--up", type=float, default=8.0,
                         help="seconds the controller runs once ready, before each kill")
    p_chaos.add_argument("--down", type=float, default=8.0,
                         help="seconds it stays dead (more than the forwarder's heartbeat "
                              "takes to go stale)")
    p_chaos.add_argument("--logins-per-s", type=float, default=10.0)
    p_chaos.add_argument("--poison-per-s", type=float, default=200.0)
    p_chaos.add_argument("--nodes", type=int, default=1,
                         help="controllers on the one store; with 2 or more each kill hits the "
                              "node holding the forwarder's lease (docs/scale-out.md)")
    p_chaos.add_argument("--lease-ttl", type=float, default=12.0,
                         help="[reports] lease_ttl_s of every node")
    p_chaos.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                         help="with --nodes: the store on a throwaway PostgreSQL cluster "
                              "(Debian postgresql) instead of one SQLite file")
    p_chaos.add_argument("--inside", help=argparse.SUPPRESS)
    for p in (p_intake, p_forward, p_fault, p_chaos):
        p.add_argument("--tiny", action="store_true",
                       help="a few hundred reports at most, in seconds: the test suite runs it "
                            "so the benchmark keeps working")
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--store", required=True)
    p_serve.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.store, args.port)
        return
    if args.command == "controller-fault":
        if args.tiny:
            args.reports, args.kills, args.up, args.down = 60, 2, 3.0, 7.0
            if args.nodes > 1:  # a kill is a takeover: a short lease keeps it seconds
                args.down, args.lease_ttl = 4.0, 3.0
        if args.store == "postgresql" and args.nodes < 2:
            parser.error("--store postgresql goes with --nodes 2 or more")
        plan = Plan(args.reports, args.kills, args.up, args.down, args.logins_per_s,
                    args.poison_per_s, args.nodes, args.lease_ttl, args.store)
        if args.inside:  # the driver, in the namespace orchestrate() made
            run = drive_nodes if plan.nodes > 1 else drive
            print(json.dumps(run(plan, Path(args.inside))))
        else:
            print(json.dumps({**orchestrate(plan, args.tiny), **machine()}))
        return
    if args.tiny:
        args.reports = {"intake": 20, "forward": 50, "fault": 300}[args.command]
        if args.command == "intake":
            args.clients = 2
        else:
            args.window = 20 if args.command == "forward" else 50
        if args.command == "fault":
            args.restart_every = 0.5
    with tempfile.TemporaryDirectory(prefix="oasis-bench-") as folder:
        if args.command == "intake":
            result = intake(args.reports, args.clients, Path(folder))
        elif args.command == "forward":
            result = forward(args.reports, Path(folder), 0.0, args.broker_save, args.window)
        else:
            result = forward(args.reports, Path(folder), args.restart_every, args.broker_save,
                             args.window)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
