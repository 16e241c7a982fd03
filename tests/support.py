"""Helpers for tests that talk to real peers.

`require_tool` skips when a peer is missing on a developer machine, but fails under CI=true:
CI installs every lab prerequisite (tests/install-lab-deps.sh), so a missing one is a bug.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import time
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
#: Not the module `random`, which a test may seed.
_RANDOM = random.SystemRandom()


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"lab prerequisite missing under CI=true: {what}")
    pytest.skip(f"lab prerequisite missing: {what}")


def require_tool(name: str) -> str:
    """Path of an executable (also looked up in /usr/sbin and /sbin), or skip/fail."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None)
    require(path is not None, f"executable {name!r}")
    return path  # type: ignore[return-value]


def require_root() -> None:
    require(os.geteuid() == 0, "root (network namespaces, nftables)")


def xdist_worker() -> tuple[int, int]:
    """(this pytest-xdist worker's index, the number of workers); (0, 1) outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if name.startswith("gw") and name[2:].isdigit() and count.isdigit() and int(count) > 1:
        return int(name[2:]), int(count)
    return 0, 1


def _server_ports() -> range:
    """Ports for test servers: below the kernel's ephemeral range, where it hands out the
    local ports of outgoing connections (ip_local_port_range, 32768-60999 by default)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(20000, low) if low - 20000 >= 4000 else range(10000, 20000)


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now, for a peer that binds it a moment later.

    Picked at random below the ephemeral range: a port the kernel gave out (``bind(host, 0)``)
    and that was then closed can be taken, before the peer binds it, as the local port of any
    outgoing connection on the machine, and the peer then fails with "Address already in use".
    Under pytest-xdist each worker picks only from its own residue class (port modulo the
    number of workers is its index), so two workers never pick the same port either.
    """
    index, count = xdist_worker()
    ports = _server_ports()
    while True:
        port = _RANDOM.randrange(ports.start, ports.stop)
        if port % count != index:
            continue
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port


def free_udp_port(host: str = "127.0.0.1") -> int:
    return free_port(socket.SOCK_DGRAM, host)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_for_tcp(host: str, port: int, timeout: float = 10.0) -> None:
    def connectable():
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False
    wait_for(connectable, timeout, what=f"tcp {host}:{port}")
