"""Where a visitor filing a report is: the site and AP of their WiFi session.

The gateway signs into the redirect whatever the AP put in its DHCP option 82 (vendors differ:
the AP's name, its MAC, ``MAC:SSID``, ``MAC;SSID``...). `locate` matches that against the
inventory, by a MAC found anywhere in it or else by name, so a report names the AP as the
engineers know it and sits at that AP's site. An identity the inventory does not know is kept
as the gateway gave it, at the gateway's site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import inventory
from core.contracts.signature import normalise_mac

#: A MAC written with ':' or '-' separators, or none, or Cisco's dotted form.
_MAC = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
                  r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![0-9A-Fa-f])")


@dataclass(frozen=True)
class Location:
    site: str | None
    ap: str | None


def macs_in(identity: str) -> list[str]:
    """The MAC addresses written in an option 82 identity, normalised."""
    return [normalise_mac(match.group(0)) for match in _MAC.finditer(identity)]


def locate(conn, gateway_site: str | None, ap_identity: str | None) -> Location:
    """The site slug and AP name for a session at ``gateway_site`` behind ``ap_identity``."""
    if not ap_identity:
        return Location(gateway_site, None)
    found = None
    for mac in macs_in(ap_identity):
        found = inventory.ap_and_site(conn, mac=mac)
        if found:
            break
    if found is None:
        found = inventory.ap_and_site(conn, name=ap_identity)
    if found is None:
        return Location(gateway_site, ap_identity)
    return Location(found[1], found[0])


__all__ = ["Location", "locate", "macs_in"]
