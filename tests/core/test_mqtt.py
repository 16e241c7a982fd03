"""The MQTT adapter against a real Mosquitto: connect, round trips, reconnects, reason codes."""

from __future__ import annotations

import logging
import queue
import subprocess
import threading

import pytest

from core.config import MqttConfig
from core.mqtt import MAX_DEPTH, MqttLink, PayloadRejected, decode_payload
from tests.mosquitto import MosquittoBroker
from tests.support import require_tool, wait_for

TIMEOUT = 10.0


@pytest.fixture
def links():
    """Builds started links to a broker and stops them all at the end of the test."""
    made: list[MqttLink] = []

    def make(broker, *, client_id: str, prefix: str = "oasis/", username: str = "",
             password: str = "", wait: bool = True) -> MqttLink:
        config = MqttConfig(host=broker.host, port=broker.port, prefix=prefix,
                            username=username, password=password)
        link = MqttLink(config, client_id=client_id, reconnect_min_s=0.1, reconnect_max_s=1.0)
        made.append(link)
        link.start()
        if wait:
            assert link.wait_connected(TIMEOUT), f"{client_id} did not connect"
        return link

    yield make
    for link in made:
        link.stop()


def collector(link: MqttLink, topic_filter: str):
    """Subscribe and return (subscription, queue of InboundMessage)."""
    received: queue.Queue = queue.Queue()
    subscription = link.subscribe(topic_filter, received.put)
    assert subscription.wait_active(TIMEOUT), f"subscription {topic_filter} not granted"
    return subscription, received


def test_round_trip_adds_schema_and_timestamp(mosquitto, links):
    receiver = links(mosquitto, client_id="receiver")
    sender = links(mosquitto, client_id="sender")
    _, received = collector(receiver, "alerts/#")

    delivery = sender.publish_json("alerts/park-01", {"kind": "ap_down"}, schema="alert/1")

    assert delivery.wait(TIMEOUT), delivery
    message = received.get(timeout=TIMEOUT)
    assert message.topic == "alerts/park-01"
    assert message.payload["schema"] == "alert/1"
    assert message.payload["kind"] == "ap_down"
    assert message.payload["sent_at"].endswith("+00:00")
    assert message.qos == 1 and not message.retained


def test_prefix_scopes_topics(mosquitto, links):
    other = links(mosquitto, client_id="other", prefix="elsewhere/")
    ours = links(mosquitto, client_id="ours")
    _, received = collector(ours, "events/#")

    assert other.publish_json("events/x", {"n": 1}, schema="event/1").wait(TIMEOUT)
    assert ours.publish_json("events/y", {"n": 2}, schema="event/1").wait(TIMEOUT)

    assert received.get(timeout=TIMEOUT).payload["n"] == 2
    assert received.empty()
    assert ours.topic("events/y") == "oasis/events/y"


def test_no_matching_subscribers_is_success(mosquitto, links):
    sender = links(mosquitto, client_id="lonely")
    delivery = sender.publish_json("nobody/listens", {}, schema="test/1")
    assert delivery.wait(TIMEOUT)
    assert "0x10" in delivery.reason


def test_broker_refusal_is_a_failed_delivery(tmp_path, links):
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite oasis/allowed/#\n")
    broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / "acl-broker",
                             extra_config=f"acl_file {acl}\n")
    broker.start()
    try:
        sender = links(broker, client_id="restricted")
        refused = sender.publish_json("forbidden/x", {}, schema="test/1")
        allowed = sender.publish_json("allowed/x", {}, schema="test/1")
        assert allowed.wait(TIMEOUT), allowed
        assert not refused.wait(TIMEOUT)
        assert refused.done and refused.ok is False
        assert "0x87" in refused.reason
    finally:
        broker.stop()


def test_every_ack_reaches_its_delivery_even_before_publish_returns(mosquitto, links):
    sender = links(mosquitto, client_id="burst")
    deliveries = [sender.publish_json("burst", {"n": n}, schema="test/1") for n in range(2000)]
    assert all(d.wait(TIMEOUT) for d in deliveries)
    assert len({d.mid for d in deliveries}) == len(deliveries)


