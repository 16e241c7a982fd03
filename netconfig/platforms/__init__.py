"""The one dispatch table of device platforms."""

from __future__ import annotations

from netconfig.platforms import cisco_aironet, generic, openwrt
from netconfig.platforms.base import ClientCountSource, Platform

PLATFORMS: dict[str, Platform] = {
    p.name: p for p in (openwrt.PLATFORM, cisco_aironet.PLATFORM, generic.PLATFORM)
}


class UnknownPlatform(ValueError):
    def __init__(self, name: str):
        super().__init__(f"unknown platform {name!r}; supported: {', '.join(sorted(PLATFORMS))}")
        self.name = name


def get_platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise UnknownPlatform(name) from None


__all__ = ["PLATFORMS", "ClientCountSource", "Platform", "UnknownPlatform", "get_platform"]
