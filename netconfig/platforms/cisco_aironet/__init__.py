"""Cisco Aironet autonomous APs (IOS CLI); clients from CISCO-DOT11-ASSOCIATION-MIB per radio."""

from netconfig.platforms.base import ClientCountSource, Platform
from netconfig.platforms.cisco_aironet.driver import CiscoAironetDriver

PLATFORM = Platform(
    name="cisco_aironet",
    label="Cisco Aironet (IOS autonomous)",
    netmiko_device_type="cisco_ios",
    client_count=ClientCountSource(
        "column_sum", "1.3.6.1.4.1.9.9.273.1.1.2.1.1",
        "CISCO-DOT11-ASSOCIATION-MIB::cDot11ActiveWirelessClients"),
    driver=CiscoAironetDriver(),
)