def test_ack_processed_before_publish_returns_still_resolves(mosquitto, links):
    """Force paho's race: the PUBACK is handled before publish() hands back the message id."""
    sender = links(mosquitto, client_id="racer")
    client = sender._client
    acked = threading.Event()
    real_on_publish, real_publish = client.on_publish, client.publish

    def on_publish(*args):
        real_on_publish(*args)
        acked.set()

    def publish_returning_late(*args, **kwargs):
        info = real_publish(*args, **kwargs)
        assert acked.wait(TIMEOUT), "broker never acked"
        return info

    client.on_publish = on_publish
    client.publish = publish_returning_late
    delivery = sender.publish_json("race", {}, schema="test/1")
    assert delivery.done, "early ack was lost"
    assert delivery.ok


def test_bad_json_and_failing_handler_do_not_stop_the_loop(mosquitto, links, caplog):
    receiver = links(mosquitto, client_id="tolerant")
    sender = links(mosquitto, client_id="noisy")
    received: queue.Queue = queue.Queue()

    def handler(message):
        if message.payload.get("explode"):
            raise RuntimeError("handler bug")
        received.put(message)

    assert receiver.subscribe("in/#", handler).wait_active(TIMEOUT)
    with caplog.at_level(logging.WARNING, logger="core.mqtt"):
        assert sender.publish_raw("in/a", b"{not json").wait(TIMEOUT)
        assert sender.publish_raw("in/a", b"\xff\xfe").wait(TIMEOUT)
        assert sender.publish_json("in/a", {"explode": True}, schema="test/1").wait(TIMEOUT)
        assert sender.publish_json("in/a", {"n": 1}, schema="test/1").wait(TIMEOUT)
        assert received.get(timeout=TIMEOUT).payload["n"] == 1
    assert received.empty()
    # The first drop is logged; the next within the interval only counted.
    assert caplog.text.count("dropped message") == 1
    assert "not JSON" in caplog.text
    assert "handler bug" in caplog.text
    health = receiver.health()
    assert (health.dropped, health.handler_errors, health.loop_restarts) == (2, 1, 0)


@pytest.mark.parametrize("hard", [True, False], ids=["sigkill", "sigterm"])
def test_resubscribes_after_broker_restart(mosquitto, links, hard):
    receiver = links(mosquitto, client_id="steady")
    subscription, received = collector(receiver, "status/#")

    mosquitto.restart(hard=hard)

    assert subscription.wait_active(TIMEOUT), "not re-subscribed after restart"
    assert receiver.connections == 2
    sender = links(mosquitto, client_id="after-restart")
    assert sender.publish_json("status/1", {"n": 1}, schema="test/1").wait(TIMEOUT)
    assert received.get(timeout=TIMEOUT).payload["n"] == 1


def test_connects_once_the_broker_appears(tmp_path, links):
    broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / "late")
    link = links(broker, client_id="early", wait=False)
    assert not link.connected
    broker.start()
    try:
        assert link.wait_connected(TIMEOUT)
    finally:
        broker.stop()


def test_message_published_while_away_is_sent_after_reconnect(mosquitto, links):
    """paho queues QoS 1 while disconnected; a persistent session keeps the receiver's share."""
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    receiver = MqttLink(config, client_id="durable", clean_start=False, session_expiry_s=300,
                        reconnect_min_s=0.1, reconnect_max_s=1.0)
    receiver.start()
    try:
        assert receiver.wait_connected(TIMEOUT)
        subscription, received = collector(receiver, "queued/#")
        sender = links(mosquitto, client_id="talker")
        mosquitto.stop()
        wait_for(lambda: not sender.connected and not receiver.connected, TIMEOUT,
                 what="links to notice the broker is gone")

        delivery = sender.publish_json("queued/1", {"n": 7}, schema="test/1")
        assert not delivery.done
        mosquitto.start()

        assert delivery.wait(TIMEOUT), delivery
        assert received.get(timeout=TIMEOUT).payload["n"] == 7
        assert subscription.wait_active(TIMEOUT)
    finally:
        receiver.stop()


