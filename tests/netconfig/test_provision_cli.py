"""``oasis config ...`` end to end against the AP simulator."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from controller.cli.config_cmds import config as config_group
from controller.cli.context import CliContext
from tests.netconfig.sim_fleet import SimLab


@pytest.fixture
def oasis(sim_lab: SimLab, config, tmp_path):
    toml = tmp_path / "cli.toml"
    toml.write_text(f"[store]\npath = '{sim_lab.store.path}'\nkey_file = "
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
    assert oasis("vars", "set", "site", sim_lab.aps[0]["site"], "--file", str(bad)).exit_code == 0
    result = oasis("validate", sim_lab.aps[0]["name"])
    assert result.exit_code == 1
    assert "radios.2g.channel: channel 14 is not allowed" in result.output
    assert "radios.2g.tx_power" in result.output
