"""Bad-input corpus for what devices and engineers hand the controller: template variables,
SNMP responses and trap datagrams.

- Template variables, every field with odd values (control characters, line separators, bidi
  controls, overlong text, wrong types, out of range), through `ProvisioningService
  .set_variables`, the one way in the CLI, the REST API and the pages share, over an OpenWrt, a
  Cisco and a hostapd AP: a refusal naming the field (and its code), nothing stored, and the
  good layer still rendering for every platform.
- SNMP responses: an snmpsim agent answering every polled object with odd types and values, and
  real snmpsim responses truncated and mutated byte by byte, replayed to the poller by a fake of
  a broken agent (UDP, the request-id patched in): the AP is polled without an exception (up with
  what could be read, or degraded when nothing decodes) and the poller still reads a good agent.
- Trap datagrams: traps and an inform sent by net-snmp (v1, v2c, v3), truncated at every length,
  with flipped bytes, wrong or oversized communities, odd versions, nesting and length bombs,
  random bytes, and odd but well-formed notifications, against the real `TrapReceiver` and
  `TrapHandler`: each one delivered or counted as dropped (never both, never neither), no
  traceback logged, and a trap from the AP still becoming an event afterwards.

The cases are counted by surface in `SURFACES`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import subprocess

import pytest

from controller.monitoring.poller import Poller
from controller.monitoring.snapshot import ApState, Snapshot
from controller.settings import SnmpConfig
from controller.snmp.engine import PollTarget, TrapReceiver, V2cCredentials
from controller.snmp.poll import PollPlan
from controller.snmp.traps import TrapHandler
from core import inventory
from core import snmp_ber as ber
from core.inventory import InventoryError
from netconfig import variables
from netconfig.render import Renderer
from netconfig.service import ProvisioningService
from netconfig.settings import ProvisioningConfig
from netconfig.validate import ValidationFailed
from tests.peers_recordings import ODD_INTERFACES, ODD_SCALARS
from tests.support import require_tool

# ==== template variables =========================================================================

GOOD = {
    "radios": {"2g": {"channel": 6, "tx_power": 17}, "5g": {"channel": 36, "tx_power": 20}},
    "ssids": [{"id": "public", "ssid": "Amanah WiFi", "vlan": 10},
              {"id": "staff", "ssid": "Amanah Staff", "security": "wpa2",
               "passphrase": "amanah-staff-2026", "bands": ["5g"]}],
}
PLATFORMS = ("openwrt", "cisco_aironet", "generic")


class Actor:
    username = "corpus"

    def can(self, needed: str) -> bool:
        return True


def _ssid(**entry) -> dict:
    return {"ssids": [{"id": "public", "ssid": "Amanah WiFi"} | entry]}


def _radio(**radio) -> dict:
    return {"radios": {"2g": {"channel": 6, "tx_power": 17} | radio}}


LONG = "x" * 100_000
#: Text oddities tried in every text field: (name, value).
ODD_TEXT = [
    ("NUL", "Amanah\x00WiFi"), ("ESC", "Amanah\x1b[31mWiFi"), ("tab", "Amanah\tWiFi"),
    ("LF", "Amanah\nmax_num_sta=1"), ("CR", "Amanah\rWiFi"), ("DEL", "Amanah\x7fWiFi"),
    ("NEL U+0085", "Amanah\x85WiFi"), ("LS U+2028", "Amanah\u2028max_num_sta=1"),
    ("PS U+2029", "Amanah\u2029WiFi"), ("RLO U+202E", "\u202eiFiW hanamA"),
    ("LRI U+2066", "\u2066Amanah"), ("BOM U+FEFF", "\ufeffAmanah"),
    ("lone surrogate", "Amanah\ud800"), ("private use", "Amanah\ue000"),
    ("noncharacter U+FFFF", "Amanah\uffff"), ("overlong", LONG),
]
#: Wrong types tried in every field: (name, value).
WRONG_TYPES = [("integer", 7), ("float", 6.5), ("list", ["a"]), ("table", {"a": 1}),
               ("true", True)]

#: (case, layer, field the refusal names, its code or None for any).
CASES: list[tuple[str, dict, str, str | None]] = []
for _name, _value in ODD_TEXT:
    CASES.append((f"ssid {_name}", _ssid(ssid=_value), "ssids[0].ssid", None))
    CASES.append((f"passphrase {_name}", _ssid(security="wpa2", passphrase="amanah-" + _value),
                  "ssids[0].passphrase", None))
    CASES.append((f"id {_name}", {"ssids": [{"id": _value, "ssid": "Amanah"}]}, "ssids[0].id",
                  "invalid"))
    CASES.append((f"htmode {_name}", _radio(htmode=_value), "radios.2g.htmode", "invalid"))
    CASES.append((f"config_path {_name}", {"config_path": "/etc/hostapd/" + _value + ".conf"},
                  "config_path", "invalid"))
    CASES.append((f"reload_command {_name}",
                  {"reload_command": "systemctl reload hostapd " + _value}, "reload_command",
                  "invalid"))
    CASES.append((f"country {_name}", {"country": "SA" + _value}, "country", "invalid"))
    CASES.append((f"hostname {_name}", {"hostname": "ap-" + _value}, "hostname", "invalid"))
for _name, _value in WRONG_TYPES:
    CASES += [
        (f"ssid {_name}", _ssid(ssid=_value), "ssids[0].ssid", "invalid"),
        (f"passphrase {_name}", _ssid(security="wpa2", passphrase=_value), "ssids[0].passphrase",
         None),
        (f"security {_name}", _ssid(security=_value), "ssids[0].security", "invalid"),
        (f"vlan {_name}", _ssid(vlan=_value), "ssids[0].vlan", "vlan_range"),
        (f"hidden {_name}", _ssid(hidden=_value), "ssids[0].hidden", "not_boolean"),
        (f"bands {_name}", _ssid(bands=_value), "ssids[0].bands", None),
        (f"channel {_name}", _radio(channel=_value), "radios.2g.channel", None),
        (f"tx_power {_name}", _radio(tx_power=_value), "radios.2g.tx_power", None),
        (f"antenna_gain {_name}", _radio(antenna_gain=_value), "radios.2g.antenna_gain",
         "antenna_gain_range"),
        (f"enabled {_name}", _radio(enabled=_value), "radios.2g.enabled", "not_boolean"),
        (f"ssids {_name}", {"ssids": _value}, "ssids", None),
        (f"radios {_name}", {"radios": _value}, "radios", None),
        (f"ssid entry {_name}", {"ssids": [_value]}, "ssids[0]", "invalid"),
        (f"radio {_name}", {"radios": {"2g": _value}}, "radios.2g", "invalid"),
    ]
# The right type for these fields (their ranges are tried below), and a radio's table with a
# key no template reads (accepted: unknown keys are inert).
CASES = [c for c in CASES if c[0] not in ("hidden true", "enabled true", "vlan integer",
                                          "channel integer", "tx_power integer",
                                          "antenna_gain integer", "radio table")]
#: Where the refusal lands when the odd value is of the container's own type.
_LANDS = {"ssids list": ("ssids[0]", "invalid"), "radios table": ("radios.a", "invalid"),
          "ssid entry table": ("ssids[0].id", "invalid")}
CASES = [(c[0], c[1], *_LANDS.get(c[0], c[2:])) for c in CASES]
CASES += [
    # out of range, blank, edges, and what a person would type for a switch
    ("ssid blank", _ssid(ssid="   "), "ssids[0].ssid", "blank"),
    ("ssid empty", _ssid(ssid=""), "ssids[0].ssid", "missing"),
    ("ssid edge space", _ssid(ssid=" Amanah"), "ssids[0].ssid", "edge_spaces"),
    ("ssid 33 bytes", _ssid(ssid="واي فاي الأمانة حد"), "ssids[0].ssid", "ssid_too_long"),
    ("ssid 63 bytes", _ssid(ssid="x" * 63), "ssids[0].ssid", "ssid_too_long"),
    ("passphrase 7", _ssid(security="wpa2", passphrase="a" * 7), "ssids[0].passphrase",
     "passphrase_length"),
    ("passphrase 64", _ssid(security="wpa2", passphrase="a" * 64), "ssids[0].passphrase",
     "passphrase_length"),
    ("passphrase trailing spaces", _ssid(security="wpa2", passphrase="amanah-2026  "),
     "ssids[0].passphrase", "edge_spaces"),
    ("passphrase the mask", _ssid(security="wpa2", passphrase="********"), "ssids[0].passphrase",
     "masked_secret"),
    ("passphrase on an open SSID", _ssid(passphrase="amanah-2026"), "ssids[0].passphrase",
     "unused"),
    ("security wep", _ssid(security="wep"), "ssids[0].security", "invalid"),
    ("vlan 0", _ssid(vlan=0), "ssids[0].vlan", "vlan_range"),
    ("vlan 4095", _ssid(vlan=4095), "ssids[0].vlan", "vlan_range"),
    ("vlan 5000", _ssid(vlan=5000), "ssids[0].vlan", "vlan_range"),
    ("vlan -1", _ssid(vlan=-1), "ssids[0].vlan", "vlan_range"),
    ("vlan 2**70", _ssid(vlan=2 ** 70), "ssids[0].vlan", "vlan_range"),
    ("hidden 'false'", _ssid(hidden="false"), "ssids[0].hidden", "not_boolean"),
    ("hidden 'no'", _ssid(hidden="no"), "ssids[0].hidden", "not_boolean"),
    ("hidden 0", _ssid(hidden=0), "ssids[0].hidden", "not_boolean"),
    ("enabled 'no'", _radio(enabled="no"), "radios.2g.enabled", "not_boolean"),
    ("enabled 'off'", _radio(enabled="off"), "radios.2g.enabled", "not_boolean"),
    ("enabled 1", _radio(enabled=1), "radios.2g.enabled", "not_boolean"),
    ("channel 14", _radio(channel=14), "radios.2g.channel", "channel_not_allowed"),
    ("channel 0", _radio(channel=0), "radios.2g.channel", "channel_not_allowed"),
    ("channel -6", _radio(channel=-6), "radios.2g.channel", "channel_not_allowed"),
    ("channel 2**70", _radio(channel=2 ** 70), "radios.2g.channel", "channel_not_allowed"),
    ("channel 'six'", _radio(channel="six"), "radios.2g.channel", "invalid"),
    ("channel 149 on 5g", {"radios": {"5g": {"channel": 149}}}, "radios.5g.channel",
     "channel_not_allowed"),
    ("tx_power 0", _radio(tx_power=0), "radios.2g.tx_power", "tx_power_limit"),
    ("tx_power 21", _radio(tx_power=21), "radios.2g.tx_power", "tx_power_limit"),
    ("tx_power 2**70", _radio(tx_power=2 ** 70), "radios.2g.tx_power", "tx_power_limit"),
    ("antenna_gain -100", _radio(tx_power=117, antenna_gain=-100), "radios.2g.antenna_gain",
     "antenna_gain_range"),
    ("antenna_gain -1", _radio(antenna_gain=-1), "radios.2g.antenna_gain", "antenna_gain_range"),
    ("antenna_gain 31", _radio(antenna_gain=31), "radios.2g.antenna_gain", "antenna_gain_range"),
    ("band 6g", {"radios": {"6g": {"channel": 1}}}, "radios.6g", "invalid"),
    ("band 100k", {"radios": {LONG: {"channel": 1}}}, "radios." + LONG, "invalid"),
    ("bands unknown", _ssid(bands=["5g", "7g"]), "ssids[0].bands", "unknown_radio"),
    ("bands a string", _ssid(bands="2g"), "ssids[0].bands", "invalid"),
    ("ssids empty", {"ssids": []}, "ssids", "missing"),
    ("ssids 17", {"ssids": [{"id": f"s{i}", "ssid": f"S{i}"} for i in range(17)]}, "ssids",
     "too_many"),
    ("ssids 10k", {"ssids": [{"id": "a", "ssid": "A"}] * 10_000}, "ssids", "too_many"),
    ("id twice", {"ssids": [{"id": "a", "ssid": "A"}, {"id": "a", "ssid": "B"}]}, "ssids[1].id",
     "invalid"),
    ("id upper case", {"ssids": [{"id": "Public", "ssid": "A"}]}, "ssids[0].id", "invalid"),
    ("country AE", {"country": "AE"}, "country", "invalid"),
    ("country lower case", {"country": "sa"}, "country", "invalid"),
    ("htmode HT80", _radio(htmode="HT80"), "radios.2g.htmode", "invalid"),
    ("config_path /etc/shadow", {"config_path": "/etc/shadow"}, "config_path", "invalid"),
    ("config_path dot-dot", {"config_path": "/etc/hostapd/../x.conf"}, "config_path", "invalid"),
    ("config_path relative", {"config_path": "hostapd.conf"}, "config_path", "invalid"),
    ("config_path 201", {"config_path": "/" + "a" * 196 + ".conf"}, "config_path", "invalid"),
    ("reload_command ;", {"reload_command": "true; reboot"}, "reload_command", "invalid"),
    ("reload_command &&", {"reload_command": "true && reboot"}, "reload_command", "invalid"),
    ("reload_command |", {"reload_command": "cat /etc/shadow | nc x 1"}, "reload_command",
     "invalid"),
    ("reload_command $()", {"reload_command": "echo $(id)"}, "reload_command", "invalid"),
    ("reload_command backticks", {"reload_command": "echo `id`"}, "reload_command", "invalid"),
    ("reload_command quotes", {"reload_command": "sh -c 'reboot'"}, "reload_command", "invalid"),
    ("reload_command redirect", {"reload_command": "echo x > /etc/passwd"}, "reload_command",
     "invalid"),
    ("reload_command 201", {"reload_command": "a" * 201}, "reload_command", "invalid"),
    # what the Cisco CLI would mangle (an AP of each platform is under the layer)
    ("ssid ? on IOS", _ssid(ssid="Amanah?"), "ssids[0].ssid", "platform_refused"),
    ("ssid quote on IOS", _ssid(ssid='Amanah "Park"'), "ssids[0].ssid", "platform_refused"),
    ("ssid + on IOS", _ssid(ssid="Amanah+"), "ssids[0].ssid", "platform_refused"),
    ("ssid ! first on IOS", _ssid(ssid="!Amanah"), "ssids[0].ssid", "platform_refused"),
    ("ssid double space on IOS", _ssid(ssid="Amanah  WiFi"), "ssids[0].ssid", "platform_refused"),
    ("ssid Arabic on IOS", _ssid(ssid="واي فاي"), "ssids[0].ssid", "not_ascii"),
    ("passphrase ? on IOS", _ssid(security="wpa2", passphrase="what?amanah"),
     "ssids[0].passphrase", "platform_refused"),
    ("wpa3 on IOS", _ssid(security="wpa3", passphrase="amanah-2026"), "ssids[0].security",
     "unsupported"),
]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, module_store_url):
    """A store with one AP of each platform under one site, and the good variables."""
    from core.config import load_config
    from core.secrets import SecretBox
    from core.store import Store

    folder = tmp_path_factory.mktemp("device-inputs")
    config = load_config(env={})
    config.store.path, config.store.key_file = str(folder / "oasis.db"), str(folder / "key")
    config.store.url = module_store_url
    store, box = Store(config.store_location()), SecretBox.from_key_file(config.store.key_file)
    inventory.add_site(store, {"slug": "park", "name_ar": "حديقة", "name_en": "Park",
                               "kind": "park"}, "corpus")
    for number, platform in enumerate(PLATFORMS, start=1):
        inventory.add_ap(store, box, {"name": f"ap-{number}", "mac": f"02:00:00:00:01:0{number}",
                                      "mgmt_ip": f"127.0.9.{number}", "platform": platform,
                                      "site": "park"}, "corpus")
    service = ProvisioningService(lambda: Store(config.store_location()), box, ProvisioningConfig())
    service.set_variables(Actor(), "global", None, GOOD)
    yield service
    service.close()
    store.close()


def _renders(service: ProvisioningService) -> None:
    renderer = Renderer()
    for ap in inventory.list_aps(service.store):
        renderer.render(ap["platform"], variables.effective(service.store, service.box, ap))


@pytest.mark.store_backed  # the fleet harness keeps its store
@pytest.mark.parametrize("case, layer, field, code", CASES, ids=[c[0] for c in CASES])
def test_template_variables_with_odd_values_are_refused(fleet, case, layer, field, code):
    before = variables.get_layer(fleet.store, fleet.box, "site", "park")
    stored_global = variables.get_layer(fleet.store, fleet.box, "global", None)
    with pytest.raises((ValidationFailed, InventoryError)) as refused:
        fleet.set_variables(Actor(), "site", "park", layer)
    if isinstance(refused.value, ValidationFailed):
        found = {(p.field, p.code) for p in refused.value.problems}
        assert field in {f for f, _ in found}, found
        if code is not None:
            assert (field, code) in found, found
        assert all(len(p.message) < 400 for p in refused.value.problems)
    else:
        assert (refused.value.field, refused.value.code) == (field, code)
    assert variables.get_layer(fleet.store, fleet.box, "site", "park") == before
    assert variables.get_layer(fleet.store, fleet.box, "global", None) == stored_global
    _renders(fleet)   # still serving: every platform still renders the good variables


# ==== SNMP responses =============================================================================

def _config(**overrides) -> SnmpConfig:
    values = dict(interval=60.0, timeout=0.4, retries=0, max_in_flight=256, down_after=3)
    return SnmpConfig(**(values | overrides))


def _poll(targets: list[PollTarget], cycles: int = 1, **config) -> Snapshot:
    snapshot = Snapshot()

    async def main():
        poller = Poller(lambda: targets, _config(**config), snapshot)
        try:
            for _ in range(cycles):
                await poller.poll_once()
        finally:
            poller.close()

    asyncio.run(main())
    return snapshot


def _no_traceback(caplog) -> None:
    traced = [r for r in caplog.records if r.exc_info]
    assert not traced, [r.getMessage() for r in traced]


def test_an_agent_answering_odd_types_is_polled_without_an_exception(device_recordings, caplog):
    target = PollTarget(1, "odd", device_recordings.host, device_recordings.port, "openwrt",
                        V2cCredentials("oasis/odd-types"))
    with caplog.at_level(logging.DEBUG):
        snapshot = _poll([target], cycles=2, timeout=3.0)
    _no_traceback(caplog)
    status = snapshot.get(1)
    assert status.state is ApState.UP, status.last_error
    # sysUpTime as text, sysName as a number, the client count as an address: missing, typed.
    assert {"uptime: wrong_type", "sys_name: wrong_type", "clients: wrong_type"} <= set(
        status.missing)
    assert status.uptime_s is None and status.sys_name is None and status.clients is None
    assert isinstance(status.sys_descr, str)
    by_index = {i.index: i for i in status.interfaces}
    assert set(by_index) == {row[0] for row in ODD_INTERFACES}
    for interface in status.interfaces:
        assert isinstance(interface.name, str)
        for value in (interface.in_octets, interface.in_errors):
            assert value is None or isinstance(value, int)
        for rate in (interface.in_bps, interface.errors_ps):
            assert rate is None or rate >= 0
    assert by_index[1].in_bps == 0.0                  # the sane row has a rate
    assert by_index[3].errors_ps is None              # negative counters: no rate
    assert by_index[5].errors_ps is None              # a Counter64 in a Counter32 column


def _real_response(device_recordings) -> tuple[bytes, bytes]:
    """A real snmpsim answer to the poller's first request (ubiquiti-m5), and the request."""
    plan = PollPlan.for_platform("openwrt", 10)
    non_repeaters, repeaters = plan.request_oids
    community = b"wifi/ubiquiti-m5"
    request = ber.encode_getbulk(community, len(non_repeaters), 10,
                                 [*non_repeaters, *repeaters]).message(0x00800001)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5.0)
        sock.sendto(request, (device_recordings.host, device_recordings.port))
        answer, _ = sock.recvfrom(65535)
    return answer, request


