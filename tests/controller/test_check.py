"""``oasis check`` against a real Mosquitto, a refused port, a missing store, a wrong key file
and an SMS provider that does not answer: each failure is named, and the exit code says it."""

from __future__ import annotations

import subprocess
import time

import pytest
from click.testing import CliRunner

from captive_portal.config import PortalConfig
from captive_portal.gateways import register_gateway
from captive_portal.sessions import Sessions
from controller.cli import cli
from core.contracts.signature import ClientClaim
from core.secrets import SecretBox
from core.store import Store
from tests.mosquitto import MosquittoBroker
from tests.support import free_port, require_tool
from tests.tls_certs import TestCA


def write_config(tmp_path, *, broker_port: int, extra: str = "") -> str:
    path = tmp_path / "oasis.toml"
    path.write_text(f'[store]\npath = "oasis.db"\nkey_file = "oasis.key"\n\n'
                    f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\n{extra}')
    return str(path)


def check(config_path: str, *args: str, timeout: float = 3):
    result = CliRunner().invoke(cli, ["--config", config_path, "check", "--timeout",
                                      str(timeout), *args])
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.strip()}
    return result, lines


@pytest.fixture
def migrated(tmp_path):
    """A store and key file in tmp_path, as `oasis migrate` leaves them, with one gateway."""
    store = Store(tmp_path / "oasis.db")
    box = SecretBox.from_key_file(tmp_path / "oasis.key")
    register_gateway(store, box, "gw-north", "North park")
    yield store
    store.close()


def heard_from(store: Store, gateway_id: str, at: float) -> None:
    """A login the gateway acked at ``at``."""
    sessions = Sessions(store, clock=lambda: at)
    claim = ClientClaim(gateway_id, "02:00:00:00:00:01", "10.0.0.5", "http://example.org/",
                        int(at))
    sessions.activate(sessions.open(claim, "terms", None, "ar", PortalConfig()).id)


def test_every_peer_reached_is_ok_and_exit_zero(tmp_path, mosquitto, migrated):
    heard_from(migrated, "gw-north", time.time() - 60)
    result, lines = check(write_config(tmp_path, broker_port=mosquitto.port))
    assert result.exit_code == 0, result.output
    assert lines["config"].startswith("ok")
    assert lines["store"].startswith("ok") and "portal" in lines["store"]
    assert lines["keys"].startswith("ok") and "decrypts" in lines["keys"]
    assert lines["broker"].startswith("ok")
    assert f"127.0.0.1:{mosquitto.port}" in lines["broker"]
    assert "connection accepted" in lines["broker"]
    assert lines["gateway"].startswith("ok") and "gw-north (North park): last heard" in \
        lines["gateway"]


def test_refused_broker_port_fails_naming_host_port_and_keys(tmp_path, migrated):
    port = free_port()
    result, lines = check(write_config(tmp_path, broker_port=port))
    assert result.exit_code == 1
    assert lines["broker"].startswith("FAIL")
    assert f"127.0.0.1:{port} ([mqtt] host, port)" in lines["broker"]
    assert "refused" in lines["broker"].lower()
    assert lines["store"].startswith("ok")  # the other checks still ran
    assert "1 check failed" in result.stderr


def test_broker_stopped_after_start_is_caught(tmp_path, mosquitto, migrated):
    config = write_config(tmp_path, broker_port=mosquitto.port)
    assert check(config)[0].exit_code == 0
    mosquitto.stop()
    result, lines = check(config)
    assert result.exit_code == 1 and lines["broker"].startswith("FAIL")


def test_broker_refusing_the_credentials_fails_naming_them(tmp_path, migrated):
    passwd = tmp_path / "passwd"
    passwd.write_text("")
    subprocess.run([require_tool("mosquitto_passwd"), "-b", str(passwd), "controller", "right"],
                   check=True, capture_output=True)
    broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / "auth-broker",
                             extra_config=f"password_file {passwd}\n")
    broker.start()
    try:
        wrong = '\nusername = "controller"\npassword = "wrong"\n'
        result, lines = check(write_config(tmp_path, broker_port=broker.port, extra=wrong),
                              timeout=1)
        assert result.exit_code == 1
        assert lines["broker"].startswith("FAIL")
        assert "refused the connection" in lines["broker"]
        assert "[mqtt] username, password" in lines["broker"]
        assert "wrong" not in result.output  # never the password
        right = '\nusername = "controller"\npassword = "right"\n'
        result, lines = check(write_config(tmp_path, broker_port=broker.port, extra=right))
        assert result.exit_code == 0, result.output
        assert lines["broker"].startswith("ok")
    finally:
        broker.stop()


def test_quiet_and_silent_gateways_warn_without_failing(tmp_path, mosquitto, migrated):
    box = SecretBox.from_key_file(tmp_path / "oasis.key")
    register_gateway(migrated, box, "gw-south")
    heard_from(migrated, "gw-north", time.time() - 3 * 86400)
    result, _ = check(write_config(tmp_path, broker_port=mosquitto.port), "--gateway-quiet", "24")
    assert result.exit_code == 0, result.output
    gateways = [line for line in result.stdout.splitlines() if line.split()[1] == "gateway"]
    assert gateways[0].startswith("WARN") and "gw-north (North park): last heard" in gateways[0]
    assert "3 days ago" in gateways[0]
    assert gateways[1].startswith("WARN") and "gw-south: never heard from" in gateways[1]


