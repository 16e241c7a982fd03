"""Channels and transmit-power limits of the regulatory domain the parks are in (Saudi Arabia).

Source: the Linux wireless regulatory database (wireless-regdb ``db.txt``, ``country SA:
DFS-ETSI``), whose SA entry cites the CITC (now CST) "Wi-Fi Regulations" PL-PM-002-E:

    (2402 - 2482 @ 40), (20)                 -> 2.4 GHz channels 1-13, 20 dBm EIRP
    (5170 - 5250 @ 80), (20), AUTO-BW        -> 36-48, 20 dBm
    (5250 - 5330 @ 80), (20), DFS, AUTO-BW   -> 52-64, 20 dBm, radar detection
    (5490 - 5710 @ 160), (27), DFS           -> 100-140, 27 dBm, radar detection
    (5925 - 7125 @ 320), (250 mW), NO-OUTDOOR -> 6 GHz indoor only: never for a park AP

Channels 144 and 149-165 (5.72-5.85 GHz) are not in the SA rules, so they are refused even
though many radios offer them. A 20 MHz channel must fit inside a rule, which is why 140 (5690-
5710 MHz) is allowed and 144 is not. Limits are EIRP: conducted power plus antenna gain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelRule:
    band: str            # "2g" or "5g"
    channels: tuple[int, ...]
    max_eirp_dbm: int
    dfs: bool


SA_RULES: tuple[ChannelRule, ...] = (
    ChannelRule("2g", tuple(range(1, 14)), 20, False),
    ChannelRule("5g", (36, 40, 44, 48), 20, False),
    ChannelRule("5g", (52, 56, 60, 64), 20, True),
    ChannelRule("5g", tuple(range(100, 141, 4)), 27, True),
)

COUNTRY = "SA"
BANDS = ("2g", "5g")


def rule_for(band: str, channel: int) -> ChannelRule | None:
    """The SA rule a channel falls under on a band, or None when it is not allowed there."""
    for rule in SA_RULES:
        if rule.band == band and channel in rule.channels:
            return rule
    return None


def allowed_channels(band: str) -> list[int]:
    return [c for rule in SA_RULES if rule.band == band for c in rule.channels]
