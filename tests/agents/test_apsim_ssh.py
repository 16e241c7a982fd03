"""The AP simulator's SSH side: OpenWrt and IOS CLIs, faults, host keys, and its link to SNMP."""

from __future__ import annotations

import pytest

from agents.apsim import SimulatorSettings, SimulatorThread
from agents.apsim.cli_ios import IosCli
from agents.apsim.cli_openwrt import OpenWrtShell
from agents.apsim.ssh_server import SshSimulator, fleet
from agents.apsim.ssh_state import ApConfigState
from netconfig.ssh import SshAuthError, SshTarget, SshUnreachable, open_session
from tests.support import free_port, free_udp_port, wait_for


def test_openwrt_stages_until_commit_and_applies_on_reload():
    ap = ApConfigState("ap-1", "openwrt", "127.0.0.1")
    heard = []
    ap.subscribe(lambda changed: heard.append(changed.ssids()))
    shell = OpenWrtShell(ap)
    assert shell.run("uci set wireless.default_radio0.ssid='Park Guest'") == ""
    assert "wireless.default_radio0.ssid='Park Guest'" in shell.run("uci show wireless")
    assert ap.ssids() == ["OpenWrt"]                      # staged only
    assert "Park Guest" not in OpenWrtShell(ap).run("uci show wireless")   # another session
    shell.run("uci commit wireless")
    shell.run("wifi reload")
    assert ap.ssids() == ["Park Guest"] and heard == [["Park Guest"]] and ap.applied == 1
    shell.run("uci set wireless.default_radio0.ssid=Other; uci revert wireless")
    assert "Other" not in shell.run("uci -X show wireless.default_radio0")
    assert "option ssid 'Park Guest'" in shell.run("cat /etc/config/wireless")
    assert shell.run("uci delete wireless.nothing") == "uci: Entry not found\n"
    assert shell.run("reboot") == "-ash: reboot: not found\n"


def test_ios_modes_prompts_and_ssid_blocks():
    ap = ApConfigState("ap-2", "cisco_aironet", "127.0.0.1")
    cli = IosCli(ap)
    assert cli.prompt == "ap-2#"
    assert cli.run("terminal length 0") == ""
    assert cli.run("configure terminal").startswith("Enter configuration commands")
    assert cli.prompt == "ap-2(config)#"
    cli.run("dot11 ssid Park")
    assert cli.prompt == "ap-2(config-ssid)#"
    cli.run("authentication open")
    cli.run("exit")
    cli.run("interface Dot11Radio0")
    cli.run("ssid Park")
    cli.run("channel 11")
    cli.run("channel 6")                                   # replaces, as IOS does
    cli.run("end")
    assert cli.prompt == "ap-2#" and ap.applied == 1
    assert ap.ssids() == ["factory", "Park"]
    running = cli.run("show running-config")
    assert " channel 6" in running and " channel 11" not in running
    cli.run("configure terminal")
    cli.run("no dot11 ssid factory")
    cli.run("end")
    assert ap.ssids() == ["Park"]
    assert "dot11 ssid factory" in ap.startup             # not saved yet
    assert cli.run("write memory").endswith("[OK]\n") and ap.startup == ap.running
    assert cli.run("bogus").startswith("% Invalid input")


@pytest.fixture
def two_aps():
    aps = fleet(2, f"127.0.{190 + free_port() % 9}.1", ("openwrt", "cisco_aironet"))
    with SshSimulator(aps, free_port()) as sim:
        yield sim, aps


def target(sim, ap, password="oasis-sim") -> SshTarget:
    device_type = "cisco_ios" if ap.platform == "cisco_aironet" else "linux"
    return SshTarget(ap.address, sim.port, ap.username, password, device_type)


def test_netmiko_drives_both_clis(two_aps):
    sim, (openwrt, cisco) = two_aps
    with open_session(target(sim, openwrt)) as session:
        assert session.host_key.fingerprint == sim.host_key_fingerprint(openwrt.name)
        session.configure(["uci set wireless.default_radio0.ssid='Amanah'", "uci commit wireless",
                           "wifi reload"])
    with open_session(target(sim, cisco)) as session:
        session.configure(["dot11 ssid Amanah", "guest-mode", "exit", "interface Dot11Radio0",
                           "ssid Amanah", "exit"])
        session.save()
        assert "dot11 ssid Amanah" in session.command("show running-config")
    assert openwrt.ssids() == ["Amanah"] and "Amanah" in cisco.ssids()
    assert "dot11 ssid Amanah" in cisco.startup


def test_faults_auth_and_unreachable_and_a_new_host_key(two_aps):
    sim, (openwrt, _) = two_aps
    with pytest.raises(SshAuthError):
        open_session(target(sim, openwrt, "wrong-password"))
    openwrt.faults.auth_failure = True
    with pytest.raises(SshAuthError):
        open_session(target(sim, openwrt))
    openwrt.faults.auth_failure = False
    before = sim.host_key_fingerprint(openwrt.name)
    sim.replace_host_key(openwrt.name)
    with open_session(target(sim, openwrt)) as session:
        assert session.host_key.fingerprint == sim.host_key_fingerprint(openwrt.name) != before
    openwrt.make_unreachable(30)
    with pytest.raises(SshUnreachable):
        open_session(target(sim, openwrt))


def test_a_push_that_knocks_the_ap_off_the_air_silences_snmp_until_it_returns():
    settings = SimulatorSettings(count=1, first_address=f"127.0.{180 + free_port() % 9}.1",
                                 port=free_udp_port(), trap_target=None, v3=False,
                                 ssh_port=free_port())
    with SimulatorThread(settings) as sim:
        name = sim.simulator.plans[0].name
        state = sim.simulator.ssh.aps[name]
        state.faults.unreachable_after_apply = 1.0
        with open_session(SshTarget(state.address, settings.ssh_port, "root", "oasis-sim",
                                    "linux")) as session:
            session.configure(["uci commit wireless", "wifi reload"])
        assert sim.call(lambda s: s.aps[name].reachable) is False
        wait_for(lambda: sim.call(lambda s: s.aps[name].reachable), timeout=10,
                 what="the AP back on the air")
        assert state.reachable
        sim.set_reachable(name, False)        # the SNMP side's control cuts SSH too
        assert not state.reachable
