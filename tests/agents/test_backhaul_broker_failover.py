"""The branch agent's telemetry with several brokers: its link switching never waits on MQTT.

The agent only writes the spool (`TelemetrySender.send`); the sender thread and paho's network
thread do the waiting, here on a broker address whose connects hang for paho's whole connect
timeout before the link moves to the next broker.
"""

from __future__ import annotations

import queue
import time

from agents.backhaul.telemetry import Spool, TelemetrySender, new_event
from core.config import MqttConfig
from core.contracts.backhaul import EVENT_SCHEMA, event_topic
from core.mqtt import MqttLink
from tests.support import wait_for

TIMEOUT = 15.0


def test_events_spool_at_once_while_the_link_tries_a_hanging_broker(tmp_path, mosquitto,
                                                                      stuck_broker_address):
    up = f"{mosquitto.host}:{mosquitto.port}"
    watcher = MqttLink(MqttConfig(host=mosquitto.host, port=mosquitto.port), client_id="hq")
    received: queue.Queue = queue.Queue()
    subscription = watcher.subscribe("backhaul/#", received.put)
    watcher.start()
    sender = TelemetrySender(Spool(tmp_path / "spool.db"),
                             MqttConfig(brokers=[stuck_broker_address, up],
                                        client_id="oasis-backhaul-b1"))
    try:
        assert subscription.wait_active(TIMEOUT)
        sender.start()
        assert sender.link is not None
        started = time.monotonic()
        events = [new_event("b1", "failover", from_link="primary", to_link="backup")
                  for _ in range(20)]
        for event in events:
            sender.send(event_topic("b1"), EVENT_SCHEMA, event, retain=False)
        spooled_in = time.monotonic() - started
        assert not sender.link.connected, "the hanging broker answered"
        assert spooled_in < 0.5, f"sending 20 events took {spooled_in:.2f} s"

        got = [received.get(timeout=TIMEOUT).payload["id"] for _ in events]
        assert got == [event["id"] for event in events]  # in order, once each
        assert sender.link.broker == up
        assert f"cannot reach the broker at {stuck_broker_address}" in (
            sender.link.health().last_error or "")
        wait_for(lambda: sender.spool.pending() == 0, what="the spool drained (acked)")
    finally:
        sender.close()
        watcher.stop()
