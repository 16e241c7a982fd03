"""A real Mosquitto for tests, configured like production (persistence on, big queues).

Use the ``mosquitto`` fixture; it yields a `MosquittoBroker` that can be stopped, started and
restarted (SIGKILL or SIGTERM) on the same port with the same persistence folder, so tests can
take the broker away mid-stream and check what survives.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import free_port, require_tool, wait_for_tcp

#: Production settings (see docs/mqtt.md): a slow subscriber must not lose acked messages and
#: a broker crash must not lose the queue.
CONFIG_TEMPLATE = """\
listener {port} {host}
allow_anonymous true
persistence true
persistence_location {data_dir}/
autosave_on_changes true
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 100
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice
user {user}
"""


class MosquittoBroker:
    """One Mosquitto process at a time on a fixed port and persistence folder."""

    def __init__(self, executable: str, folder: Path, host: str = "127.0.0.1",
                 extra_config: str = ""):
        self.executable = executable
        self.host = host
        self.port = free_port(host=host)
        self.folder = folder
        self.data_dir = folder / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = folder / "mosquitto.conf"
        self.log_path = folder / "mosquitto.log"
        # As root Mosquitto would switch to the "mosquitto" user and then fail to write the
        # persistence file in a root-owned folder without saying so; keep the current user.
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "mosquitto")
        self.config_path.write_text(CONFIG_TEMPLATE.format(
            host=host, port=self.port, data_dir=self.data_dir, user=user) + extra_config)
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start in the foreground and return once it accepts TCP connections."""
        if self.running:
            raise RuntimeError("mosquitto is already running")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        try:
            wait_for_tcp(self.host, self.port, timeout)
        finally:
            if self.process.poll() is not None:
                pytest.fail(f"mosquitto exited with {self.process.returncode}:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the broker (SIGTERM saves the persistence file; SIGKILL does not)."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self, *, hard: bool = True) -> None:
        """Stop (SIGKILL when ``hard``, else SIGTERM) and start again on the same port."""
        self.stop(signal.SIGKILL if hard else signal.SIGTERM)
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __repr__(self) -> str:
        return f"MosquittoBroker({self.host}:{self.port}, running={self.running})"


@pytest.fixture
def mosquitto(tmp_path):
    """A running Mosquitto on a free loopback port; stopped at the end of the test."""
    executable = require_tool("mosquitto")
    broker = MosquittoBroker(executable, tmp_path / "mosquitto")
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
