"""What the rest of the system knows about a device platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ClientCountSource:
    """Where a platform publishes its associated-client count over SNMP.

    ``scalar``: one instance under ``oid`` (its first instance is read with GETNEXT);
    ``column_sum``: a table column indexed per radio interface, summed over its rows.
    """

    kind: Literal["scalar", "column_sum"]
    oid: str
    mib: str  # the MIB object, for docs and the UI


@dataclass(frozen=True)
class Platform:
    name: str
    label: str
    #: netmiko device_type used for SSH (provisioning).
    netmiko_device_type: str
    #: None: the platform offers no client count over SNMP; the UI shows "unknown".
    client_count: ClientCountSource | None
