"""systemd's side of sd_notify for tests: a NOTIFY_SOCKET a daemon under test talks to.

`NotifyListener` binds the datagram socket systemd would hand a ``Type=notify`` service, and
`environment` gives the variables systemd would set (``WATCHDOG_USEC`` for ``WatchdogSec=``).
The tests start the real daemons with them, as the units do, and read what they say.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import free_port, free_udp_port


class NotifyListener:
    def __init__(self, folder: Path | None = None):
        # A socket's path has at most 107 bytes, and pytest's folders are named after the test:
        # a folder of its own under /tmp, unless the caller gives one.
        self._own = None if folder is not None else Path(tempfile.mkdtemp(prefix="sd-"))
        where = folder if folder is not None else self._own
        assert where is not None
        self.path = where / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        #: Every datagram received, in order, as its ``KEY=value`` lines.
        self.messages: list[dict[str, str]] = []

    def environment(self, watchdog_s: float = 1.0) -> dict[str, str]:
        """The variables systemd sets for a Type=notify unit with ``WatchdogSec=watchdog_s``."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OASIS_", "NOTIFY_", "WATCHDOG_"))}
        env["NOTIFY_SOCKET"] = str(self.path)
        env["WATCHDOG_USEC"] = str(int(watchdog_s * 1_000_000))
        return env

    def receive(self, timeout: float) -> dict[str, str] | None:
        """The next datagram within ``timeout`` seconds, or None."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return None
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append(fields)
        return fields

    def wait_for(self, key: str, value: str = "1", timeout: float = 30.0) -> dict[str, str]:
        """The first message (from now on) carrying ``key=value``; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is not None and message.get(key) == value:
                return message
        pytest.fail(f"no {key}={value} within {timeout}s; got {self.messages}")

    def keys_within(self, seconds: float) -> list[str]:
        """Every key=value line received during the next ``seconds``."""
        deadline = time.monotonic() + seconds
        seen: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is not None:
                seen.extend(f"{k}={v}" for k, v in message.items())
        return seen

    def close(self) -> None:
        self.sock.close()
        if self._own is not None:
            shutil.rmtree(self._own, ignore_errors=True)


def write_oasis_config(folder: Path, mosquitto, portal: str = "") -> Path:
    """An oasis.toml for the controller and the portal on a real Mosquitto, all in ``folder``;
    ``portal`` adds lines to [portal] (TLS files...)."""
    path = folder / "oasis.toml"
    path.write_text(f"""
[store]
path = "{folder / 'oasis.db'}"
key_file = "{folder / 'oasis.key'}"
[admin]
listen = "127.0.0.1:{free_port()}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
client_id = "oasis-units"
[snmp]
trap_listen = "127.0.0.1:{free_udp_port()}"
[portal]
listen = "127.0.0.1:{free_port()}"
workers = 2
threads = 4
secret_key_file = "{folder / 'portal.key'}"
secure_cookies = false
{portal}
[sms]
outbox = "{folder / 'sms.log'}"
""")
    return path


def stop_daemon(process: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGTERM, as systemd stops a unit; its exit status (killed if it would not stop)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def assert_ready_then_pinged(listener: NotifyListener, pid: int, pings: int = 2,
                             timeout: float = 30.0) -> dict[str, str]:
    """READY=1 from ``pid``'s service, then ``pings`` watchdog pings; the READY message."""
    ready = listener.wait_for("READY", timeout=timeout)
    assert ready.get("MAINPID") == str(pid), ready
    for _ in range(pings):
        listener.wait_for("WATCHDOG", timeout=5.0)
    return ready


__all__ = ["NotifyListener", "assert_ready_then_pinged", "stop_daemon", "write_oasis_config"]
