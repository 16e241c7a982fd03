"""What the rest of the system knows about a device platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


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
    #: How configuration is read and changed over SSH; None: not provisioned by Oasis Edge.
    driver: "ConfigDriver | None" = field(default=None, compare=False)


class CliSession(Protocol):
    """What a driver needs from an SSH session (netconfig.ssh.DeviceSession provides it)."""

    def command(self, command: str) -> str: ...

    def configure(self, lines: list[str]) -> str: ...

    def save(self) -> str: ...


class ConfigDriver(Protocol):
    """Reads and changes one platform's configuration; each platform folder has one.

    Config texts are what the device prints (``uci show``, ``show running-config``, a file),
    so a backup is exactly the device's view. ``comparable`` cuts a running config down to what
    a desired config manages, so intended-vs-running compares like with like.
    """

    #: Template file in the platform folder's ``templates/``.
    template: str
    #: Whether the device CLI can carry only ASCII SSIDs.
    ascii_ssid_only: bool
    #: Security modes the device supports (a subset of netconfig.validate.SECURITY_MODES).
    security_modes: tuple[str, ...]
    #: Radio (device-side name) per band, e.g. {"2g": "radio0"}.
    radio_names: dict[str, str]

    def read_running(self, session: CliSession, hint: str = "") -> str:
        """The running config; ``hint`` is a config text that may say where it lives."""
        ...

    def canonical(self, text: str) -> str: ...

    def comparable(self, running: str, desired: str) -> str: ...

    def commands(self, running: str, desired: str, *, exact: bool) -> list[str]:
        """What ``converge`` would send (a dry run shows these without sending them)."""
        ...

    def converge(self, session: CliSession, running: str, desired: str, *,
                 exact: bool) -> list[str]: ...

    def redact(self, text: str) -> str:
        """``text`` (a config text or a command list line) with every secret masked."""
        ...

    def cli_refusal(self, value: str) -> str | None:
        """Why the device cannot carry ``value`` (an SSID or a passphrase) exactly as given, or
        None when it can (validation reports the reason against the field)."""
        ...