def test_missing_store_and_key_file_fail_and_nothing_is_created(tmp_path, mosquitto):
    result, lines = check(write_config(tmp_path, broker_port=mosquitto.port))
    assert result.exit_code == 1
    assert lines["store"].startswith("FAIL") and "oasis migrate" in lines["store"]
    assert str(tmp_path / "oasis.db") in lines["store"]
    assert lines["keys"].startswith("FAIL") and "[store] key_file" in lines["keys"]
    assert not (tmp_path / "oasis.db").exists() and not (tmp_path / "oasis.key").exists()


def test_a_key_file_of_another_store_fails(tmp_path, mosquitto, migrated):
    (tmp_path / "other").mkdir()
    other = SecretBox.from_key_file(tmp_path / "other" / "oasis.key")
    assert other  # a valid key, just not this store's
    (tmp_path / "oasis.key").write_bytes((tmp_path / "other" / "oasis.key").read_bytes())
    result, lines = check(write_config(tmp_path, broker_port=mosquitto.port))
    assert result.exit_code == 1
    assert lines["keys"].startswith("FAIL") and "gw-north" in lines["keys"]


def test_sms_provider_unreachable_fails(tmp_path, mosquitto, migrated):
    port = free_port()
    extra = f'\n[sms]\ndriver = "http"\nurl = "http://127.0.0.1:{port}/send"\n'
    result, lines = check(write_config(tmp_path, broker_port=mosquitto.port, extra=extra))
    assert result.exit_code == 1
    assert lines["sms"].startswith("FAIL") and f"127.0.0.1:{port}" in lines["sms"]
    assert "[sms] url" in lines["sms"]


def test_an_unreachable_kannel_smsbox_fails(tmp_path, mosquitto, migrated):
    port = free_port()
    extra = (f'\n[sms]\ndriver = "kannel"\nurl = "http://127.0.0.1:{port}/cgi-bin/sendsms"\n'
             'callback_url = "http://127.0.0.1:8080"\nhook_secret = "0123456789abcdef"\n')
    result, lines = check(write_config(tmp_path, broker_port=mosquitto.port, extra=extra))
    assert result.exit_code == 1
    assert lines["sms"].startswith("FAIL") and f"127.0.0.1:{port}" in lines["sms"]


def test_invalid_config_names_the_key_and_exits_non_zero(tmp_path):
    path = tmp_path / "oasis.toml"
    path.write_text("[mqtt]\nport = 70000\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code != 0
    assert "[mqtt] port" in result.output and str(path) in result.output


@pytest.fixture
def tls_broker(tmp_path):
    """A Mosquitto TLS listener with a certificate from a throwaway CA."""
    ca = TestCA(tmp_path / "pki")
    server = ca.issue("broker", hosts=("127.0.0.1", "localhost"))
    tls_port = free_port()
    broker = MosquittoBroker(require_tool("mosquitto"), tmp_path / "tls-broker", extra_config=(
        f"listener {tls_port} 127.0.0.1\ncafile {ca.path}\ncertfile {server.certificate}\n"
        f"keyfile {server.key}\ntls_version tlsv1.2\n"))
    broker.start()
    yield ca, tls_port
    broker.stop()


def test_tls_broker_with_its_ca_is_ok_and_another_ca_fails_naming_it(tmp_path, migrated,
                                                                        tls_broker):
    ca, tls_port = tls_broker
    trusted = f'\ntls = true\ntls_ca_file = "{ca.path}"\n'
    result, lines = check(write_config(tmp_path, broker_port=tls_port, extra=trusted))
    assert result.exit_code == 0, result.output
    assert lines["broker"].startswith("ok") and "TLS" in lines["broker"]
    stranger = TestCA(tmp_path / "stranger", name="Someone else's CA")
    untrusted = f'\ntls = true\ntls_ca_file = "{stranger.path}"\n'
    result, lines = check(write_config(tmp_path, broker_port=tls_port, extra=untrusted))
    assert result.exit_code == 1
    assert lines["broker"].startswith("FAIL")
    assert "certificate is not trusted" in lines["broker"]
    assert "[mqtt] tls_ca_file" in lines["broker"]


def test_each_of_several_brokers_is_checked(tmp_path, mosquitto, migrated):
    up, down = f"127.0.0.1:{mosquitto.port}", f"127.0.0.1:{free_port()}"
    path = tmp_path / "oasis.toml"
    path.write_text(f'[store]\npath = "oasis.db"\nkey_file = "oasis.key"\n\n'
                    f'[mqtt]\nbrokers = ["{down}", "{up}"]\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "check", "--timeout", "3"])
    brokers = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["broker"]]
    assert len(brokers) == 2, result.output
    assert brokers[0].startswith("WARN") and f"{down} ([mqtt] brokers)" in brokers[0]
    assert "clients use the other broker(s)" in brokers[0]
    assert brokers[1].startswith("ok") and f"{up} ([mqtt] brokers)" in brokers[1]
    assert result.exit_code == 0, result.output  # a warning: the clients fail over

    mosquitto.stop()
    result = CliRunner().invoke(cli, ["--config", str(path), "check", "--timeout", "3"])
    brokers = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["broker"]]
    assert [line.split()[0] for line in brokers] == ["FAIL", "FAIL"], result.output
    assert result.exit_code == 1
