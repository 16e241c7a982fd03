"""A link that knows several brokers, against two real Mosquittos: it moves to the next one when
its broker dies, keeps its subscriptions, skips an address that does not answer, and says which
broker it is on."""

from __future__ import annotations

import logging
import queue
import time

import pytest

from core.config import MqttConfig
from core.health import link_check
from core.mqtt import MqttLink
from tests.mosquitto import MosquittoBroker
from tests.support import free_port, require_tool, wait_for
from tests.tls_certs import TestCA

TIMEOUT = 10.0


def address(broker) -> str:
    return f"{broker.host}:{broker.port}"


@pytest.fixture
def links():
    """Builds started links on a list of brokers and stops them all at the end of the test."""
    made: list[MqttLink] = []

    def make(brokers: list[str], client_id: str, **options) -> MqttLink:
        link = MqttLink(MqttConfig(brokers=brokers), client_id=client_id,
                        reconnect_min_s=0.1, reconnect_max_s=1.0, **options)
        made.append(link)
        link.start()
        return link

    yield make
    for link in made:
        link.stop()


def test_a_link_moves_to_the_next_broker_when_its_broker_dies(mosquitto_pair, links, caplog):
    a, b = mosquitto_pair
    both = [address(a), address(b)]
    # The receiver keeps a persistent session, as the back office and the forwarder do.
    receiver = links(both, "receiver", clean_start=False, session_expiry_s=300)
    sender = links(both, "sender")
    assert receiver.wait_connected(TIMEOUT) and sender.wait_connected(TIMEOUT)
    assert receiver.broker == sender.broker == address(a)
    received: queue.Queue = queue.Queue()
    subscription = receiver.subscribe("alerts/#", received.put)
    assert subscription.wait_active(TIMEOUT)
    assert sender.publish_json("alerts/p1", {"n": 1}, schema="alert/1").wait(TIMEOUT)
    assert received.get(timeout=TIMEOUT).payload["n"] == 1

    caplog.set_level(logging.INFO, logger="core.mqtt")
    a.kill()
    # Published while the sender may not have noticed yet: paho sends it again to B.
    during = sender.publish_json("alerts/p1", {"n": 2}, schema="alert/1")

    wait_for(lambda: receiver.connected and receiver.broker == address(b), TIMEOUT,
             what="the receiver on broker B")
    assert subscription.wait_active(TIMEOUT), "the subscription was not renewed on B"
    assert during.wait(TIMEOUT), during
    assert sender.broker == address(b)
    assert sender.publish_json("alerts/p1", {"n": 3}, schema="alert/1").wait(TIMEOUT)
    # "2" reached B perhaps before the receiver subscribed there (B acks it all the same: the
    # outbox and the spools resend what matters until its reader acks); "3" came after.
    numbers = [received.get(timeout=TIMEOUT).payload["n"]]
    while numbers[-1] != 3:
        numbers.append(received.get(timeout=TIMEOUT).payload["n"])
    assert numbers in ([3], [2, 3])

    health = receiver.health()
    assert health.connected and health.broker == address(b) and health.failovers == 1
    check = link_check(health)
    assert check.ok and check.detail["broker"] == address(b)
    assert check.detail["brokers"] == both
    assert any("failed over" in r.getMessage() and address(b) in r.getMessage()
               for r in caplog.records), "no log line says the link failed over to B"


def test_clients_stay_on_the_broker_that_works(mosquitto_pair, links):
    """Once on B, a link does not go back to A when A returns: every client meets on B."""
    a, b = mosquitto_pair
    link = links([address(a), address(b)], "sticky")
    assert link.wait_connected(TIMEOUT) and link.broker == address(a)
    a.kill()
    wait_for(lambda: link.connected and link.broker == address(b), TIMEOUT, what="on B")
    a.start()
    late = links([address(a), address(b)], "late")  # a client started now begins with A...
    assert late.wait_connected(TIMEOUT) and late.broker == address(a)
    assert link.broker == address(b) and link.connected  # ...the moved one is still on B
    b.kill()
    wait_for(lambda: link.connected and link.broker == address(a), TIMEOUT,
             what="back on A once B is gone")
    assert link.health().failovers == 2