def _mutations(answer: bytes) -> list[tuple[str, bytes]]:
    rng = random.Random(23)
    out = [(f"cut at {n}", answer[:n]) for n in range(0, len(answer), 7)]
    for position in range(0, len(answer), 5):
        flipped = bytearray(answer)
        flipped[position] ^= 0xFF
        out.append((f"flip {position}", bytes(flipped)))
    for position in range(0, len(answer), 11):
        odd = bytearray(answer)
        odd[position] = rng.choice([0x04, 0x05, 0x06, 0x40, 0x41, 0x44, 0x46, 0x80, 0x81, 0x82,
                                    0xA2, 0xFF])
        out.append((f"tag {position}", bytes(odd)))
    out += [("length bomb", b"\x30\x84\xff\xff\xff\xff" + answer[2:]),
            ("indefinite length", b"\x30\x80" + answer[2:] + b"\x00\x00"),
            ("appended junk", answer + bytes(rng.randrange(256) for _ in range(300))),
            ("doubled", answer + answer), ("empty", b""),
            ("64 KB of noise", bytes(rng.randrange(256) for _ in range(65_000)))]
    return out


class FakeBrokenAgent(asyncio.DatagramProtocol):
    """A fake of a broken agent (an agent with this firmware cannot be run here): answers each
    request whose community is ``m<N>`` with mutation N of a real snmpsim answer, the request's
    id patched in where the answer still has its place."""

    def __init__(self, answer: bytes, mutations: list[bytes]):
        self.answer, self.mutations = answer, mutations
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        request = ber.decode_request(data)
        number = int(request.community[1:].decode())
        reply = self._with_request(self.mutations[number], request)
        assert self.transport is not None
        self.transport.sendto(reply, addr)

    def _with_request(self, mutated: bytes, request) -> bytes:
        original_id = ber.tlv(ber.INTEGER, ber.encode_signed(0x00800001))
        community = ber.tlv(ber.OCTET_STRING, b"wifi/ubiquiti-m5")
        return mutated.replace(community, ber.tlv(ber.OCTET_STRING, request.community), 1) \
            .replace(original_id, request.request_id_tlv, 1)