def test_password_is_never_logged(tmp_path, links, caplog):
    password = "s3cret-park-pass"
    passwd = tmp_path / "passwd"
    passwd.write_text("")
    subprocess.run([require_tool("mosquitto_passwd"), "-b", str(passwd), "controller", "right"],
                   check=True, capture_output=True)
    broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / "auth-broker",
                             extra_config=f"password_file {passwd}\n")
    broker.start()
    try:
        with caplog.at_level(logging.DEBUG):
            link = links(broker, client_id="wrong-pass", username="controller",
                         password=password, wait=False)
            assert not link.wait_connected(1.0)
            assert link.last_connect_error is not None
            assert "authoriz" in link.last_connect_error.lower() or \
                "password" in link.last_connect_error.lower()
        assert password not in caplog.text
        assert password not in repr(link)
    finally:
        broker.stop()


def test_topic_matching_agrees_with_paho():
    import itertools

    import paho.mqtt.client as paho

    from core.mqtt import topic_matches

    filters = ["#", "+", "a/#", "a/+", "a/b", "+/b", "a/+/c", "+/+", "a/b/#", "$SYS/#", "+/#",
               "oasis/gateway/+/ack", "/+", "a//c", "a/+/+/#"]
    topics = ["a", "a/b", "a/b/c", "b/b", "a//c", "/a", "$SYS/broker", "$SYS", "a/b/c/d",
              "oasis/gateway/gw1/ack", "oasis/gateway/gw1/ack/x", "", "a/"]
    for topic_filter, topic in itertools.product(filters, topics):
        expected = paho.topic_matches_sub(topic_filter, topic)
        got = topic_matches(tuple(topic_filter.split("/")), topic.split("/"))
        assert got == expected, (topic_filter, topic)


def test_a_shared_subscription_hands_each_message_to_one_member(mosquitto, links):
    workers = [links(mosquitto, client_id=f"worker-{n}") for n in range(2)]
    received: queue.Queue = queue.Queue()
    for worker in workers:
        subscription = worker.subscribe("gateway/+/accounting",
                                        lambda m, w=worker.client_id: received.put((w, m)),
                                        share="portal")
        assert subscription.topic_filter == "$share/portal/oasis/gateway/+/accounting"
        assert subscription.wait_active(TIMEOUT)
    sender = links(mosquitto, client_id="gateway")
    for n in range(20):
        assert sender.publish_json(f"gateway/gw{n}/accounting", {"n": n},
                                   schema="t/1").wait(TIMEOUT)
    got = [received.get(timeout=TIMEOUT) for _ in range(20)]
    assert sorted(m.payload["n"] for _, m in got) == list(range(20))  # each once
    assert {m.topic for _, m in got} == {f"gateway/gw{n}/accounting" for n in range(20)}
    with pytest.raises(queue.Empty):
        received.get(timeout=0.5)


# -- no message stops a link ---------------------------------------------------------------------

POISON = {
    "100,000 nested arrays": b"[" * 100_000,
    "100,000 nested objects": b'{"a":' * 100_000,
    "an integer of 5,000 digits": b'{"n": ' + b"9" * 5000 + b"}",
    "NaN": b'{"n": NaN}',
    "Infinity": b"[Infinity]",
    "nested deeper than the limit": b"[" * 40 + b"]" * 40,
    "2 MB": b'{"s": "' + b"x" * 2_000_000 + b'"}',
    "invalid UTF-8": b'{"s": "\xc3\x28"}',
    "a lone surrogate as UTF-8": b'{"s": "\xed\xa0\x80"}',
    "an escaped lone surrogate": b'{"s": "\\ud800"}',
    "truncated": b'{"a": [1, 2',
    "empty": b"",
}


