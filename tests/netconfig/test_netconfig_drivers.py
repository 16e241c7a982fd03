"""Drivers: from a running config and a desired one to the commands that converge them."""

from __future__ import annotations

from netconfig.platforms.cisco_aironet.driver import CiscoAironetDriver
from netconfig.platforms.generic.driver import HostapdFileDriver
from netconfig.platforms.openwrt.driver import OpenWrtDriver
from netconfig.render import Renderer

VARS = {"radios": {"2g": {"channel": 6, "tx_power": 17}},
        "ssids": [{"id": "public", "ssid": "It's Amanah", "vlan": 10},
                  {"id": "staff", "ssid": "Staff", "security": "wpa2",
                   "passphrase": "staff-pass-1"}]}
RUNNING_UCI = """wireless.radio0=wifi-device
wireless.radio0.path='platform/soc/18000000.wifi'
wireless.radio0.channel='1'
wireless.default_radio0=wifi-iface
wireless.default_radio0.ssid='OpenWrt'
"""


def test_openwrt_commands_keep_radio_hardware_options_and_remove_stray_ssids():
    desired = Renderer().render("openwrt", VARS).text
    commands = OpenWrtDriver().commands(RUNNING_UCI, desired, exact=False)
    assert "uci delete wireless.default_radio0" in commands
    assert "uci set wireless.radio0.channel='6'" in commands
    assert not any("radio0.path" in c for c in commands)          # hardware option kept
    assert "uci set wireless.public_2g.ssid='It'\\''s Amanah'" in commands
    assert commands[-2:] == ["uci commit wireless", "wifi reload"]
    # After the change, the running config compares equal to the desired one.
    after = OpenWrtDriver().canonical(RUNNING_UCI.replace("'1'", "'6'")
                                      .replace("wireless.default_radio0=wifi-iface\n"
                                               "wireless.default_radio0.ssid='OpenWrt'\n", "")
                                      + desired)
    assert OpenWrtDriver().comparable(after, desired) == OpenWrtDriver().canonical(desired)
    assert OpenWrtDriver().commands(after, desired, exact=False) == []


def test_openwrt_exact_restore_removes_what_the_backup_lacks():
    desired = Renderer().render("openwrt", VARS).text
    commands = OpenWrtDriver().commands(desired, RUNNING_UCI, exact=True)
    assert "uci delete wireless.public_2g" in commands
    assert "uci delete wireless.radio0.txpower" in commands


def test_cisco_blocks_are_recreated_and_radios_resent_when_an_ssid_changes():
    desired = Renderer().render("cisco_aironet", VARS | {"ssids": VARS["ssids"][1:]}).text
    running = "hostname ap\n!\ndot11 ssid Old\n authentication open\n!\ninterface Dot11Radio0\n" \
              " ssid Old\n!\nend\n"
    commands = CiscoAironetDriver().commands(running, desired, exact=False)
    assert commands[0] == "no dot11 ssid Old"
    assert "wpa-psk ascii 0 staff-pass-1" in commands
    assert commands[commands.index("default interface Dot11Radio0") + 1] == \
        "interface Dot11Radio0"
    assert "wpa-psk ascii 0 ********" in CiscoAironetDriver().redact(desired)


def test_hostapd_file_is_written_beside_and_renamed():
    desired = Renderer().render("generic", VARS | {"config_path": "/tmp/x/ap.conf"}).text
    commands = HostapdFileDriver().commands("", desired, exact=False)
    assert commands[0].startswith("mkdir -p /tmp/x && : > /tmp/x/ap.conf.new")
    assert commands[-1] == "mv /tmp/x/ap.conf.new /tmp/x/ap.conf"
    assert all(len(c) <= 400 for c in commands)
    assert HostapdFileDriver().commands(desired, desired, exact=False) == []
    staff_first = Renderer().render("generic", VARS | {"ssids": VARS["ssids"][::-1]}).text
    assert "wpa_passphrase=staff-pass-1" in staff_first
    assert "wpa_passphrase=********" in HostapdFileDriver().redact(staff_first)
