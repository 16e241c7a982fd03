"""Checks on template variables before anything is rendered or pushed.

A push that a radio would refuse, or that would break the law on air, must stop here, with every
problem named by its variable path (``ssids[0].ssid``) so the UI can point at the field. The
limits that matter on the device are in bytes, not characters: an SSID is an octet string of at
most 32 bytes (IEEE 802.11), so an Arabic SSID of 15 characters already takes 28 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from netconfig import regdomain

SSID_MAX_BYTES = 32
PASSPHRASE_MIN, PASSPHRASE_MAX = 8, 63          # IEEE 802.11i ASCII passphrase
SECURITY_MODES = ("open", "wpa2", "wpa3", "wpa2-wpa3")
TX_POWER_MIN_DBM = 1
_SSID_ID = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


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


def ssid_bytes(ssid: str) -> int:
    return len(ssid.encode("utf-8"))


def _check_ssid(entry: Mapping, where: str, ascii_only: bool, out: list[Problem]) -> None:
    ssid = entry.get("ssid")
    if not isinstance(ssid, str) or not ssid:
        out.append(Problem(f"{where}.ssid", "missing", "an SSID is required"))
        return
    size = ssid_bytes(ssid)
    if size > SSID_MAX_BYTES:
        out.append(Problem(f"{where}.ssid", "ssid_too_long",
                           f"SSID is {size} bytes in UTF-8 ({len(ssid)} characters); "
                           f"the limit is {SSID_MAX_BYTES} bytes"))
    if any(ord(c) < 32 or ord(c) == 127 for c in ssid):
        out.append(Problem(f"{where}.ssid", "invalid", "SSID contains control characters"))
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


def _check_vlan(entry: Mapping, where: str, out: list[Problem]) -> None:
    vlan = entry.get("vlan")
    if vlan is None:
        return
    if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
        out.append(Problem(f"{where}.vlan", "vlan_range", f"VLAN must be 1-4094, got {vlan!r}"))


def _check_radio(band: str, radio: Mapping, out: list[Problem]) -> None:
    where = f"radios.{band}"
    if band not in regdomain.BANDS:
        out.append(Problem(where, "invalid", f"band must be one of {', '.join(regdomain.BANDS)}"))
        return
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
    if power is None:
        return
    gain = radio.get("antenna_gain", 0)
    if isinstance(power, bool) or not isinstance(power, int) or isinstance(gain, bool) \
            or not isinstance(gain, int):
        out.append(Problem(f"{where}.tx_power", "invalid", "tx_power and antenna_gain are dBm/dBi"
                           " integers"))
        return
    # Without a fixed channel the radio may land in the strictest rule of the band.
    limit = rule.max_eirp_dbm if rule else min(r.max_eirp_dbm for r in regdomain.SA_RULES
                                               if r.band == band)
    if power < TX_POWER_MIN_DBM or power + gain > limit:
        out.append(Problem(f"{where}.tx_power", "tx_power_limit",
                           f"tx_power {power} dBm + antenna gain {gain} dBi exceeds the "
                           f"{limit} dBm EIRP limit" if power >= TX_POWER_MIN_DBM
                           else f"tx_power must be at least {TX_POWER_MIN_DBM} dBm"))


def problems(variables: Mapping, *, ascii_ssid_only: bool = False) -> list[Problem]:
    """Every problem with ``variables``; an empty list means they may be rendered and pushed."""
    out: list[Problem] = []
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
        for band in entry.get("bands", list(radios) or ["2g"]):
            if band not in radios:
                out.append(Problem(f"{where}.bands", "unknown_radio",
                                   f"band {band!r} has no radio in radios"))
    return out


def check(variables: Mapping, *, ascii_ssid_only: bool = False) -> None:
    """Raise `ValidationFailed` listing every problem, or return quietly."""
    found = problems(variables, ascii_ssid_only=ascii_ssid_only)
    if found:
        raise ValidationFailed(found)
