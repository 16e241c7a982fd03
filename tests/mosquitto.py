"""A real Mosquitto for tests, configured like production (persistence on, big queues).

Use the ``mosquitto`` fixture; it yields a `MosquittoBroker` that can be stopped, started and
restarted (SIGKILL or SIGTERM) on the same port with the same persistence folder, so tests can
take the broker away mid-stream and check what survives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support import free_port, require_tool, wait_for

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


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


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
        self._user = "root" if os.geteuid() == 0 else os.environ.get("USER", "mosquitto")
        self._extra_config = extra_config
        self._write_config()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def _write_config(self) -> None:
        self.config_path.write_text(CONFIG_TEMPLATE.format(
            host=self.host, port=self.port, data_dir=self.data_dir, user=self._user)
            + self._extra_config)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start in the foreground and return once it accepts TCP connections.

        The port was free when picked, but any process's outgoing connection may have taken it
        since (it is in the ephemeral range): the first start then moves to another free port.
        """
        if self.running:
            raise RuntimeError("mosquitto is already running")
        for _ in range(5 if self.starts == 0 else 1):
            logged = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [self.executable, "-c", str(self.config_path)],
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            process = self.process
            wait_for(lambda p=process: p.poll() is not None or _accepts(self.host, self.port),
                     timeout, what=f"mosquitto on {self.host}:{self.port}")
            if process.poll() is None:
                self.starts += 1
                return
            if self.starts == 0 and "Address already in use" in self.log()[logged:]:
                self.port = free_port(host=self.host)
                self._write_config()
                continue
            break
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


@pytest.fixture
def mosquitto_pair(tmp_path):
    """Two running Mosquittos (A and B) on free loopback ports, for failover between them."""
    executable = require_tool("mosquitto")
    first = MosquittoBroker(executable, tmp_path / "mosquitto-a")
    second = MosquittoBroker(executable, tmp_path / "mosquitto-b")
    while second.port == first.port:  # both ports were free when picked; one each
        second = MosquittoBroker(executable, tmp_path / "mosquitto-b")
    brokers = [first, second]
    try:
        for broker in brokers:
            broker.start()
        yield tuple(brokers)
    finally:
        for broker in brokers:
            broker.stop()


@pytest.fixture
def stuck_broker_address():
    """``HOST:PORT`` whose TCP connects hang until the client gives up: a listener with a full
    backlog that never accepts (a broker host that is up but wedged, or SYNs lost on the way)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        host, port = listener.getsockname()
        with socket.create_connection((host, port), timeout=1):  # fills the backlog
            yield f"{host}:{port}"
