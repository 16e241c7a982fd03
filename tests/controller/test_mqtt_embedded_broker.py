"""The embedded amqtt broker: paho (through core.mqtt) publishes and receives through it."""

from __future__ import annotations

import queue
import socket

import pytest
from amqtt.errors import BrokerError

from controller.broker import EmbeddedBroker, is_loopback
from core.config import MqttConfig
from core.mqtt import MqttLink
from tests.support import wait_for

TIMEOUT = 10.0


@pytest.fixture
def embedded():
    broker = EmbeddedBroker("127.0.0.1:0")
    broker.start()
    yield broker
    broker.stop()


def link_to(broker: EmbeddedBroker, client_id: str, host: str | None = None) -> MqttLink:
    config = MqttConfig(host=host or broker.host, port=broker.port)
    link = MqttLink(config, client_id=client_id, protocol=broker.link_protocol,
                    reconnect_min_s=0.1, reconnect_max_s=1.0)
    link.start()
    return link


def test_round_trip_through_embedded_broker(embedded):
    receiver, sender = link_to(embedded, "rx"), link_to(embedded, "tx")
    try:
        assert receiver.wait_connected(TIMEOUT) and sender.wait_connected(TIMEOUT)
        received: queue.Queue = queue.Queue()
        assert receiver.subscribe("reports/#", received.put).wait_active(TIMEOUT)

        delivery = sender.publish_json("reports/new", {"report": 1}, schema="report/1")

        assert delivery.wait(TIMEOUT), delivery
        message = received.get(timeout=TIMEOUT)
        assert message.topic == "reports/new"
        assert message.payload["report"] == 1 and message.payload["schema"] == "report/1"
    finally:
        receiver.stop()
        sender.stop()


def test_stop_closes_the_port_and_start_works_again():
    broker = EmbeddedBroker("127.0.0.1:0")
    broker.start()
    port = broker.port
    assert port and broker.running
    broker.stop()
    assert not broker.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    again = EmbeddedBroker(f"127.0.0.1:{port}")
    again.start()
    try:
        link = link_to(again, "second-life")
        assert link.wait_connected(TIMEOUT)
        link.stop()
    finally:
        again.stop()


def test_port_in_use_is_reported_to_the_caller(embedded):
    clash = EmbeddedBroker(f"127.0.0.1:{embedded.port}")
    # asyncio's start_server sets SO_REUSEADDR, not SO_REUSEPORT: a live listener still clashes.
    with pytest.raises(BrokerError, match="failed to start"):
        clash.start()
    assert not clash.running


def test_loopback_rule():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.10") and is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.1.2.3") and not is_loopback("::ffff:10.1.2.3")
    assert not is_loopback(None) and not is_loopback("not-an-address")


def _outward_address() -> str | None:
    """This machine's non-loopback address, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if is_loopback(address) else address


def test_clients_from_other_hosts_are_refused():
    address = _outward_address()
    if address is None:
        pytest.skip("no non-loopback address on this machine")
    broker = EmbeddedBroker("0.0.0.0:0")
    broker.start()
    outsider = link_to(broker, "outsider", host=address)
    insider = link_to(broker, "insider", host="127.0.0.1")
    try:
        assert insider.wait_connected(TIMEOUT)
        wait_for(lambda: outsider.last_connect_error, TIMEOUT, what="refusal of the outsider")
        assert not outsider.connected
    finally:
        outsider.stop()
        insider.stop()
        broker.stop()
