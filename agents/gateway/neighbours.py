"""Client MAC addresses from the kernel's neighbour (ARP) table.

The redirector learns a client's IP from its TCP connection; the MAC, which the portal and the
nft sets key on, comes from the neighbour table: the kernel must have resolved it to answer
the connection at all. ``/proc/net/arp`` is per network namespace and cheap to read, so no
``ip neigh`` process is spawned per redirect.
"""

from __future__ import annotations

from pathlib import Path

ARP_TABLE = Path("/proc/net/arp")
_INCOMPLETE = "00:00:00:00:00:00"


def mac_for_ip(ip: str, table: Path = ARP_TABLE) -> str | None:
    """The MAC of ``ip`` on any interface, or None if the kernel does not know it."""
    try:
        lines = table.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 4 and fields[0] == ip and fields[3] != _INCOMPLETE:
            return fields[3].lower()
    return None


__all__ = ["mac_for_ip"]
