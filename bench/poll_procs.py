"""Child processes of the poll-cycle benchmark: started, read line by line, timed, stopped.

Why a helper: the simulator, the controller worker and snmp_exporter each run as their own
process so each one's CPU can be read apart (psutil), and each announces readiness with a line
of output; waiting on that line (with a deadline) is the synchronisation, never a sleep.
"""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import threading
import time

import psutil


class ChildError(RuntimeError):
    """A child process ended early or did not say what was expected in time."""


class Child:
    """A process whose merged stdout/stderr lines arrive on a queue (read by a thread)."""

    def __init__(self, name: str, command: list[str], cwd: str | None = None):
        self.name = name
        self.command = command
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1)
        self.ps = psutil.Process(self.process.pid)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, name=f"{name}-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)   # end of output

    def next_line(self, timeout_s: float) -> str:
        """The next line of output; ChildError when the process ends or stays silent."""
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise ChildError(f"{self.name}: nothing printed in {timeout_s:g}s") from None
        if line is None:
            code = self.process.wait(timeout=10)
            tail = "\n".join(self.seen[-10:])
            raise ChildError(f"{self.name} exited with {code}:\n{tail}")
        self.seen.append(line)
        return line

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        """Read lines until one matches ``pattern`` (at most ``timeout_s`` in all)."""
        deadline = time.monotonic() + timeout_s
        compiled = re.compile(pattern)
        for _ in range(100_000):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            match = compiled.search(self.next_line(remaining))
            if match:
                return match
        raise ChildError(f"{self.name}: no line matching {pattern!r} in {timeout_s:g}s")

    def send(self, line: str) -> None:
        """One line on the child's stdin (a go-ahead the child waits for)."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far (threads included)."""
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 1e6

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        self._reader.join(timeout_s)


def free_port(kind: int = socket.SOCK_DGRAM, host: str = "127.0.0.1") -> int:
    """A port the kernel hands out now on ``host`` (UDP by default)."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


__all__ = ["Child", "ChildError", "free_port"]
