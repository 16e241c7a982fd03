"""Checks on template variables before anything is rendered or pushed.

A push that a radio would refuse, or that would break the law on air, must stop here, with every
problem named by its variable path (``ssids[0].ssid``) so the UI can point at the field. The
limits that matter on the device are in bytes, not characters: an SSID is an octet string of at
most 32 bytes (IEEE 802.11), so an Arabic SSID of 15 characters already takes 28 bytes.

Text that reaches a device goes through its CLI or a config file one line at a time, so anything
that a line-based reader takes for a line end (U+0085, U+2028, U+2029 as well as CR and LF) or
that a phone would show differently from what was typed (bidi overrides, edges of spaces) is
refused here rather than escaped per platform. Switches are JSON booleans: the string ``"no"`` is
truthy in a template, so it is refused, not read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from netconfig import regdomain

SSID_MAX_BYTES = 32
PASSPHRASE_MIN, PASSPHRASE_MAX = 8, 63          # IEEE 802.11i ASCII passphrase
SECURITY_MODES = ("open", "wpa2", "wpa3", "wpa2-wpa3")
TX_POWER_MIN_DBM = 1
#: Antenna gain the EIRP check trusts. Below 0 dBi a typo would let tx_power exceed the limit
#: (a gain of -100 allowed 117 dBm); above 30 dBi is no antenna a park AP carries.
ANTENNA_GAIN_MIN_DBI, ANTENNA_GAIN_MAX_DBI = 0, 30
#: No radio here carries more BSSIDs (autonomous IOS: 16 SSIDs).
SSIDS_MAX = 16
_SSID_ID = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
_HTMODE = re.compile(r"^(?:HT(?:20|40[+-]?)|VHT(?:20|40|80|160)|HE(?:20|40|80|160)"
                     r"|EHT(?:20|40|80|160|320))$")
#: The hostapd file (generic platform): an absolute path of plain characters ending in .conf,
#: so a typo cannot replace a system file and the ``# path:`` line reads back as written.
_CONFIG_PATH = re.compile(r"^(?:/[A-Za-z0-9._-]+)+\.conf$")
CONFIG_PATH_MAX = 200
#: The reload command (generic platform): one command with plain arguments, no shell operators,
#: quoting, substitutions or line ends (it runs as root on the AP and sits on a line of the file).
_RELOAD_COMMAND = re.compile(r"^[A-Za-z0-9@%+=:,./_-]+(?: [A-Za-z0-9@%+=:,./_-]+)*$")
RELOAD_COMMAND_MAX = 200
#: Bidi embeddings, overrides and isolates (and the BOM): they reorder what a phone shows, so an
#: SSID could display as another network's name.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
#: Unicode categories refused in SSIDs: controls (C0, C1 with U+0085, DEL), line and paragraph
#: separators, lone surrogates, private use and unassigned code points.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


class ValidationFailed(ValueError):
    """The variables would produce a config that must not be pushed."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def _shown(value: object, limit: int = 40) -> str:
    """A refused value as the message repeats it: repr, cut short (a refusal of 1 MB of text
    should not be 1 MB long)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def ssid_bytes(ssid: str) -> int:
    # surrogatepass: a lone surrogate is refused by `refused_character`, not a crash here.
    return len(ssid.encode("utf-8", "surrogatepass"))


def refused_character(text: str) -> str | None:
    """The first character of ``text`` an SSID may not hold, as ``U+XXXX (NAME)``; else None."""
    for char in text:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _REFUSED_CATEGORIES \
                or (ord(char) & 0xFFFE) == 0xFFFE or 0xFDD0 <= ord(char) <= 0xFDEF:
            name = unicodedata.name(char, "") if unicodedata.category(char) != "Cs" else ""
            return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return None


def _check_ssid(entry: Mapping, where: str, ascii_only: bool, out: list[Problem]) -> None:
    ssid = entry.get("ssid")
    if ssid is not None and not isinstance(ssid, str):
        out.append(Problem(f"{where}.ssid", "invalid", f"SSID must be text, got {_shown(ssid)}"))
        return
    if not ssid:
        out.append(Problem(f"{where}.ssid", "missing", "an SSID is required"))
        return
    size = ssid_bytes(ssid)
    if size > SSID_MAX_BYTES:
        out.append(Problem(f"{where}.ssid", "ssid_too_long",
                           f"SSID is {size} bytes in UTF-8 ({len(ssid)} characters); "
                           f"the limit is {SSID_MAX_BYTES} bytes"))
    refused = refused_character(ssid)
    if refused:
        out.append(Problem(f"{where}.ssid", "invalid",
                           f"SSID contains {refused}: control characters, line separators and "
                           "bidi controls are not allowed"))
    elif not ssid.strip():
        out.append(Problem(f"{where}.ssid", "blank", "SSID is only spaces"))
    elif ssid != ssid.strip():
        out.append(Problem(f"{where}.ssid", "edge_spaces",
                           "SSID begins or ends with a space (invisible on a phone; some APs "
                           "drop it)"))
    if ascii_only and not ssid.isascii():
        out.append(Problem(f"{where}.ssid", "not_ascii",
                           "this platform's CLI accepts ASCII SSIDs only"))


def _check_security(entry: Mapping, where: str, out: list[Problem]) -> None:
    security = entry.get("security", "open")
    if security not in SECURITY_MODES:
        out.append(Problem(f"{where}.security", "invalid",
                           f"security must be one of {', '.join(SECURITY_MODES)}"))
        return
    passphrase = entry.get("passphrase")
    if security == "open":
        if passphrase:
            out.append(Problem(f"{where}.passphrase", "unused", "an open SSID takes no passphrase"))
        return
    if not isinstance(passphrase, str):
        out.append(Problem(f"{where}.passphrase", "missing", f"{security} needs a passphrase"))
        return
    if not PASSPHRASE_MIN <= len(passphrase) <= PASSPHRASE_MAX:
        out.append(Problem(f"{where}.passphrase", "passphrase_length",
                           f"passphrase must be {PASSPHRASE_MIN}-{PASSPHRASE_MAX} characters, "
                           f"got {len(passphrase)}"))
    if not passphrase.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in passphrase):
        out.append(Problem(f"{where}.passphrase", "invalid",
                           "passphrase must be printable ASCII"))
    elif passphrase != passphrase.strip(" "):
        out.append(Problem(f"{where}.passphrase", "edge_spaces",
                           "passphrase begins or ends with a space (IOS and hostapd drop it, so "
                           "the AP would not have the passphrase shown)"))


def _check_vlan(entry: Mapping, where: str, out: list[Problem]) -> None:
    vlan = entry.get("vlan")
    if vlan is None:
        return
    if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
        out.append(Problem(f"{where}.vlan", "vlan_range", f"VLAN must be 1-4094, got {_shown(vlan)}"))


def _check_switch(entry: Mapping, key: str, where: str, out: list[Problem]) -> None:
    """``enabled``/``hidden``: a JSON boolean; ``"no"`` or ``0`` would be read by truthiness."""
    value = entry.get(key)
    if value is not None and not isinstance(value, bool):
        out.append(Problem(f"{where}.{key}", "not_boolean",
                           f"{key} must be true or false, got {_shown(value)}"))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_radio(band: str, radio: Mapping, out: list[Problem]) -> None:
    where = f"radios.{band}"
    if band not in regdomain.BANDS:
        out.append(Problem(where, "invalid", f"band must be one of {', '.join(regdomain.BANDS)}"))
        return
    _check_switch(radio, "enabled", where, out)
    htmode = radio.get("htmode")
    if htmode is not None and (not isinstance(htmode, str) or not _HTMODE.match(htmode)):
        out.append(Problem(f"{where}.htmode", "invalid",
                           "htmode: HT20, HT40, HT40+, HT40-, VHT20-160, HE20-160 or EHT20-320"))
    gain = radio.get("antenna_gain", 0)
    if not _is_int(gain) or not ANTENNA_GAIN_MIN_DBI <= gain <= ANTENNA_GAIN_MAX_DBI:
        out.append(Problem(f"{where}.antenna_gain", "antenna_gain_range",
                           f"antenna_gain must be a whole number of dBi, "
                           f"{ANTENNA_GAIN_MIN_DBI}-{ANTENNA_GAIN_MAX_DBI}, got {_shown(gain)}"))
        gain = None
    channel = radio.get("channel", "auto")
    rule = None
    if channel != "auto":
        if isinstance(channel, bool) or not isinstance(channel, int):
            out.append(Problem(f"{where}.channel", "invalid", "channel must be a number or 'auto'"))
        else:
            rule = regdomain.rule_for(band, channel)
            if rule is None:
                out.append(Problem(
                    f"{where}.channel", "channel_not_allowed",
                    f"channel {channel} is not allowed on {band} in {regdomain.COUNTRY}; "
                    f"allowed: {', '.join(map(str, regdomain.allowed_channels(band)))}"))
    power = radio.get("tx_power")
    if power is None or gain is None:
        return
    if not _is_int(power):
        out.append(Problem(f"{where}.tx_power", "invalid", "tx_power is a whole number of dBm"))
        return
    # Without a fixed channel the radio may land in the strictest rule of the band.
    limit = rule.max_eirp_dbm if rule else min(r.max_eirp_dbm for r in regdomain.SA_RULES
                                               if r.band == band)
    if power < TX_POWER_MIN_DBM or power + gain > limit:
        out.append(Problem(f"{where}.tx_power", "tx_power_limit",
                           f"tx_power {power} dBm + antenna gain {gain} dBi exceeds the "
                           f"{limit} dBm EIRP limit" if power >= TX_POWER_MIN_DBM
                           else f"tx_power must be at least {TX_POWER_MIN_DBM} dBm"))


def _check_hostapd_file(variables: Mapping, out: list[Problem]) -> None:
    path = variables.get("config_path")
    if path is not None and (not isinstance(path, str) or len(path) > CONFIG_PATH_MAX
                             or not _CONFIG_PATH.match(path) or "/../" in path + "/"
                             or "/./" in path + "/"):
        out.append(Problem("config_path", "invalid",
                           "config_path: an absolute path of letters, digits, '.', '_', '-' "
                           f"ending in .conf (max {CONFIG_PATH_MAX})"))
    command = variables.get("reload_command")
    if command is not None and command != "" and (
            not isinstance(command, str) or len(command) > RELOAD_COMMAND_MAX
            or not _RELOAD_COMMAND.match(command)):
        out.append(Problem("reload_command", "invalid",
                           "reload_command: one command with plain arguments (letters, digits, "
                           "@%+=:,./_-), single spaces, no shell operators or quoting "
                           f"(max {RELOAD_COMMAND_MAX})"))


def problems(variables: Mapping, *, ascii_ssid_only: bool = False) -> list[Problem]:
    """Every problem with ``variables``; an empty list means they may be rendered and pushed."""
    out: list[Problem] = []
    _check_hostapd_file(variables, out)
    hostname = variables.get("hostname")
    if hostname is not None and (not isinstance(hostname, str) or not _HOSTNAME.match(hostname)):
        out.append(Problem("hostname", "invalid", "hostname: letters, digits and '-' (max 63)"))
    country = variables.get("country", regdomain.COUNTRY)
    if country != regdomain.COUNTRY:
        out.append(Problem("country", "invalid",
                           f"only the {regdomain.COUNTRY} regulatory domain is supported"))
    radios = variables.get("radios") or {}
    if not isinstance(radios, Mapping):
        out.append(Problem("radios", "invalid", "radios must map band to settings"))
        radios = {}
    for band, radio in radios.items():
        if not isinstance(radio, Mapping):
            out.append(Problem(f"radios.{band}", "invalid", "a radio's settings must be a table"))
            continue
        _check_radio(band, radio, out)
    ssids = variables.get("ssids") or []
    if not isinstance(ssids, list) or not ssids:
        out.append(Problem("ssids", "missing", "at least one SSID is required"))
        ssids = []
    elif len(ssids) > SSIDS_MAX:
        out.append(Problem("ssids", "too_many", f"at most {SSIDS_MAX} SSIDs, got {len(ssids)}"))
        ssids = ssids[:SSIDS_MAX]
    seen: set[str] = set()
    for index, entry in enumerate(ssids):
        where = f"ssids[{index}]"
        if not isinstance(entry, Mapping):
            out.append(Problem(where, "invalid", "an SSID entry must be a table"))
            continue
        ident = entry.get("id")
        if not isinstance(ident, str) or not _SSID_ID.match(ident) or ident in seen:
            out.append(Problem(f"{where}.id", "invalid",
                               "id: unique, lower-case letters, digits, '_' (max 16)"))
        else:
            seen.add(ident)
        _check_ssid(entry, where, ascii_ssid_only, out)
        _check_security(entry, where, out)
        _check_vlan(entry, where, out)
        _check_switch(entry, "hidden", where, out)
        bands = entry.get("bands", list(radios) or ["2g"])
        if not isinstance(bands, list) or not all(isinstance(b, str) for b in bands):
            out.append(Problem(f"{where}.bands", "invalid", "bands: a list such as [2g, 5g]"))
            continue
        for band in bands:
            if band not in radios:
                out.append(Problem(f"{where}.bands", "unknown_radio",
                                   f"band {_shown(band)} has no radio in radios"))
    return out


def check(variables: Mapping, *, ascii_ssid_only: bool = False) -> None:
    """Raise `ValidationFailed` listing every problem, or return quietly."""
    found = problems(variables, ascii_ssid_only=ascii_ssid_only)
    if found:
        raise ValidationFailed(found)
