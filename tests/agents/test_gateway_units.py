"""Gateway agent pieces that need no root: signed redirects, config, dnsmasq, the book, and
the enforcer's limits over `FakeNftables` (real nftables: test_gateway_nft.py and the lab)."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from agents.gateway.cli import gateway
from agents.gateway.config import ConfigError, GatewayConfig, load_gateway_config
from agents.gateway.dnsmasq import ApDirectory, render_dnsmasq, render_lease_hook
from agents.gateway.enforcer import Enforcer, GrantError
from agents.gateway.nft import parse_counted_elements, parse_duration
from agents.gateway.redirector import PortalLinks
from agents.gateway.ruleset import RateClass
from agents.gateway.sessions import ClientSession, SessionBook
from core.contracts.signature import ClientClaim, SignatureError, normalise_mac, sign, verify
from tests.agents.fake_nftables import FakeNftables

KEY = b"k" * 64


def keys(gateway_id):
    return KEY if gateway_id == "gw1" else None


def claim(**changes):
    values = dict(gateway_id="gw1", mac="02:00:00:00:00:01", ip="10.77.0.100",
                  url="http://example.com/", timestamp=1000)
    values.update(changes)
    return ClientClaim(**values)


def test_signature_round_trip_and_tampering():
    params = sign(claim(), KEY)
    assert verify(params, keys, now=1010, max_age_s=60) == claim()
    for field, value in (("mac", "02:00:00:00:00:02"), ("ip", "10.77.0.101"),
                         ("url", "http://evil/"), ("ts", "1001"), ("gw", "gw1 ")):
        with pytest.raises(SignatureError) as info:
            verify(dict(params, **{field: value}), keys, now=1010, max_age_s=60)
        assert info.value.code in ("signature_invalid", "signature_unknown_gateway")


def test_signature_freshness_and_missing_parts():
    params = sign(claim(), KEY)
    with pytest.raises(SignatureError, match="signature_stale"):
        verify(params, keys, now=1061, max_age_s=60)
    with pytest.raises(SignatureError, match="signature_stale"):
        verify(params, keys, now=900, max_age_s=60)  # from the future beyond clock skew
    with pytest.raises(SignatureError, match="signature_missing"):
        verify({k: v for k, v in params.items() if k != "sig"}, keys, now=1010, max_age_s=60)
    with pytest.raises(SignatureError, match="signature_unknown_gateway"):
        verify(sign(claim(gateway_id="gw9"), KEY), keys, now=1010, max_age_s=60)


def test_signature_carries_the_ap_and_still_accepts_version_1():
    with_ap = sign(claim(ap="00:11:22:33:44:55:OasisPark"), KEY)
    assert verify(with_ap, keys, now=1010, max_age_s=60).ap == "00:11:22:33:44:55:OasisPark"
    for tampered in (dict(with_ap, ap="ap-other"),
                     {k: v for k, v in with_ap.items() if k != "ap"}):  # no downgrade to v1
        with pytest.raises(SignatureError, match="signature_invalid"):
            verify(tampered, keys, now=1010, max_age_s=60)
    # No AP known: the parameter is left out and the claim's ap is "".
    without = sign(claim(), KEY)
    assert "ap" not in without and verify(without, keys, now=1010, max_age_s=60).ap == ""
    # A gateway still on version 1 signed the same fields without the AP, under "v1".
    old = claim()
    message = "\n".join(("v1", old.gateway_id, old.mac, old.ip, old.url, "1000")).encode()
    v1 = dict(without, sig=hmac.new(KEY, message, hashlib.sha256).hexdigest())
    assert verify(v1, keys, now=1010, max_age_s=60) == old
    with pytest.raises(SignatureError, match="signature_invalid"):
        verify(dict(v1, ap="ap-7"), keys, now=1010, max_age_s=60)
    for bad in ("ap\nx", "x" * 101, " lead", "\u0627"):
        with pytest.raises(SignatureError, match="signature_malformed"):
            verify(dict(with_ap, ap=bad), keys, now=1010, max_age_s=60)


def test_the_lease_hook_records_each_clients_ap(tmp_path):
    folder = tmp_path / "aps"
    config = GatewayConfig(ap_dir=str(folder))
    hook = tmp_path / "hook"
    hook.write_text(render_lease_hook(config))
    hook.chmod(0o755)
    aps = ApDirectory(str(folder))

    def run(action, mac, **env):
        subprocess.run([str(hook), action, mac, "10.77.0.100"], check=True,
                       env={"PATH": "/usr/bin:/bin", **env})

    run("add", "02:00:00:00:00:01", DNSMASQ_CIRCUIT_ID="00:11:22:33:44:55:OasisPark")
    assert aps.ap_for("02:00:00:00:00:01") == "00:11:22:33:44:55:OasisPark"
    run("old", "02:00:00:00:00:01")  # dnsmasq restarted: no option 82 now, keep what we knew
    assert aps.ap_for("02:00:00:00:00:01") == "00:11:22:33:44:55:OasisPark"
    run("old", "02:00:00:00:00:01", DNSMASQ_CIRCUIT_ID="ap-north-2")  # roamed and renewed
    assert aps.ap_for("02:00:00:00:00:01") == "ap-north-2"
    run("add", "../../etc/passwd", DNSMASQ_CIRCUIT_ID="x")  # not a MAC: nothing written
    assert sorted(p.name for p in folder.iterdir()) == ["02:00:00:00:00:01"]
    run("del", "02:00:00:00:00:01")
    assert aps.ap_for("02:00:00:00:00:01") == ""
    (folder / "02:00:00:00:00:03").write_text("bad\x01id\n")
    assert aps.ap_for("02:00:00:00:00:03") == ""  # never signed into a redirect
    remote = GatewayConfig(ap_dir=str(folder), ap_option="remote-id")
    assert "DNSMASQ_REMOTE_ID" in render_lease_hook(remote)
    assert "dhcp-script=/etc/oasis/hook" in render_dnsmasq(config, lease_hook="/etc/oasis/hook")
    assert "dhcp-script" not in render_dnsmasq(GatewayConfig(ap_option=""),
                                               lease_hook="/etc/oasis/hook")


def test_redirect_links_carry_the_ap_the_client_is_behind():
    links = PortalLinks(GatewayConfig(portal_url="http://portal.test/"), KEY,
                        neighbour=lambda ip: "02:00:00:00:00:01", clock=lambda: 1000,
                        ap_for=lambda mac: "ap-north-2" if mac.endswith("01") else "")
    params = {k: v[0] for k, v in
              parse_qs(urlsplit(links.for_client("10.77.0.100", "http://x/")).query).items()}
    assert verify(params, keys, now=1000, max_age_s=60).ap == "ap-north-2"


def test_mac_normalisation():
    assert normalise_mac("AA-BB-CC-DD-EE-FF") == "aa:bb:cc:dd:ee:ff"
    assert normalise_mac("aabb.ccdd.eeff") == "aa:bb:cc:dd:ee:ff"
    for bad in ("", "aa:bb", "zz:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff:00"):
        with pytest.raises(ValueError):
            normalise_mac(bad)


def test_config_errors_name_the_key_and_file(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\nlan_address = "10.77.0.300"\n')
    with pytest.raises(ConfigError, match=r"gateway.toml: \[gateway\] lan_address"):
        load_gateway_config(path, env={})
    path.write_text('[gateway]\nwalled_garden = "10.0.0.0/8"\nbogus = 1\n')
    with pytest.raises(ConfigError, match=r"gateway.bogus: unknown key"):
        load_gateway_config(path, env={})
    path.write_text('[gateway]\ngateway_id = "park-7"\n')
    config = load_gateway_config(path, env={"OASIS_GATEWAY_ENFORCE_INTERVAL_S": "0.5",
                                            "OASIS_GATEWAY_WALLED_GARDEN": "192.0.2.0/24"})
    assert config.gateway.enforce_interval_s == 0.5
    assert config.gateway.walled_garden == ["192.0.2.0/24"]
    assert config.mqtt.client_id == "oasis-gateway-park-7"


def test_dnsmasq_config_carries_option_114_and_the_garden_nftset():
    config = GatewayConfig(walled_garden_domains=["pay.example.org"],
                           dns_hosts=["example.test=203.0.113.10"], dns_servers=["9.9.9.9"])
    text = render_dnsmasq(config)
    assert 'dhcp-option-force=114,"http://10.77.0.1:8908/captive-portal/api"' in text
    assert "nftset=/pay.example.org/4#inet#oasis_gw#garden_dns" in text
    assert "host-record=example.test,203.0.113.10" in text
    assert "no-resolv" in text and "server=9.9.9.9" in text


def test_nft_listing_parser():
    listing = """table inet t {
        set up {
            elements = { 02:00:00:00:00:01 . 10.77.0.100 counter packets 3 bytes 180 timeout 1m expires 59s72ms,
                         02:00:00:00:00:02 . 10.77.0.101 counter packets 0 bytes 0 timeout 1h expires 1h }
        }
    }"""
    elements = list(parse_counted_elements(listing))
    assert [(e.key, e.bytes) for e in elements] == [("02:00:00:00:00:01 . 10.77.0.100", 180),
                                                    ("02:00:00:00:00:02 . 10.77.0.101", 0)]
    assert elements[0].expires_s == pytest.approx(59.072)
    assert parse_duration("1d2h3m4s5ms") == 93784.005


def test_rate_class_names_round_trip():
    rate = RateClass(1024, 4096)
    assert rate.name == "rc_u1024_d4096" and RateClass.from_name(rate.name) == rate
    assert RateClass.from_name("garden") is None


@pytest.fixture
def now():
    return [1000.0]


@pytest.fixture
def enforcer(tmp_path, now):
    config = GatewayConfig(max_rate_classes=2, max_clients=3)
    return Enforcer(config, FakeNftables(), SessionBook(tmp_path / "gw.db"), ["10.77.1.2"],
                    clock=lambda: now[0])


def grant(session_id=1, mac="02:00:00:00:00:01", ip="10.77.0.100", seconds=600, **limits):
    values = dict(session_id=session_id, mac=mac, ip=ip, expires_at=1000 + seconds,
                  quota_bytes=0, idle_timeout_s=0, rate_up_kbps=0, rate_down_kbps=0)
    values.update(limits)
    return values


def test_allow_and_deny_touch_only_the_clients_elements(enforcer):
    enforcer.install()
    session, nft_ms = enforcer.allow(grant(rate_up_kbps=512, rate_down_kbps=2048))
    sets = enforcer.nft.sets
    assert sets["up"] == {"02:00:00:00:00:01 . 10.77.0.100": 0}
    assert set(sets["down"]) == {"10.77.0.100"} and set(sets["rc_u512_d2048"]) == {"10.77.0.100"}
    assert nft_ms >= 0 and enforcer.client("10.77.0.100") == session
    assert enforcer.deny("02:00:00:00:00:01") == session
    assert all(not elements for name, elements in sets.items() if name != "garden")
    assert enforcer.deny("02:00:00:00:00:01") is None


def test_a_new_login_replaces_the_old_one_of_the_same_device_or_address(enforcer):
    enforcer.install()
    enforcer.allow(grant(session_id=1))
    enforcer.allow(grant(session_id=2, ip="10.77.0.101"))  # same MAC, new lease
    enforcer.allow(grant(session_id=3, mac="02:00:00:00:00:02", ip="10.77.0.101"))
    assert [s.session_id for s in enforcer.clients()] == [3]
    assert list(enforcer.nft.sets["up"]) == ["02:00:00:00:00:02 . 10.77.0.101"]


def test_bad_commands_and_limits_are_refused(enforcer):
    enforcer.install()
    for bad, code in ((dict(grant(), ip="10.77.0.999"), "bad_command"),
                      ({"mac": "x"}, "bad_command"),
                      (grant(seconds=-1), "already_expired")):
        with pytest.raises(GrantError) as info:
            enforcer.allow(bad)
        assert info.value.code == code
    enforcer.allow(grant(1, rate_up_kbps=1))
    enforcer.allow(grant(2, "02:00:00:00:00:02", "10.77.0.102", rate_up_kbps=2))
    with pytest.raises(GrantError, match="too_many_rate_classes"):
        enforcer.allow(grant(3, "02:00:00:00:00:03", "10.77.0.103", rate_up_kbps=3))
    enforcer.allow(grant(3, "02:00:00:00:00:03", "10.77.0.103"))
    with pytest.raises(GrantError, match="gateway_full"):
        enforcer.allow(grant(4, "02:00:00:00:00:04", "10.77.0.104"))


def test_sweep_ends_sessions_at_quota_idle_and_expiry(enforcer, now):
    enforcer.install()
    enforcer.allow(grant(1, "02:00:00:00:00:01", "10.77.0.101", quota_bytes=1000))
    enforcer.allow(grant(2, "02:00:00:00:00:02", "10.77.0.102", idle_timeout_s=60))
    enforcer.allow(grant(3, "02:00:00:00:00:03", "10.77.0.103", seconds=30))
    sets = enforcer.nft.sets
    now[0] += 10
    sets["up"]["02:00:00:00:00:01 . 10.77.0.101"] = 400
    sets["down"]["10.77.0.101"] = 500
    sets["up"]["02:00:00:00:00:02 . 10.77.0.102"] = 10
    assert enforcer.sweep() == []
    assert enforcer.client("10.77.0.101").bytes_left() == 100
    sets["down"]["10.77.0.101"] = 700
    now[0] += 25  # session 3 ends at 1030; session 2 last moved at 1010
    ends = {end.session.session_id: end.reason for end in enforcer.sweep()}
    assert ends == {1: "quota", 3: "expired"}
    now[0] += 36
    assert [(e.session.session_id, e.reason) for e in enforcer.sweep()] == [(2, "idle")]
    assert enforcer.clients() == [] and not any(sets["up"].values())


def test_restart_keeps_the_book_and_restores_a_rebooted_kernel(tmp_path, now):
    config = GatewayConfig()
    nft = FakeNftables()
    first = Enforcer(config, nft, SessionBook(tmp_path / "gw.db"), [], clock=lambda: now[0])
    first.install()
    first.allow(grant(1, "02:00:00:00:00:01", "10.77.0.101", seconds=600))
    first.allow(grant(2, "02:00:00:00:00:02", "10.77.0.102", seconds=20))
    first.book.close()
    now[0] += 30
    rebooted = FakeNftables()  # empty sets, as after a reboot
    second = Enforcer(config, rebooted, SessionBook(tmp_path / "gw.db"), [],
                      clock=lambda: now[0])
    ends = second.install()
    assert [(e.session.session_id, e.reason) for e in ends] == [(2, "expired")]
    assert list(rebooted.sets["up"]) == ["02:00:00:00:00:01 . 10.77.0.101"]
    assert "timeout 570000ms" in rebooted.scripts[-1]


def test_cli_renders_the_dnsmasq_config(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\nlan_interface = "wlan0"\nlan_address = "10.9.0.1"\n')
    result = CliRunner().invoke(gateway, ["--config", str(path), "dnsmasq-config"])
    assert result.exit_code == 0, result.output
    assert "interface=wlan0" in result.output
    assert '114,"http://10.9.0.1:8908/captive-portal/api"' in result.output
    path.write_text('[gateway]\nlan_interface = "not a name!"\n')
    result = CliRunner().invoke(gateway, ["--config", str(path), "dnsmasq-config"])
    assert result.exit_code != 0 and "lan_interface" in result.output


def test_time_left_rounds_up_so_the_api_says_captive_only_once_the_kernel_lets_go():
    session = ClientSession("02:00:00:00:00:01", "10.0.0.5", 1, started_at=100.0,
                            expires_at=103.0, quota_bytes=0, idle_timeout_s=0, rate_up_kbps=0,
                            rate_down_kbps=0)
    assert session.seconds_left(102.02) == 1  # the kernel's element still has 0.98 s
    assert session.seconds_left(101.5) == 2
    assert session.seconds_left(103.0) == 0 and session.seconds_left(150.0) == 0
