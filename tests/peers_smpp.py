"""A real SMPP server for the SMPP driver's tests: node-smpp's server run by tests/smsc_smpp.js.

Why this server. The SMPP servers that run here without a JVM or Windows: Jasmin (PyPI
``jasmin``) is a whole SMS gateway that needs RabbitMQ and Redis before it answers a bind;
``smppy`` (PyPI, last released 2019) is a small asyncio framework with few users; ``smpp34``
(PyPI) is new. node-smpp (npm ``smpp``, farhadi/node-smpp, the package most Node SMPP
gateways build on) is a complete SMPP 3.4/5.0 PDU implementation with a server: it decodes what
our driver sends on its own (UCS-2, GSM 03.38, UDH, SAR TLVs), so a mistake in our encoding
shows up as text the server reads differently. The script only decides what the SMSC answers;
every PDU is parsed and written by the library. It is installed outside the repository by
tests/install-lab-deps.sh (``npm install --prefix /opt/oasis-lab/smpp smpp@0.5.1``).

Import the fixture in a test module: ``from tests.peers_smpp import smsc  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import require, require_tool, wait_for

NODE_MODULES = Path(os.environ.get("OASIS_LAB_SMPP", "/opt/oasis-lab/smpp")) / "node_modules"
SCRIPT = Path(__file__).with_name("smsc_smpp.js")
SYSTEM_ID = "oasis"
PASSWORD = "s3cr3tBd"  # SMPP 3.4: at most 8 characters


class Smsc:
    """The SMSC process: its events (JSON lines it printed) and commands (JSON lines it reads)."""

    def __init__(self, node: str, *, system_id: str = SYSTEM_ID, password: str = PASSWORD):
        self.node = node
        self.system_id = system_id
        self.password = password
        self.port = 0
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._commands = 0

    # -- process ------------------------------------------------------------------------------
    def start(self) -> Smsc:
        """Start (or start again, on the same port once it had one) and wait until it listens."""
        env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
        self._process = subprocess.Popen(
            [self.node, str(SCRIPT), "--port", str(self.port), "--system-id", self.system_id,
             "--password", self.password],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            text=True, encoding="utf-8")
        generation = len(self.events)
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()
        listening = self.wait(lambda e: e["event"] == "listening", after=generation,
                              what="the SMSC to listen")
        self.port = listening["port"]
        return self

    def kill(self) -> None:
        """End the process at once (SIGKILL): every connection drops, nothing is unbound."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                self.command("stop", wait=False)
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._lock:
                self.events.append(event)

    # -- commands and events ------------------------------------------------------------------
    def command(self, cmd: str, *, wait: bool = True, **fields) -> None:
        """Send one command; with ``wait``, return once the SMSC has acted on it."""
        assert self._process is not None and self._process.stdin is not None
        self._commands += 1
        number = self._commands
        self._process.stdin.write(json.dumps({"cmd": cmd, "id": number, **fields},
                                             ensure_ascii=False) + "\n")
        self._process.stdin.flush()
        if wait:
            self.wait(lambda e: e["event"] == "ack" and e.get("id") == number,
                      what=f"the SMSC to act on {cmd}")

    def of(self, event: str) -> list[dict]:
        with self._lock:
            return [e for e in self.events if e["event"] == event]

    def wait(self, predicate: Callable[[dict], bool], *, after: int = 0, count: int = 1,
             timeout: float = 15.0, what: str = "an SMSC event") -> dict:
        """The ``count``-th event from index ``after`` on that satisfies ``predicate``."""
        def found():
            with self._lock:
                hits = [e for e in self.events[after:] if predicate(e)]
            return hits[count - 1] if len(hits) >= count else None
        return wait_for(found, timeout, what=what)

    def wait_for(self, event: str, count: int = 1, timeout: float = 15.0) -> list[dict]:
        """Wait until ``count`` events of this kind were seen; returns them all."""
        self.wait(lambda e: e["event"] == event, count=count, timeout=timeout,
                  what=f"{count} x {event}")
        return self.of(event)

    def mo(self, sender: str, text: str, to: str = "940") -> dict:
        """A citizen's SMS to us; returns the SMSC's record of our deliver_sm_resp."""
        seen = len(self.of("mo_sent"))
        self.command("mo", **{"from": sender, "to": to, "text": text})
        return self.wait_for("mo_sent", seen + 1)[seen]


def lab_node() -> str:
    node = require_tool("node")
    require((NODE_MODULES / "smpp" / "package.json").is_file(),
            f"node-smpp in {NODE_MODULES} (tests/install-lab-deps.sh)")
    return node


@pytest.fixture
def smsc():
    server = Smsc(lab_node()).start()
    try:
        yield server
    finally:
        server.stop()



__all__ = ["PASSWORD", "SYSTEM_ID", "Smsc", "lab_node", "smsc"]
