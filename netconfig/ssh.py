"""The SSH adapter: the one module that imports netmiko (and the paramiko it is built on).

netmiko has changed its API before (4.x renamed delay and timeout arguments), so everything that
touches it stays here behind `open_session` and `DeviceSession`. Errors come out as this module's
exception types, so callers never see a netmiko or paramiko type, and messages never carry a
password.

Host keys: when an AP has a pinned key, it is written to a private known_hosts file and the
connection runs with strict checking, so a device presenting another key is refused *before* the
password is sent. Without a pin the key is accepted and reported (`DeviceSession.host_key`) so
the caller can pin it: trust on first contact.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

log = logging.getLogger(__name__)
# netmiko's DEBUG lines carry the channel's bytes: every command typed into an AP and its echo,
# passphrases included. They stay off even under ``oasis -vv`` (outcomes show the commands,
# masked); netmiko's warnings and errors still come through.
logging.getLogger("netmiko").setLevel(logging.INFO)


class SshError(Exception):
    """An SSH exchange failed for a reason other than those below."""


class SshAuthError(SshError):
    """The device refused our credentials."""


class SshUnreachable(SshError):
    """No TCP connection or no SSH handshake: the device does not answer."""


class SshTimeout(SshError):
    """The device stopped answering in the middle of a session."""


class HostKeyChanged(SshError):
    """The device presented a host key other than the pinned one; nothing was sent to it."""

    def __init__(self, message: str, presented: "HostKey | None" = None):
        super().__init__(message)
        self.presented = presented


@dataclass(frozen=True)
class HostKey:
    key_type: str
    base64: str

    @property
    def fingerprint(self) -> str:
        """OpenSSH-style ``SHA256:...`` fingerprint, what engineers compare on the device."""
        digest = hashlib.sha256(base64.b64decode(self.base64)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    device_type: str
    pinned_key: HostKey | None = None
    #: A private key the controller logs in with (instead of, or besides, the password).
    key_file: str | None = None


@dataclass(frozen=True)
class SshTimeouts:
    connect: float = 5.0
    command: float = 10.0


def _known_hosts_line(target: SshTarget, key: HostKey) -> str:
    host = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
    return f"{host} {key.key_type} {key.base64}\n"


def _classify(exc: Exception, target: SshTarget) -> SshError:
    where = f"{target.host}:{target.port}"
    cause = exc.__context__
    # paramiko checks host keys only against the pinned key, so a mismatch implies one.
    if isinstance(cause, paramiko.BadHostKeyException) and target.pinned_key is not None:
        got = HostKey(cause.key.get_name(), cause.key.get_base64())
        return HostKeyChanged(f"{where}: host key {got.fingerprint} differs from the pinned "
                              f"key {target.pinned_key.fingerprint}", got)
    if isinstance(exc, NetmikoAuthenticationException):
        return SshAuthError(f"{where}: authentication failed for user {target.username!r}")
    if isinstance(exc, ReadTimeout):
        return SshTimeout(f"{where}: no answer within the command timeout")
    if isinstance(exc, NetmikoTimeoutException):
        return SshUnreachable(f"{where}: no SSH session ({str(exc).strip().splitlines()[0]})")
    if isinstance(exc, (OSError, EOFError, paramiko.SSHException)):
        return SshUnreachable(f"{where}: connection lost ({exc.__class__.__name__})")
    return SshError(f"{where}: {exc.__class__.__name__}")


class DeviceSession:
    """One interactive CLI session on a device; use as a context manager."""

    def __init__(self, connection, target: SshTarget, timeouts: SshTimeouts):
        self._conn = connection
        self._target = target
        self._timeouts = timeouts
        transport = connection.remote_conn.get_transport()
        key = transport.get_remote_server_key()
        self.host_key = HostKey(key.get_name(), key.get_base64())

    @property
    def is_linux_shell(self) -> bool:
        return self._target.device_type == "linux"

    def command(self, command: str) -> str:
        """Run a command and return its output (prompt and echo stripped)."""
        try:
            return self._conn.send_command(command, read_timeout=self._timeouts.command,
                                           strip_prompt=True, strip_command=True)
        except (ReadTimeout, ReadException, OSError, EOFError, paramiko.SSHException) as exc:
            raise _classify(exc, self._target) from None

    def configure(self, lines: Sequence[str]) -> str:
        """Send configuration lines. On a Linux shell they are plain commands (we are already
        root; netmiko's "config mode" there would be ``sudo -s`` and its exit an ``exit``)."""
        shell = self.is_linux_shell
        try:
            return self._conn.send_config_set(
                list(lines), read_timeout=self._timeouts.command,
                enter_config_mode=not shell, exit_config_mode=not shell)
        except (ReadTimeout, ReadException, OSError, EOFError, paramiko.SSHException) as exc:
            raise _classify(exc, self._target) from None

    def save(self) -> str:
        """Make the running configuration survive a reboot, where the platform needs that."""
        if self.is_linux_shell:
            return ""
        try:
            return self._conn.save_config()
        except (ReadTimeout, ReadException, OSError, EOFError, paramiko.SSHException) as exc:
            raise _classify(exc, self._target) from None

    def close(self) -> None:
        try:
            self._conn.disconnect()
        except (OSError, EOFError, paramiko.SSHException, ReadTimeout, ReadException):
            log.debug("disconnect from %s failed; the session is gone anyway", self._target.host)

    def __enter__(self) -> "DeviceSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_session(target: SshTarget, timeouts: SshTimeouts = SshTimeouts()) -> DeviceSession:
    """Connect and log in; raises `SshAuthError`, `SshUnreachable`, `HostKeyChanged`."""
    known_hosts = None
    params = dict(device_type=target.device_type, host=target.host, port=target.port,
                  username=target.username, password=target.password,
                  conn_timeout=timeouts.connect, auth_timeout=timeouts.connect,
                  banner_timeout=timeouts.connect, read_timeout_override=timeouts.command,
                  fast_cli=True, allow_agent=False, use_keys=bool(target.key_file),
                  key_file=target.key_file, system_host_keys=False)
    try:
        if target.pinned_key is not None:
            fd, known_hosts = tempfile.mkstemp(prefix="oasis-known-hosts-")
            with os.fdopen(fd, "w") as handle:
                handle.write(_known_hosts_line(target, target.pinned_key))
            params |= dict(ssh_strict=True, alt_host_keys=True, alt_key_file=known_hosts)
        try:
            connection = ConnectHandler(**params)
        except (NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout,
                ReadException, OSError, EOFError, paramiko.SSHException, ValueError) as exc:
            raise _classify(exc, target) from None
        try:
            return DeviceSession(connection, target, timeouts)
        except (OSError, EOFError, AttributeError, paramiko.SSHException) as exc:
            connection.disconnect()
            raise _classify(exc, target) from None
    finally:
        if known_hosts:
            os.unlink(known_hosts)
