"""MQTT over TLS against a real Mosquitto TLS listener (certificates from a throwaway CA):
the link checks the broker's certificate against ``mqtt.tls_ca_file``, presents its own when
the broker asks for one, and reaches nothing when either side does not check out."""

from __future__ import annotations

import queue

import pytest

from core.config import ConfigError, MqttConfig, load_config
from core.mqtt import InboundMessage, MqttLink
from tests.mosquitto import MosquittoBroker
from tests.support import free_port, require_tool
from tests.tls_certs import TestCA

TIMEOUT = 10.0


@pytest.fixture
def pki(tmp_path):
    ca = TestCA(tmp_path / "pki")
    return ca, ca.issue("broker", hosts=("127.0.0.1", "localhost")), ca.issue(
        "gateway-gw1", client=True)


@pytest.fixture
def tls_broker(tmp_path, pki):
    ca, server, _ = pki
    tls_port = free_port()
    broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / "mosquitto", extra_config=f"""
listener {tls_port} 127.0.0.1
cafile {ca.path}
certfile {server.certificate}
keyfile {server.key}
tls_version tlsv1.2
require_certificate true
""")
    broker.start()
    yield broker, tls_port
    broker.stop()


def _link(port: int, client_id: str, **tls) -> MqttLink:
    config = MqttConfig(host="127.0.0.1", port=port, tls=True, client_id=client_id, **tls)
    config.validate()
    return MqttLink(config, reconnect_max_s=1.0)


def test_messages_go_both_ways_over_tls(tls_broker, pki):
    _, tls_port = tls_broker
    ca, _, client = pki
    files = {"tls_ca_file": str(ca.path), "tls_cert_file": str(client.certificate),
             "tls_key_file": str(client.key)}
    received: queue.Queue[InboundMessage] = queue.Queue()
    listener = _link(tls_port, "tls-listener", **files)
    sender = _link(tls_port, "tls-sender", **files)
    subscription = listener.subscribe("tls/test", received.put)
    try:
        for link in (listener, sender):
            link.start()
            assert link.wait_connected(TIMEOUT), link.health()
        assert subscription.wait_active(TIMEOUT)
        delivery = sender.publish_json("tls/test", {"hello": "over tls"}, schema="event/1")
        assert delivery.wait(TIMEOUT) and delivery.ok
        message = received.get(timeout=TIMEOUT)
        assert message.payload["hello"] == "over tls"
    finally:
        listener.stop()
        sender.stop()


@pytest.mark.parametrize("case", ["no client certificate", "another CA", "plain TCP"])
def test_nothing_connects_unless_both_sides_check_out(tls_broker, pki, tmp_path, case):
    broker, tls_port = tls_broker
    ca, _, client = pki
    if case == "no client certificate":
        link = _link(tls_port, "tls-anon", tls_ca_file=str(ca.path))
    elif case == "another CA":  # an impostor broker: its certificate is from a CA we don't know
        stranger = TestCA(tmp_path / "stranger", name="Someone else's CA")
        link = _link(tls_port, "tls-stranger", tls_ca_file=str(stranger.path),
                     tls_cert_file=str(client.certificate), tls_key_file=str(client.key))
    else:
        link = MqttLink(MqttConfig(host="127.0.0.1", port=tls_port, client_id="tls-plain"),
                        reconnect_max_s=1.0)
    try:
        link.start()
        assert not link.wait_connected(2.0)
        assert link.health().last_error  # what paho tells of the refusal differs by case
    finally:
        link.stop()
    # The plain listener of the same broker still answers: only the TLS side refused.
    plain = MqttLink(MqttConfig(host=broker.host, port=broker.port, client_id="tls-control"))
    try:
        plain.start()
        assert plain.wait_connected(TIMEOUT)
    finally:
        plain.stop()


def test_tls_files_are_checked_at_start_up(tmp_path):
    def load(mqtt: str):
        path = tmp_path / "oasis.toml"
        path.write_text(f"[mqtt]\nhost = \"broker\"\n{mqtt}\n")
        return load_config(path, env={})

    with pytest.raises(ConfigError, match="tls_ca_file: set tls = true"):
        load('tls_ca_file = "/etc/oasis/ca.pem"')
    with pytest.raises(ConfigError, match="tls_ca_file: must be an absolute path"):
        load('tls = true\ntls_ca_file = "ca.pem"')
    with pytest.raises(ConfigError, match="tls_cert_file, tls_key_file: set both"):
        load('tls = true\ntls_cert_file = "/etc/oasis/client.crt"')
    assert load('tls = true\ntls_ca_file = "/etc/oasis/ca.pem"').mqtt.tls_ca_file == \
        "/etc/oasis/ca.pem"