def test_a_bad_address_in_the_list_is_skipped(mosquitto, links):
    # A refused port; a name that does not resolve takes the same path (paho's connect raises
    # an OSError either way) but would make the test wait on whatever DNS the machine has.
    refused = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    link = links([refused, address(mosquitto)], "skipper")

    assert link.wait_connected(TIMEOUT)
    assert link.broker == address(mosquitto)
    assert time.monotonic() - started < 5.0  # one quick failure and the backoff after it
    health = link.health()
    assert health.brokers == (refused, address(mosquitto))
    assert health.failovers == 0  # the first connection, not a move
    assert f"cannot reach the broker at {refused}" in (health.last_error or "")


def test_a_single_host_is_a_list_of_one(mosquitto):
    link = MqttLink(MqttConfig(host=mosquitto.host, port=mosquitto.port), client_id="one")
    assert link.brokers == [(mosquitto.host, mosquitto.port)]
    assert link.health().brokers == (address(mosquitto),)
    with pytest.raises(ValueError, match="no MQTT broker"):
        MqttLink(MqttConfig(), client_id="none")


def test_bridged_brokers_carry_messages_between_clients_on_either(tmp_path, mosquitto, links):
    """The deployment docs/mqtt.md recommends: B bridges ``oasis/#`` both ways to A, so a client
    that failed over to B and one that (re)started on A still hear each other."""
    a = mosquitto
    b = MosquittoBroker(require_tool("mosquitto"), tmp_path / "mosquitto-b", extra_config=(
        f"connection to-a\naddress {a.host}:{a.port}\ntopic oasis/# both 1\n"
        f"restart_timeout 1 1\ncleansession true\n"))
    b.start()
    try:
        both = [address(a), address(b)]
        gateway = links(both, "gateway")
        assert gateway.wait_connected(TIMEOUT) and gateway.broker == address(a)
        a.kill()
        wait_for(lambda: gateway.connected and gateway.broker == address(b), TIMEOUT,
                 what="the gateway on B")
        a.start()
        portal = links(both, "portal")
        assert portal.wait_connected(TIMEOUT) and portal.broker == address(a)
        to_gateway: queue.Queue = queue.Queue()
        to_portal: queue.Queue = queue.Queue()
        assert gateway.subscribe("gateway/g1/cmd", to_gateway.put).wait_active(TIMEOUT)
        assert portal.subscribe("gateway/g1/ack", to_portal.put).wait_active(TIMEOUT)

        def arrives(link: MqttLink, topic: str, inbox: queue.Queue) -> bool:
            # Until B's bridge has reconnected to the restarted A, a message finds no way.
            link.publish_json(topic, {}, schema="probe/1").wait(TIMEOUT)
            try:
                inbox.get(timeout=0.2)
                return True
            except queue.Empty:
                return False

        wait_for(lambda: arrives(portal, "gateway/g1/cmd", to_gateway), TIMEOUT,
                 what="A -> bridge -> B")
        assert arrives(gateway, "gateway/g1/ack", to_portal), "B -> bridge -> A"
    finally:
        b.stop()


def test_over_tls_each_broker_is_checked_under_its_own_name(tmp_path):
    """A's certificate names only ``localhost``, B's only ``127.0.0.1``: the link reaches B only
    if it checks B's certificate against B's address, not the first broker's name."""
    ca = TestCA(tmp_path / "pki")
    tls_brokers = []
    for name, host in (("a", "localhost"), ("b", "127.0.0.1")):
        server = ca.issue(f"broker-{name}", hosts=(host,))
        port = free_port()
        broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / f"mosquitto-{name}",
                                 extra_config=(f"listener {port} 127.0.0.1\ncafile {ca.path}\n"
                                               f"certfile {server.certificate}\n"
                                               f"keyfile {server.key}\n"))
        broker.start()
        tls_brokers.append((broker, f"{host}:{port}"))
    (a, on_a), (b, on_b) = tls_brokers
    try:
        link = MqttLink(MqttConfig(brokers=[on_a, on_b], tls=True, tls_ca_file=str(ca.path)),
                        client_id="tls-failover", reconnect_min_s=0.1, reconnect_max_s=1.0)
        link.start()
        try:
            assert link.wait_connected(TIMEOUT), link.health()
            assert link.broker == on_a
            a.kill()
            wait_for(lambda: link.connected and link.broker == on_b, TIMEOUT,
                     what=f"the link on B over TLS ({link.health().last_error})")
            assert link.publish_json("tls/x", {}, schema="probe/1").wait(TIMEOUT)
        finally:
            link.stop()
    finally:
        b.stop()
        a.stop()
