"""A controller-like MQTT subscriber to run inside a namespace: prints each message as a JSON line.

It keeps a persistent MQTT 5 session (fixed client id, clean_start false, session expiry), so a
broker with persistence queues QoS 1 messages for it while it reconnects, as the controller's
bridge would. Run as ``python -m tests.lab.mqtt_tap HOST PORT TOPIC_FILTER``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from core.config import MqttConfig
from core.mqtt import InboundMessage, MqttLink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mqtt_tap")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("topic", help="filter relative to the prefix, e.g. backhaul/#")
    parser.add_argument("--client-id", default="oasis-controller-tap")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    write_lock = threading.Lock()

    def show(message: InboundMessage) -> None:
        with write_lock:
            print(json.dumps({"topic": message.topic, "retained": message.retained,
                              "payload": message.payload}), flush=True)

    link = MqttLink(MqttConfig(host=args.host, port=args.port), client_id=args.client_id,
                    clean_start=False, session_expiry_s=600, reconnect_min_s=0.1,
                    reconnect_max_s=0.5)
    link.subscribe(args.topic, show, qos=1)
    link.start()
    stop.wait()
    link.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
