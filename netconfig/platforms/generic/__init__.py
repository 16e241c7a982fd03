"""Any SNMP device without a known client-count object: system and interfaces only."""

from netconfig.platforms.base import Platform

PLATFORM = Platform(name="generic", label="Generic SNMP device",
                    netmiko_device_type="linux", client_count=None)