def test_truncated_and_mutated_responses_never_break_the_poller(device_recordings, caplog):
    answer, _ = _real_response(device_recordings)
    cases = _mutations(answer)

    async def main():
        loop = asyncio.get_running_loop()
        transport, agent = await loop.create_datagram_endpoint(
            lambda: FakeBrokenAgent(answer, [m for _, m in cases]),
            local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        targets = [PollTarget(n + 1, f"broken-{n}", "127.0.0.1", port, "openwrt",
                              V2cCredentials(f"m{n}")) for n in range(len(cases))]
        good = PollTarget(100_000, "good", device_recordings.host, device_recordings.port,
                          "openwrt", V2cCredentials("wifi/ubiquiti-m5"))
        snapshot = Snapshot()
        poller = Poller(lambda: [*targets, good], _config(timeout=1.0), snapshot)
        try:
            stats = await poller.poll_once()
        finally:
            poller.close()
            transport.close()
        return snapshot, stats

    with caplog.at_level(logging.WARNING):
        snapshot, stats = asyncio.run(main())
    _no_traceback(caplog)
    assert stats.polled == len(cases) + 1
    assert snapshot.get(100_000).state is ApState.UP       # the poller still reads a good agent
    states = {snapshot.get(n + 1).state for n in range(len(cases))}
    assert states <= {ApState.UP, ApState.DEGRADED}, states
    # Most mutations leave nothing that decodes (a timeout: degraded); those that still decode
    # are read for what they hold.
    assert ApState.DEGRADED in states


# ==== trap datagrams =============================================================================

AP_ADDRESS, COMMUNITY = "127.0.0.5", "oasis-traps"
LINK_DOWN = ("", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.3", "i", "3",
             "1.3.6.1.2.1.2.2.1.8.3", "i", "2")


def _capture(options: list[str], arguments: tuple[str, ...]) -> bytes:
    """The datagram net-snmp sends (``options``, then the address, then ``arguments``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10.0)
        port = sock.getsockname()[1]
        process = subprocess.Popen([*options, f"127.0.0.1:{port}", *arguments],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            datagram, _ = sock.recvfrom(65535)
        finally:
            process.kill()
            process.wait()
    return datagram


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    """Real notifications from net-snmp: v1 coldStart, v2c linkDown, v2c inform, v3 trap."""
    snmptrap, snmpinform = require_tool("snmptrap"), require_tool("snmpinform")
    return {
        "v1 coldStart": _capture([snmptrap, "-v", "1", "-c", COMMUNITY],
                                 ("1.3.6.1.4.1.8072.3.2.10", AP_ADDRESS, "0", "0", "")),
        "v2c linkDown": _capture([snmptrap, "-v", "2c", "-c", COMMUNITY], LINK_DOWN),
        "v2c inform": _capture([snmpinform, "-v", "2c", "-c", COMMUNITY, "-t", "5", "-r", "0"],
                               LINK_DOWN),
        "v3 trap": _capture([snmptrap, "-v", "3", "-u", "ap", "-l", "authPriv", "-a", "SHA",
                             "-A", "ap-auth-key", "-x", "AES", "-X", "ap-priv-key", "-e",
                             "0x8000000001020304"], LINK_DOWN),
    }


def _trap_cases(seeds: dict[str, bytes]) -> list[tuple[str, bytes]]:
    rng = random.Random(11)
    out: list[tuple[str, bytes]] = []
    v2c = seeds["v2c linkDown"]
    out += [(f"v2c cut at {n}", v2c[:n]) for n in range(len(v2c))]
    for name, seed in seeds.items():
        out += [(f"{name} cut at {n}", seed[:n]) for n in range(1, len(seed), 9)]
        for position in range(len(seed)):
            flipped = bytearray(seed)
            flipped[position] ^= 0xFF
            out.append((f"{name} flip {position}", bytes(flipped)))
    wrong = v2c.replace(COMMUNITY.encode(), b"guessed-xyz", 1)
    out += [
        ("wrong community", wrong),
        ("empty community", v2c.replace(ber.tlv(ber.OCTET_STRING, COMMUNITY.encode()),
                                        ber.tlv(ber.OCTET_STRING, b""), 1)),
        ("version 2", v2c[:4] + b"\x02" + v2c[5:]),
        ("version 3 with a v2c body", v2c[:4] + b"\x03" + v2c[5:]),
        ("version 255", v2c[:4] + b"\xff" + v2c[5:]),
        ("length bomb", b"\x30\x84\xff\xff\xff\xff" + v2c[2:]),
        ("indefinite length", b"\x30\x80" + v2c[2:] + b"\x00\x00"),
        ("10,000 nested sequences", b"\x30\x80" * 10_000),
        ("deep definite nesting", _nested(2_000)),
        ("empty", b""), ("one byte", b"\x30"),
        ("64 KB of noise", bytes(rng.randrange(256) for _ in range(65_000))),
        ("a request, not a notification", ber.encode_getbulk(COMMUNITY.encode(), 0, 1,
                                                             [(1, 3, 6)]).message(0x00800001)),
    ]
    out += [(f"noise {n}", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
            for n in range(40)]
    out += [(name, _notification(varbinds)) for name, varbinds in _ODD_NOTIFICATIONS]
    return out


def _nested(depth: int) -> bytes:
    inner = b"\x05\x00"
    for _ in range(depth):
        inner = ber.tlv(0x30, inner)
    return inner


_UPTIME = ((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.TIMETICKS, 5)
_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
_LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
_IF_OPER = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
_OPAQUE = 0x44
#: Well-formed v2c notifications with odd contents: (case, varbinds).
_ODD_NOTIFICATIONS = [
    ("no snmpTrapOID", [_UPTIME]),
    ("no varbinds", []),
    ("trap OID as text", [_UPTIME, (_TRAP_OID, ber.OCTET_STRING, b"linkDown")]),
    ("1,000 varbinds", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER, _LINK_DOWN)]
     + [((1, 3, 6, 1, 4, 1, 9, n), ber.INTEGER, n) for n in range(1_000)]),
    ("OID of 120 arcs", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER,
                                   (1, 3) + (4294967295,) * 118)]),
    ("ifIndex -1", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER, _LINK_DOWN),
                    (_IF_OPER + (4294967295,), ber.INTEGER, -1)]),
    ("ifOperStatus as text", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER, _LINK_DOWN),
                              (_IF_OPER + (3,), ber.OCTET_STRING,
                               b"\xff\xfe\x00down" + "\u2028".encode())]),
    ("Counter64 2**64-1", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER, _LINK_DOWN),
                           ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 3), ber.COUNTER64, 2 ** 64 - 1)]),
    ("ifName with controls", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER, _LINK_DOWN),
                              ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 3), ber.OCTET_STRING,
                               b"eth0\x00\x1b[2J\r\n" + "\u202e".encode())]),
    ("address and opaque", [_UPTIME, (_TRAP_OID, ber.OBJECT_IDENTIFIER, _LINK_DOWN),
                            ((1, 3, 6, 1, 4, 1, 9, 1), ber.IP_ADDRESS, b"\x0a\x00\x00\x01"),
                            ((1, 3, 6, 1, 4, 1, 9, 2), _OPAQUE, b"\x00\xff")]),
]


def _notification(varbinds) -> bytes:
    request_id = ber.tlv(ber.INTEGER, ber.encode_signed(7))
    encoded = [ber.encode_varbind(ber.encode_oid(o), t, v) if t != _OPAQUE
               else ber.tlv(ber.SEQUENCE, ber.encode_oid(o) + ber.tlv(_OPAQUE, v))
               for o, t, v in varbinds]
    return ber.encode_message(ber.SNMP_V2C, COMMUNITY.encode(), ber.TRAP_V2, request_id, 0, 0,
                              encoded)


class ObservedReceiver(TrapReceiver):
    """The real receiver, telling the test when it has dealt with each datagram."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.handled: asyncio.Queue = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        super().datagram_received(data, addr)
        self.handled.put_nowait(len(data))


def test_odd_trap_datagrams_are_counted_and_the_receiver_keeps_serving(seeds, caplog):
    cases = _trap_cases(seeds)

    async def main():
        snapshot, events = Snapshot(), []
        handler = TrapHandler({AP_ADDRESS: 42}.get, snapshot,
                              lambda ap_id, kind, detail: events.append((ap_id, kind, detail)))
        receiver = ObservedReceiver(handler, host="127.0.0.1", port=0, community=COMMUNITY,
                                    on_drop=snapshot.count_dropped_trap)
        await receiver.start()
        outcomes = []
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((AP_ADDRESS, 0))
                for name, datagram in cases:
                    before = (receiver.received, receiver.malformed, receiver.bad_community)
                    sock.sendto(datagram, ("127.0.0.1", receiver.port))
                    await asyncio.wait_for(receiver.handled.get(), 10)
                    after = (receiver.received, receiver.malformed, receiver.bad_community)
                    outcomes.append((name, tuple(a - b for a, b in zip(after, before))))
                # Still serving: a real trap from the AP becomes an event.
                events.clear()
                sock.sendto(seeds["v2c linkDown"], ("127.0.0.1", receiver.port))
                await asyncio.wait_for(receiver.handled.get(), 10)
        finally:
            receiver.close()
        return snapshot, events, outcomes, receiver

    with caplog.at_level(logging.WARNING):
        snapshot, events, outcomes, receiver = asyncio.run(main())
    _no_traceback(caplog)
    assert [(ap, kind) for ap, kind, _ in events] == [(42, "linkDown")]
    # Each v1/v2c datagram is delivered or dropped, exactly once; nothing v3 from a user the
    # receiver does not know is delivered.
    v1_v2c = [(name, delta) for name, delta in outcomes if not name.startswith("v3")]
    assert all(sorted(delta) == [0, 0, 1] for _, delta in v1_v2c), [
        o for o in v1_v2c if sorted(o[1]) != [0, 0, 1]][:5]
    assert all(delta[0] == 0 for name, delta in outcomes if name.startswith("v3"))
    verdict = dict(outcomes)
    assert verdict["wrong community"] == (0, 0, 1)
    assert verdict["empty"] == verdict["10,000 nested sequences"] == (0, 1, 0)
    # Counted for /metrics, logged once per reason (held back lines are counted, not logged).
    assert (snapshot.traps_malformed, snapshot.traps_bad_community) == (
        receiver.malformed, receiver.bad_community)
    dropped_lines = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped_lines) <= 2


# ==== the count =================================================================================

def surfaces(device_recordings, seeds) -> dict[str, int]:
    """Cases in this corpus, by surface. The mutated ones depend on the length of what snmpsim
    and net-snmp send (fixed steps, seeded noise), so they are counted from the seeds."""
    return {
        "template variables": len(CASES),
        "SNMP responses: odd types and values from an snmpsim agent":
            len(ODD_INTERFACES) * 4 + len(ODD_SCALARS) + 1,
        "SNMP responses: real answers truncated and mutated":
            len(_mutations(_real_response(device_recordings)[0])),
        "trap datagrams": len(_trap_cases(seeds)),
    }


def test_the_corpus_is_counted(device_recordings, seeds, capsys):
    counted = surfaces(device_recordings, seeds)
    with capsys.disabled():
        print(f"\ndevice-input corpus: {sum(counted.values())} cases: {counted}")
    # docs/provisioning.md and docs/snmp.md quote these; the floors keep the corpus from shrinking.
    floors = {"template variables": 250,
              "SNMP responses: odd types and values from an snmpsim agent": 36,
              "SNMP responses: real answers truncated and mutated": 150,
              "trap datagrams": 400}
    assert all(counted[name] >= floor for name, floor in floors.items()), counted
