import datetime as dt
import json

import pytest
from click.testing import CliRunner

from controller.cli import cli


@pytest.fixture
def run(tmp_path):
    cfg = tmp_path / "oasis.toml"
    cfg.write_text("[store]\npath = 'oasis.db'\nkey_file = 'oasis.key'\n")
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--config", str(cfg), *args], input=input,
                             catch_exceptions=False)
    return invoke


def test_site_and_ap_lifecycle(run, tmp_path):
    assert run("site", "add", "kap", "--name-ar", "متنزه", "--name-en", "Park",
               "--kind", "park").exit_code == 0
    result = run("ap", "add", "KAP-AP-01", "--mac", "02:00:00:00:00:01", "--ip", "127.0.1.1",
                 "--site", "kap", "--snmp-version", "3", "--snmp-user", "oasis",
                 input="auth-pass-1\npriv-pass-1\n")
    assert result.exit_code == 0, result.output
    shown = json.loads(run("ap", "show", "KAP-AP-01").output)
    assert shown["snmp_auth_key_set"] and "auth-pass-1" not in run("ap", "show", "1").output
    listed = json.loads(run("ap", "list", "--json").output)
    assert [a["name"] for a in listed] == ["KAP-AP-01"]
    assert run("ap", "remove", "KAP-AP-01", "--yes").exit_code == 0
    assert json.loads(run("ap", "list", "--json").output) == []


def test_duplicate_and_unknown_site_are_clear_errors(run):
    run("site", "add", "kap", "--name-ar", "م", "--name-en", "P", "--kind", "park")
    run("ap", "add", "A1", "--mac", "02:00:00:00:00:01", "--ip", "127.0.1.1", "--site", "kap")
    dup = run("ap", "add", "A2", "--mac", "02:00:00:00:00:01", "--ip", "127.0.1.2", "--site", "kap")
    assert dup.exit_code != 0 and "already used by AP A1" in dup.output
    nosite = run("ap", "add", "A3", "--mac", "02:00:00:00:00:03", "--ip", "127.0.1.3",
                 "--site", "nope")
    assert nosite.exit_code != 0 and "site 'nope' does not exist" in nosite.output


def test_import_yaml_and_csv(run, tmp_path):
    run("site", "add", "aw", "--name-ar", "ممشى", "--name-en", "Walkway", "--kind", "walkway")
    yml = tmp_path / "aps.yaml"
    yml.write_text("aps:\n" + "".join(
        f"  - {{name: AW-AP-{i:02d}, mac: '02:00:00:00:02:{i:02x}', mgmt_ip: 127.0.3.{i}, "
        f"site: aw, platform: openwrt}}\n" for i in range(1, 31)))
    result = run("ap", "import", str(yml))
    assert result.exit_code == 0 and "imported 30 APs" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,mac,mgmt_ip,site\nB1,02:00:00:00:03:01,127.0.4.1,aw\n"
                   "B2,02:00:00:00:02:01,127.0.4.2,aw\n")
    result = run("ap", "import", str(bad))
    assert result.exit_code != 0 and "row 2 [mac]" in result.output
    assert len(json.loads(run("ap", "list", "--json").output)) == 30


def test_config_error_names_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[snmp]\ntimeout = -1\n")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "site", "list"])
    assert result.exit_code != 0 and "timeout" in result.output and "bad.toml" in result.output


def test_users_and_tokens(run):
    assert run("user", "add", "eng", "--role", "operator", "--password",
               "a-long-password").exit_code == 0
    token = run("token", "create", "eng", "--name", "ci").output.strip()
    assert token.startswith("oasis_")
    listed = json.loads(run("user", "list", "--json").output)
    assert listed[0]["role"] == "operator"


def test_listed_times_read_as_iso_8601(run):
    run("site", "add", "kap", "--name-ar", "م", "--name-en", "P", "--kind", "park")
    run("ap", "add", "A1", "--mac", "02:00:00:00:00:01", "--ip", "127.0.1.1", "--site", "kap")
    for shown in (json.loads(run("site", "list", "--json").output)[0],
                  json.loads(run("ap", "list", "--json").output)[0],
                  json.loads(run("ap", "show", "A1").output)):
        for key in ("created_at", "updated_at"):
            assert dt.datetime.fromisoformat(shown[key]).utcoffset() == dt.timedelta(0), key
            assert shown[key].endswith("+00:00") and "." not in shown[key], key


def test_nightly_backup_of_an_empty_inventory_is_not_a_failure(run):
    result = run("config", "backup", "all")
    assert result.exit_code == 0, result.output
    assert "nothing to back up" in result.output
    missing = run("config", "backup", "site:nowhere")
    assert missing.exit_code != 0  # a named target still has to exist


def test_an_ap_is_placed_for_the_map_by_add_and_import(run, tmp_path):
    run("site", "add", "kap", "--name-ar", "متنزه", "--name-en", "Park", "--kind", "park")
    added = run("ap", "add", "A1", "--mac", "02:00:00:00:00:01", "--ip", "127.0.1.1",
                "--site", "kap", "--lat", "25.4125", "--lon", "49.6156")
    assert added.exit_code == 0, added.output
    half = run("ap", "add", "A9", "--mac", "02:00:00:00:00:09", "--ip", "127.0.1.9",
               "--site", "kap", "--lat", "25.4")
    assert half.exit_code != 0 and "lat and lon" in half.output
    rows = tmp_path / "aps.csv"
    rows.write_text("name,mac,mgmt_ip,site,lat,lon\nA2,02:00:00:00:00:02,127.0.1.2,kap,"
                    "25.4130,49.6160\n", encoding="utf-8")
    assert run("ap", "import", str(rows)).exit_code == 0
    placed = {a["name"]: (a["lat"], a["lon"]) for a in json.loads(run("ap", "list", "--json").output)}
    assert placed == {"A1": (25.4125, 49.6156), "A2": (25.413, 49.616)}
