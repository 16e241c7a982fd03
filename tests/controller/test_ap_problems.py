"""An AP's data with several problems is refused with all of them at once: on the AP form (each
beside its input), in `oasis ap add`, and for every row of `oasis ap import` (not one per run)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from controller.cli import cli
from core import inventory
from core.inventory import InventoryError, InventoryProblems, problems_of
from tests.controller.web_harness import add_user, build_app, login, post_form
from tests.fleet import add_site, ap_data

BAD = {"mac": "02:00:zz:00:00:01", "mgmt_ip": "10.0.0.999", "capacity": "0",
       "snmp_port": "70000"}


def test_every_problem_of_an_ap_is_reported_together(store, secrets):
    add_site(store)
    with pytest.raises(InventoryProblems) as refused:
        inventory.add_ap(store, secrets, ap_data(1, **BAD, platform="nope"), "test")
    fields = [p.field for p in problems_of(refused.value)]
    assert sorted(fields) == ["capacity", "mac", "mgmt_ip", "platform", "snmp_port"]
    assert refused.value.field == fields[0]           # read as one refusal, it is the first
    # One problem is refused as itself, as before.
    with pytest.raises(InventoryError) as single:
        inventory.add_ap(store, secrets, ap_data(1, mac="nope"), "test")
    assert not isinstance(single.value, InventoryProblems) and single.value.field == "mac"
    # v3: user, protocols and keys together.
    with pytest.raises(InventoryProblems) as v3:
        inventory.add_ap(store, secrets, ap_data(1, snmp_version="3", snmp_auth_proto="XX",
                                                 snmp_auth_key="short"), "test")
    assert {p.field for p in problems_of(v3.value)} == {
        "snmp_user", "snmp_auth_proto", "snmp_auth_key", "snmp_priv_key"}
    assert inventory.list_aps(store) == []


def test_the_ap_form_shows_every_problem_beside_its_input(config, secrets, store, snapshot):
    add_site(store)
    client = build_app(config, secrets, snapshot).test_client()
    add_user(store, "olga", "operator")
    assert login(client, "olga").status_code == 302
    response = post_form(client, "/aps/new", ap_data(1, **BAD))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-mac">not a MAC address' in page
    for field in ("mgmt_ip", "capacity", "snmp_port"):
        assert f'id="e-{field}"' in page, field
    assert inventory.list_aps(store) == []


def test_ap_import_and_ap_add_list_every_problem_of_every_row(tmp_path):
    cfg = tmp_path / "oasis.toml"
    cfg.write_text("[store]\npath = 'oasis.db'\nkey_file = 'oasis.key'\n")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)

    run("site", "add", "aw", "--name-ar", "ممشى", "--name-en", "Walkway", "--kind", "walkway")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,mac,mgmt_ip,site,capacity\n"
                   "B1,02:00:00:00:03:01,127.0.4.1,aw,10\n"
                   "B 2,02:00:zz:00:00:01,127.0.4.999,aw,0\n"
                   "B3,02:00:00:00:03:03,127.0.4.3,nowhere,10\n")
    result = run("ap", "import", str(bad))
    assert result.exit_code != 0
    for line in ("row 2 [name]", "row 2 [mac]", "row 2 [mgmt_ip]", "row 2 [capacity]",
                 "row 3 [site]"):
        assert line in result.output, result.output
    assert "2 bad row(s), 5 problem(s); nothing imported" in result.output
    assert run("ap", "list").output.strip() == "(none)"
    added = run("ap", "add", "C 1", "--mac", "zz", "--ip", "1.2.3", "--site", "aw")
    assert added.exit_code != 0
    assert "(name)" in added.output and "(mac)" in added.output and "(mgmt_ip)" in added.output
