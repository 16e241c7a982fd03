"""Helpers for tests that talk to real peers.

`require_tool` skips when a peer is missing on a developer machine, but fails under CI=true:
CI installs every lab prerequisite (tests/install-lab-deps.sh), so a missing one is a bug.
"""

from __future__ import annotations

import os
import shutil
import socket
import time

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


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


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


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
