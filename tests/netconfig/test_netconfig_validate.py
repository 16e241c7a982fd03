"""Validation and rendering: the limits a radio and the SA rules impose, checked before a push."""

from __future__ import annotations

import pytest

from netconfig.platforms import PLATFORMS, UnknownPlatform, get_platform
from netconfig.render import Renderer, redact_variables
from netconfig.validate import ValidationFailed, problems, ssid_bytes
from netconfig.variables import merge

BASE = {"radios": {"2g": {"channel": 6, "tx_power": 17}, "5g": {"channel": 36}},
        "ssids": [{"id": "public", "ssid": "Amanah WiFi"}]}


def codes(variables: dict, **kwargs) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in problems(variables, **kwargs)}


def with_ssid(**entry) -> dict:
    return BASE | {"ssids": [{"id": "public", "ssid": "Amanah WiFi"} | entry]}


def test_arabic_ssid_is_counted_in_utf8_bytes():
    arabic = "واي فاي الأمانة"
    assert ssid_bytes(arabic) == 28 and len(arabic) == 15
    assert codes(with_ssid(ssid=arabic)) == set()
    too_long = arabic + " حد"   # 18 characters, 33 bytes
    assert codes(with_ssid(ssid=too_long)) == {("ssids[0].ssid", "ssid_too_long")}
    assert codes(with_ssid(ssid="x" * 32)) == set()
    assert codes(with_ssid(ssid="x" * 33)) == {("ssids[0].ssid", "ssid_too_long")}


@pytest.mark.parametrize("passphrase, ok", [("a" * 7, False), ("a" * 8, True), ("a" * 63, True),
                                            ("a" * 64, False), ("كلمة-سر-طويلة", False)])
def test_wpa_passphrase_is_8_to_63_printable_ascii(passphrase, ok):
    for security in ("wpa2", "wpa3", "wpa2-wpa3"):
        found = codes(with_ssid(security=security, passphrase=passphrase))
        assert (found == set()) is ok, (security, found)


def test_open_ssid_takes_no_passphrase_and_wpa_needs_one():
    assert codes(with_ssid(passphrase="something1")) == {("ssids[0].passphrase", "unused")}
    assert codes(with_ssid(security="wpa2")) == {("ssids[0].passphrase", "missing")}


@pytest.mark.parametrize("vlan, ok", [(1, True), (4094, True), (0, False), (4095, False),
                                      ("10", False), (True, False)])
def test_vlan_range(vlan, ok):
    assert (codes(with_ssid(vlan=vlan)) == set()) is ok


@pytest.mark.parametrize("band, channel, ok", [
    ("2g", 1, True), ("2g", 13, True), ("2g", 14, False), ("2g", 36, False),
    ("5g", 36, True), ("5g", 64, True), ("5g", 100, True), ("5g", 140, True),
    ("5g", 144, False), ("5g", 149, False), ("5g", 165, False), ("5g", 6, False),
    ("5g", "auto", True)])
def test_channels_follow_the_saudi_rules(band, channel, ok):
    variables = BASE | {"radios": {band: {"channel": channel}}}
    assert (codes(variables) == set()) is ok


@pytest.mark.parametrize("band, channel, power, gain, ok", [
    ("2g", 6, 20, 0, True), ("2g", 6, 21, 0, False), ("2g", 6, 17, 3, True),
    ("2g", 6, 18, 3, False), ("5g", 36, 20, 0, True), ("5g", 36, 23, 0, False),
    ("5g", 100, 27, 0, True), ("5g", 100, 28, 0, False), ("5g", "auto", 21, 0, False),
    ("2g", 6, 0, 0, False),
    # A negative gain used to lift the conducted power past the EIRP limit without bound.
    ("2g", 6, 117, -100, False), ("2g", 6, 21, -1, False), ("2g", 6, 1, 31, False),
    ("2g", 6, 17, "3", False), ("2g", 6, 17, 2.5, False)])
def test_transmit_power_is_within_the_eirp_limit(band, channel, power, gain, ok):
    variables = BASE | {"radios": {band: {"channel": channel, "tx_power": power,
                                          "antenna_gain": gain}}}
    assert (codes(variables) == set()) is ok


def test_every_problem_is_reported_at_once():
    bad = {"country": "AE", "radios": {"2g": {"channel": 14}}, "ssids": [
        {"id": "public", "ssid": "x" * 40, "vlan": 5000, "security": "wep"}]}
    assert {f for f, _ in codes(bad)} == {"country", "radios.2g.channel", "ssids[0].ssid",
                                          "ssids[0].vlan", "ssids[0].security"}


def test_platform_limits_apply_when_rendering():
    renderer = Renderer()
    with pytest.raises(ValidationFailed) as caught:
        renderer.render("cisco_aironet", with_ssid(ssid="واي فاي", security="wpa3",
                                                   passphrase="12345678"))
    fields = {p.field: p.code for p in caught.value.problems}
    assert fields == {"ssids[0].ssid": "not_ascii", "ssids[0].security": "unsupported"}


def test_unknown_platform_lists_the_supported_ones():
    with pytest.raises(UnknownPlatform) as caught:
        get_platform("mikrotik")
    assert all(name in str(caught.value) for name in PLATFORMS)


def test_layers_merge_tables_and_replace_lists():
    merged = merge(merge(BASE, {"radios": {"5g": {"channel": 100}}}),
                   {"ssids": [{"id": "staff", "ssid": "Staff"}]})
    assert merged["radios"] == {"2g": {"channel": 6, "tx_power": 17}, "5g": {"channel": 100}}
    assert [s["id"] for s in merged["ssids"]] == ["staff"]


def test_secrets_are_masked_in_previews():
    masked = redact_variables(with_ssid(security="wpa2", passphrase="amanah-2026"))
    assert masked["ssids"][0]["passphrase"] == "********"


@pytest.mark.parametrize("platform, off, on", [
    ("generic", "start_disabled=1", None),
    ("openwrt", "disabled='1'", "disabled='0'"),
    ("cisco_aironet", " shutdown", " no shutdown"),
])
def test_a_radio_switched_off_is_off_on_every_platform(platform, off, on):
    renderer = Renderer()
    first_band = sorted(BASE["radios"])[0]
    radios = {band: dict(radio, enabled=band != first_band) for band, radio in BASE["radios"].items()}
    text = renderer.render(platform, BASE | {"radios": radios}).text
    assert off in text, text
    enabled = renderer.render(platform, BASE).text
    assert "start_disabled" not in enabled
    if on is not None:
        assert on in enabled
