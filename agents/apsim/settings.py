"""The ``[apsim]`` config section: the simulated APs that ``make run`` starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from core.snmp_usm import UsmUser


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
    #: core.snmp_usm's names: MD5, SHA, SHA224..SHA512; DES, AES, AES192(C), AES256(C).
    v3_auth_proto: str = "SHA"
    v3_priv_proto: str = "AES"
    #: The SNMPv3 context name the APs serve their MIB under.
    v3_context: str = ""
    #: Version of the traps the APs send: "2c" or "3" (the v3 user, from each AP's engine).
    trap_version: str = "2c"

    def validate(self) -> None:
        try:
            ipaddress.IPv4Address(self.first_address)
        except ValueError:
            raise ValueError(f"first_address: not an IPv4 address: {self.first_address!r}") from None
        if self.count < 0:
            raise ValueError("count: must not be negative")
        if not 0 < self.port <= 65535:
            raise ValueError("port: must be 1-65535")
        if self.trap_version not in ("2c", "3"):
            raise ValueError(f"trap_version: {self.trap_version!r} is not 2c or 3")
        try:
            UsmUser.from_passphrases(self.v3_user, self.v3_auth_proto, self.v3_auth_key or None,
                                     self.v3_priv_proto, self.v3_priv_key or None)
        except ValueError as exc:
            raise ValueError(f"v3_user: {exc}") from None
