"""``oasis config ...`` end to end against the AP simulator."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from controller.cli.config_cmds import config as config_group
from controller.cli.context import CliContext
from netconfig import variables
from tests.netconfig.sim_fleet import SimLab


@pytest.fixture
def oasis(sim_lab: SimLab, config, tmp_path):
    toml = tmp_path / "cli.toml"
    toml.write_text(f"[store]\npath = '{config.store.path}'\nkey_file = "
                    f"'{config.store.key_file}'\n")

    @click.group()
    @click.pass_context
    def root(ctx):
        ctx.obj = CliContext(str(toml))
    root.add_command(config_group)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(root, ["config", *args], catch_exceptions=False)
    return invoke


def test_render_push_history_diff_and_jobs(sim_lab: SimLab, oasis):
    cisco = sim_lab.by_platform("cisco_aironet")[0]["name"]
    rendered = oasis("render", cisco)
    assert rendered.exit_code == 0 and "dot11 ssid Amanah WiFi\n vlan 10" in rendered.output
    dry = oasis("push", cisco, "--dry-run")
    assert dry.exit_code == 0 and "dry_run" in dry.output
    assert "  dot11 ssid Amanah WiFi" in dry.output
    pushed = oasis("push", "all", "--workers", "4")
    assert pushed.exit_code == 0, pushed.output
    assert "succeeded (6 ok, 0 failed, 0 skipped)" in pushed.output
    history = json.loads(oasis("history", cisco, "--json").output)
    assert [v["source"] for v in history] == ["post-push", "pre-push"]
    assert "+dot11 ssid Amanah WiFi" in oasis("diff", cisco, "1", "2").output
    assert oasis("diff", cisco).output.strip() == "(no difference)"
    assert "push" in oasis("jobs").output
    assert "pinned SHA256:" in oasis("hostkey", cisco).output


def test_invalid_variables_are_listed_by_field(sim_lab: SimLab, oasis, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("radios:\n  2g: {channel: 14, tx_power: 30}\n")
    site = sim_lab.aps[0]["site"]
    refused = oasis("vars", "set", "site", site, "--file", str(bad))
    assert refused.exit_code == 1, refused.output     # the same checks as the REST API
    assert "radios.2g.channel: channel 14 is not allowed" in refused.output
    assert variables.get_layer(sim_lab.store, sim_lab.box, "site", site) == {}
    # A layer stored before these checks (or written below the service) is still caught at
    # validate and push time.
    variables.set_layer(sim_lab.store, sim_lab.box, "site", site,
                        {"radios": {"2g": {"channel": 14, "tx_power": 30}}}, "test")
    result = oasis("validate", sim_lab.aps[0]["name"])
    assert result.exit_code == 1
    assert "radios.2g.channel: channel 14 is not allowed" in result.output
    assert "radios.2g.tx_power" in result.output


@pytest.mark.parametrize("layer, field", [
    ("ssids:\n  - {id: public, ssid: Amanah WiFi, vlan: 5000}\n", "ssids[0].vlan"),
    ("radios:\n  2g: {channel: 14}\n", "radios.2g.channel"),
    ("ssids:\n  - {id: public, ssid: " + "x" * 63 + "}\n", "ssids[0].ssid"),
    ("ssids:\n  - {id: public, ssid: Amanah WiFi, passphrase: '********', security: wpa2}\n",
     "ssids[0].passphrase"),
])
def test_vars_set_refuses_what_the_api_refuses(sim_lab: SimLab, oasis, tmp_path, layer, field):
    # These used to be stored from the shell, and every later push to the site then failed.
    site = sim_lab.aps[0]["site"]
    path = tmp_path / "layer.yaml"
    path.write_text(layer)
    result = oasis("vars", "set", "site", site, "--file", str(path))
    assert result.exit_code == 1 and field in result.output, result.output
    assert variables.get_layer(sim_lab.store, sim_lab.box, "site", site) == {}
    assert oasis("validate", sim_lab.aps[0]["name"]).exit_code == 0


def test_dry_run_prints_commands_with_the_passphrase_masked(sim_lab: SimLab, oasis, tmp_path):
    ap = sim_lab.by_platform("openwrt")[0]["name"]
    layer = tmp_path / "staff.yaml"
    layer.write_text("ssids:\n  - {id: staff, ssid: Amanah Staff, security: wpa2, "
                     "passphrase: amanah-staff-2026}\n")
    assert oasis("vars", "set", "ap", ap, "--file", str(layer)).exit_code == 0
    dry = oasis("push", ap, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "uci set wireless.staff_2g.key='********'" in dry.output
    assert "amanah-staff-2026" not in dry.output
