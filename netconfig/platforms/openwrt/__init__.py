"""OpenWrt: UCI over SSH; clients from NET-SNMP-EXTEND (``extend clients <script>`` in
snmpd.conf)."""

from netconfig.platforms.base import ClientCountSource, Platform
from netconfig.platforms.openwrt.driver import OpenWrtDriver

# nsExtendOutput1Line."clients": the index is the extend name as a length-prefixed OCTET STRING.
_EXTEND_NAME = "clients"
CLIENTS_OID = "1.3.6.1.4.1.8072.1.3.2.3.1.1." + ".".join(
    [str(len(_EXTEND_NAME))] + [str(ord(c)) for c in _EXTEND_NAME])

PLATFORM = Platform(
    name="openwrt",
    label="OpenWrt",
    netmiko_device_type="linux",
    client_count=ClientCountSource("scalar", CLIENTS_OID,
                                   'NET-SNMP-EXTEND-MIB::nsExtendOutput1Line."clients"'),
    driver=OpenWrtDriver(),
)
