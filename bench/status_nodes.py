"""Status updates on two nodes: how each reaches the store once when one node is SIGKILLed.

The back office's status updates (QoS 1) must be applied once whichever controller node is
alive (docs/scale-out.md). Two ways are measured through a real Mosquitto, both nodes on
persistent MQTT 5 sessions (``clean_start`` false, a session expiry) as the controller's are:

* ``every-node`` (what the controller does): each node subscribes on its own session and the
  store applies each update once (`captive_portal.reports.workflow.apply_status_update` claims
  its id). Node B is SIGKILLed, N updates are published: the figures are how many node A
  applied and how long that took, and, once B comes back, that the N its session kept are all
  duplicates. With both nodes up: the seconds for N updates, against one node alone (the cost
  of every update being met twice).
* ``shared``: an MQTT 5 shared subscription (``$share/<group>/...``), one message to one
  member. Node B is SIGKILLed, N messages are published: how many reach node A, and how many
  wait in B's session (delivered only when B returns).

    .venv/bin/python bench/status_nodes.py --updates 2000
    .venv/bin/python bench/status_nodes.py --tiny       # seconds: the suite's
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captive_portal.reports.config import ReportsConfig  # noqa: E402
from captive_portal.reports.intake import NewReport, file_report  # noqa: E402
from captive_portal.reports.status import StatusConsumer  # noqa: E402
from core.config import MqttConfig  # noqa: E402
from core.contracts import reports as contract  # noqa: E402
from core.mqtt import InboundMessage, MqttLink  # noqa: E402
from core.store import Store  # noqa: E402
from tests.mosquitto import MosquittoBroker  # noqa: E402

GROUP = "oasis-status"
EXPIRY_S = 600


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine()}


def _link(mqtt: MqttConfig, client_id: str) -> MqttLink:
    return MqttLink(mqtt, client_id=client_id, clean_start=False, session_expiry_s=EXPIRY_S,
                    reconnect_min_s=0.1, reconnect_max_s=1.0)


def _subscribed(link: MqttLink, timeout: float = 10.0) -> None:
    """Wait until the broker granted every subscription of ``link`` (a QoS 1 message published
    before that reaches no session)."""
    for subscription in list(link._subscriptions.values()):
        if not subscription.wait_active(timeout):
            raise SystemExit(f"{link.client_id}: {subscription.topic_filter} not granted")


# -- a node in its own process (to be SIGKILLed) ---------------------------------------------------

def node(mqtt: MqttConfig, client_id: str, mode: str, store_path: str, seconds: float) -> None:
    """Child: subscribe as ``client_id``, say "ready", count what arrives for ``seconds``."""
    link = _link(mqtt, client_id)
    got = []
    consumer = None
    if mode == "every-node":
        consumer = StatusConsumer(store_path, link, ReportsConfig(), None)
        consumer.start()
    else:
        link.subscribe(contract.TOPIC_STATUS, got.append, share=GROUP)
    link.start()
    _subscribed(link)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
    outcomes = consumer.outcomes if consumer is not None else {"received": len(got)}
    if consumer is not None:
        consumer.stop()
    link.stop()
    print(json.dumps(outcomes), flush=True)


class Child:
    def __init__(self, broker: MosquittoBroker, client_id: str, mode: str, store_path: str,
                 seconds: float = 60.0):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "node", "--port", str(broker.port), "--client-id",
             client_id, "--mode", mode, "--store", store_path, "--seconds", str(seconds)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"node {client_id} did not start: {line!r}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def result(self) -> dict:
        out, _ = self.process.communicate(timeout=120)
        return json.loads(out.strip().splitlines()[-1])


# -- the runs --------------------------------------------------------------------------------------

def _wait(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _reports(store: Store, count: int) -> list[str]:
    config = ReportsConfig()
    return [file_report(store, NewReport(category="lighting", description=f"Lamp {i} is out",
                                         channel="open311", lat=25.38, lon=49.59, locale="ar"),
                        config).tracking for i in range(count)]


def _publish_updates(publisher: MqttLink, trackings: list[str], status: str) -> None:
    deliveries = [publisher.publish_json(
        contract.TOPIC_STATUS, {"update_id": uuid.uuid4().hex, "id": t, "status": status},
        schema=contract.SCHEMA_STATUS) for t in trackings]
    for delivery in deliveries:
        delivery.wait(30)


def _applied(store: Store) -> int:
    return store.conn.execute("SELECT count(*) FROM report_status_updates").fetchone()[0]


def every_node(broker: MosquittoBroker, mqtt: MqttConfig, folder: Path, updates: int) -> dict:
    store = Store(folder / "every.db")
    trackings = _reports(store, updates)
    publisher = MqttLink(mqtt, client_id="bench-office")
    publisher.start()
    publisher.wait_connected(10)
    link_a = _link(mqtt, "node-a")
    a = StatusConsumer(store.path, link_a, ReportsConfig(), None)
    a.start()
    link_a.start()
    _subscribed(link_a)

    # One node alone, then two nodes up: N updates each time, the seconds until all applied.
    started = time.monotonic()
    _publish_updates(publisher, trackings, "acknowledged")
    _wait(lambda: _applied(store) >= updates, 120)
    one_node_s = time.monotonic() - started
    b = Child(broker, "node-b", "every-node", store.path, seconds=3600)
    started = time.monotonic()
    _publish_updates(publisher, trackings, "assigned")
    _wait(lambda: _applied(store) >= 2 * updates, 120)
    two_nodes_s = time.monotonic() - started
    # B dies; N more updates; A alone applies them; B's session keeps them for its return.
    b.kill()
    started = time.monotonic()
    _publish_updates(publisher, trackings, "in_progress")
    all_applied = _wait(lambda: _applied(store) >= 3 * updates, 120)
    survivor_s = time.monotonic() - started
    returned = Child(broker, "node-b", "every-node", store.path, seconds=2.0)
    back = returned.result()
    a.stop()
    link_a.stop()
    publisher.stop()
    rows = dict(store.conn.execute(
        "SELECT outcome, count(*) FROM report_status_updates GROUP BY outcome"))
    store.close()
    return {"updates": updates, "one_node_s": round(one_node_s, 2),
            "two_nodes_s": round(two_nodes_s, 2),
            "applied_after_kill": _count(rows, "applied") - 2 * updates,
            "all_applied_by_survivor": all_applied, "survivor_s": round(survivor_s, 2),
            "returned_node_outcomes": back, "store_outcomes": rows,
            "node_a_outcomes": a.outcomes}


def _count(rows: dict, outcome: str) -> int:
    return int(rows.get(outcome, 0))


def shared(broker: MosquittoBroker, mqtt: MqttConfig, folder: Path, updates: int) -> dict:
    publisher = MqttLink(mqtt, client_id="bench-office-share")
    publisher.start()
    publisher.wait_connected(10)
    got: list[InboundMessage] = []
    lock = threading.Lock()

    def keep(message: InboundMessage) -> None:
        with lock:
            got.append(message)

    link_a = _link(mqtt, "share-a")
    link_a.subscribe(contract.TOPIC_STATUS, keep, share=GROUP)
    link_a.start()
    _subscribed(link_a)
    b = Child(broker, "share-b", "shared", str(folder / "unused.db"), seconds=3600)
    b.kill()
    trackings = [f"T{i}" for i in range(updates)]
    _publish_updates(publisher, trackings, "acknowledged")
    # Whatever reaches A arrives at once; give it a few quiet seconds more.
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < 3.0:
        with lock:
            now_count = len(got)
        if now_count != last:
            last, quiet_since = now_count, time.monotonic()
        time.sleep(0.1)
    returned = Child(broker, "share-b", "shared", str(folder / "unused.db"), seconds=2.0)
    back = returned.result()
    link_a.stop()
    publisher.stop()
    return {"updates": updates, "reached_survivor": last,
            "kept_for_the_dead_node": updates - last,
            "delivered_when_it_returned": back["received"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("node")
    child.add_argument("--port", type=int, required=True)
    child.add_argument("--client-id", required=True)
    child.add_argument("--mode", choices=("every-node", "shared"), required=True)
    child.add_argument("--store", required=True)
    child.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--tiny", action="store_true",
                        help="100 updates, in seconds: the test suite runs it so the benchmark "
                             "keeps working")
    args = parser.parse_args()
    if args.command == "node":
        node(MqttConfig(host="127.0.0.1", port=args.port), args.client_id, args.mode,
             args.store, args.seconds)
        return
    updates = 100 if args.tiny else args.updates
    with tempfile.TemporaryDirectory(prefix="oasis-status-nodes-") as folder:
        broker = MosquittoBroker("/usr/sbin/mosquitto", Path(folder) / "mosquitto")
        broker.start()
        try:
            mqtt = replace(MqttConfig(), host=broker.host, port=broker.port)
            result = {"bench": "status-nodes",
                      "every_node": every_node(broker, mqtt, Path(folder), updates),
                      "shared": shared(broker, mqtt, Path(folder), updates), **machine()}
        finally:
            broker.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
