"""The ``[apsim]`` config section: the simulated APs that ``make run`` starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass
class ApsimConfig:
    count: int = 20
    #: First simulated AP's address; the next ones count up from it (127.0.0.0/8 is all loopback).
    first_address: str = "127.0.1.1"
    port: int = 1161
    community: str = "public"
    v3_user: str = "oasis"
    v3_auth_key: str = "oasis-auth-key"
    v3_priv_key: str = "oasis-priv-key"

    def validate(self) -> None:
        try:
            ipaddress.IPv4Address(self.first_address)
        except ValueError:
            raise ValueError(f"first_address: not an IPv4 address: {self.first_address!r}") from None
        if self.count < 0:
            raise ValueError("count: must not be negative")
        if not 0 < self.port <= 65535:
            raise ValueError("port: must be 1-65535")
