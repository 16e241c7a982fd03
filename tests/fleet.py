"""A walkway site and numbered APs, added through `core.inventory` the way an operator adds them,
for the tests of any package that needs a fleet in its store."""

from __future__ import annotations

from core import inventory


def add_site(store, slug: str = "amanah-walkway") -> dict:
    return inventory.add_site(store, {"slug": slug, "name_en": "Amanah Walkway",
                                      "name_ar": "ممشى أمانة", "kind": "walkway"}, "test")


def ap_data(n: int = 1, site: str = "amanah-walkway", **extra) -> dict:
    return {"name": f"ap-{n:03d}", "mac": f"02:00:00:00:00:{n:02x}", "mgmt_ip": f"10.0.0.{n}",
            "site": site, "platform": "openwrt", **extra}


def add_ap(store, secrets, n: int = 1, **extra) -> dict:
    return inventory.add_ap(store, secrets, ap_data(n, **extra), "test")