@pytest.mark.parametrize("data", POISON.values(), ids=POISON.keys())
def test_decode_payload_refuses_what_could_hurt(data):
    with pytest.raises(PayloadRejected):
        decode_payload(data)


def test_decode_payload_keeps_odd_but_valid_json():
    assert decode_payload(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None  # at the limit
    assert decode_payload(b'{"n": ' + b"9" * 4000 + b"}")["n"] > 10 ** 3999
    assert decode_payload(b"1e400") == float("inf")  # a number, not a constant
    assert decode_payload(b'"\\ud83d\\ude00"') == "\U0001f600"  # a whole pair is fine
    for odd in (b"null", b'"text"', b"[]", b"3", b"true"):
        decode_payload(odd)


def test_no_payload_stops_the_link(mosquitto, links, caplog):
    """Each poison payload is dropped and counted; the link keeps delivering after all of them,
    with one warning for the lot (rate-limited)."""
    receiver = links(mosquitto, client_id="sturdy")
    sender = links(mosquitto, client_id="attacker")
    _, received = collector(receiver, "gateway/+/ack")
    with caplog.at_level(logging.WARNING, logger="core.mqtt"):
        for data in POISON.values():
            assert sender.publish_raw("gateway/gw1/ack", data).wait(TIMEOUT)
        assert sender.publish_json("gateway/gw1/ack", {"n": 1}, schema="t/1").wait(TIMEOUT)
        assert received.get(timeout=TIMEOUT).payload["n"] == 1
    assert received.empty()
    health = receiver.health()
    assert health.connected and health.loop_restarts == 0
    assert (health.received, health.dropped) == (len(POISON) + 1, len(POISON))
    assert caplog.text.count("dropped message") == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_network_loop_restarts_if_its_thread_ends(mosquitto, links, caplog):
    """Whatever ends paho's network thread (here an exception no handler guard catches), the
    link notices, restarts the loop on a fresh connection and keeps delivering."""

    class Fatal(BaseException):
        pass

    receiver = links(mosquitto, client_id="phoenix")
    received: queue.Queue = queue.Queue()
    fatal = threading.Event()

    def handler(message):
        if message.payload.get("fatal") and not fatal.is_set():
            fatal.set()
            raise Fatal("ends the thread")
        received.put(message)

    subscription = receiver.subscribe("in/#", handler)
    assert subscription.wait_active(TIMEOUT)
    first_thread = receiver._network_thread()
    sender = links(mosquitto, client_id="sender")
    with caplog.at_level(logging.ERROR, logger="core.mqtt"):
        assert sender.publish_json("in/a", {"fatal": True}, schema="t/1").wait(TIMEOUT)
        wait_for(lambda: receiver.loop_restarts == 1, TIMEOUT, what="the loop to restart")
    assert receiver.wait_connected(TIMEOUT) and subscription.wait_active(TIMEOUT)
    assert receiver._network_thread() not in (None, first_thread)
    assert sender.publish_json("in/a", {"n": 2}, schema="t/1").wait(TIMEOUT)
    assert received.get(timeout=TIMEOUT).payload["n"] == 2
    health = receiver.health()
    assert health.connected and health.loop_restarts == 1
    assert "network loop" in (health.last_error or "")
    assert "ended unexpectedly" in caplog.text


def test_health_says_when_the_broker_went_away_and_came_back(mosquitto, links):
    link = links(mosquitto, client_id="watched")
    up = link.health()
    assert up.connected and up.last_error is None
    assert up.broker == f"{mosquitto.host}:{mosquitto.port}"

    mosquitto.stop()
    wait_for(lambda: not link.connected, TIMEOUT, what="the link to notice")
    down = link.health()
    assert not down.connected and down.since >= up.since
    assert down.last_error and down.last_error_at

    mosquitto.start()
    assert link.wait_connected(TIMEOUT)
    back = link.health()
    assert back.connected and back.since >= down.since
    assert back.last_error == down.last_error  # the last error stays on record
    assert back.as_dict()["since"].endswith("+00:00")
