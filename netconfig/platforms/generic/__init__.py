"""Any SNMP device without a known client-count object: system and interfaces only.

Provisioned, when it is a Linux box running hostapd, through one configuration file over SSH.
"""

from netconfig.platforms.base import Platform
from netconfig.platforms.generic.driver import HostapdFileDriver

PLATFORM = Platform(name="generic", label="Generic SNMP device",
                    netmiko_device_type="linux", client_count=None, driver=HostapdFileDriver())
