"""`oasis portal serve` under its unit's protocol (captive_portal/oasis-portal.service): READY=1
once a worker answers, WATCHDOG=1 only while the workers answer, STOPPING=1 on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import wait_for
from tests.systemd_notify import (
    NotifyListener,
    assert_ready_then_pinged,
    stop_daemon,
    write_oasis_config,
)


def workers_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.fixture
def listener():
    listener = NotifyListener()
    yield listener
    listener.close()


def test_portal_is_ready_and_pings_only_while_its_workers_answer(tmp_path, mosquitto, listener):
    config = write_oasis_config(tmp_path, mosquitto)
    oasis = str(Path(sys.executable).with_name("oasis"))
    process = subprocess.Popen([oasis, "--config", str(config), "portal", "serve"],
                               env=listener.environment(watchdog_s=1.0),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = assert_ready_then_pinged(listener, process.pid)
        assert ready["STATUS"].startswith("portal on http port ")
        workers = wait_for(lambda: len(workers_of(process.pid)) == 2 and workers_of(process.pid),
                           what="two workers")
        # Workers that no longer answer (stopped, as a hung worker would be): no more pings,
        # and systemd would restart the portal after WatchdogSec.
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            port = ready["STATUS"].rsplit(" ", 1)[1]
            listener.wait_for("STATUS", f"unhealthy: no worker answers on port {port}: timed out",
                              timeout=5)
            assert "WATCHDOG=1" not in listener.keys_within(2.0)
        finally:
            for pid in workers:
                os.kill(pid, signal.SIGCONT)
        listener.wait_for("WATCHDOG", timeout=5)
    finally:
        code = stop_daemon(process)
    listener.wait_for("STOPPING", timeout=5)
    assert code == 0

