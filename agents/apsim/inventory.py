"""Which APs the simulator serves: names, sites, addresses, platforms, MACs, positions.

The same plan seeds the controller's database in the demo (``simulated_inventory``), so the
controller polls exactly the APs the simulator answers for. Everything is derived from the AP's
position in the plan: rerunning gives the same names, MACs and addresses.
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    slug: str
    name_ar: str
    name_en: str
    kind: str  # the store's sites.kind: park | walkway | branch
    prefix: str  # AP name prefix
    lat: float
    lon: float
    #: Where the APs spread from the site's centre (degrees per AP, along the path or a grid).
    spread: float


SITES: tuple[Site, ...] = (
    Site("amanah-walkway", "ممشى الأمانة", "Amanah Walkway", "walkway", "AW",
         25.3789, 49.5862, 0.0009),
    Site("king-abdullah-park", "متنزه الملك عبدالله البيئي",
         "King Abdullah Environmental Park", "park", "KAP", 25.4125, 49.6156, 0.0012),
)

#: Platform of the k-th AP, repeating: mostly OpenWrt, some Cisco Aironet, a few generic.
PLATFORM_CYCLE = ("openwrt", "openwrt", "openwrt", "cisco_aironet", "openwrt",
                  "openwrt", "generic", "openwrt", "cisco_aironet", "openwrt")

#: Locally administered MAC prefix ("OE"): cannot collide with a real vendor's address.
MAC_PREFIX = (0x02, 0x4F, 0x45)


@dataclass(frozen=True)
class ApPlan:
    """One simulated AP as the controller's inventory sees it."""

    index: int
    name: str
    mac: str
    mgmt_ip: str
    platform: str
    site: Site
    snmp_port: int
    lat: float
    lon: float
    #: Drives this AP's traffic shape, peak clients and boot time.
    seed: int

    def as_dict(self) -> dict:
        return {"name": self.name, "mac": self.mac, "mgmt_ip": self.mgmt_ip,
                "platform": self.platform, "site": self.site.slug, "snmp_port": self.snmp_port,
                "lat": self.lat, "lon": self.lon}


def address_range(first_address: str, count: int) -> list[str]:
    """``count`` consecutive IPv4 addresses from ``first_address`` (crossing octets)."""
    first = ipaddress.IPv4Address(first_address)
    if int(first) + count - 1 > int(ipaddress.IPv4Address("255.255.255.255")):
        raise ValueError(f"{count} addresses from {first_address} run past 255.255.255.255")
    return [str(first + i) for i in range(count)]


def _position(site: Site, k: int) -> tuple[float, float]:
    if site.kind == "walkway":  # a line along the walkway
        return (round(site.lat + site.spread * 0.6 * k, 6),
                round(site.lon + site.spread * 0.8 * k, 6))
    side = 8  # a grid over the park
    return (round(site.lat + site.spread * (k // side), 6),
            round(site.lon + site.spread * (k % side), 6))


def plan_aps(count: int = 20, first_address: str = "127.0.1.1", port: int = 1161
             ) -> list[ApPlan]:
    """The simulated APs, split evenly across ``SITES`` (the first site takes the odd one)."""
    addresses = address_range(first_address, count)
    per_site = [count // len(SITES) + (1 if i < count % len(SITES) else 0)
                for i in range(len(SITES))]
    width = max(2, len(str(max(per_site, default=0))))
    plans: list[ApPlan] = []
    for site, site_count in zip(SITES, per_site):
        for k in range(site_count):
            index = len(plans)
            name = f"{site.prefix}-AP-{k + 1:0{width}d}"
            mac = ":".join(f"{b:02x}" for b in (*MAC_PREFIX, *(index + 1).to_bytes(3, "big")))
            lat, lon = _position(site, k)
            plans.append(ApPlan(index, name, mac, addresses[index],
                                PLATFORM_CYCLE[index % len(PLATFORM_CYCLE)], site, port,
                                lat, lon, zlib.crc32(name.encode())))
    return plans


def simulated_inventory(count: int = 20, first_address: str = "127.0.1.1",
                        port: int = 1161) -> list[dict]:
    """The APs as plain dicts (name, mac, mgmt_ip, platform, site, snmp_port, lat, lon)."""
    return [plan.as_dict() for plan in plan_aps(count, first_address, port)]


def simulated_sites() -> list[dict]:
    """The sites the simulated APs belong to, shaped like the store's ``sites`` rows."""
    return [{"slug": s.slug, "name_ar": s.name_ar, "name_en": s.name_en, "kind": s.kind,
             "lat": s.lat, "lon": s.lon} for s in SITES]
