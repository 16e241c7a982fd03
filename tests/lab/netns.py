"""Network-namespace lab helpers any test (or benchmark) can reuse.

A ``Lab`` owns a set of namespaces named ``<prefix><pid>n<random>-<role>``, the veth pairs between
them and the processes started inside them. Closing it (it is a context manager) kills those
processes and deletes the namespaces, which removes their interfaces, routes and nft tables,
so a failing test leaves nothing behind. ``sweep_stale`` removes namespaces left by a process
that died before it could clean up (found by the pid in the name).

Interfaces are created directly inside their namespaces, so two labs never clash on names in
the root namespace; the prefix only keeps ``ip netns list`` readable across teams' labs.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"
NETNS_DIR = Path("/run/netns")


class LabError(RuntimeError):
    """A lab command failed; the message carries the command and its stderr."""


def _run(argv: Sequence[str], check: bool = True, timeout: float = 30,
         input_text: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                            input=input_text, check=False, env=env)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(argv)} -> {result.returncode}: {result.stderr.strip()}")
    return result


class Namespace:
    """One network namespace: run commands in it, address its links, load nft rules."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab = lab
        self.name = name

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"

    def argv(self, command: Sequence[str]) -> list[str]:
        return [IP, "netns", "exec", self.name, *command]

    def run(self, *command: str, check: bool = True, timeout: float = 30,
            input_text: str | None = None) -> subprocess.CompletedProcess:
        return _run(self.argv(command), check=check, timeout=timeout, input_text=input_text)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run([IP, "-n", self.name, *args], check=check)

    def popen(self, *command: str, **kwargs) -> subprocess.Popen:
        """Start a long-running process in the namespace; the lab stops it on close.

        Output goes nowhere unless the caller says otherwise: an unread pipe would block it.
        """
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        process = subprocess.Popen(self.argv(command), start_new_session=True, **kwargs)
        self.lab.processes.append(process)
        return process

    def python(self, *args: str, **kwargs) -> subprocess.Popen:
        """Start ``python args...`` (this interpreter, this checkout on sys.path) in here."""
        return self.popen(sys.executable, *args, env=_python_env(), **kwargs)

    def run_python(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run ``python args...`` to completion in here; fails with its stderr."""
        return _run(self.argv([sys.executable, *args]), timeout=timeout, env=_python_env())

    def address(self, interface: str, cidr: str) -> None:
        self.ip("addr", "add", cidr, "dev", interface)
        self.ip("link", "set", interface, "up")

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-qw", f"{key}={value}")

    def nft(self, script: str) -> None:
        """Load an nft script (``nft -f -``) in this namespace."""
        self.run("nft", "-f", "-", input_text=script)

    def nft_counter(self, table: str, counter: str) -> int:
        """Packets counted by a named counter (``counter NAME {}`` in ``table inet TABLE``)."""
        text = self.run("nft", "list", "counter", "inet", table, counter).stdout
        match = re.search(r"packets (\d+)", text)
        if not match:
            raise LabError(f"no counter {counter} in {table}: {text}")
        return int(match.group(1))


def _python_env() -> dict:
    """The environment with this checkout first on PYTHONPATH (``-m tests.lab...`` works)."""
    checkout = str(Path(__file__).resolve().parents[2])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [checkout, os.environ.get("PYTHONPATH", "")]))


class Lab:
    """Namespaces, links and processes of one lab run; always cleaned up on exit."""

    def __init__(self, prefix: str = "bh") -> None:
        self.tag = f"{prefix}{os.getpid()}n{secrets.token_hex(3)}"
        self.namespaces: list[Namespace] = []
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def namespace(self, role: str) -> Namespace:
        name = f"{self.tag}-{role}"
        _run([IP, "netns", "add", name])
        ns = Namespace(self, name)
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        return ns

    def veth(self, a: Namespace, a_name: str, b: Namespace, b_name: str) -> None:
        """A veth pair with ``a_name`` in ``a`` and ``b_name`` in ``b`` (both left down)."""
        _run([IP, "link", "add", a_name, "netns", a.name, "type", "veth",
              "peer", "name", b_name, "netns", b.name])

    def close(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)
        self.processes.clear()
        for ns in reversed(self.namespaces):
            _run([IP, "netns", "del", ns.name], check=False)
        self.namespaces.clear()


def stop_process(process: subprocess.Popen, timeout: float = 3.0) -> None:
    """SIGTERM the process group, then SIGKILL if it does not go in time."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def sweep_stale(prefix: str = "bh") -> list[str]:
    """Delete namespaces of this prefix whose creating process is gone; returns their names."""
    removed = []
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)n[0-9a-f]+-")
    for entry in NETNS_DIR.glob(f"{prefix}*") if NETNS_DIR.exists() else []:
        match = pattern.match(entry.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _run([IP, "netns", "del", entry.name], check=False)
            removed.append(entry.name)
    return removed


__all__ = ["Lab", "LabError", "Namespace", "stop_process", "sweep_stale"]
