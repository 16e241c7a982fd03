"""The ``[provisioning]`` config section (registered in core.config by the controller)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass
class ProvisioningConfig:
    #: SSH sessions at once in a batch push (threads; each mostly waits on the network).
    workers: int = 20
    #: APs pushed alone, one after another, before the rest of a batch.
    canary: int = 1
    #: A batch stops (remaining APs skipped) once more than this many APs have failed.
    max_failures: int = 3
    #: Private key the controller logs in to APs with, besides each AP's password ("": none).
    ssh_key_file: str = ""
    ssh_connect_timeout: float = 5.0
    ssh_command_timeout: float = 10.0
    #: Pre- and post-check that the AP answers SNMP (switch off only for APs without SNMP).
    snmp_check: bool = True
    snmp_timeout: float = 1.0
    #: How long to keep trying to reach an AP that failed its post-check, to roll it back.
    rollback_window: float = 60.0
    #: Seconds between two scheduled drift checks of every AP.
    drift_interval: float = 3600.0
    #: Comma-separated networks from which an unknown AP's hello is accepted for adoption.
    adoption_networks: str = "127.0.0.0/8"

    def validate(self) -> None:
        for key, ok in (("workers", 1 <= self.workers <= 200), ("canary", self.canary >= 0),
                        ("max_failures", self.max_failures >= 0),
                        ("ssh_connect_timeout", self.ssh_connect_timeout > 0),
                        ("ssh_command_timeout", self.ssh_command_timeout > 0),
                        ("snmp_timeout", self.snmp_timeout > 0),
                        ("rollback_window", self.rollback_window >= 0),
                        ("drift_interval", self.drift_interval > 0)):
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")
        self.networks()

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        try:
            return [ipaddress.ip_network(n.strip()) for n in self.adoption_networks.split(",")
                    if n.strip()]
        except ValueError as exc:
            raise ValueError(f"adoption_networks: {exc}") from None
