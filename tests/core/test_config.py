import re
import tomllib
from pathlib import Path

import pytest

from core.config import ConfigError, config_keys, load_config

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    path = tmp_path / "oasis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(env={})
    assert cfg.source == "defaults"
    assert cfg.snmp.down_after == 3 and cfg.mqtt.prefix == "oasis/"


def test_file_then_environment_precedence(tmp_path):
    path = write(tmp_path, "[snmp]\ninterval = 30\ntimeout = 1.5\n")
    cfg = load_config(path, env={"OASIS_SNMP_INTERVAL": "15", "OASIS_ADMIN_SECURE_COOKIES": "yes"})
    assert cfg.snmp.interval == 15.0  # environment beats the file
    assert cfg.snmp.timeout == 1.5    # the file beats the default
    assert cfg.admin.secure_cookies is True


def test_oasis_config_variable_names_the_file(tmp_path):
    path = write(tmp_path, "[apsim]\ncount = 7\n")
    assert load_config(env={"OASIS_CONFIG": str(path)}).apsim.count == 7


@pytest.mark.parametrize("text, needle", [
    ("[snmp]\ninterval = 'fast'\n", "snmp.interval"),
    ("[snmp]\nintervall = 5\n", "snmp.intervall: unknown key"),
    ("[smnp]\ninterval = 5\n", "unknown section [smnp]"),
    ("[snmp]\ndown_after = 0\n", "down_after"),
    ("[admin]\nlisten = 'localhost'\n", "listen"),
    ("[mqtt]\nprefix = 'oasis/#'\n", "prefix"),
    ("[apsim]\nfirst_address = '300.1.1.1'\n", "first_address"),
    ("[snmp\n", "not valid TOML"),
])
def test_errors_name_the_key_and_the_file(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_environment_error_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="OASIS_SNMP_RETRIES"):
        load_config(write(tmp_path, ""), env={"OASIS_SNMP_RETRIES": "many"})


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_example_config_is_complete_and_valid():
    example = ROOT / "oasis.example.toml"
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    assert {s: sorted(v) for s, v in data.items()} == {s: sorted(k) for s, k in config_keys().items()}
    load_config(example, env={})


def test_relative_paths_follow_the_config_file(tmp_path):
    cfg = load_config(write(tmp_path, "[store]\npath = 'db/x.db'\n"), env={})
    assert cfg.resolve_path(cfg.store.path) == tmp_path / "db" / "x.db"


def test_every_key_is_in_the_config_reference():
    reference = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    missing = [f"{section}.{key}" for section, keys in config_keys().items() for key in keys
               if section != "apsim" and f"`{section}.{key}`" not in reference
               and not re.search(rf"`{section}\.[^`]*\b{key}\b[^`]*`", reference)]
    assert not missing, f"docs/config.md does not describe {missing}"


def test_mqtt_brokers_list_or_one_host(tmp_path):
    listed = load_config(write(tmp_path, '[mqtt]\nbrokers = ["mq1.example:1883", '
                               '"[2001:db8::5]:8883", "mq3.example"]\nport = 1884\n'), env={})
    assert listed.mqtt.addresses() == [("mq1.example", 1883), ("2001:db8::5", 8883),
                                       ("mq3.example", 1884)]
    assert listed.mqtt.describe() == "mq1.example:1883, [2001:db8::5]:8883, mq3.example:1884"
    one = load_config(write(tmp_path, '[mqtt]\nhost = "mq.example"\nport = 8883\n'), env={})
    assert one.mqtt.addresses() == [("mq.example", 8883)]
    assert load_config(write(tmp_path, ""), env={}).mqtt.addresses() == []  # embedded broker
    from_env = load_config(write(tmp_path, ""), env={"OASIS_MQTT_BROKERS": "a:1883, b:1884"})
    assert from_env.mqtt.addresses() == [("a", 1883), ("b", 1884)]


@pytest.mark.parametrize("text, needle", [
    ('[mqtt]\nhost = "a"\nbrokers = ["b:1883"]\n', "host, brokers: set one of them"),
    ('[mqtt]\nbrokers = ["a:1883", "b:port"]\n', "brokers[1]: expected HOST:PORT"),
    ('[mqtt]\nbrokers = ["a:0"]\n', "brokers[0]: expected HOST:PORT with a port 1-65535"),
    ('[mqtt]\nbrokers = ["a:1883", "a:1883"]\n', "brokers[1]: a:1883 is listed twice"),
    ('[mqtt]\nbrokers = [""]\n', "brokers[0]: empty"),
    ('[mqtt]\nbrokers = [1883]\n', "expected a list of strings"),
])
def test_mqtt_brokers_errors_name_the_entry(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert needle in str(err.value) and str(path) in str(err.value)
